"""The conductivity model and its grouped cross-validation against two baselines.

Target: log10 sigma (S/cm). Inputs: the descriptors of :mod:`screening.models.features` at the
measuring temperature. Model: :class:`~screening.models.shrunk_trees.ShrunkExtraTrees` (extra
trees on magpie + glass physics, shrunk toward a robust Arrhenius trend away from the data).

Grouped CV holds out whole structural/chemical families (``family`` of the training table), so no
family is in train and test at once; the model and both baselines (training mean, random forest on
magpie ``ElementProperty``) see exactly the same folds. Censored rows (``<1E-10``) train at their
bound but are left out of every error metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import sklearn
from scipy.stats import spearmanr
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import QuantileRegressor
from sklearn.model_selection import GroupKFold

from screening.models.cache import cache_key, load_or_build
from screening.models.data import load_conductivity_data, load_tg_reference, table_digest
from screening.models.domain import ElementVocabulary, NearestNeighbourDomain
from screening.models.features import (
    COMPOSITION_LABELS,
    magpie_features,
    parse_amounts,
    physics_features,
)
from screening.models.shrunk_trees import ShrunkExtraTrees
from screening.models.tg_model import TgModel, fit_tg_model

#: Bump when descriptor or model code changes, so cached models are refitted.
MODEL_VERSION = "11"
MODEL_NAME = "this model (shrunk extra trees, magpie + glass physics)"
TREND_NAME = "ablation: its robust trend alone (no trees)"


@dataclass(frozen=True)
class ConductivityConfig:
    """Hyperparameters of the model and of the grouped cross-validation."""

    n_estimators: int = 200
    max_features: float = 0.3
    min_samples_leaf: int = 1
    shrink_length: float = 0.1
    inner_splits: int = 4
    cv_splits: int = 5
    random_state: int = 0


def tg_model() -> TgModel:
    """The Tg model fitted on the shipped reference glasses (two parameters, instant)."""
    reference = load_tg_reference()
    return fit_tg_model(reference, parse_amounts(reference["formula"]))


def design_matrix(formulas: list[str], temperature_K: np.ndarray, tg: TgModel) -> pd.DataFrame:
    """Magpie statistics plus the physics block, one row per formula."""
    physics = physics_features(parse_amounts(formulas), temperature_K, tg)
    return pd.concat([magpie_features(formulas), physics], axis=1)


def magpie_columns(X: pd.DataFrame) -> list[str]:
    """The magpie ``ElementProperty`` columns of a design matrix (the baseline's inputs)."""
    return [c for c in X.columns if c.startswith("magpie ")]


def domain_columns(X: pd.DataFrame) -> list[str]:
    """Chemistry descriptors of the domain distance: the composition physics and magpie means."""
    return [*COMPOSITION_LABELS, *(c for c in magpie_columns(X) if "MagpieData mean" in c)]


def build_model(config: ConductivityConfig, X: pd.DataFrame) -> ShrunkExtraTrees:
    """The model of this package (unfitted), for the columns of ``X``."""
    return ShrunkExtraTrees(
        domain_columns=tuple(domain_columns(X)), n_estimators=config.n_estimators,
        max_features=config.max_features, min_samples_leaf=config.min_samples_leaf,
        length=config.shrink_length, inner_splits=config.inner_splits,
        random_state=config.random_state,
    )


@dataclass(frozen=True)
class CvModel:
    """One model of the CV comparison: how to fit it on a fold and predict the held-out rows."""

    name: str
    fit_predict: Callable[
        [ConductivityConfig, pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame],
        tuple[np.ndarray, np.ndarray],
    ]


def _mean(config, X, y, groups, X_test):  # noqa: ANN001, ANN202 (one signature for all)
    predicted = DummyRegressor(strategy="mean").fit(X, y).predict(X_test)
    return predicted, np.full(len(X_test), np.nan)


def _rf_magpie(config, X, y, groups, X_test):  # noqa: ANN001, ANN202
    cols = magpie_columns(X)
    forest = RandomForestRegressor(
        n_estimators=config.n_estimators, random_state=config.random_state, n_jobs=1
    )
    forest.fit(X[cols].to_numpy(dtype=np.float32), y)
    return forest.predict(X_test[cols].to_numpy(dtype=np.float32)), np.full(len(X_test), np.nan)


def _trend_only(config, X, y, groups, X_test):  # noqa: ANN001, ANN202
    model = build_model(config, X)
    cols = list(model.trend_columns)
    trend = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(X[cols].to_numpy(), y)
    return trend.predict(X_test[cols].to_numpy()), np.full(len(X_test), np.nan)


def _this_model(config, X, y, groups, X_test):  # noqa: ANN001, ANN202
    predicted, unc, _ = build_model(config, X).fit(X, y, groups).predict_with_uncertainty(X_test)
    return predicted, unc


CV_MODELS = (
    CvModel("training mean", _mean),
    CvModel("RF on magpie ElementProperty", _rf_magpie),
    CvModel(TREND_NAME, _trend_only),
    CvModel(MODEL_NAME, _this_model),
)


def grouped_cv(table: pd.DataFrame, X: pd.DataFrame, config: ConductivityConfig) -> pd.DataFrame:
    """Held-out predictions of every :data:`CV_MODELS` entry on the same grouped folds.

    Returns one row per (model, training row): ``model``, ``fold``, ``row`` (position in
    ``table``), ``family``, ``measured``, ``predicted``, ``unc`` (1-sigma, NaN for the baselines),
    ``censored``, ``domain_distance`` and ``in_domain`` (the model's domain, fitted on the
    training folds only, so the same for every model).
    """
    y = table["log10_sigma_S_cm"].to_numpy()
    groups = table["family"].to_numpy()
    columns = domain_columns(X)
    rows = []
    for fold, (train, test) in enumerate(GroupKFold(config.cv_splits).split(X, groups=groups)):
        domain = NearestNeighbourDomain.fit(X.iloc[train][columns].to_numpy(), groups[train])
        distance = domain.distance(X.iloc[test][columns].to_numpy())
        for model in CV_MODELS:
            predicted, unc = model.fit_predict(
                config, X.iloc[train], y[train], groups[train], X.iloc[test]
            )
            rows.append(pd.DataFrame({
                "model": model.name, "fold": fold, "row": test, "family": groups[test],
                "measured": y[test], "predicted": predicted, "unc": unc,
                "censored": table["censored"].to_numpy()[test],
                "domain_distance": distance, "in_domain": distance <= domain.threshold,
            }))
    return pd.concat(rows, ignore_index=True)


def cv_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    """MAE (log10 units) and Spearman rho per model over the uncensored held-out rows."""
    scored = predictions[~predictions["censored"]]
    out = []
    for name, group in scored.groupby("model", sort=False):
        rho = spearmanr(group["measured"], group["predicted"]).statistic
        mae = float(np.mean(np.abs(group["measured"] - group["predicted"])))
        out.append({"model": name, "mae_log10": mae, "spearman_rho": float(rho), "n": len(group)})
    return pd.DataFrame(out)


def domain_split_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    """MAE (log10 units) and row count per model, in domain and out of domain (uncensored rows)."""
    scored = predictions[~predictions["censored"]].assign(
        error=lambda frame: np.abs(frame["measured"] - frame["predicted"])
    )
    split = scored.groupby(["model", "in_domain"], sort=False)["error"].agg(["mean", "size"])
    out = split.unstack("in_domain")
    return pd.DataFrame({
        "model": out.index,
        "mae_in_domain": out[("mean", True)].to_numpy(),
        "n_in_domain": out[("size", True)].to_numpy(),
        "mae_out_of_domain": out[("mean", False)].to_numpy(),
        "n_out_of_domain": out[("size", False)].to_numpy(),
    })


@dataclass(frozen=True)
class CrossValidation:
    """Held-out predictions of the CV comparison and its summary table."""

    predictions: pd.DataFrame
    metrics: pd.DataFrame


def _key(table: pd.DataFrame, config: ConductivityConfig) -> str:
    return cache_key(table_digest(table), repr(asdict(config)), MODEL_VERSION, sklearn.__version__)


def _training_design(table: pd.DataFrame) -> pd.DataFrame:
    return design_matrix(list(table["formula"]), table["temperature_K"].to_numpy(), tg_model())


def cross_validate(
    config: ConductivityConfig = ConductivityConfig(), table: pd.DataFrame | None = None
) -> CrossValidation:
    """Grouped CV of the model and both baselines (default: all shipped data), cached on disk."""
    table = load_conductivity_data() if table is None else table

    def build() -> CrossValidation:
        predictions = grouped_cv(table, _training_design(table), config)
        return CrossValidation(predictions, cv_metrics(predictions))

    return load_or_build("conductivity-cv", _key(table, config), build)


def fitted_model(config: ConductivityConfig = ConductivityConfig()) -> ShrunkExtraTrees:
    """The model fitted on all shipped data (cached on disk, so scoring never refits)."""
    table = load_conductivity_data()

    def build() -> ShrunkExtraTrees:
        X = _training_design(table)
        model = build_model(config, X)
        return model.fit(X, table["log10_sigma_S_cm"].to_numpy(), table["family"].to_numpy())

    return load_or_build("conductivity", _key(table, config), build)


@lru_cache(maxsize=1)
def training_vocabulary() -> ElementVocabulary:
    """Elements and element pairs of the shipped conductivity training compositions."""
    return ElementVocabulary.of(parse_amounts(load_conductivity_data()["formula"]))
