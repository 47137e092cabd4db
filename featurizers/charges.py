"""Charge balance of many compositions at once: which atoms are anions, each cation's charge, and
every ion's radius, over an atomic-fraction matrix.

Anions carry their fixed charge (:data:`candidates.chemistry.ANION_CHARGE`). Alkali (and Ag, H),
alkaline-earth and rare-earth (and Sc, Y) cations carry a fixed 1, 2 or 3; the other cations share
what the anions leave: their nominal charge (highest common oxidation state) scaled so the
composition balances, kept between 1 and their highest oxidation state.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

from candidates.chemistry import ANION_CHARGE, anion_radius_A, element, ionic_radii_A


@cache
def cation_charge_limits(symbol: str) -> tuple[float, float, float]:
    """``(fixed, nominal, highest)`` charge of a cation; ``fixed`` is 0 when the charge is free."""
    atom = element(symbol)
    if atom.is_alkali or symbol in ("Ag", "H"):
        fixed = 1.0
    elif atom.is_alkaline:
        fixed = 2.0
    elif atom.is_rare_earth or symbol in ("Sc", "Y"):
        fixed = 3.0
    else:
        fixed = 0.0
    nominal = float(max(max(atom.common_oxidation_states, default=2), 1))
    return fixed, nominal, float(max(atom.max_oxidation_state, 1))


@dataclass(frozen=True)
class Ions:
    """Charge-balanced ions of ``n`` compositions over ``elements`` (``n x k`` arrays).

    ``anion_charge`` is the fixed charge magnitude of each element column (0 for a cation);
    ``charges`` the cations' charges (0 in anion columns).
    """

    fractions: np.ndarray
    elements: list[str]
    anion_charge: np.ndarray
    charges: np.ndarray

    @property
    def is_anion(self) -> np.ndarray:
        """Element columns that are anions (``k`` booleans)."""
        return self.anion_charge > 0

    @cached_property
    def radii_A(self) -> np.ndarray:
        """Every ion's radius (``n x k``), the cations' at their charge; computed when first read
        (the liquidus descriptors balance charges without needing radii)."""
        n = len(self.fractions)
        return np.column_stack(
            [np.full(n, anion_radius_A(s)) if anion else ionic_radii_A(s, self.charges[:, j])
             for j, (s, anion) in enumerate(zip(self.elements, self.is_anion, strict=True))]
        ).reshape(self.fractions.shape)


def balance(fractions: np.ndarray, elements: list[str],
            anions: Collection[str] = ANION_CHARGE.keys()) -> Ions:
    """Charges (and, when read, radii) of the ions of every row of ``fractions`` (``n x k`` over
    ``elements``); ``anions`` are the elements that count as anions (every
    :data:`ANION_CHARGE` element by default; :func:`candidates.chemistry.anions_of` reads S, Se
    and Te beside O as cations)."""
    anion_charge = np.array([ANION_CHARGE[s] if s in anions else 0 for s in elements],
                            dtype=float)
    limits = np.array([(0.0, 0.0, 1.0) if s in anions else cation_charge_limits(s)
                       for s in elements]).reshape(len(elements), 3)
    fixed, nominal, highest = limits.T
    is_free = (anion_charge == 0) & (fixed == 0)
    remaining = fractions @ anion_charge - fractions @ fixed
    nominal_total = fractions @ np.where(is_free, nominal, 0.0)
    scalable = (fractions[:, is_free] > 0).any(axis=1) & (remaining > 0) & (nominal_total > 0)
    scale = np.where(scalable, remaining / np.where(scalable, nominal_total, 1.0), 1.0)
    scaled = np.where(scalable[:, None], np.clip(nominal * scale[:, None], 1.0, highest), nominal)
    charges = np.where(is_free, scaled, fixed)
    return Ions(fractions, list(elements), anion_charge, charges)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise ``sum(values * weights) / sum(weights)`` over ``n x k`` arrays; 0 where the
    weights sum to 0. ``values`` in zero-weight columns never enter (they may be NaN)."""
    total = weights.sum(axis=1)
    weighted = np.where(weights > 0, values, 0.0) * weights
    return np.where(total > 0, weighted.sum(axis=1) / np.where(total > 0, total, 1.0), 0.0)
