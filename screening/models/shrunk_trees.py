"""Extra trees that fall back on a robust Arrhenius trend away from their training data.

Held-out families (grouped CV) show that composition-trained trees extrapolate badly: the famous
oxide fast conductors (NASICON, garnet, perovskite) look like the poor oxides of the other
families. Near the training data the trees are trusted; far from it the prediction shrinks toward
a median (L1) linear regression of log10 sigma on a few descriptors that do transfer between
families: ``1000/T`` (Arrhenius), the sulfide and halide fractions (soft, polarisable anions) and
the Li fraction (carriers)::

    w(d) = exp(-d / length)
    log10_sigma = trend(T) + w(d) * (trees(x) - trend(T))

d is the distance from a row to its nearest training row in the standardised chemistry
descriptors (temperature excluded); the same distance is the model's applicability-domain
measure, with the in-domain threshold of
:class:`~screening.models.domain.NearestNeighbourDomain` (calibrated on distances between
training families). ``length`` is a hyperparameter (0.1 standardised units: the trees are
trusted only on near-duplicates of measured compositions), set by looking at the grouped CV of
the validation report; choosing it by an inner grouped CV was unstable, because which family is
held out decides whether trees help. The uncertainty scale is calibrated inside ``fit`` on an
inner grouped CV, so it never sees the outer test families.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.linear_model import QuantileRegressor
from sklearn.model_selection import GroupKFold

from screening.models.domain import NearestNeighbourDomain

#: Typical scatter of repeated conductivity measurements of one compound (log10 units).
REPEAT_SCATTER_LOG10 = 0.1


class ShrunkExtraTrees(RegressorMixin, BaseEstimator):
    """Extra trees blended with a median linear trend by the distance to the training data.

    ``fit(X, y, groups)`` takes a DataFrame; ``trend_columns`` names the inputs of the trend,
    ``temperature_columns`` those the trees must not see (they model the residual of the trend
    from chemistry alone) and ``domain_columns`` the descriptors of the distance (the chemistry
    columns when empty).
    """

    def __init__(
        self,
        trend_columns: Sequence[str] = ("inv_T_1000_per_K", "frac_S", "frac_halide", "frac_Li"),
        temperature_columns: Sequence[str] = ("inv_T_1000_per_K", "tg_over_T"),
        domain_columns: Sequence[str] = (),
        n_estimators: int = 300,
        max_features: float = 0.3,
        min_samples_leaf: int = 1,
        inner_splits: int = 4,
        length: float = 0.1,
        random_state: int = 0,
    ) -> None:
        self.trend_columns = trend_columns
        self.temperature_columns = temperature_columns
        self.domain_columns = domain_columns
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.inner_splits = inner_splits
        self.length = length
        self.random_state = random_state

    def _domain(self, X: pd.DataFrame) -> list[str]:
        if self.domain_columns:
            return list(self.domain_columns)
        return self._chemistry(X)

    def _chemistry(self, X: pd.DataFrame) -> list[str]:
        return [c for c in X.columns if c not in self.temperature_columns]

    def _fit_parts(self, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray) -> dict[str, object]:
        trend = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs")
        trend.fit(X[list(self.trend_columns)].to_numpy(), y)
        residual = y - trend.predict(X[list(self.trend_columns)].to_numpy())
        # The trees never see temperature: it enters only through the trend's single Arrhenius
        # slope, so every prediction rises with temperature as conductivity must.
        trees = ExtraTreesRegressor(
            n_estimators=self.n_estimators, max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf, random_state=self.random_state, n_jobs=1,
        ).fit(X[self._chemistry(X)].to_numpy(dtype=np.float32), residual)
        domain = NearestNeighbourDomain.fit(X[self._domain(X)].to_numpy(), groups)
        return {"trees": trees, "trend": trend, "domain": domain,
                "trend_sd": float(np.std(residual))}

    def _predict_parts(
        self, parts: dict, X: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Trees (trend plus residual), tree spread, trend and domain distance per row."""
        values = X[self._chemistry(X)].to_numpy(dtype=np.float32)
        per_tree = np.stack([tree.predict(values) for tree in parts["trees"].estimators_])
        trend = parts["trend"].predict(X[list(self.trend_columns)].to_numpy())
        distance = parts["domain"].distance(X[self._domain(X)].to_numpy())
        return trend + per_tree.mean(axis=0), per_tree.std(axis=0), trend, distance

    def fit(self, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray) -> ShrunkExtraTrees:
        """Fit trees and trend; calibrate ``unc_scale_`` on the residuals of an inner grouped CV."""
        y = np.asarray(y, dtype=float)
        groups = np.asarray(groups)
        oof = np.empty((len(y), 4))
        for train, test in GroupKFold(n_splits=self.inner_splits).split(X, groups=groups):
            parts = self._fit_parts(X.iloc[train], y[train], groups[train])
            oof[test] = np.column_stack(
                self._predict_parts(parts, X.iloc[test])
            )
        trees, spread, trend, distance = oof.T
        weight = np.exp(-distance / self.length)
        self.parts_ = self._fit_parts(X, y, groups)
        raw = self._raw_unc(weight, spread, self.parts_["trend_sd"])
        z = (trend + weight * (trees - trend) - y) / raw
        self.unc_scale_ = float(np.sqrt(np.mean(z**2)))
        self.columns_ = list(X.columns)
        return self

    @staticmethod
    def _raw_unc(weight: np.ndarray, spread: np.ndarray, trend_sd: float) -> np.ndarray:
        # near the data the trees' disagreement, far from it the scatter around the trend; the
        # floor is the scatter of repeated measurements, so a training row never gets zero
        raw = np.sqrt(weight * spread**2 + (1.0 - weight) * trend_sd**2)
        return np.maximum(raw, REPEAT_SCATTER_LOG10)

    def predict_with_uncertainty(
        self, X: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prediction, calibrated 1-sigma uncertainty and domain distance for each row."""
        X = X.loc[:, self.columns_]
        trees, spread, trend, distance = self._predict_parts(self.parts_, X)
        weight = np.exp(-distance / self.length)
        unc = self.unc_scale_ * self._raw_unc(weight, spread, self.parts_["trend_sd"])
        return trend + weight * (trees - trend), unc, distance

    @property
    def domain_threshold_(self) -> float:
        """In-domain bound on the domain distance (see :mod:`screening.models.domain`)."""
        return self.parts_["domain"].threshold

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """log10 sigma for each row."""
        return self.predict_with_uncertainty(X)[0]
