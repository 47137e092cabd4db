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

The applicability domain (:class:`~screening.models.domain.NearestNeighbourDomain`) lives in the
standardised network descriptors that set Tg (:data:`DOMAIN_LABELS`); its threshold comes from the
leave-one-out nearest-neighbour distances of the reference glasses (each glass its own group).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.models.domain import NearestNeighbourDomain
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


#: Descriptors of the Tg domain: the rigidity and the network quantities it is built from.
DOMAIN_LABELS = (
    "rigidity", "net_former_coordination", "net_former_field_strength", "net_bond_strength",
    "net_bridging_frac", "net_modifier_frac",
)


def domain_descriptors(amounts: Sequence[tuple[tuple[str, float], ...] | None]) -> np.ndarray:
    """:data:`DOMAIN_LABELS` of many compositions, rows x columns (None gives a NaN row)."""
    rows = []
    for composition in amounts:
        if composition is None:
            rows.append((np.nan,) * len(DOMAIN_LABELS))
            continue
        net = network(composition)
        rows.append((rigidity(net), net.former_coordination, net.former_field_strength,
                     net.bond_strength, net.bridging_frac, net.modifier_frac))
    return np.array(rows, dtype=float).reshape(len(rows), len(DOMAIN_LABELS))


@dataclass(frozen=True)
class TgModel:
    """Fitted ``Tg_K = intercept_K + slope_K * rigidity`` with its LOO residuals and domain."""

    intercept_K: float
    slope_K: float
    loo_predicted_K: tuple[float, ...]
    unc_K: float
    domain: NearestNeighbourDomain

    def predict(self, rigidity_values: np.ndarray) -> np.ndarray:
        """Tg in K for descriptor values from :func:`rigidity_of`."""
        return self.intercept_K + self.slope_K * np.asarray(rigidity_values, dtype=float)


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(slope)


def fit_tg_model(
    reference: pd.DataFrame, amounts: Sequence[tuple[tuple[str, float], ...]]
) -> TgModel:
    """Fit on the reference glasses (``tg_K`` column, amounts per row): LOO residuals, domain."""
    x = rigidity_of(amounts)
    y = reference["tg_K"].to_numpy(dtype=float)
    loo = np.empty_like(y)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        intercept, slope = _line(x[keep], y[keep])
        loo[i] = intercept + slope * x[i]
    intercept, slope = _line(x, y)
    unc = float(np.sqrt(np.mean((loo - y) ** 2)))
    domain = NearestNeighbourDomain.fit(domain_descriptors(amounts), np.arange(len(y)))
    return TgModel(intercept, slope, tuple(float(v) for v in loo), unc, domain)
