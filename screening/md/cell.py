"""Amorphous starting cells: the composition in whole atoms, a density estimate, random packing.

- Whole atoms: the smallest multiple of the formula that is integral (to 1e-6), repeated to come
  closest to ``target_atoms``; when even one integral unit exceeds ``max_atoms`` the amounts are
  rounded at ``target_atoms`` and the halogen count restores charge balance (the simulated formula
  is stored beside the screened one, so the difference is visible).
- Density: the Shannon ionic volumes of the ions over a packing fraction (0.5 puts LiAlCl4 at
  1.77 g/cm3, its crystal is 2.0); the NPT phases then relax it with the potential.
- Packing: random sequential insertion, largest ions first, rejecting a site closer to an
  earlier atom than a minimum distance (shorter for cation-anion pairs than for like charges).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers
from pymatgen.core import Element, Species

from candidates.chemistry import ALKALIS, CHALCOGENS, HALOGENS
from candidates.formula import format_formula, parse_plain
from screening.md import MDError

AVOGADRO = 6.02214076e23
_INTEGRAL_TOL = 1e-6
_MAX_DENOMINATOR = 1000
#: Minimum distance as a fraction of the ionic radii sum, and the floor for like charges (A).
_CONTACT_FRACTION = 0.75
_LIKE_CHARGE_FLOOR_A = 2.4
_ANY_PAIR_FLOOR_A = 1.5
_INSERTION_TRIES = 20000
#: Packing fractions tried in turn when a dense composition will not pack (oxide networks).
_FALLBACK_STEP, _LOWEST_PACKING = 0.05, 0.3


class CellError(MDError):
    """A composition that cannot be turned into a simulation cell."""


def charges(symbols: list[str], counts: list[int]) -> dict[str, int]:
    """Formal charges: alkali +1, halogen -1, chalcogen -2, the other elements (the centres) share
    the valence that balances the cell, rounded to an integer."""
    fixed = {s: 1 if s in ALKALIS else -1 if s in HALOGENS else -2 if s in CHALCOGENS else None
             for s in symbols}
    fixed_charge = sum(fixed[s] * n for s, n in zip(symbols, counts, strict=True) if fixed[s])
    centre_atoms = sum(n for s, n in zip(symbols, counts, strict=True) if fixed[s] is None)
    valence = round(-fixed_charge / centre_atoms) if centre_atoms else 0
    return {s: fixed[s] if fixed[s] is not None else valence for s in symbols}


def whole_atoms(formula: str, target_atoms: int, max_atoms: int) -> dict[str, int]:
    """Element counts of a cell of about ``target_atoms`` with the composition of ``formula``."""
    amounts = dict(parse_plain(formula))
    fractions = {s: Fraction(a).limit_denominator(_MAX_DENOMINATOR) for s, a in amounts.items()}
    if all(abs(float(fractions[s]) - a) < _INTEGRAL_TOL for s, a in amounts.items()):
        unit = math.lcm(*(f.denominator for f in fractions.values()))
        per_unit = {s: int(f * unit) for s, f in fractions.items()}
        size = sum(per_unit.values())
        if size <= max_atoms:
            repeats = max(1, round(target_atoms / size))
            return {s: n * repeats for s, n in per_unit.items()}
    total = sum(amounts.values())
    counts = {s: max(1, round(a * target_atoms / total)) for s, a in amounts.items()}
    return _balance(counts)


def _balance(counts: dict[str, int]) -> dict[str, int]:
    symbols = list(counts)
    q = charges(symbols, list(counts.values()))
    excess = sum(q[s] * n for s, n in counts.items())
    halogens = [s for s in symbols if s in HALOGENS]
    if excess and halogens:
        main = max(halogens, key=counts.get)
        counts[main] += excess  # one halogen per unit of charge
    if any(n <= 0 for n in counts.values()):
        raise CellError(f"cannot balance the charge of {format_formula(counts)} in whole atoms")
    return counts


def ionic_radius_A(symbol: str, charge: int) -> float:
    """Shannon radius of the ion (pymatgen), the atomic radius where no ionic one is known."""
    radius = Species(symbol, charge).ionic_radius if charge else None
    return float(radius or Element(symbol).atomic_radius or 1.5)


def density_estimate_g_cm3(counts: dict[str, int], packing_fraction: float) -> float:
    """Mass over the ions' volume divided by ``packing_fraction``."""
    q = charges(list(counts), list(counts.values()))
    volume_A3 = sum(4.0 / 3.0 * math.pi * ionic_radius_A(s, q[s]) ** 3 * n
                    for s, n in counts.items()) / packing_fraction
    mass_g = sum(atomic_masses[atomic_numbers[s]] * n for s, n in counts.items()) / AVOGADRO
    return mass_g / (volume_A3 * 1e-24)


def density_g_cm3(atoms: Atoms) -> float:
    """Density of a periodic cell."""
    return float(atoms.get_masses().sum() / AVOGADRO / (atoms.get_volume() * 1e-24))


def _min_distances(symbols: list[str], charge: dict[str, int]) -> np.ndarray:
    radii = np.array([ionic_radius_A(s, charge[s]) for s in symbols])
    signs = np.sign([charge[s] for s in symbols])
    contact = _CONTACT_FRACTION * (radii[:, None] + radii[None, :])
    like = signs[:, None] * signs[None, :] > 0
    return np.maximum(np.where(like, np.maximum(contact, _LIKE_CHARGE_FLOOR_A), contact),
                      _ANY_PAIR_FLOOR_A)


def random_packing(counts: dict[str, int], density_g_cm3: float,
                   rng: np.random.Generator) -> Atoms:
    """A cubic periodic cell of ``counts`` at ``density_g_cm3``, atoms placed at random with the
    minimum distances of the module docstring. Raises :class:`CellError` if they do not fit."""
    charge = charges(list(counts), list(counts.values()))
    kinds = sorted(counts, key=lambda s: -ionic_radius_A(s, charge[s]))
    symbols = [s for s in kinds for _ in range(counts[s])]
    mass_g = sum(atomic_masses[atomic_numbers[s]] for s in symbols) / AVOGADRO
    edge_A = (mass_g / density_g_cm3 / 1e-24) ** (1.0 / 3.0)
    kind_index = np.array([kinds.index(s) for s in symbols])
    dmin = _min_distances(kinds, charge)
    placed = np.empty((len(symbols), 3))
    for i in range(len(symbols)):
        limits = dmin[kind_index[i], kind_index[:i]]
        for _ in range(_INSERTION_TRIES):
            trial = rng.random(3) * edge_A
            delta = placed[:i] - trial
            delta -= edge_A * np.round(delta / edge_A)
            if np.all(np.einsum("ij,ij->i", delta, delta) >= limits ** 2):
                placed[i] = trial
                break
        else:
            raise CellError(f"could not place {len(symbols)} atoms of {format_formula(counts)} "
                            f"at {density_g_cm3:.2f} g/cm3; lower the packing fraction")
    return Atoms(symbols=symbols, positions=placed, cell=[edge_A] * 3, pbc=True)


def pack(counts: dict[str, int], packing_fraction: float, rng: np.random.Generator,
         target_density_g_cm3: float | None = None) -> tuple[Atoms, float]:
    """A random packing of ``counts`` and the packing fraction it took: ``packing_fraction``, or
    lower in steps of 0.05 (down to 0.3) where the atoms do not fit. With a target density the
    loose packing is then compressed (or expanded) affinely to that density: pack loose, then
    compress, as dense oxide networks do not pack at their measured density."""
    fraction = packing_fraction
    while True:
        try:
            atoms = random_packing(counts, density_estimate_g_cm3(counts, fraction), rng)
            break
        except CellError:
            fraction = round(fraction - _FALLBACK_STEP, 6)
            if fraction < _LOWEST_PACKING:
                raise
    if target_density_g_cm3 is not None:
        ratio = density_g_cm3(atoms) / target_density_g_cm3
        atoms.set_cell(atoms.cell * ratio ** (1.0 / 3.0), scale_atoms=True)
    return atoms, fraction
