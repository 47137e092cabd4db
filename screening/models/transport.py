"""Descriptors of ion transport from composition: the mobile ion, its anions, and how dense it is.

What the conductivity literature ties to fast ion hopping, each computable from a formula:

- the mobile ion (the most abundant alkali; Ag+ or Cu+ when there is none): its atomic fraction
  and Shannon radius (Li+ hops more easily than Na+ through the same anion frame);
- anion polarisability: soft, polarisable anions (S2-, I-, Br-) screen the mobile ion's charge
  and lower its barrier. Electronic polarisabilities of Tessman, Kahn and Shockley
  (Phys. Rev. 92, 890 (1953), sodium D line, A^3); where they give a range (O2-, S2-, Se2-,
  Te2-) the midpoint is used; anions without a value (N3-, H-) get ``alpha = k r^3`` with ``k``
  the median of the tabulated anions (polarisability scales with ionic volume);
- anion radius (Shannon 1976) and chemical softness ``2 / (I - A)``, the inverse of Pearson's
  absolute hardness of the anion's atom (Parr and Pearson, J. Am. Chem. Soc. 105, 7512 (1983)),
  from pymatgen's ionisation energies and electron affinities;
- the ionic character of the mobile-ion-anion bond, ``1 - exp(-(dX)^2 / 4)`` (Pauling);
- carrier density: mobile ions per nm^3 of ionic volume (sum of ``4/3 pi r^3`` over all ions,
  Shannon radii at their charge-balanced charges). Real volumes are 1.3-2 times larger
  (packing), so this ranks compositions rather than giving absolute densities.

Free volume needs a density, which composition alone does not give, so it is not estimated here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import cache, lru_cache

import numpy as np

from screening.models.network import ANION_CHARGE, Ions, element, field_values, radius_A

#: Mobile ions in order of preference: the most abundant alkali first, then Ag+ and Cu+.
ALKALI_IONS = ("Li", "Na", "K", "Rb", "Cs")
OTHER_MOBILE_IONS = ("Ag", "Cu")
#: Electronic polarisabilities (A^3), Tessman, Kahn and Shockley 1953; ranges as midpoints.
ANION_POLARISABILITY_A3 = {
    "F": 0.64, "Cl": 2.96, "Br": 4.16, "I": 6.43,
    "O": (0.5 + 3.2) / 2, "S": (4.8 + 5.9) / 2, "Se": (6.0 + 7.5) / 2, "Te": (8.3 + 10.2) / 2,
}


def _anion_radius_A(symbol: str) -> float:
    return radius_A(symbol, -ANION_CHARGE[symbol])


def _volume_scale_A3() -> float:
    """``alpha / r^3`` of the tabulated anions (median), for anions without a value."""
    return float(np.median([a / _anion_radius_A(el) ** 3
                            for el, a in ANION_POLARISABILITY_A3.items()]))


@cache
def anion_polarisability_A3(symbol: str) -> float:
    """Electronic polarisability of an anion (A^3): tabulated, else scaled from its volume."""
    if symbol in ANION_POLARISABILITY_A3:
        return ANION_POLARISABILITY_A3[symbol]
    return _volume_scale_A3() * _anion_radius_A(symbol) ** 3


@cache
def softness_per_eV(symbol: str) -> float:
    """Chemical softness ``2 / (I - A)`` of an element (1/eV), Parr-Pearson."""
    atom = element(symbol)
    return 2.0 / (atom.ionization_energy - atom.electron_affinity)


@dataclass(frozen=True)
class Transport:
    """Per-formula transport descriptors (see the module docstring)."""

    mobile_frac: float  # mobile ions per atom
    mobile_radius_A: float  # Shannon radius of the mobile ion (0 when there is none)
    anion_polarisability_A3: float  # anion-weighted electronic polarisability
    anion_radius_A: float  # anion-weighted Shannon radius
    anion_softness_per_eV: float  # anion-weighted 2 / (I - A)
    mobile_anion_ionicity: float  # Pauling ionic character of the mobile-ion-anion bond
    carrier_density_nm3: float  # mobile ions per nm^3 of ionic volume

    @classmethod
    def labels(cls) -> tuple[str, ...]:
        """Descriptor names, in the order of :meth:`values`."""
        return tuple(f"ion_{f.name}" for f in fields(cls))

    def values(self) -> tuple[float, ...]:
        """Descriptor values, in the order of :meth:`labels`."""
        return field_values(self)


def mobile_ion(comp: dict[str, float]) -> str | None:
    """The mobile ion of a composition: the most abundant alkali, else Ag or Cu, else None."""
    for group in (ALKALI_IONS, OTHER_MOBILE_IONS):
        present = [el for el in group if comp.get(el, 0.0) > 0]
        if present:
            return max(present, key=lambda el: (comp[el], -group.index(el)))
    return None


@lru_cache(maxsize=1 << 18)
def transport(amounts: tuple[tuple[str, float], ...]) -> Transport:
    """Transport descriptors of a composition given as ``((symbol, amount), ...)``."""
    ions = Ions.of(amounts)
    comp, anions, cations, charges = ions.comp, ions.anions, ions.cations, ions.charges
    n_atoms = sum(comp.values())
    n_anions = sum(anions.values())

    def anion_mean(value: dict[str, float]) -> float:
        return sum(value[el] * n for el, n in anions.items()) / n_anions if n_anions else 0.0

    mobile = mobile_ion(comp)
    volume_A3 = sum(n * 4.0 / 3.0 * math.pi * _anion_radius_A(el) ** 3 for el, n in anions.items())
    volume_A3 += sum(n * 4.0 / 3.0 * math.pi * radius_A(el, charges[el]) ** 3
                     for el, n in cations.items())
    if mobile is None:
        mobile_frac = mobile_radius = ionicity = density = 0.0
    else:
        mobile_frac = comp[mobile] / n_atoms
        mobile_radius = radius_A(mobile, 1)
        x_mobile = element(mobile).X
        ionicity = anion_mean({a: 1.0 - math.exp(-((element(a).X - x_mobile) ** 2) / 4.0)
                               for a in anions})
        density = 1000.0 * comp[mobile] / volume_A3 if volume_A3 > 0 else 0.0
    return Transport(
        mobile_frac=mobile_frac,
        mobile_radius_A=mobile_radius,
        anion_polarisability_A3=anion_mean({a: anion_polarisability_A3(a) for a in anions}),
        anion_radius_A=anion_mean({a: _anion_radius_A(a) for a in anions}),
        anion_softness_per_eV=anion_mean({a: softness_per_eV(a) for a in anions}),
        mobile_anion_ionicity=ionicity,
        carrier_density_nm3=density,
    )
