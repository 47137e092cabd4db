"""The package's fitted models, built from the shipped data once per process.

The glass-forming and conductivity models take seconds to a minute to fit, so they are stored
in the on-disk model cache (:mod:`screening.models.cache`); the Tg model fits in about a second
and is simply refitted. :func:`glass_state` answers the two glass questions the scorers share:
does a composition form a glass, and where is its glass transition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import sklearn
from pymatgen.core import Composition

from screening.models.cache import cache_key, load_or_build
from screening.models.conductivity_model import (
    MODEL_VERSION,
    ConductivityConfig,
    ConductivityModel,
    fitted_model,
)
from screening.models.data import (
    load_conductivity_data,
    load_tg_reference,
    melting_points_K,
    reduced_formula,
    table_digest,
)
from screening.models.features import composition_descriptors, parse_amounts
from screening.models.glass_forming import (
    DOMAIN_COLUMNS,
    GLASS_MODEL_VERSION,
    GlassFormingConfig,
    GlassFormingModel,
    fit_glass_forming,
    glass_forming_table,
)
from screening.models.tg_model import TgModel, fit_tg_model


@lru_cache(maxsize=1)
def glass_forming_model() -> GlassFormingModel:
    """The glass-forming classifier fitted on every shipped label (cached on disk)."""
    config = GlassFormingConfig()
    table = glass_forming_table(config.weak_weight)

    def build() -> GlassFormingModel:
        descriptors = composition_descriptors(parse_amounts(list(table["formula"])))
        finite = np.isfinite(descriptors[list(DOMAIN_COLUMNS)].to_numpy()).all(axis=1)
        return fit_glass_forming(descriptors[finite].reset_index(drop=True),
                                 table[finite].reset_index(drop=True), config)

    key = cache_key(table_digest(table), repr(asdict(config)), MODEL_VERSION,
                    GLASS_MODEL_VERSION, sklearn.__version__)
    return load_or_build("glass-forming", key, build)


@lru_cache(maxsize=1)
def tg_model() -> TgModel:
    """The Tg model fitted on the sourced reference glasses, its domain measured with the
    glass-forming model's yardstick."""
    reference = load_tg_reference()
    descriptors = composition_descriptors(parse_amounts(list(reference["formula"])))
    return fit_tg_model(descriptors, reference["tg_K"].to_numpy(), reference["tm_K"].to_numpy(),
                        glass_forming_model().tg_domain(descriptors))


@lru_cache(maxsize=1)
def _melting_points() -> tuple[dict[str, float], frozenset[frozenset[str]]]:
    known = melting_points_K()
    systems = frozenset(frozenset(el.symbol for el in Composition(f).elements) for f in known)
    return known, systems


def melting_point_K(formulas: list[str]) -> np.ndarray:
    """Known melting temperature of each formula's compound (K), NaN where unknown."""
    known, systems = _melting_points()
    out = np.full(len(formulas), np.nan)
    for i, amounts in enumerate(parse_amounts(formulas)):
        # Reducing a formula is slow; only those whose elements match a known compound's are.
        if amounts is not None and frozenset(el for el, _ in amounts) in systems:
            out[i] = known.get(reduced_formula(formulas[i]), np.nan)
    return out


@dataclass(frozen=True)
class GlassState:
    """Glass formation and glass transition of compositions (arrays, one entry per formula).

    ``tg_model_K`` is the Tg model's answer for every composition (what the glassy part of a
    conductivity mixture uses); ``tg_K`` is the reported Tg: NaN where the composition does not
    form a glass.
    """

    p_glass: np.ndarray
    glass_forming: np.ndarray  # True / False (None only for an unparsable formula)
    glass_distance: np.ndarray
    glass_in_domain: np.ndarray
    tg_model_K: np.ndarray
    tg_K: np.ndarray
    tg_unc_K: np.ndarray
    tg_distance: np.ndarray
    tg_in_domain: np.ndarray


#: Glass states of the last partitions, by formulas: the Tg and the conductivity scorer ask for
#: the same partition in turn, and the two models' trees are most of what either costs.
_RECENT_STATES: dict[tuple[str, ...], GlassState] = {}


def glass_state(formulas: list[str], descriptors: pd.DataFrame | None = None) -> GlassState:
    """Glass formation and Tg of plain formulas (unparsable ones get NaN and None).

    ``descriptors`` holds the :data:`~screening.models.features.COMPOSITION_LABELS` columns row
    by row (what the pipeline hands a scorer); they are computed when not given.
    """
    key = tuple(formulas)
    state = _RECENT_STATES.get(key)
    if state is None:  # get-then-set, so a worker thread clearing meanwhile costs a recompute
        state = _glass_state(formulas, descriptors)
        if len(_RECENT_STATES) >= 2:
            _RECENT_STATES.clear()
        _RECENT_STATES[key] = state
    return state


def _glass_state(formulas: list[str], descriptors: pd.DataFrame | None) -> GlassState:
    amounts = parse_amounts(formulas)
    if descriptors is None:
        descriptors = composition_descriptors(amounts)
    forming = glass_forming_model().predict(descriptors, amounts)
    tg = tg_model().predict(descriptors, melting_point_K(formulas))
    not_glass = np.array([f is False for f in forming.glass_forming])
    return GlassState(
        forming.p_glass, forming.glass_forming, forming.distance, forming.in_domain,
        tg.tg_K, np.where(not_glass, np.nan, tg.tg_K), np.where(not_glass, np.nan, tg.unc_K),
        tg.distance, tg.in_domain,
    )


def conductivity_training_tg_K() -> np.ndarray:
    """The Tg model's Tg for every row of the conductivity training table."""
    table = load_conductivity_data()
    return tg_model().predict(composition_descriptors(parse_amounts(list(table["formula"]))),
                              melting_point_K(list(table["formula"]))).tg_K


@lru_cache(maxsize=4)
def conductivity_model(config: ConductivityConfig | None = None) -> ConductivityModel:
    """The conductivity model fitted on every shipped measurement (cached on disk)."""
    return fitted_model(load_conductivity_data(), conductivity_training_tg_K(),
                        config or ConductivityConfig())
