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

Cross-validation (:func:`cross_validate`) compares the model with a training mean and magpie
random forests on the same folds in two regimes: random over reduced formulas (all rows of a
compound on one side; interpolation) and grouped by family (extrapolation). Censored rows
(OBELiX ``<1E-10``) are upper bounds, not measurements: they train nothing here and are left out
of every metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import sklearn
from scipy.stats import spearmanr
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import GroupKFold

from featurizers.fractions import fraction_matrix
from screening.models.cache import cache_key, load_or_build
from screening.models.data import load_conductivity_data, reduced_formula, table_digest
from screening.models.domain import ElementVocabulary
from screening.models.features import (
    COMPOSITION_LABELS,
    MAGPIE,
    PHYSICS,
    composition_descriptors,
    descriptor_frame,
    magpie_block,
    magpie_features,
    parse_amounts,
)
from screening.models.level_model import (
    LevelInputs,
    LevelModel,
    LevelPrediction,
    random_groups_folds,
)
from screening.models.temperature_law import REFERENCE_K, TemperatureLaw, fit_temperature_law

#: Bump when descriptor or model code changes, so cached models are refitted.
MODEL_VERSION = "24"
MODEL_NAME = "this model (trees near data, trend + GP away, temperature law, phase mixture)"
#: Measurements this close to 298.15 K train the level.
ROOM_WINDOW_K = 10.0
#: Descriptors of the trend: the result of :func:`trend_selection_path` (beam search on the
#: grouped regime's folds; the validation report reruns it and shows the path).
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
        both = None if features is None else pd.concat([features, features])
        states = self.levels_of([*formulas, *formulas], np.r_[np.zeros(n), np.ones(n)],
                                tree_weight, both)
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


def training_levels(table: pd.DataFrame, tg_K: np.ndarray) -> TrainingLevels:
    """Fit the temperature law on ``table`` and turn its room-temperature rows into levels
    (glass rows use their Tg in ``tg_K``; NaN for crystals)."""
    law = fit_temperature_law(table)
    rows = training_rows(table)
    train = table.iloc[rows]
    glass = (train["state"] == "glass").to_numpy(dtype=float)
    level = law.level_of(train["log10_sigma_S_cm"].to_numpy(), train["temperature_K"].to_numpy(),
                         np.where(glass > 0, tg_K[rows], np.nan))
    return TrainingLevels(law, rows, train, glass, level)


def fit_model(table: pd.DataFrame, tg_K: np.ndarray, config: ConductivityConfig
              ) -> ConductivityModel:
    """Fit law and level model on a training table (rows of :func:`load_conductivity_data`)
    whose glass rows carry their Tg in ``tg_K`` (NaN for crystals)."""
    levels = training_levels(table, tg_K)
    train, glass, level = levels.table, levels.glass, levels.level
    model = build_level_model(config).fit(
        level_inputs(list(train["formula"]), glass), level,
        train["formula"].map(reduced_formula).to_numpy(), train["family"].to_numpy())
    return ConductivityModel(levels.law, model)


def predict_rows(model: ConductivityModel, table: pd.DataFrame, tg_K: np.ndarray,
                 tree_weight: float | None = None) -> ConductivityPrediction:
    """Predictions for measured rows, in their measured state and at their temperature."""
    glass = (table["state"] == "glass").to_numpy(dtype=float)
    return model.predict(list(table["formula"]), table["temperature_K"].to_numpy(), glass,
                         np.where(glass > 0, tg_K, np.nan), tree_weight)


# --- cross-validation ------------------------------------------------------------------------

Baseline = Callable[[pd.DataFrame, pd.DataFrame, ConductivityConfig], np.ndarray]


def _training_mean(train: pd.DataFrame, test: pd.DataFrame, config: ConductivityConfig
                   ) -> np.ndarray:
    measured = train[~train["censored"]]
    return np.full(len(test), measured["log10_sigma_S_cm"].mean())


def _forest(room_only: bool) -> Baseline:
    def fit_predict(train: pd.DataFrame, test: pd.DataFrame, config: ConductivityConfig
                    ) -> np.ndarray:
        if room_only:
            train = train.iloc[np.flatnonzero(
                ((train["temperature_K"] - REFERENCE_K).abs() <= ROOM_WINDOW_K).to_numpy())]
        forest = RandomForestRegressor(n_estimators=config.n_estimators,
                                       random_state=config.random_state, n_jobs=1)
        forest.fit(magpie_features(list(train["formula"])).to_numpy(dtype=np.float32),
                   train["log10_sigma_S_cm"].to_numpy())
        return forest.predict(magpie_features(list(test["formula"])).to_numpy(dtype=np.float32))
    return fit_predict


BASELINES: dict[str, Baseline] = {
    "training mean": _training_mean,
    "RF on magpie (all training rows)": _forest(room_only=False),
    "RF on magpie (room-temperature rows)": _forest(room_only=True),
}
TREES_NAME = "ablation: its trees alone"
SMOOTH_NAME = "ablation: trend + GP alone"


def folds(table: pd.DataFrame, regime: str, config: ConductivityConfig
          ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds of a regime: ``random`` over reduced formulas or ``grouped`` by family."""
    if regime == "random":
        compounds = table["formula"].map(reduced_formula).to_numpy()
        return random_groups_folds(compounds, config.cv_splits, config.random_state)
    return list(GroupKFold(config.cv_splits).split(table, groups=table["family"].to_numpy()))


def cross_validate_regime(table: pd.DataFrame, tg_K: np.ndarray, regime: str,
                          config: ConductivityConfig) -> pd.DataFrame:
    """Held-out predictions of the model, its ablations and the baselines on one regime's folds.

    One row per (model, table row): ``model``, ``regime``, ``fold``, ``row``, ``family``,
    ``temperature_K``, ``measured``, ``predicted``, ``unc`` (NaN for the baselines),
    ``censored``, ``distance`` and ``in_domain`` (the model's, the same for every model).
    """
    frames = []
    for fold, (train, test) in enumerate(folds(table, regime, config)):
        model = fit_model(table.iloc[train], tg_K[train], config)
        test_table = table.iloc[test]
        ours = predict_rows(model, test_table, tg_K[test])
        predicted = {MODEL_NAME: ours.log10_sigma}
        for name, weight in ((TREES_NAME, 1.0), (SMOOTH_NAME, 0.0)):
            predicted[name] = predict_rows(model, test_table, tg_K[test], weight).log10_sigma
        predicted.update({name: fit(table.iloc[train], test_table, config)
                          for name, fit in BASELINES.items()})
        for name, values in predicted.items():
            frames.append(pd.DataFrame({
                "model": name, "regime": regime, "fold": fold, "row": test,
                "family": test_table["family"].to_numpy(),
                "temperature_K": test_table["temperature_K"].to_numpy(),
                "measured": test_table["log10_sigma_S_cm"].to_numpy(), "predicted": values,
                "unc": ours.unc if name == MODEL_NAME else np.nan,
                "censored": test_table["censored"].to_numpy(),
                "distance": ours.distance, "in_domain": ours.in_domain,
            }))
    return pd.concat(frames, ignore_index=True)


def cv_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per regime and model over the uncensored held-out rows: MAE (log10), Spearman rho, rows;
    for the model also the 1-sigma coverage and MAE in and out of its domain."""
    scored = predictions[~predictions["censored"]].assign(
        error=lambda f: (f["predicted"] - f["measured"]).abs())
    rows = []
    for (regime, name), group in scored.groupby(["regime", "model"], sort=False):
        inside = group["in_domain"].astype(bool)
        rows.append({
            "regime": regime, "model": name, "mae_log10": group["error"].mean(),
            "spearman_rho": float(spearmanr(group["measured"], group["predicted"]).statistic),
            "n": len(group),
            "coverage_1sigma": float((group["error"] <= group["unc"]).mean())
            if group["unc"].notna().all() else np.nan,
            "mae_in_domain": group.loc[inside, "error"].mean(),
            "n_in_domain": int(inside.sum()),
            "mae_out_of_domain": group.loc[~inside, "error"].mean(),
            "n_out_of_domain": int((~inside).sum()),
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CrossValidation:
    """Held-out predictions of both regimes, their summary and the chloroaluminate hold-out."""

    predictions: pd.DataFrame
    metrics: pd.DataFrame
    chloroaluminates: pd.DataFrame


def hold_out_family(table: pd.DataFrame, tg_K: np.ndarray, family: str,
                    config: ConductivityConfig) -> pd.DataFrame:
    """Fit without ``family``; its rows with measured and predicted log10 sigma and unc."""
    inside = (table["family"] == family).to_numpy()
    model = fit_model(table.iloc[np.flatnonzero(~inside)], tg_K[~inside], config)
    rows = table.iloc[np.flatnonzero(inside)]
    prediction = predict_rows(model, rows, tg_K[inside])
    return rows.loc[:, ["formula", "state", "temperature_K", "log10_sigma_S_cm"]].assign(
        predicted=prediction.log10_sigma, unc=prediction.unc).reset_index(drop=True)


def _key(table: pd.DataFrame, tg_K: np.ndarray, config: ConductivityConfig) -> str:
    return cache_key(table_digest(table), np.asarray(tg_K).tobytes().hex(),
                     repr(asdict(config)), MODEL_VERSION, sklearn.__version__)


def cross_validate(table: pd.DataFrame, tg_K: np.ndarray,
                   config: ConductivityConfig = ConductivityConfig()) -> CrossValidation:
    """Both regimes and the chloroaluminate hold-out (cached on disk)."""
    def build() -> CrossValidation:
        predictions = pd.concat([cross_validate_regime(table, tg_K, regime, config)
                                 for regime in ("random", "grouped")], ignore_index=True)
        return CrossValidation(predictions, cv_metrics(predictions),
                               hold_out_family(table, tg_K, "chloroaluminate", config))

    return load_or_build("conductivity-cv", _key(table, tg_K, config), build)


def fitted_model(table: pd.DataFrame, tg_K: np.ndarray,
                 config: ConductivityConfig = ConductivityConfig()) -> ConductivityModel:
    """The model fitted on ``table`` (cached on disk, so scoring never refits)."""
    return load_or_build("conductivity", _key(table, tg_K, config),
                         lambda: fit_model(table, tg_K, config))


@lru_cache(maxsize=1)
def training_vocabulary() -> ElementVocabulary:
    """Elements and element pairs of the shipped conductivity training compositions."""
    return ElementVocabulary.of(parse_amounts(load_conductivity_data()["formula"]))


#: Descriptors offered to the trend's forward selection: the transport and network physics the
#: conductivity literature ties to ion hopping, the anion mix and the phase state.
TREND_POOL = (
    "ion_mobile_frac", "ion_mobile_radius_A", "ion_anion_polarisability_A3", "ion_anion_radius_A",
    "ion_anion_softness_per_eV", "ion_mobile_anion_ionicity", "ion_carrier_density_nm3",
    "net_bridging_per_former", "net_bridging_frac", "net_former_field_strength",
    "net_former_frac", "net_modifier_frac", "net_cation_mixing_entropy", "net_former_anion_dx",
    "net_bond_strength", "frac_halide", "frac_chalcogen", "frac_O", "frac_S", "frac_Li",
    "mixed_anion", "percolation", "glass",
)


def trend_selection_path(table: pd.DataFrame, tg_K: np.ndarray,
                         config: ConductivityConfig = ConductivityConfig(),
                         beam_width: int = 4, max_columns: int = 5, min_gain: float = 0.005
                         ) -> pd.DataFrame:
    """Beam search for the trend's descriptors among :data:`TREND_POOL`, scored by the
    family-grouped CV MAE of the Huber trend alone on the levels of the room-temperature rows.

    Each round extends the ``beam_width`` best subsets by one descriptor, keeping those that beat
    their parent (greedy forward selection is beam width 1, and it stalls on near-ties). The
    answer is the subset with the lowest MAE plus ``min_gain`` decades per descriptor, so a
    descriptor must earn its place. Returns its path: ``step``, ``added``, ``grouped_mae``.
    """
    from sklearn.linear_model import HuberRegressor
    from sklearn.preprocessing import StandardScaler

    levels = training_levels(table, tg_K)
    rows, level = levels.rows, levels.level
    design = composition_descriptors(parse_amounts(list(levels.table["formula"])))
    design["glass"] = levels.glass
    # The grouped regime's own folds (over the whole table), restricted to the training rows.
    position = np.full(len(table), -1)
    position[rows] = np.arange(len(rows))
    splits = [(position[fit][position[fit] >= 0], position[test][position[test] >= 0])
              for fit, test in folds(table, "grouped", config)]
    spread = float(np.mean(np.abs(level - level.mean())))
    scores: dict[frozenset[str], float] = {frozenset(): spread}

    def grouped_mae(columns: frozenset[str]) -> float:
        if columns not in scores:
            x = design[sorted(columns)].to_numpy()
            predicted = np.empty(len(level))
            for fit_rows, test_rows in splits:
                scaler = StandardScaler().fit(x[fit_rows])
                trend = HuberRegressor(max_iter=1000).fit(scaler.transform(x[fit_rows]),
                                                          level[fit_rows])
                predicted[test_rows] = trend.predict(scaler.transform(x[test_rows]))
            scores[columns] = float(np.mean(np.abs(predicted - level)))
        return scores[columns]

    def penalised(path: tuple[str, ...]) -> float:
        return grouped_mae(frozenset(path)) + min_gain * len(path)

    paths: list[tuple[str, ...]] = [()]
    best: tuple[str, ...] = ()
    for _ in range(max_columns):
        grown = {(*path, column) for path in paths for column in TREND_POOL if column not in path}
        kept = [path for path in grown
                if grouped_mae(frozenset(path)) < grouped_mae(frozenset(path[:-1]))]
        unique = {frozenset(path): path for path in kept}
        paths = sorted(unique.values(), key=lambda path: grouped_mae(frozenset(path)))[:beam_width]
        if not paths:
            break
        if penalised(paths[0]) < penalised(best):
            best = paths[0]
    return pd.DataFrame([{"step": i + 1, "added": column,
                          "grouped_mae": grouped_mae(frozenset(best[: i + 1]))}
                         for i, column in enumerate(best)])
