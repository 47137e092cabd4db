"""How ionic conductivity changes with temperature: Arrhenius below Tg, Vogel-Fulcher-Tammann above.

A composition's conductivity is summarised by its *level*: log10 sigma (S/cm) at the reference
temperature ``T_ref`` = 298.15 K on the Arrhenius branch. The temperature law turns a level into
sigma at any temperature, and back:

- **Crystals, and glasses below Tg**: ``sigma T = A exp(-Ea / kT)``. The activation energy follows
  the level through the compensation (Meyer-Neldel) relation seen in the shipped multi-temperature
  measurements, ``Ea = ea0 + ea_slope * log10(sigma_ref T_ref)``: good conductors have low
  barriers (fitted on every composition measured at three or more temperatures; about
  0.27 - 0.05 z eV, clipped to ``[EA_MIN_EV, EA_MAX_EV]``).
- **Glasses above Tg** (a supercooled liquid, the VIGLAS regime): ion motion couples to the
  structural relaxation, and conductivity follows the Williams-Landel-Ferry form of the VFT law
  from its value at Tg up to the molten-salt limit ``L_melt``::

      log10 sigma(T) = L_g + (L_melt - L_g) (T - Tg) / (C2 + T - Tg)

  i.e. ``sigma = sigma_melt exp(-B / (T - T0))`` with ``T0 = Tg - C2`` tied to the predicted Tg
  and ``B`` set by continuity at Tg (``L_g`` is the Arrhenius branch at Tg). ``C2`` = 51.6 K is
  the universal WLF constant (Williams, Landel and Ferry, J. Am. Chem. Soc. 77, 3701 (1955));
  ``L_melt`` = 0 (1 S/cm) is the order of molten alkali halides and haloaluminates (Janz,
  J. Phys. Chem. Ref. Data 17, Suppl. 2 (1988)). The curve bends upwards at Tg (the S-shape of
  the VIGLAS sigma(T)) and flattens towards the melt; for LiAlCl2.5O0.75 (Tg 256 K) it gives an
  apparent activation energy of about 0.35 eV between 30 and 105 C (measured: 0.33 eV) with no
  parameter fitted to that glass.

Both branches rise with temperature. ``level_of`` inverts ``log_sigma`` exactly, which is how
measurements at any temperature become training levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BOLTZMANN_EV_K = 8.617333262e-5
LN10 = float(np.log(10.0))
REFERENCE_K = 298.15
#: Activation energies outside this range are clipped (eV).
EA_MIN_EV = 0.10
EA_MAX_EV = 1.20
WLF_C2_K = 51.6
MELT_LOG10_S_CM = 0.0
#: A composition enters the compensation fit when measured at this many temperatures ...
MIN_TEMPERATURES = 3
#: ... spread over at least this range of 1000/T (1/K).
MIN_INVERSE_SPAN = 0.3


def _tg_like(tg_K: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    if tg_K is None:
        return np.full(like.shape, np.nan)
    return np.broadcast_to(np.asarray(tg_K, dtype=float), like.shape)


@dataclass(frozen=True)
class TemperatureLaw:
    """Arrhenius with a level-dependent activation energy, WLF/VFT above a glass's Tg."""

    ea0_eV: float
    ea_slope_eV: float
    wlf_c2_K: float = WLF_C2_K
    melt_log10_S_cm: float = MELT_LOG10_S_CM

    def activation_energy_eV(self, level: np.ndarray) -> np.ndarray:
        """Arrhenius activation energy (eV) of compositions at the given levels."""
        z = np.asarray(level, dtype=float) + np.log10(REFERENCE_K)
        return np.clip(self.ea0_eV + self.ea_slope_eV * z, EA_MIN_EV, EA_MAX_EV)

    def _arrhenius(self, level: np.ndarray, temperature_K: np.ndarray) -> np.ndarray:
        ea = self.activation_energy_eV(level)
        shift = ea / (BOLTZMANN_EV_K * LN10) * (1.0 / temperature_K - 1.0 / REFERENCE_K)
        return level + np.log10(REFERENCE_K / temperature_K) - shift

    def log_sigma(self, level: np.ndarray, temperature_K: np.ndarray,
                  tg_K: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """log10 sigma (S/cm) and the apparent activation energy (eV) at ``temperature_K``.

        ``tg_K`` is NaN (or None) for crystals: they stay on the Arrhenius branch.
        """
        level, temperature_K = np.broadcast_arrays(np.asarray(level, dtype=float),
                                                   np.asarray(temperature_K, dtype=float))
        tg_K = _tg_like(tg_K, level)
        above = temperature_K > tg_K  # False where Tg is NaN
        at_tg = self._arrhenius(level, np.where(above, tg_K, REFERENCE_K))
        liquid = above & (at_tg < self.melt_log10_S_cm)
        offset_K = np.where(liquid, temperature_K - tg_K, 0.0)
        headroom = self.melt_log10_S_cm - at_tg
        wlf = at_tg + headroom * offset_K / (self.wlf_c2_K + offset_K)
        ea_wlf = (BOLTZMANN_EV_K * LN10 * temperature_K**2 * headroom * self.wlf_c2_K
                  / (self.wlf_c2_K + offset_K) ** 2)
        return (np.where(liquid, wlf, self._arrhenius(level, temperature_K)),
                np.where(liquid, ea_wlf, self.activation_energy_eV(level)))

    def level_of(self, log_sigma: np.ndarray, temperature_K: np.ndarray,
                 tg_K: np.ndarray | None = None) -> np.ndarray:
        """The level whose :meth:`log_sigma` at ``temperature_K`` is ``log_sigma`` (its inverse)."""
        log_sigma, temperature_K = np.broadcast_arrays(np.asarray(log_sigma, dtype=float),
                                                       np.asarray(temperature_K, dtype=float))
        tg_K = _tg_like(tg_K, log_sigma)
        liquid = (temperature_K > tg_K) & (log_sigma < self.melt_log10_S_cm)
        rise = np.where(liquid, temperature_K - tg_K, 0.0)
        fraction = rise / (self.wlf_c2_K + rise)
        at_tg = (log_sigma - self.melt_log10_S_cm * fraction) / (1.0 - fraction)
        arrhenius_value = np.where(liquid, at_tg, log_sigma)
        arrhenius_T = np.where(liquid, tg_K, temperature_K)
        return self._arrhenius_level(arrhenius_value, arrhenius_T)

    def _arrhenius_level(self, log_sigma: np.ndarray, temperature_K: np.ndarray) -> np.ndarray:
        # log_sigma + log10 T = z - Ea(z) u with u = (1/T - 1/T_ref) / (k ln10) and Ea linear in
        # z between the clips: solve the linear case, then redo rows whose Ea was clipped.
        u = (1.0 / temperature_K - 1.0 / REFERENCE_K) / (BOLTZMANN_EV_K * LN10)
        lhs = log_sigma + np.log10(temperature_K)
        z = (lhs + self.ea0_eV * u) / (1.0 - self.ea_slope_eV * u)
        ea = self.ea0_eV + self.ea_slope_eV * z
        clipped = np.clip(ea, EA_MIN_EV, EA_MAX_EV)
        z = np.where(ea == clipped, z, lhs + clipped * u)
        return z - np.log10(REFERENCE_K)


def compensation_points(table: pd.DataFrame) -> pd.DataFrame:
    """Per composition and state measured at :data:`MIN_TEMPERATURES` or more temperatures:
    the Arrhenius fit of ``log10(sigma T)`` against ``1/T`` as ``ea_eV`` and ``z_ref``
    (``log10(sigma T)`` at ``T_ref``). ``table`` has ``formula``, ``state``, ``temperature_K``,
    ``log10_sigma_S_cm`` and ``censored`` columns."""
    rows = []
    measured = table[~table["censored"]]
    for (formula, state), group in measured.groupby(["formula", "state"], sort=True):
        inverse = 1.0 / group["temperature_K"].to_numpy()
        if group["temperature_K"].nunique() < MIN_TEMPERATURES:
            continue
        if 1000.0 * (inverse.max() - inverse.min()) < MIN_INVERSE_SPAN:
            continue
        z = group["log10_sigma_S_cm"].to_numpy() + np.log10(group["temperature_K"].to_numpy())
        slope, intercept = np.polyfit(inverse, z, 1)
        rows.append((formula, state, -slope * BOLTZMANN_EV_K * LN10,
                     intercept + slope / REFERENCE_K))
    return pd.DataFrame(rows, columns=["formula", "state", "ea_eV", "z_ref"])


def fit_temperature_law(table: pd.DataFrame) -> TemperatureLaw:
    """Fit the compensation relation ``Ea = ea0 + ea_slope z_ref`` (Huber regression) on the
    compositions of :func:`compensation_points` whose Arrhenius fit lies within the clips."""
    from sklearn.linear_model import HuberRegressor

    points = compensation_points(table)
    points = points[points["ea_eV"].between(EA_MIN_EV, EA_MAX_EV)]
    fit = HuberRegressor().fit(points[["z_ref"]].to_numpy(), points["ea_eV"].to_numpy())
    return TemperatureLaw(ea0_eV=float(fit.intercept_), ea_slope_eV=float(fit.coef_[0]))
