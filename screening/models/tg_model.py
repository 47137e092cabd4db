"""Glass transition temperature from network rigidity: a two-parameter model, calibrated by LOO.

Tg rises with the strength and the connectivity of the glass network. The descriptor is the
strength of the bridging former-anion bonds per atom (Zachariasen network, electrostatic bond
strength ``z_c z_a / (r_c + r_a)``), weighted by the bond-stretching plus bond-bending constraints
of a former of coordination r (Phillips-Thorpe: ``r/2 + 2r - 3``), relative to a tetrahedral one::

    Tg_K = intercept_K + slope_K * rigidity

Chloride terminal anions and alkali modifiers add atoms but no network bonds, which is why the
VIGLAS glasses sit below room temperature while silica sits above 1400 K. The two parameters are
fitted by least squares on ``glass_tg_reference.csv``; the uncertainty is the root-mean-square
leave-one-out residual on that table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.models.network import Network, network

#: Constraints of a tetrahedral former (r = 4): 2 stretching + 5 bending.
TETRAHEDRAL_CONSTRAINTS = 7.0


def former_constraints(coordination: float) -> float:
    """Phillips-Thorpe bond-stretching plus bond-bending constraints of an r-coordinated former."""
    return coordination / 2.0 + max(2.0 * coordination - 3.0, 0.0)


def rigidity(net: Network) -> float:
    """Bridging-bond strength per atom times the former's constraints relative to a tetrahedron."""
    weight = former_constraints(net.former_coordination) / TETRAHEDRAL_CONSTRAINTS
    return net.bridging_bond_density * weight


def rigidity_of(amounts: Sequence[tuple[tuple[str, float], ...] | None]) -> np.ndarray:
    """:func:`rigidity` of many compositions (``((symbol, amount), ...)``; None gives NaN)."""
    return np.array([np.nan if a is None else rigidity(network(a)) for a in amounts], dtype=float)


@dataclass(frozen=True)
class TgModel:
    """Fitted ``Tg_K = intercept_K + slope_K * rigidity`` with its LOO residuals."""

    intercept_K: float
    slope_K: float
    loo_predicted_K: tuple[float, ...]
    unc_K: float

    def predict(self, rigidity_values: np.ndarray) -> np.ndarray:
        """Tg in K for descriptor values from :func:`rigidity_of`."""
        return self.intercept_K + self.slope_K * np.asarray(rigidity_values, dtype=float)


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(slope)


def fit_tg_model(
    reference: pd.DataFrame, amounts: Sequence[tuple[tuple[str, float], ...]]
) -> TgModel:
    """Fit on the reference glasses (``tg_K`` column, amounts per row) with LOO residuals."""
    x = rigidity_of(amounts)
    y = reference["tg_K"].to_numpy(dtype=float)
    loo = np.empty_like(y)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        intercept, slope = _line(x[keep], y[keep])
        loo[i] = intercept + slope * x[i]
    intercept, slope = _line(x, y)
    unc = float(np.sqrt(np.mean((loo - y) ** 2)))
    return TgModel(intercept, slope, tuple(float(v) for v in loo), unc)
