"""The package's fitted models, built from the shipped data once per code and data version.

Every process that scores (the client's warm-up, each Dask worker) needs the glass-forming, Tg and
conductivity models, and deriving them from the shipped tables costs seconds: the tables are
parsed, the Tg model is fitted, the conductivity training rows get their Tg, and only then are the
cache keys of the stored models known. That derivation is itself stored in the model cache
(:mod:`screening.models.cache`), keyed by :func:`inputs_digest`: the contents of the shipped data
and of the package code that turns it into models, and the versions of the libraries that fit
them. Any change to those is a new key and the derivation runs again; nothing stale is read.
The glass-forming and conductivity models stay in their own cache files, keyed by the digests of
their training tables as before, and are loaded by the keys the derivation recorded.

:func:`glass_state` answers the two glass questions the scorers share: does a composition form a
glass, and where is its glass transition.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pymatgen.core
import scipy
import sklearn
from pymatgen.core import Composition

import candidates
import featurizers
import screening
from screening.models.cache import cache_key, files_digest, load_or_build
from screening.models.conductivity_model import (
    MODEL_VERSION,
    ConductivityConfig,
    ConductivityModel,
    digest_model_key,
    fit_model,
)
from screening.models.data import (
    load_conductivity_data,
    load_tg_reference,
    melting_points_K,
    reduced_formula,
    table_digest,
)
from screening.models.domain import ElementVocabulary
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


def model_inputs() -> tuple[Path, ...]:
    """The files the fitted models are derived from: the shipped data and the packages of the
    code that parses it, computes the descriptors and fits the models."""
    package = Path(screening.__file__).parent
    return (Path(candidates.__file__).parent, Path(featurizers.__file__).parent,
            package / "__init__.py", package / "atomic.py", package / "models", package / "data")


@lru_cache(maxsize=1)
def inputs_digest() -> str:
    """Digest of :func:`model_inputs` and of the versions of Python and the fitting libraries:
    the key of the stored derivation (a few milliseconds to compute)."""
    versions = (sys.version, np.__version__, scipy.__version__, sklearn.__version__,
                pd.__version__, pymatgen.core.__version__, joblib.__version__)
    return cache_key(files_digest(model_inputs()), *versions)


@dataclass(frozen=True)
class Derivation:
    """What the shipped data and code derive into: the Tg model, the conductivity training rows'
    Tg, vocabulary and table digest, the melting points, and the cache key of the glass-forming
    model (stored per :func:`inputs_digest`)."""

    glass_forming_key: str
    tg: TgModel
    conductivity_table_digest: str
    training_tg_K: np.ndarray
    vocabulary: ElementVocabulary
    melting_points_K: dict[str, float]
    melting_systems: frozenset[frozenset[str]]


def _glass_forming_key(table: pd.DataFrame, config: GlassFormingConfig) -> str:
    return cache_key(table_digest(table), repr(asdict(config)), MODEL_VERSION,
                     GLASS_MODEL_VERSION, sklearn.__version__)


def _fit_glass_forming(table: pd.DataFrame, config: GlassFormingConfig) -> GlassFormingModel:
    descriptors = composition_descriptors(parse_amounts(list(table["formula"])))
    finite = np.isfinite(descriptors[list(DOMAIN_COLUMNS)].to_numpy()).all(axis=1)
    return fit_glass_forming(descriptors[finite].reset_index(drop=True),
                             table[finite].reset_index(drop=True), config)


def derive() -> Derivation:
    """Derive the models from the shipped data now (loading or fitting the glass-forming model
    through its own cache entry); :func:`derivation` is the stored result."""
    config = GlassFormingConfig()
    table = glass_forming_table(config.weak_weight)
    key = _glass_forming_key(table, config)
    forming = load_or_build("glass-forming", key, lambda: _fit_glass_forming(table, config))
    reference = load_tg_reference()
    descriptors = composition_descriptors(parse_amounts(list(reference["formula"])))
    tg = fit_tg_model(descriptors, reference["tg_K"].to_numpy(), reference["tm_K"].to_numpy(),
                      forming.tg_domain(descriptors))
    known = melting_points_K()
    systems = frozenset(frozenset(el.symbol for el in Composition(f).elements) for f in known)
    conductivity = load_conductivity_data()
    formulas = list(conductivity["formula"])
    amounts = parse_amounts(formulas)
    training_tg_K = tg.predict(composition_descriptors(amounts),
                               _melting_point_K(formulas, known, systems)).tg_K
    return Derivation(key, tg, table_digest(conductivity), training_tg_K,
                       ElementVocabulary.of(amounts), known, systems)


@lru_cache(maxsize=1)
def derivation() -> Derivation:
    """:func:`derive`'s result for this code and data, from the model cache (derived and stored
    on first use): milliseconds to load instead of over a second to derive in every process."""
    return load_or_build("fitted-models", inputs_digest(), derive)


@lru_cache(maxsize=1)
def glass_forming_model() -> GlassFormingModel:
    """The glass-forming classifier fitted on every shipped label (cached on disk)."""

    def build() -> GlassFormingModel:  # only when its file left the cache since the derivation
        config = GlassFormingConfig()
        return _fit_glass_forming(glass_forming_table(config.weak_weight), config)

    return load_or_build("glass-forming", derivation().glass_forming_key, build)


@lru_cache(maxsize=1)
def tg_model() -> TgModel:
    """The Tg model fitted on the sourced reference glasses, its domain measured with the
    glass-forming model's yardstick."""
    tg = derivation().tg
    # Stored apart, the yardstick's scaler is a copy of the glass-forming model's (fitted as one
    # object); share the one object again, so the two glass proxies hold a single yardstick.
    return replace(tg, domain=replace(tg.domain, scaler=glass_forming_model().domain.scaler))


def training_vocabulary() -> ElementVocabulary:
    """Elements and element pairs of the shipped conductivity training compositions."""
    return derivation().vocabulary


def _melting_point_K(formulas: list[str], known: dict[str, float],
                     systems: frozenset[frozenset[str]]) -> np.ndarray:
    out = np.full(len(formulas), np.nan)
    for i, amounts in enumerate(parse_amounts(formulas)):
        # Reducing a formula is slow; only those whose elements match a known compound's are.
        if amounts is not None and frozenset(el for el, _ in amounts) in systems:
            out[i] = known.get(reduced_formula(formulas[i]), np.nan)
    return out


def melting_point_K(formulas: list[str]) -> np.ndarray:
    """Known melting temperature of each formula's compound (K), NaN where unknown."""
    derived = derivation()
    return _melting_point_K(formulas, derived.melting_points_K, derived.melting_systems)


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
    return derivation().training_tg_K.copy()


@lru_cache(maxsize=4)
def conductivity_model(config: ConductivityConfig | None = None) -> ConductivityModel:
    """The conductivity model fitted on every shipped measurement (cached on disk)."""
    config = config or ConductivityConfig()
    derived = derivation()
    tg_K = derived.training_tg_K
    key = digest_model_key(derived.conductivity_table_digest, tg_K, config)
    return load_or_build("conductivity", key,
                         lambda: fit_model(load_conductivity_data(), tg_K, config))
