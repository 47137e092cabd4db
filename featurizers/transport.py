"""Descriptors of ion transport from composition: the mobile ion, its anions, and how dense it is.

What the conductivity literature ties to fast ion hopping, each computable from a formula:

- the mobile ion (the most abundant alkali; Ag+ or Cu+ when there is none): its atomic fraction
  and radius (Li+ hops more easily than Na+ through the same anion frame);
- anion polarisability: soft, polarisable anions (S2-, I-, Br-) screen the mobile ion's charge
  and lower its barrier. Electronic polarisabilities of Tessman, Kahn and Shockley
  (Phys. Rev. 92, 890 (1953), sodium D line, A^3); where they give a range (O2-, S2-, Se2-,
  Te2-) the midpoint is used; anions without a value (N3-, H-) get ``alpha = k r^3`` with ``k``
  the median of the tabulated anions (polarisability scales with ionic volume);
- anion radius and chemical softness ``2 / (I - A)``, the inverse of Pearson's absolute hardness
  of the anion's atom (Parr and Pearson, J. Am. Chem. Soc. 105, 7512 (1983)), from pymatgen's
  ionisation energies and electron affinities;
- the ionic character of the mobile-ion-anion bond, ``1 - exp(-(dX)^2 / 4)`` (Pauling);
- carrier density: mobile ions per nm^3 of ionic volume (sum of ``4/3 pi r^3`` over all ions,
  radii at their charge-balanced charges, :mod:`featurizers.charges`). Real volumes are 1.3-2
  times larger (packing), so this ranks compositions rather than giving absolute densities.

Free volume needs a density, which composition alone does not give, so it is not estimated here.
A composition without a mobile ion has 0 for the mobile-ion descriptors; without anions, 0 for
the anion means.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
from matminer.featurizers.base import BaseFeaturizer
from pymatgen.core import Composition

from candidates.chemistry import ALKALIS, anion_radius_A, element, ionic_radius_A
from featurizers.charges import balance, weighted_mean
from featurizers.fast import FractionFeaturizer, featurize_via_fractions

#: Mobile ions in order of preference: the most abundant alkali first, then Ag+ and Cu+.
ALKALI_IONS = tuple(sorted(ALKALIS, key=lambda symbol: element(symbol).Z))
OTHER_MOBILE_IONS = ("Ag", "Cu")
#: Electronic polarisabilities (A^3), Tessman, Kahn and Shockley 1953; ranges as midpoints.
ANION_POLARISABILITY_A3 = {
    "F": 0.64, "Cl": 2.96, "Br": 4.16, "I": 6.43,
    "O": (0.5 + 3.2) / 2, "S": (4.8 + 5.9) / 2, "Se": (6.0 + 7.5) / 2, "Te": (8.3 + 10.2) / 2,
}  # fmt: skip
LABELS = (
    "ion_mobile_frac",  # mobile ions per atom
    "ion_mobile_radius_A",  # radius of the mobile ion (0 when there is none)
    "ion_anion_polarisability_A3",  # anion-weighted electronic polarisability
    "ion_anion_radius_A",  # anion-weighted radius
    "ion_anion_softness_per_eV",  # anion-weighted 2 / (I - A)
    "ion_mobile_anion_ionicity",  # Pauling ionic character of the mobile-ion-anion bond
    "ion_carrier_density_nm3",  # mobile ions per nm^3 of ionic volume
)


@cache
def anion_polarisability_A3(symbol: str) -> float:
    """Electronic polarisability of an anion (A^3): tabulated, else scaled from its volume."""
    if symbol in ANION_POLARISABILITY_A3:
        return ANION_POLARISABILITY_A3[symbol]
    scale = np.median([a / anion_radius_A(el) ** 3 for el, a in ANION_POLARISABILITY_A3.items()])
    return float(scale) * anion_radius_A(symbol) ** 3


@cache
def softness_per_eV(symbol: str) -> float:
    """Chemical softness ``2 / (I - A)`` of an element (1/eV), Parr-Pearson."""
    atom = element(symbol)
    return 2.0 / (atom.ionization_energy - atom.electron_affinity)


def _mobile_column(fractions: np.ndarray, elements: list[str]) -> np.ndarray:
    """Column of each row's mobile ion (see the module docstring), -1 where there is none."""
    column = np.full(len(fractions), -1)
    for group in (OTHER_MOBILE_IONS, ALKALI_IONS):  # the alkalis, checked last, win
        columns = [elements.index(s) if s in elements else -1 for s in group]
        amounts = np.column_stack([fractions[:, j] if j >= 0 else np.zeros(len(fractions))
                                   for j in columns])
        # argmax takes the first of equal amounts: the earlier ion of the group.
        best = np.asarray(columns)[amounts.argmax(axis=1)]
        column = np.where(amounts.max(axis=1) > 0, best, column)
    return column


def _per_element(elements: list[str], value: Callable[[str], float], mask: np.ndarray
                 ) -> np.ndarray:
    return np.array([value(s) if m else np.nan for s, m in zip(elements, mask, strict=True)])


def transport_descriptors(fractions: np.ndarray, elements: list[str]) -> np.ndarray:
    """``n x len(LABELS)`` transport descriptors of a fraction matrix over ``elements``."""
    ions = balance(fractions, elements)
    anions = fractions * ions.is_anion
    volume_A3 = (fractions * 4.0 / 3.0 * math.pi * ions.radii_A**3).sum(axis=1)
    mobile = _mobile_column(fractions, elements)
    has_mobile = mobile >= 0
    rows = np.arange(len(fractions))
    mobile_frac = np.where(has_mobile, fractions[rows, mobile], 0.0)
    monovalent_radius_A = np.array([ionic_radius_A(s, 1) for s in elements])
    mobile_radius = np.where(has_mobile, monovalent_radius_A[mobile], 0.0)
    x = np.array([element(s).X for s in elements], dtype=float)
    x_mobile = np.where(has_mobile, x[mobile], np.nan)
    ionicity = weighted_mean(1.0 - np.exp(-((x - x_mobile[:, None]) ** 2) / 4.0), anions)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(volume_A3 > 0, 1000.0 * mobile_frac / volume_A3, 0.0)
    anion_means = [
        weighted_mean(np.broadcast_to(_per_element(elements, value, ions.is_anion),
                                      fractions.shape), anions)
        for value in (anion_polarisability_A3, anion_radius_A, softness_per_eV)
    ]
    return np.column_stack([
        mobile_frac, mobile_radius, *anion_means,
        np.where(has_mobile, ionicity, 0.0), np.where(has_mobile, density, 0.0),
    ])


class IonTransport(BaseFeaturizer, FractionFeaturizer):
    """The ion-transport block of the composition models (see the module docstring).

    Features: ``ion_mobile_frac``, ``ion_mobile_radius_A``, ``ion_anion_polarisability_A3``,
    ``ion_anion_radius_A``, ``ion_anion_softness_per_eV``, ``ion_mobile_anion_ionicity``,
    ``ion_carrier_density_nm3``.
    """

    def featurize(self, comp: Composition) -> list[float]:
        """The features of one composition (same numbers as the bulk path)."""
        return featurize_via_fractions(self, comp)

    def fraction_features(self, fractions: np.ndarray, elements: list[str]) -> np.ndarray:
        """All features for an ``n x k`` fraction matrix over ``elements``."""
        return transport_descriptors(fractions, elements)

    def feature_labels(self) -> list[str]:
        """Names of the features, units in the name where they have one."""
        return list(LABELS)

    def citations(self) -> list[str]:
        """Polarisabilities, softness and ionicity."""
        return [
            "Tessman, Kahn, Shockley, Phys. Rev. 92, 890 (1953), doi:10.1103/PhysRev.92.890",
            "Parr, Pearson, J. Am. Chem. Soc. 105, 7512 (1983), doi:10.1021/ja00364a005",
            "Pauling, The Nature of the Chemical Bond, 3rd ed. (1960)",
        ]

    def implementors(self) -> list[str]:
        """Who wrote this featurizer."""
        return ["viglas-screen developers"]
