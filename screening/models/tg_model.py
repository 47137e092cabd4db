"""Glass transition temperature: a network trend in ln Tg plus a Gaussian-process residual.

Calibrated on the sourced glasses of ``glass_tg.csv`` (oxide, phosphate, borate, germanate,
fluoride, chloride, oxychloride, chalcogenide and thio- glasses; every row cites its source):

- trend: ridge regression of ``ln Tg`` on the descriptors of :data:`TREND_COLUMNS`, chosen by
  forward selection on the mean of the leave-one-out and leave-one-family-out errors (the
  validation report reproduces the path): the Phillips-Thorpe rigidity of the bridging network,
  the connectivity (bridging anions per former), the chloride fraction (chloride glasses are the
  soft end), and the alkali through its radius and density, so Li and Na glasses differ (the
  smaller Li+ binds its anions harder: LiPO3 611 K against NaPO3 558 K);
- a Gaussian process with a fixed RBF kernel on the standardised network descriptors of
  :data:`GP_COLUMNS` takes up what the trend misses near known glasses and returns to the trend
  away from them.

Where a melting point is known (``compound_melting_points.csv`` or the Tg table), Tg is capped at
``TG_OVER_TM_MAX`` times it: the largest Tg/Tm of the reference glasses, 0.80 (the "2/3 rule"
holds to within 0.5-0.8 there), so no composition is given a Tg above its own melting point.

The uncertainty is the GP's predictive standard deviation in ln Tg, scaled so that 68% of the
leave-one-out residuals fall within it, times Tg. The applicability domain is the glass proxies'
one definition (:mod:`screening.models.domain`): the distance to the nearest reference glass in
the glass-forming model's standardised descriptors, in domain up to that model's threshold (the
95th percentile of the labelled compositions' distances to the nearest composition of another
chemical system). Every reference glass is a labelled glass former, so a composition in the Tg
domain is in the glass-formation domain too; the reverse need not hold (a composition near a
labelled diagram point may be far from every glass whose Tg was measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from screening.models.domain import NearestNeighbourDomain
from screening.models.glass_forming import DOMAIN_COLUMNS

TREND_COLUMNS = (
    "rigidity", "ion_carrier_density_nm3", "frac_Cl", "ion_mobile_radius_A",
    "net_bridging_per_former",
)
GP_COLUMNS = (
    "rigidity", "net_bridging_per_former", "net_former_frac", "net_bond_strength",
    "net_modifier_field_strength", "net_modifier_frac", "frac_halide", "frac_chalcogen", "frac_F",
    "net_former_field_strength", "net_former_anion_dx", "ion_anion_polarisability_A3",
)
RIDGE_ALPHA = 1.0
GP_LENGTH = 1.0
GP_SIGNAL_VAR = 0.05  # (ln Tg)^2: residuals of the trend are about +-20%
GP_NOISE_VAR = 0.02
ONE_SIGMA_COVERAGE = 0.6827


@dataclass(frozen=True)
class TgPrediction:
    """Tg (K), 1-sigma uncertainty (K), domain distance and in-domain flag per composition."""

    tg_K: np.ndarray
    unc_K: np.ndarray
    distance: np.ndarray
    in_domain: np.ndarray


@dataclass(frozen=True)
class TgModel:
    """Fitted trend + GP residual in ln Tg, the Tm cap and the domain."""

    scaler: StandardScaler
    trend: Ridge
    gp_scaler: StandardScaler
    gp: GaussianProcessRegressor
    unc_scale: float
    tg_over_tm_max: float
    domain: NearestNeighbourDomain

    def _log_tg(self, descriptors: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        trend_x = descriptors[list(TREND_COLUMNS)].to_numpy()
        gp_x = descriptors[list(GP_COLUMNS)].to_numpy()
        finite = np.isfinite(trend_x).all(axis=1) & np.isfinite(gp_x).all(axis=1)
        mean = np.full(len(descriptors), np.nan)
        std = np.full(len(descriptors), np.nan)
        if finite.any():
            residual, spread = self.gp.predict(self.gp_scaler.transform(gp_x[finite]),
                                               return_std=True)
            mean[finite] = self.trend.predict(self.scaler.transform(trend_x[finite])) + residual
            std[finite] = spread
        return mean, std

    def predict(self, descriptors: pd.DataFrame, tm_K: np.ndarray | None = None) -> TgPrediction:
        """Tg of compositions given their :func:`~screening.models.features.
        composition_descriptors` and, where known, their melting points (NaN elsewhere)."""
        log_tg, std = self._log_tg(descriptors)
        tg_K = np.exp(log_tg)
        if tm_K is not None:
            tg_K = np.fmin(tg_K, self.tg_over_tm_max * np.asarray(tm_K, dtype=float))
        distance = self.domain.distance(descriptors[list(DOMAIN_COLUMNS)].to_numpy())
        return TgPrediction(tg_K, tg_K * self.unc_scale * std, distance,
                            self.domain.contains(distance))


def _fit_parts(descriptors: pd.DataFrame, log_tg: np.ndarray
               ) -> tuple[StandardScaler, Ridge, StandardScaler, GaussianProcessRegressor]:
    trend_x = descriptors[list(TREND_COLUMNS)].to_numpy()
    scaler = StandardScaler().fit(trend_x)
    trend = Ridge(alpha=RIDGE_ALPHA).fit(scaler.transform(trend_x), log_tg)
    gp_x = descriptors[list(GP_COLUMNS)].to_numpy()
    gp_scaler = StandardScaler().fit(gp_x)
    kernel = (ConstantKernel(GP_SIGNAL_VAR, "fixed") * RBF(GP_LENGTH, "fixed")
              + WhiteKernel(GP_NOISE_VAR, "fixed"))
    residual = log_tg - trend.predict(scaler.transform(trend_x))
    gp = GaussianProcessRegressor(kernel, optimizer=None).fit(gp_scaler.transform(gp_x), residual)
    return scaler, trend, gp_scaler, gp


def held_out_log_tg(descriptors: pd.DataFrame, tg_K: np.ndarray, groups: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """ln Tg and its GP standard deviation for each row, fitted without the row's group
    (each row its own group: leave-one-out; families: leave-one-family-out)."""
    log_tg = np.log(np.asarray(tg_K, dtype=float))
    groups = np.asarray(groups)
    mean = np.empty(len(log_tg))
    std = np.empty(len(log_tg))
    for group in np.unique(groups):
        test = groups == group
        scaler, trend, gp_scaler, gp = _fit_parts(descriptors[~test], log_tg[~test])
        residual, spread = gp.predict(
            gp_scaler.transform(descriptors[test][list(GP_COLUMNS)].to_numpy()), return_std=True)
        trend_x = scaler.transform(descriptors[test][list(TREND_COLUMNS)].to_numpy())
        mean[test] = trend.predict(trend_x) + residual
        std[test] = spread
    return mean, std


def fit_tg_model(descriptors: pd.DataFrame, tg_K: np.ndarray, tm_K: np.ndarray,
                 domain: NearestNeighbourDomain) -> TgModel:
    """Fit on reference glasses: their descriptors, Tg (K) and melting points (NaN where
    unknown); ``domain`` measures the distance to them (the glass-forming model's
    :meth:`~screening.models.glass_forming.GlassFormingModel.tg_domain`)."""
    tg_K = np.asarray(tg_K, dtype=float)
    log_tg = np.log(tg_K)
    loo_mean, loo_std = held_out_log_tg(descriptors, tg_K, np.arange(len(tg_K)))
    unc_scale = float(np.quantile(np.abs(loo_mean - log_tg) / loo_std, ONE_SIGMA_COVERAGE))
    ratio = tg_K / np.asarray(tm_K, dtype=float)
    scaler, trend, gp_scaler, gp = _fit_parts(descriptors, log_tg)
    return TgModel(scaler, trend, gp_scaler, gp, unc_scale, float(np.nanmax(ratio)), domain)
