"""Cross-validation of the conductivity model, for the validation report.

:func:`cross_validate` compares the model with a training mean and magpie random forests on the
same folds in three regimes: random over reduced formulas (all rows of a compound on one side;
interpolation), grouped by family (extrapolation) and held out by source (trained on one
dataset, scored on the other's compounds it does not contain: a new lab, new papers), plus two
ablations of the model and the chloroaluminates held out as a family. Censored rows (OBELiX
``<1E-10``) are upper bounds, not measurements: they train nothing here and are left out of every
metric.
:func:`trend_selection_path` reruns the beam search that chose the trend's descriptors
(:data:`~screening.models.conductivity_model.TREND_COLUMNS`) on the grouped regime's folds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import GroupKFold

from screening.models.cache import cache_key, load_or_build
from screening.models.conductivity_model import (
    MODEL_NAME,
    ROOM_WINDOW_K,
    ConductivityConfig,
    fit_model,
    model_key,
    predict_rows,
    training_levels,
)
from screening.models.data import reduced_formula
from screening.models.features import composition_descriptors, magpie_features, parse_amounts
from screening.models.level_model import random_groups_folds
from screening.models.temperature_law import REFERENCE_K, fit_temperature_law

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


#: The regimes of :func:`cross_validate`, in the order of the report.
REGIMES = ("random", "grouped", "source")
#: The two datasets of the held-out-by-source regime, each trained on in turn.
SOURCES = ("liverpool", "obelix")


def source_folds(table: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train on every row of one source of :data:`SOURCES`, test on the other source's rows
    whose compound (reduced formula) the first does not contain; both directions."""
    compounds = table["formula"].map(reduced_formula).to_numpy()
    source = table["source"].to_numpy()
    out = []
    for train_source, test_source in (SOURCES, SOURCES[::-1]):
        train = np.flatnonzero(source == train_source)
        unseen = ~np.isin(compounds, compounds[train])
        out.append((train, np.flatnonzero((source == test_source) & unseen)))
    return out


def folds(table: pd.DataFrame, regime: str, config: ConductivityConfig
          ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds of a regime of :data:`REGIMES`: ``random`` over reduced formulas, ``grouped``
    by family or held out by ``source``."""
    if regime == "random":
        compounds = table["formula"].map(reduced_formula).to_numpy()
        return random_groups_folds(compounds, config.cv_splits, config.random_state)
    if regime == "source":
        return source_folds(table)
    return list(GroupKFold(config.cv_splits).split(table, groups=table["family"].to_numpy()))


def law_rows(table: pd.DataFrame, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Rows that fit the temperature law of a fold: every row of a training compound that is
    not a test row. The training rows themselves in the random and grouped regimes; for a
    source measured only near room temperature (OBELiX) also the other sources' multi-temperature
    measurements of its compounds, which are never scored."""
    compounds = table["formula"].map(reduced_formula).to_numpy()
    keep = np.isin(compounds, compounds[train])
    keep[test] = False
    return np.flatnonzero(keep)


def cross_validate_regime(table: pd.DataFrame, tg_K: np.ndarray, regime: str,
                          config: ConductivityConfig) -> pd.DataFrame:
    """Held-out predictions of the model, its ablations and the baselines on one regime's folds.

    One row per (model, table row): ``model``, ``regime``, ``fold``, ``row``, ``family``,
    ``temperature_K``, ``measured``, ``predicted``, ``unc`` (NaN for the baselines),
    ``censored``, ``distance`` and ``in_domain`` (the model's, the same for every model).
    """
    frames = []
    for fold, (train, test) in enumerate(folds(table, regime, config)):
        law = fit_temperature_law(table.iloc[law_rows(table, train, test)])
        model = fit_model(table.iloc[train], tg_K[train], config, law)
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
    for the model also the 1-sigma coverage in all, in and out of its domain, and the MAE in
    and out of its domain."""
    scored = predictions[~predictions["censored"]].assign(
        error=lambda f: (f["predicted"] - f["measured"]).abs(),
        within=lambda f: f["error"] <= f["unc"])
    rows = []
    for (regime, name), group in scored.groupby(["regime", "model"], sort=False):
        inside = group["in_domain"].astype(bool)
        has_unc = bool(group["unc"].notna().all())
        rows.append({
            "regime": regime, "model": name, "mae_log10": group["error"].mean(),
            "spearman_rho": float(spearmanr(group["measured"], group["predicted"]).statistic),
            "n": len(group),
            "coverage_1sigma": float(group["within"].mean()) if has_unc else np.nan,
            "coverage_in_domain": float(group.loc[inside, "within"].mean())
            if has_unc else np.nan,
            "coverage_out_of_domain": float(group.loc[~inside, "within"].mean())
            if has_unc else np.nan,
            "mae_in_domain": group.loc[inside, "error"].mean(),
            "n_in_domain": int(inside.sum()),
            "mae_out_of_domain": group.loc[~inside, "error"].mean(),
            "n_out_of_domain": int((~inside).sum()),
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CrossValidation:
    """Held-out predictions of every regime, their summary and the chloroaluminate hold-out."""

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


def cross_validate(table: pd.DataFrame, tg_K: np.ndarray,
                   config: ConductivityConfig = ConductivityConfig()) -> CrossValidation:
    """Every regime of :data:`REGIMES` and the chloroaluminate hold-out (cached on disk)."""
    def build() -> CrossValidation:
        predictions = pd.concat([cross_validate_regime(table, tg_K, regime, config)
                                 for regime in REGIMES], ignore_index=True)
        return CrossValidation(predictions, cv_metrics(predictions),
                               hold_out_family(table, tg_K, "chloroaluminate", config))

    # This module is part of the key: a CrossValidation pickled before it moved here would not load.
    return load_or_build("conductivity-cv", cache_key(model_key(table, tg_K, config), __name__),
                         build)


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
