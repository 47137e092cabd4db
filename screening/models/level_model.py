"""The conductivity level (log10 sigma at 298.15 K): extra trees near the data, a physical trend
with a Gaussian-process residual away from it, switched by how close the nearest measurement is.

Two cross-validation regimes pull a composition model in opposite directions (see
``docs/validation.md``): with random folds nearly every test composition has a measured sibling
(a doped variant, the same compound from another lab) and extra trees on magpie + physics
descriptors beat everything; with whole structural families held out the same trees are
confidently wrong (a held-out NASICON looks like the poor phosphates and is predicted four
decades too low) while a few transferable descriptors do better than the mean. So:

- ``trees``: :class:`~sklearn.ensemble.ExtraTreesRegressor` on every descriptor (magpie, glass
  network, transport, the glass/crystal state), trained on the level;
- ``trend``: a Huber regression of the level on a handful of descriptors chosen by forward
  selection on family-grouped folds (``trend_columns``);
- ``gp``: a Gaussian process (fixed RBF kernel on the standardised physics descriptors, length
  scale ``gp_length``) on the residual of the trend, so the smooth model bends to nearby data and
  falls back to the trend far from all of it;
- the switch: the Hellinger distance d from the candidate's composition to the nearest training
  composition (:class:`~screening.models.domain.CompositionDistance`); the weight of the trees is
  ``w = 1 / (1 + exp((d - gate_distance) / gate_width))``. Below ``gate_distance`` the prediction
  rests on nearby measurements, which is also what ``in_domain`` means.

The 1-sigma uncertainty is ``sqrt(w u_near^2 + (1 - w) u_far(d)^2)``. ``u_near`` is the spread of
the trees, scaled so that 68% of the out-of-fold residuals of an inner random cross-validation
fall within it. ``u_far(d) = far_base + far_slope * d`` grows with the distance: the 68% quantile
regression of the absolute out-of-fold error of the blended prediction on its distance, over
every row of the same inner folds (a new compound sits at any distance from the rest; the error
grows from the trees' fraction of a decade beside a measured sibling to decades far from all).
Out of the domain (``d > gate_distance``) sigma is at least :data:`OUT_OF_DOMAIN_MIN_UNC_LOG10`.
Everything is fitted on the training rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.linear_model import HuberRegressor, QuantileRegressor
from sklearn.preprocessing import StandardScaler

from screening.models.domain import CompositionDistance

#: Typical scatter of repeated conductivity measurements of one compound (log10 units): the
#: floor of every uncertainty, so a measured composition never gets zero.
REPEAT_SCATTER_LOG10 = 0.15
#: Share of held-out residuals a calibrated 1-sigma band should contain.
ONE_SIGMA_COVERAGE = 0.6827
#: Least 1-sigma uncertainty (log10) out of the domain: held out by family or by source, oxides
#: below 1e-9 S/cm come out near 1e-5, and this floor keeps such a 5-decade miss within
#: 2.5 sigma where the fitted growth alone would not.
OUT_OF_DOMAIN_MIN_UNC_LOG10 = 2.0


@dataclass(frozen=True)
class LevelInputs:
    """What the level model reads about each composition."""

    design: pd.DataFrame  # every descriptor plus the state column ``glass`` (1.0 or 0.0)
    fractions: np.ndarray  # atomic fractions over ``elements``
    elements: tuple[str, ...]

    def take(self, rows: np.ndarray) -> LevelInputs:
        """The inputs of a subset of the rows."""
        return LevelInputs(self.design.iloc[rows].reset_index(drop=True), self.fractions[rows],
                           self.elements)

    def in_both_states(self) -> LevelInputs:
        """These rows as crystals (``glass`` 0.0), then the same rows as glasses (1.0)."""
        design = pd.concat([self.design.assign(glass=0.0), self.design.assign(glass=1.0)],
                           ignore_index=True)
        return LevelInputs(design, np.vstack([self.fractions, self.fractions]), self.elements)


@dataclass(frozen=True)
class LevelPrediction:
    """Level, calibrated 1-sigma uncertainty, distance to the data and the trees' weight."""

    level: np.ndarray
    unc: np.ndarray
    distance: np.ndarray
    weight: np.ndarray


def gp_mean(gp: GaussianProcessRegressor, x: np.ndarray, chunk_rows: int = 8192) -> np.ndarray:
    """The posterior mean of a GP with a fixed ``C * RBF + White`` kernel (no ``normalize_y``).

    The same numbers as ``gp.predict(x)`` (the white-noise term does not couple distinct points),
    computed in float32 with one matrix product per chunk: scikit-learn's generic kernel call is
    twenty times slower, and the GP is evaluated for every candidate of a screen.
    """
    kernel = gp.kernel_.k1
    signal, length = kernel.k1.constant_value, kernel.k2.length_scale
    train = (gp.X_train_ / length).astype(np.float32)
    train_sq = (train**2).sum(axis=1)
    alpha = gp.alpha_.astype(np.float32)
    out = np.empty(len(x))
    for start in range(0, len(x), chunk_rows):
        block = (x[start:start + chunk_rows] / length).astype(np.float32)
        sq = (block**2).sum(axis=1)[:, None] + train_sq[None, :] - 2.0 * block @ train.T
        out[start:start + chunk_rows] = (signal * np.exp(-0.5 * np.maximum(sq, 0.0))) @ alpha
    return out


def random_groups_folds(groups: np.ndarray, n_splits: int, random_state: int
                        ) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds random over groups (every row of a group on one side), groups shuffled by seed."""
    unique = np.unique(groups)
    np.random.default_rng(random_state).shuffle(unique)
    fold_of = dict(zip(unique, np.arange(len(unique)) % n_splits, strict=True))
    fold = np.array([fold_of[g] for g in groups])
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(n_splits)]


class LevelModel(RegressorMixin, BaseEstimator):
    """Extra trees near the data, trend + GP residual away from it (see the module docstring).

    ``fit(inputs, level, compounds)``: ``compounds`` groups the rows of one reduced formula
    (random inner folds).
    """

    def __init__(
        self,
        trend_columns: Sequence[str] = (),
        gp_columns: Sequence[str] = (),
        n_estimators: int = 300,
        gp_length: float = 1.0,
        gp_signal_var: float = 2.0,
        gp_noise_var: float = 0.3,
        gate_distance: float = 0.3,
        gate_width: float = 0.02,
        inner_splits: int = 3,
        random_state: int = 0,
    ) -> None:
        self.trend_columns = trend_columns
        self.gp_columns = gp_columns
        self.n_estimators = n_estimators
        self.gp_length = gp_length
        self.gp_signal_var = gp_signal_var
        self.gp_noise_var = gp_noise_var
        self.gate_distance = gate_distance
        self.gate_width = gate_width
        self.inner_splits = inner_splits
        self.random_state = random_state

    def _fit_parts(self, inputs: LevelInputs, level: np.ndarray) -> dict[str, object]:
        design = inputs.design
        trees = ExtraTreesRegressor(n_estimators=self.n_estimators, random_state=self.random_state,
                                    n_jobs=1).fit(design.to_numpy(dtype=np.float32), level)
        trend_scaler = StandardScaler().fit(design[list(self.trend_columns)].to_numpy())
        trend = HuberRegressor(max_iter=1000).fit(
            trend_scaler.transform(design[list(self.trend_columns)].to_numpy()), level)
        residual = level - trend.predict(
            trend_scaler.transform(design[list(self.trend_columns)].to_numpy()))
        gp_scaler = StandardScaler().fit(design[list(self.gp_columns)].to_numpy())
        kernel = (ConstantKernel(self.gp_signal_var, "fixed") * RBF(self.gp_length, "fixed")
                  + WhiteKernel(self.gp_noise_var, "fixed"))
        gp = GaussianProcessRegressor(kernel, optimizer=None).fit(
            gp_scaler.transform(design[list(self.gp_columns)].to_numpy()), residual)
        return {"trees": trees, "trend": trend, "trend_scaler": trend_scaler, "gp": gp,
                "gp_scaler": gp_scaler,
                "distance": CompositionDistance.fit(inputs.fractions, inputs.elements)}

    def _predict_parts(self, parts: dict, inputs: LevelInputs) -> tuple[np.ndarray, ...]:
        """Trees, their spread, the smooth model and the distance, per row."""
        design = inputs.design
        values = design.to_numpy(dtype=np.float32)
        # Each tree's own predict re-validates the whole matrix; the fitted tree structures
        # answer the same numbers without that, which matters at a million rows.
        per_tree = np.stack([tree.tree_.predict(values)[:, 0]
                             for tree in parts["trees"].estimators_])
        trend = parts["trend"].predict(
            parts["trend_scaler"].transform(design[list(self.trend_columns)].to_numpy()))
        gp_x = parts["gp_scaler"].transform(design[list(self.gp_columns)].to_numpy())
        smooth = trend + gp_mean(parts["gp"], np.nan_to_num(gp_x))
        distance = parts["distance"].distance(inputs.fractions, inputs.elements)
        return per_tree.mean(axis=0), per_tree.std(axis=0), smooth, distance

    def weight(self, distance: np.ndarray) -> np.ndarray:
        """Weight of the trees at a composition distance (0.5 at ``gate_distance``)."""
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp((np.asarray(distance) - self.gate_distance)
                                       / self.gate_width))

    def _out_of_fold(self, inputs: LevelInputs, level: np.ndarray,
                     folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        out = np.empty((len(level), 4))
        for train, test in folds:
            parts = self._fit_parts(inputs.take(train), level[train])
            out[test] = np.column_stack(self._predict_parts(parts, inputs.take(test)))
        return out

    @staticmethod
    def _scale(residual: np.ndarray, raw: np.ndarray) -> float:
        ratio = np.abs(residual) / np.maximum(raw, REPEAT_SCATTER_LOG10)
        return float(np.quantile(ratio, ONE_SIGMA_COVERAGE)) if len(ratio) else 1.0

    @staticmethod
    def _growth(residual: np.ndarray, distance: np.ndarray) -> tuple[float, float]:
        """Intercept and slope (decades per unit distance, never negative) of the
        :data:`ONE_SIGMA_COVERAGE` quantile of ``|residual|`` linear in ``distance``."""
        size = np.abs(residual)
        if len(size) < 2 or np.ptp(distance) == 0.0:
            return (float(np.quantile(size, ONE_SIGMA_COVERAGE)) if len(size) else 1.0), 0.0
        line = QuantileRegressor(quantile=ONE_SIGMA_COVERAGE, alpha=0.0, solver="highs").fit(
            distance[:, None], size)
        if line.coef_[0] <= 0.0:  # no growth in these folds: a constant quantile
            return float(np.quantile(size, ONE_SIGMA_COVERAGE)), 0.0
        return float(line.intercept_), float(line.coef_[0])

    def far_unc(self, distance: np.ndarray) -> np.ndarray:
        """1-sigma uncertainty (log10) away from the data at a composition distance: the fitted
        growth, before the out-of-domain floor."""
        grown = self.far_base_ + self.far_slope_ * np.asarray(distance, dtype=float)
        return np.maximum(grown, REPEAT_SCATTER_LOG10)

    def fit(self, inputs: LevelInputs, level: np.ndarray, compounds: np.ndarray) -> LevelModel:
        """Fit every part on all rows; calibrate the uncertainty on inner random folds over
        ``compounds`` (the rows of one reduced formula stay together)."""
        level = np.asarray(level, dtype=float)
        trees, spread, smooth, distance = self._out_of_fold(inputs, level, random_groups_folds(
            np.asarray(compounds), self.inner_splits, self.random_state)).T
        near = self.weight(distance) >= 0.5
        self.near_scale_ = self._scale((trees - level)[near], spread[near])
        blended = smooth + self.weight(distance) * (trees - smooth)
        self.far_base_, self.far_slope_ = self._growth(blended - level, distance)
        self.parts_ = self._fit_parts(inputs, level)
        self.columns_ = list(inputs.design.columns)
        return self

    def predict_with_uncertainty(self, inputs: LevelInputs, tree_weight: float | None = None
                                 ) -> LevelPrediction:
        """Level, uncertainty, distance and trees' weight for each row; ``tree_weight`` replaces
        the distance switch (1.0 trees alone, 0.0 trend + GP alone: the ablations)."""
        design = inputs.design.loc[:, self.columns_]
        inputs = LevelInputs(design, inputs.fractions, inputs.elements)
        trees, spread, smooth, distance = self._predict_parts(self.parts_, inputs)
        weight = self.weight(distance) if tree_weight is None else np.full(len(trees),
                                                                            tree_weight)
        near = self.near_scale_ * np.maximum(spread, REPEAT_SCATTER_LOG10)
        unc = np.sqrt(weight * near**2 + (1.0 - weight) * self.far_unc(distance)**2)
        if tree_weight is None:
            unc = np.where(distance > self.gate_distance,
                           np.maximum(unc, OUT_OF_DOMAIN_MIN_UNC_LOG10), unc)
        return LevelPrediction(smooth + weight * (trees - smooth), unc, distance, weight)

    def predict(self, inputs: LevelInputs) -> np.ndarray:
        """The level of each row."""
        return self.predict_with_uncertainty(inputs).level
