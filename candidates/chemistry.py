"""The chemistry every layer shares: element roles, anion charges and ionic radii, defined once.

Roles follow the VIGLAS-like glasses ``A M X Ch``: alkali ``A`` (the mobile ions), halogen ``X``
and chalcogen ``Ch`` anions; every other element is a cation (a centre). The enumeration space
may use a subset of a role (``candidates.space``), but the chemistry set is this one.

Radii are Shannon's crystal radii at coordination VI as pymatgen tabulates them
(``Element.ionic_radii``), so one number stands for an ion wherever a descriptor needs it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import numpy as np
from pymatgen.core.periodic_table import Element

ALKALIS = frozenset({"Li", "Na", "K", "Rb", "Cs"})
HALOGENS = ("F", "Cl", "Br", "I")
CHALCOGENS = ("O", "S", "Se", "Te")
#: Fixed anion charges (magnitudes); every other element is a cation.
ANION_CHARGE = {
    "F": 1, "Cl": 1, "Br": 1, "I": 1, "O": 2, "S": 2, "Se": 2, "Te": 2, "N": 3,
}  # fmt: skip


def anions_of(elements: set[str]) -> set[str]:
    """The anions among ``elements`` when a composition is read as simple compounds (the liquidus
    descriptors and the single-compound glass rule): oxide, halide and nitride anions take
    precedence, so S, Se and Te count as cations beside them (tellurites, sulfates) and as anions
    only among themselves (GeS2, As2Se3).

    The vectorised descriptors (``featurizers.charges``, ``featurizers.network``) still count
    every :data:`ANION_CHARGE` element as an anion, which is right for the oxysulfides and
    oxyselenides of the enumeration grid and wrong for tellurites and sulfates.
    """
    anions = {el for el in elements if el in ANION_CHARGE and el not in CHALCOGENS[1:]}
    return anions or {el for el in elements if el in CHALCOGENS}


#: pymatgen's warning for an element without a Pauling electronegativity (a noble gas): it
#: then uses NaN, and the warning, printed before any result or error, says nothing a user can
#: act on.
NO_ELECTRONEGATIVITY = "No Pauling electronegativity for"


@contextmanager
def quiet_missing_electronegativity() -> Iterator[None]:
    """Inside: pymatgen's :data:`NO_ELECTRONEGATIVITY` warning is not shown (others are)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NO_ELECTRONEGATIVITY, category=UserWarning)
        yield


@cache
def element(symbol: str) -> Element:
    """pymatgen's Element, built once per symbol (building one is costly next to using it).

    Its electronegativity ``X`` is read here once, without pymatgen's warning for an element
    that has none: ``X`` is cached on the element, so later reads give NaN silently.
    """
    found = Element(symbol)
    with quiet_missing_electronegativity():
        _ = found.X
    return found


@cache
def _tabulated_radii(symbol: str) -> tuple[np.ndarray, np.ndarray]:
    """Charges (highest first) and Shannon crystal radii (A) that pymatgen lists for ``symbol``."""
    pairs = sorted(element(symbol).ionic_radii.items(), reverse=True)
    states = np.array([z for z, _ in pairs], dtype=float)
    return states, np.array([r for _, r in pairs], dtype=float)


def ionic_radii_A(symbol: str, charges: np.ndarray) -> np.ndarray:
    """Radius (A) of ``symbol`` at each charge: the tabulated charge nearest it, the higher one on
    a tie; the atomic radius (1.0 A when unknown) for an element with no ionic radius."""
    states, radii = _tabulated_radii(symbol)
    charges = np.asarray(charges, dtype=float)
    if not len(states):
        return np.full(charges.shape, float(element(symbol).atomic_radius or 1.0))
    # argmin takes the first of equal distances: the higher charge, as states run highest first.
    nearest = np.abs(states - charges[..., None]).argmin(axis=-1)
    return radii[nearest]


def ionic_radius_A(symbol: str, charge: float) -> float:
    """:func:`ionic_radii_A` for one charge."""
    return float(ionic_radii_A(symbol, np.array([charge]))[0])


def anion_radius_A(symbol: str) -> float:
    """Radius (A) of an anion of :data:`ANION_CHARGE` at its fixed charge."""
    return ionic_radius_A(symbol, -ANION_CHARGE[symbol])
