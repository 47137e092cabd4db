"""The conductivity model: a composition level per phase state, a temperature law, a phase mixture.

For a composition at temperature T with glassy fraction p (``p_glass`` of the glass-forming model)
and glass transition Tg (the Tg model)::

    log10 sigma(T) = p * law(level_glass, T, Tg) + (1 - p) * law(level_crystal, T)

- ``level_*``: log10 sigma at 298.15 K on the Arrhenius branch, for the composition as a glass
  and as a crystal (:class:`~screening.models.level_model.LevelModel`, the state is one of its
  inputs), trained on the room-temperature measurements (within :data:`ROOM_WINDOW_K` of 25 C),
  each turned into a level by the temperature law;
- ``law``: :class:`~screening.models.temperature_law.TemperatureLaw` (Arrhenius below Tg and for
  crystals, WLF/VFT above Tg), fitted on the multi-temperature measurements;
- the mixture is the logarithmic mixing rule of a composite (Lichtenecker, Phys. Z. 27, 115
  (1926)); p(1 - p) times the squared gap between the states joins the uncertainty, so a
  composition on the edge of the glass-forming range is honestly uncertain.

Censored rows (OBELiX ``<1E-10``) are upper bounds, not measurements: they train nothing. The
model's cross-validation is :mod:`screening.validation.conductivity_cv`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import sklearn

from featurizers.fractions import fraction_matrix
from screening.models.cache import cache_key, load_or_build
from screening.models.data import reduced_formula, table_digest
from screening.models.features import (
    COMPOSITION_LABELS,
    MAGPIE,
    PHYSICS,
    descriptor_frame,
    magpie_block,
)
from screening.models.level_model import (
    LevelInputs,
    LevelModel,
    LevelPrediction,
)
from screening.models.temperature_law import REFERENCE_K, TemperatureLaw, fit_temperature_law

#: Bump when descriptor or model code changes, so cached models are refitted.
MODEL_VERSION = "26"
MODEL_NAME = "this model (trees near data, trend + GP away, temperature law, phase mixture)"
#: Measurements this close to 298.15 K train the level.
ROOM_WINDOW_K = 10.0
#: Descriptors of the trend: the result of
#: :func:`screening.validation.conductivity_cv.trend_selection_path` (beam search on the grouped
#: regime's folds; the validation report reruns it and shows the path).
TREND_COLUMNS = (
    "glass", "frac_S", "percolation", "net_cation_mixing_entropy", "net_bridging_per_former",
)
#: The Gaussian process reads the physics block without the per-halogen (and Se) fractions: with
#: them, swapping Cl for Br jumps as far as a new chemistry (few bromides in the data make the
#: standardised frac_Br huge), so Li3YBr6 lost what Li3YCl6 teaches; the anion's polarisability,
#: radius and softness carry the halogen smoothly. Both CV regimes are unchanged by the swap.
ANION_IDENTITY_COLUMNS = ("frac_F", "frac_Cl", "frac_Br", "frac_I", "frac_Se")
GP_COLUMNS = (*(c for c in COMPOSITION_LABELS if c not in ANION_IDENTITY_COLUMNS), "glass")


@dataclass(frozen=True)
class ConductivityConfig:
    """Hyperparameters of the level model and of the cross-validation."""

    n_estimators: int = 300
    gp_length: float = 1.0
    gate_distance: float = 0.30
    gate_width: float = 0.02
    inner_splits: int = 3
    cv_splits: int = 5
    random_state: int = 0


def level_inputs(formulas: list[str], glass: np.ndarray,
                 features: pd.DataFrame | None = None) -> LevelInputs:
    """Descriptors of ``formulas`` in the given states (``glass`` 1.0 for a glass, 0.0 for a
    crystal). ``features`` holds the magpie and :data:`COMPOSITION_LABELS` columns row by row
    (what the pipeline hands a scorer); when not given they are computed, once per formula even
    when a formula appears in both states."""
    unique, inverse = np.unique(np.asarray(formulas, dtype=object), return_inverse=True)
    if features is None:
        features = descriptor_frame(list(unique), (MAGPIE, *PHYSICS)).iloc[inverse]
    blocks = pd.concat([magpie_block(features), features[list(COMPOSITION_LABELS)]], axis=1)
    design = blocks.reset_index(drop=True)
    design["glass"] = np.asarray(glass, dtype=float)
    matrix = fraction_matrix(list(unique))
    return LevelInputs(design, matrix.fractions[inverse], tuple(matrix.elements))


def build_level_model(config: ConductivityConfig) -> LevelModel:
    """The unfitted level model of this package."""
    return LevelModel(
        trend_columns=TREND_COLUMNS, gp_columns=GP_COLUMNS, n_estimators=config.n_estimators,
        gp_length=config.gp_length, gate_distance=config.gate_distance,
        gate_width=config.gate_width, inner_splits=config.inner_splits,
        random_state=config.random_state,
    )


@dataclass(frozen=True)
class ConductivityPrediction:
    """log10 sigma (S/cm), its 1-sigma uncertainty, the apparent activation energy (eV) at the
    temperature, the composition distance to the data and the in-domain flag, per composition."""

    log10_sigma: np.ndarray
    unc: np.ndarray
    ea_eV: np.ndarray
    distance: np.ndarray
    in_domain: np.ndarray


@dataclass(frozen=True)
class ConductivityModel:
    """The fitted temperature law and level model."""

    law: TemperatureLaw
    levels: LevelModel

    def levels_of(self, formulas: list[str], glass: np.ndarray,
                  tree_weight: float | None = None,
                  features: pd.DataFrame | None = None) -> LevelPrediction:
        """Levels of compositions in given states (1.0 glass, 0.0 crystal); ``tree_weight`` as
        in :meth:`LevelModel.predict_with_uncertainty`, ``features`` as in
        :func:`level_inputs`."""
        inputs = level_inputs(formulas, glass, features)
        return self.levels.predict_with_uncertainty(inputs, tree_weight)

    def predict(self, formulas: list[str], temperature_K: np.ndarray, p_glass: np.ndarray,
                tg_K: np.ndarray, tree_weight: float | None = None,
                features: pd.DataFrame | None = None) -> ConductivityPrediction:
        """sigma of compositions at ``temperature_K`` with glassy fraction ``p_glass`` (NaN
        counts as crystalline) and glass transition ``tg_K`` (used by the glassy part);
        ``features`` as in :func:`level_inputs`, one row per formula."""
        n = len(formulas)
        p = np.nan_to_num(np.asarray(p_glass, dtype=float), nan=0.0)
        temperature_K = np.broadcast_to(np.asarray(temperature_K, dtype=float), (n,))
        # Both states share every descriptor but the state: built once, the rows then doubled.
        inputs = level_inputs(formulas, np.zeros(n), features).in_both_states()
        states = self.levels.predict_with_uncertainty(inputs, tree_weight)
        crystal = self.law.log_sigma(states.level[:n], temperature_K)
        glass = self.law.log_sigma(states.level[n:], temperature_K, tg_K)
        log10_sigma = p * glass[0] + (1.0 - p) * crystal[0]
        unc = np.sqrt(p * states.unc[n:] ** 2 + (1.0 - p) * states.unc[:n] ** 2
                      + p * (1.0 - p) * (glass[0] - crystal[0]) ** 2)
        distance = states.distance[:n]
        return ConductivityPrediction(
            log10_sigma, unc, p * glass[1] + (1.0 - p) * crystal[1], distance,
            distance <= self.levels.gate_distance,
        )


def training_rows(table: pd.DataFrame) -> np.ndarray:
    """Rows that train the level: measured (not censored), within the room-temperature window."""
    near_room = (table["temperature_K"] - REFERENCE_K).abs() <= ROOM_WINDOW_K
    return np.flatnonzero((near_room & ~table["censored"]).to_numpy())


@dataclass(frozen=True)
class TrainingLevels:
    """The rows that train the level, their state (1.0 glass) and their level under ``law``."""

    law: TemperatureLaw
    rows: np.ndarray
    table: pd.DataFrame
    glass: np.ndarray
    level: np.ndarray


def training_levels(table: pd.DataFrame, tg_K: np.ndarray, law: TemperatureLaw | None = None
                    ) -> TrainingLevels:
    """Turn the room-temperature rows of ``table`` into levels under ``law`` (fitted on
    ``table`` when not given; glass rows use their Tg in ``tg_K``, NaN for crystals)."""
    law = law or fit_temperature_law(table)
    rows = training_rows(table)
    train = table.iloc[rows]
    glass = (train["state"] == "glass").to_numpy(dtype=float)
    level = law.level_of(train["log10_sigma_S_cm"].to_numpy(), train["temperature_K"].to_numpy(),
                         np.where(glass > 0, tg_K[rows], np.nan))
    return TrainingLevels(law, rows, train, glass, level)


def fit_model(table: pd.DataFrame, tg_K: np.ndarray, config: ConductivityConfig,
              law: TemperatureLaw | None = None) -> ConductivityModel:
    """Fit law and level model on a training table (rows of
    :func:`~screening.models.data.load_conductivity_data`) whose glass rows carry their Tg in
    ``tg_K`` (NaN for crystals). ``law`` replaces the law fitted on ``table``: a source measured
    only at room temperature teaches none."""
    levels = training_levels(table, tg_K, law)
    train, glass, level = levels.table, levels.glass, levels.level
    model = build_level_model(config).fit(
        level_inputs(list(train["formula"]), glass), level,
        train["formula"].map(reduced_formula).to_numpy())
    return ConductivityModel(levels.law, model)


def predict_rows(model: ConductivityModel, table: pd.DataFrame, tg_K: np.ndarray,
                 tree_weight: float | None = None) -> ConductivityPrediction:
    """Predictions for measured rows, in their measured state and at their temperature."""
    glass = (table["state"] == "glass").to_numpy(dtype=float)
    return model.predict(list(table["formula"]), table["temperature_K"].to_numpy(), glass,
                         np.where(glass > 0, tg_K, np.nan), tree_weight)


def model_key(table: pd.DataFrame, tg_K: np.ndarray, config: ConductivityConfig) -> str:
    """The cache key of the model fitted on ``table`` with ``config``."""
    return digest_model_key(table_digest(table), tg_K, config)


def digest_model_key(digest: str, tg_K: np.ndarray, config: ConductivityConfig) -> str:
    """:func:`model_key` of the table whose :func:`~screening.models.data.table_digest` is
    ``digest`` (so a process that kept the digest need not load the table to find its model)."""
    return cache_key(digest, np.asarray(tg_K).tobytes().hex(), repr(asdict(config)),
                     MODEL_VERSION, sklearn.__version__)


def fitted_model(table: pd.DataFrame, tg_K: np.ndarray,
                 config: ConductivityConfig = ConductivityConfig()) -> ConductivityModel:
    """The model fitted on ``table`` (cached on disk, so scoring never refits)."""
    return load_or_build("conductivity", model_key(table, tg_K, config),
                         lambda: fit_model(table, tg_K, config))
