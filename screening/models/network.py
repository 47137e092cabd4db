"""Glass-network descriptors of a composition: formers, modifiers, bridging anions, bond strength.

The picture is Zachariasen's: cations of high Dietzel field strength ``z / (r_c + r_O)^2`` are
network formers with a fixed coordination number; every former bond ends on an anion, and anions
that receive a second former bond bridge two centres. Bridging anions are filled by charge (O2-
before Cl-), which is how oxygen cross-links the AlCl4- tetrahedra in VIGLAS. Two classic
glass-forming criteria complete it: Stanworth's electronegativity difference of the former-anion
bond (formers sit near 1.7, half ionic; Stanworth, J. Soc. Glass Technol. 32, 154 (1948)) and the
entropy of cation mixing (the "confusion principle": more cation species frustrate
crystallisation; Greer, Nature 366, 303 (1993)). Everything here is per formula and cheap (a few
dict operations), cached by formula string.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import cache, lru_cache

from pymatgen.core.periodic_table import Element

from candidates.space import ALKALIS

#: Fixed anion charges; anything else is treated as a cation.
ANION_CHARGE = {"O": 2, "S": 2, "Se": 2, "Te": 2, "F": 1, "Cl": 1, "Br": 1, "I": 1, "N": 3}
HALOGENS = ("F", "Cl", "Br", "I")
CHALCOGENS = ("O", "S", "Se", "Te")
#: Dietzel's classes: formers above about 1.3, intermediates 0.5-1.0, modifiers 0.1-0.4 (A^-2).
#: Intermediates (Al, Zn, Ga ...) build the network in the halide and oxyhalide glasses screened
#: here, so the cut sits between intermediates and modifiers.
FORMER_FIELD_STRENGTH = 0.4
#: Reference O2- radius of the Dietzel field strength (pymatgen crystal radius, A).
OXYGEN_RADIUS_A = Element("O").ionic_radii[-2]
#: Coordination number of network formers in glasses (Zachariasen); 4 for others unless large.
FORMER_COORDINATION = {
    "B": 3, "C": 3, "Si": 4, "Ge": 4, "P": 4, "As": 4, "Al": 4, "Ga": 4, "Zn": 4, "Be": 4,
    "Sb": 4, "Sn": 4, "In": 6, "Ti": 6, "Zr": 7, "Hf": 7, "Nb": 6, "Ta": 6, "W": 6, "Mo": 6,
}
LARGE_CATION_RADIUS_A = 0.8
#: Constraints of a tetrahedral former (r = 4): 2 stretching + 5 bending.
TETRAHEDRAL_CONSTRAINTS = 7.0


@dataclass(frozen=True)
class Network:
    """Per-formula network descriptors (amounts per atom unless named otherwise)."""

    former_frac: float  # formers per atom
    modifier_frac: float  # non-former cations per atom
    alkali_frac: float
    anion_frac: float
    former_coordination: float  # mean coordination number of the formers
    former_field_strength: float  # mean Dietzel z/(r+r_O)^2 of the formers, A^-2
    modifier_field_strength: float  # same for the modifiers (0 when none)
    bridging_per_former: float  # bridging anions per former centre
    bridging_o_per_former: float  # bridging chalcogen anions per former centre
    bridging_frac: float  # share of anions that bridge two formers
    bond_strength: float  # mean former-anion electrostatic bond strength z_c z_a/(r_c+r_a), e^2/A
    bridging_bond_density: float  # bridging-bond strength per atom, e^2/A
    former_anion_dx: float  # Pauling electronegativity of the anions minus that of the formers
    cation_mixing_entropy: float  # -sum x ln x over the cation species (per cation), in k_B

    @classmethod
    def labels(cls) -> tuple[str, ...]:
        """Descriptor names, in the order of :meth:`values`."""
        return tuple(f"net_{f.name}" for f in fields(cls))

    def values(self) -> tuple[float, ...]:
        """Descriptor values, in the order of :meth:`labels`."""
        return field_values(self)


def field_values(record: object) -> tuple[float, ...]:
    """A flat dataclass's field values in order (``astuple`` deep-copies every value: slow)."""
    return tuple(record.__dict__.values())


@cache
def element(symbol: str) -> Element:
    """pymatgen's Element, built once per symbol (building one is costly next to using it)."""
    return Element(symbol)


def radius_A(symbol: str, charge: float) -> float:
    """Shannon radius (A) of ``symbol`` at the tabulated charge nearest ``charge``."""
    radii = _ionic_radii(symbol)
    if not radii:
        return float(element(symbol).atomic_radius or 1.0)
    nearest = min(radii, key=lambda oxi: (abs(oxi - charge), -oxi))
    return float(radii[nearest])


@cache
def _ionic_radii(symbol: str) -> dict[float, float]:
    return dict(element(symbol).ionic_radii)


def cation_charges(cations: dict[str, float], anion_charge: float) -> dict[str, float]:
    """Cation charges: alkali, alkaline-earth and rare-earth charges are fixed; the rest share
    what the anions leave to balance, within their oxidation-state range."""
    fixed: dict[str, float] = {}
    free: dict[str, float] = {}
    for el in cations:
        e = element(el)
        if e.is_alkali or el in ("Ag", "H"):
            fixed[el] = 1.0
        elif e.is_alkaline:
            fixed[el] = 2.0
        elif e.is_rare_earth or el in ("Sc", "Y"):
            fixed[el] = 3.0
        else:
            free[el] = float(max(max(e.common_oxidation_states, default=2), 1))
    remaining = anion_charge - sum(cations[el] * z for el, z in fixed.items())
    nominal = sum(cations[el] * z for el, z in free.items())
    if free and remaining > 0 and nominal > 0:
        scale = remaining / nominal
        for el, z in free.items():
            free[el] = min(max(z * scale, 1.0), float(max(element(el).max_oxidation_state, 1)))
    return {**fixed, **free}


@dataclass(frozen=True)
class Ions:
    """A composition split into anions and cations (amounts) with the cations' charges."""

    comp: dict[str, float]
    anions: dict[str, float]
    cations: dict[str, float]
    charges: dict[str, float]

    @classmethod
    def of(cls, amounts: tuple[tuple[str, float], ...]) -> Ions:
        """Split ``((symbol, amount), ...)``; charges balance the fixed anion charges."""
        comp = {el: n for el, n in amounts if n > 0}
        anions = {el: n for el, n in comp.items() if el in ANION_CHARGE}
        cations = {el: n for el, n in comp.items() if el not in ANION_CHARGE}
        anion_charge = sum(n * ANION_CHARGE[el] for el, n in anions.items())
        return cls(comp, anions, cations, cation_charges(cations, anion_charge))


@lru_cache(maxsize=1 << 18)
def network(amounts: tuple[tuple[str, float], ...]) -> Network:
    """Network descriptors of a composition given as ``((symbol, amount), ...)``."""
    ions = Ions.of(amounts)
    comp, anions, cations, charges = ions.comp, ions.anions, ions.cations, ions.charges
    n_atoms = sum(comp.values())
    n_anions = sum(anions.values())
    radii = {el: radius_A(el, z) for el, z in charges.items()}
    field = {el: charges[el] / (radii[el] + OXYGEN_RADIUS_A) ** 2 for el in cations}
    formers = {el: n for el, n in cations.items() if field[el] >= FORMER_FIELD_STRENGTH}
    modifiers = {el: n for el, n in cations.items() if el not in formers}
    n_formers = sum(formers.values())
    n_modifiers = sum(modifiers.values())
    cn = {
        el: FORMER_COORDINATION.get(el, 6 if radii[el] > LARGE_CATION_RADIUS_A else 4)
        for el in formers
    }
    if "B" in formers:
        # Borate anomaly (Bray-O'Keefe): modifier charge turns BO3 into BO4, N4 = R up to 0.5.
        modifier_charge = sum(n * charges[el] for el, n in cations.items() if el not in formers)
        cn["B"] += min(modifier_charge / formers["B"], 0.5)
    former_bonds = sum(formers[el] * cn[el] for el in formers)

    # One former bond lands on each anion first; the surplus makes anions bridge, O2- first.
    surplus = max(former_bonds - n_anions, 0.0) if n_anions else 0.0
    bridging: dict[str, float] = {}
    for el in sorted(anions, key=lambda a: (-ANION_CHARGE[a], a)):
        bridging[el] = min(anions[el], surplus)
        surplus -= bridging[el]
    n_bridging = sum(bridging.values())

    def mean(values: dict[str, float], weights: dict[str, float]) -> float:
        total = sum(weights.values())
        return sum(values[el] * w for el, w in weights.items()) / total if total else 0.0

    slot_weights = {el: formers[el] * cn[el] for el in formers}
    z_former = mean(charges, slot_weights)
    r_former = mean(radii, slot_weights)

    def strength(anion: str) -> float:
        return z_former * ANION_CHARGE[anion] / (r_former + radius_A(anion, -ANION_CHARGE[anion]))

    bond_strength = mean({a: strength(a) for a in anions}, anions) if formers and anions else 0.0
    bridging_strength = sum(2.0 * n * strength(a) for a, n in bridging.items()) if formers else 0.0
    per_former = 1.0 / n_formers if n_formers else 0.0
    n_cations = sum(cations.values())
    shares = [n / n_cations for n in cations.values()] if n_cations else []
    anion_x = mean({a: element(a).X for a in anions}, anions)
    former_x = mean({el: element(el).X for el in formers}, slot_weights)
    return Network(
        former_frac=n_formers / n_atoms,
        modifier_frac=n_modifiers / n_atoms,
        alkali_frac=sum(n for el, n in comp.items() if el in ALKALIS) / n_atoms,
        anion_frac=n_anions / n_atoms,
        former_coordination=mean({el: float(c) for el, c in cn.items()}, formers),
        former_field_strength=mean(field, formers),
        modifier_field_strength=mean(field, modifiers),
        bridging_per_former=n_bridging * per_former,
        bridging_o_per_former=sum(bridging.get(el, 0.0) for el in CHALCOGENS) * per_former,
        bridging_frac=n_bridging / n_anions if n_anions else 0.0,
        bond_strength=bond_strength,
        bridging_bond_density=bridging_strength / n_atoms,
        former_anion_dx=anion_x - former_x if formers and anions else 0.0,
        cation_mixing_entropy=-sum(x * math.log(x) for x in shares),
    )


def former_constraints(coordination: float) -> float:
    """Phillips-Thorpe bond-stretching plus bond-bending constraints of an r-coordinated former."""
    return coordination / 2.0 + max(2.0 * coordination - 3.0, 0.0)


def rigidity(net: Network) -> float:
    """Bridging-bond strength per atom times the former's constraints relative to a tetrahedron
    (Phillips, J. Non-Cryst. Solids 34, 153 (1979); Thorpe, ibid. 57, 355 (1983))."""
    weight = former_constraints(net.former_coordination) / TETRAHEDRAL_CONSTRAINTS
    return net.bridging_bond_density * weight
