"""Glass-network descriptors: formers, modifiers, bridging anions, bond strength, the anion mix.

The picture is Zachariasen's: cations of high Dietzel field strength ``z / (r_c + r_O)^2`` are
network formers with a fixed coordination number; every former bond ends on an anion, and anions
that receive a second former bond bridge two centres. Bridging anions are filled by charge (O2-
before Cl-), which is how oxygen cross-links the AlCl4- tetrahedra in VIGLAS. Two classic
glass-forming criteria complete it: Stanworth's electronegativity difference of the former-anion
bond (formers sit near 1.7, half ionic; Stanworth, J. Soc. Glass Technol. 32, 154 (1948)) and the
entropy of cation mixing (the "confusion principle": more cation species frustrate
crystallisation; Greer, Nature 366, 303 (1993)). The anion mix, the percolation term
``max(p - p_c, 0)`` of the bridging fraction p and the Phillips-Thorpe rigidity complete the block
the glass-forming, Tg and conductivity models read. Charges come from
:mod:`featurizers.charges`; every descriptor is computed for a whole fraction matrix at once.
"""

from __future__ import annotations

import numpy as np
from matminer.featurizers.base import BaseFeaturizer
from pymatgen.core import Composition

from candidates.chemistry import (
    ALKALIS,
    ANION_CHARGE,
    CHALCOGENS,
    HALOGENS,
    anion_radius_A,
    element,
)
from featurizers.charges import Ions, balance, weighted_mean
from featurizers.fast import FractionFeaturizer, featurize_via_fractions

#: Elements whose atomic fraction is a descriptor of its own (mobile ions and anions).
FRACTION_ELEMENTS = ("Li", "Na", "K", "O", "S", "Se", "F", "Cl", "Br", "I", "N", "H")
#: Percolation threshold of the bridging-anion fraction (domain brief: p_c about 0.2).
PERCOLATION_THRESHOLD = 0.2
#: Dietzel's classes: formers above about 1.3, intermediates 0.5-1.0, modifiers 0.1-0.4 (A^-2).
#: Intermediates (Al, Zn, Ga ...) build the network in the halide and oxyhalide glasses screened
#: here, so the cut sits between intermediates and modifiers.
FORMER_FIELD_STRENGTH = 0.4
#: Reference O2- radius of the Dietzel field strength (A).
OXYGEN_RADIUS_A = anion_radius_A("O")
#: Coordination number of network formers in glasses (Zachariasen); 4 for others unless large.
FORMER_COORDINATION = {
    "B": 3, "C": 3, "Si": 4, "Ge": 4, "P": 4, "As": 4, "Al": 4, "Ga": 4, "Zn": 4, "Be": 4,
    "Sb": 4, "Sn": 4, "In": 6, "Ti": 6, "Zr": 7, "Hf": 7, "Nb": 6, "Ta": 6, "W": 6, "Mo": 6,
}  # fmt: skip
LARGE_CATION_RADIUS_A = 0.8
#: Below this, a difference of two per-atom amounts is the rounding of fractions (whole amounts
#: have none): Li3InF6's 6 In-F bonds on 6 F leave 1e-16, Li0.5NbO0.5F4.5 bridges 0.2 + 2e-16.
ROUNDING_TOLERANCE = 1e-12
#: Constraints of a tetrahedral former (r = 4): 2 stretching + 5 bending.
TETRAHEDRAL_CONSTRAINTS = 7.0

NETWORK_LABELS = (
    "net_former_frac",  # formers per atom
    "net_modifier_frac",  # non-former cations per atom
    "net_alkali_frac",  # alkali atoms per atom
    "net_anion_frac",  # anions per atom
    "net_former_coordination",  # mean coordination number of the formers
    "net_former_field_strength",  # mean Dietzel z/(r+r_O)^2 of the formers, A^-2
    "net_modifier_field_strength",  # same for the modifiers (0 when none)
    "net_bridging_per_former",  # bridging anions per former centre
    "net_bridging_o_per_former",  # bridging chalcogen anions per former centre
    "net_bridging_frac",  # share of anions that bridge two formers
    "net_bond_strength",  # mean former-anion electrostatic bond strength z_c z_a/(r_c+r_a), e^2/A
    "net_bridging_bond_density",  # bridging-bond strength per atom, e^2/A
    "net_former_anion_dx",  # Pauling electronegativity of the anions minus that of the formers
    "net_cation_mixing_entropy",  # -sum x ln x over the cation species (per cation), in k_B
)
LABELS = (
    *(f"frac_{el}" for el in FRACTION_ELEMENTS),
    "frac_halide", "frac_chalcogen", "mixed_anion", "percolation", "rigidity", *NETWORK_LABELS,
)  # fmt: skip


def _member(elements: list[str], group: tuple[str, ...] | frozenset[str]) -> np.ndarray:
    return np.array([s in group for s in elements], dtype=float)


def _above(excess: np.ndarray) -> np.ndarray:
    """``max(excess, 0)``, with an excess within rounding of 0 taken as 0."""
    return np.where(excess > ROUNDING_TOLERANCE, excess, 0.0)


def former_constraints(coordination: np.ndarray) -> np.ndarray:
    """Phillips-Thorpe bond-stretching plus bond-bending constraints of an r-coordinated former."""
    return coordination / 2.0 + np.maximum(2.0 * coordination - 3.0, 0.0)


def _coordination(ions: Ions, former: np.ndarray) -> np.ndarray:
    """``n x k`` coordination numbers of the formers, B raised by the borate anomaly."""
    fixed = np.array([FORMER_COORDINATION.get(s, 0) for s in ions.elements], dtype=float)
    cn = np.where(fixed > 0, fixed, np.where(ions.radii_A > LARGE_CATION_RADIUS_A, 6.0, 4.0))
    if "B" in ions.elements:
        # Borate anomaly (Bray-O'Keefe): modifier charge turns BO3 into BO4, N4 = R up to 0.5.
        b = ions.elements.index("B")
        modifier = (ions.fractions > 0) & ~ions.is_anion & ~former
        modifier_charge = (ions.fractions * ions.charges * modifier).sum(axis=1)
        boron = ions.fractions[:, b] * former[:, b]
        with np.errstate(divide="ignore", invalid="ignore"):
            extra = np.minimum(modifier_charge / boron, 0.5)
        cn[:, b] += np.where(boron > 0, extra, 0.0)
    return cn


def _bridging(ions: Ions, surplus: np.ndarray) -> np.ndarray:
    """``n x k`` bridging anions: the former-bond surplus fills anions O2- first, then by symbol."""
    bridging = np.zeros_like(ions.fractions)
    order = sorted(np.flatnonzero(ions.is_anion),
                   key=lambda j: (-ANION_CHARGE[ions.elements[j]], ions.elements[j]))
    for j in order:
        bridging[:, j] = np.minimum(ions.fractions[:, j], surplus)
        surplus = surplus - bridging[:, j]
    return bridging


def network_descriptors(ions: Ions) -> dict[str, np.ndarray]:
    """The :data:`NETWORK_LABELS` of every row, keyed by label."""
    f = ions.fractions
    n_atoms = f.sum(axis=1)
    cation = (f > 0) & ~ions.is_anion
    anions = f * ions.is_anion
    n_anions = anions.sum(axis=1)
    field = ions.charges / (ions.radii_A + OXYGEN_RADIUS_A) ** 2
    former = cation & (field >= FORMER_FIELD_STRENGTH)
    modifier = cation & ~former
    formers, modifiers = f * former, f * modifier
    n_formers = formers.sum(axis=1)
    cn = _coordination(ions, former)
    slots = formers * cn
    surplus = np.where(n_anions > 0, _above(slots.sum(axis=1) - n_anions), 0.0)
    bridging = _bridging(ions, surplus)
    z_former = weighted_mean(ions.charges, slots)
    r_former = weighted_mean(ions.radii_A, slots)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = z_former[:, None] * ions.anion_charge / (r_former[:, None] + ions.radii_A)
        per_former = np.where(n_formers > 0, 1.0 / n_formers, 0.0)
        shares = f * ~ions.is_anion / f[:, ~ions.is_anion].sum(axis=1, keepdims=True)
    has_formers, has_anions = n_formers > 0, n_anions > 0
    both = has_formers & has_anions
    x = np.array([element(s).X for s in ions.elements], dtype=float)
    dx = weighted_mean(np.broadcast_to(x, f.shape), anions) - weighted_mean(
        np.broadcast_to(x, f.shape), slots)
    bridging_strength = (2.0 * bridging * strength).sum(axis=1)
    is_chalcogen = _member(ions.elements, CHALCOGENS).astype(bool)
    return {
        "net_former_frac": n_formers / n_atoms,
        "net_modifier_frac": modifiers.sum(axis=1) / n_atoms,
        "net_alkali_frac": f @ _member(ions.elements, ALKALIS) / n_atoms,
        "net_anion_frac": n_anions / n_atoms,
        "net_former_coordination": weighted_mean(cn, formers),
        "net_former_field_strength": weighted_mean(field, formers),
        "net_modifier_field_strength": weighted_mean(field, modifiers),
        "net_bridging_per_former": bridging.sum(axis=1) * per_former,
        "net_bridging_o_per_former": bridging[:, is_chalcogen].sum(axis=1) * per_former,
        "net_bridging_frac": np.where(has_anions, bridging.sum(axis=1) / np.where(
            has_anions, n_anions, 1.0), 0.0),
        "net_bond_strength": np.where(both, weighted_mean(strength, anions), 0.0),
        "net_bridging_bond_density": np.where(has_formers, bridging_strength, 0.0) / n_atoms,
        "net_former_anion_dx": np.where(both, dx, 0.0),
        "net_cation_mixing_entropy": -np.where(shares > 0, shares * np.log(
            np.where(shares > 0, shares, 1.0)), 0.0).sum(axis=1),
    }


class GlassNetwork(BaseFeaturizer, FractionFeaturizer):
    """The glass-network block of the composition models (see the module docstring).

    Features: ``frac_{el}`` (atomic fraction of each of :data:`FRACTION_ELEMENTS`),
    ``frac_halide``, ``frac_chalcogen``, ``mixed_anion`` (``4 x_halide x_chalcogen``, 1 at an even
    mix), ``percolation`` (``max(net_bridging_frac - 0.2, 0)``), ``rigidity`` (bridging-bond
    strength per atom times the former's Phillips-Thorpe constraints relative to a tetrahedron,
    e^2/A), then :data:`NETWORK_LABELS`.
    """

    def featurize(self, comp: Composition) -> list[float]:
        """The features of one composition (same numbers as the bulk path)."""
        return featurize_via_fractions(self, comp)

    def fraction_features(self, fractions: np.ndarray, elements: list[str]) -> np.ndarray:
        """All features for an ``n x k`` fraction matrix over ``elements``."""
        net = network_descriptors(balance(fractions, elements))
        n_atoms = fractions.sum(axis=1)
        zeros = np.zeros(len(fractions))
        own = [fractions[:, elements.index(el)] / n_atoms if el in elements else zeros
               for el in FRACTION_ELEMENTS]
        halide = fractions @ _member(elements, HALOGENS) / n_atoms
        chalcogen = fractions @ _member(elements, CHALCOGENS) / n_atoms
        rigidity = net["net_bridging_bond_density"] * (
            former_constraints(net["net_former_coordination"]) / TETRAHEDRAL_CONSTRAINTS)
        return np.column_stack([
            *own, halide, chalcogen, 4.0 * halide * chalcogen,
            _above(net["net_bridging_frac"] - PERCOLATION_THRESHOLD), rigidity,
            *(net[label] for label in NETWORK_LABELS),
        ])

    def feature_labels(self) -> list[str]:
        """Names of the features, units in the name where they have one."""
        return list(LABELS)

    def citations(self) -> list[str]:
        """Network-former theory, field strength, glass-forming criteria and rigidity."""
        return [
            "Zachariasen, J. Am. Chem. Soc. 54, 3841 (1932), doi:10.1021/ja01349a006",
            "Dietzel, Z. Elektrochem. 48, 9 (1942), doi:10.1002/bbpc.19420480104",
            "Stanworth, J. Soc. Glass Technol. 32, 154 (1948)",
            "Greer, Nature 366, 303 (1993), doi:10.1038/366303a0",
            "Phillips, J. Non-Cryst. Solids 34, 153 (1979); Thorpe, ibid. 57, 355 (1983)",
        ]

    def implementors(self) -> list[str]:
        """Who wrote this featurizer."""
        return ["viglas-screen developers"]
