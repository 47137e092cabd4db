"""A potential plug-in for the tests: ASE's Lennard-Jones calculator behind the Potential contract.

It is loaded the way users load theirs (``tests.plugin_potential:LennardJonesPotential``) and is
fast enough to run the whole MD tier, checkpoints and Dask included, in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import ase
from ase import Atoms
from ase.calculators.lj import LennardJones

from screening.md.potentials import Evaluation, Potential


class LennardJonesPotential(Potential):
    """One Lennard-Jones pair potential for every element (sigma 2.6 A, epsilon 0.03 eV)."""

    name = "lennard-jones"

    @property
    def version(self) -> str:
        return f"ase {ase.__version__}"

    def evaluate(self, cells: Sequence[Atoms], stress: bool = False) -> list[Evaluation]:
        results = []
        for atoms in cells:
            atoms = atoms.copy()
            # A new calculator each time: a reused one keeps its neighbour list, whose summation
            # order would depend on the history and break bit-for-bit resumption.
            atoms.calc = LennardJones(sigma=2.6, epsilon=0.03, rc=6.0, smooth=True)
            results.append(Evaluation(atoms.get_potential_energy(), atoms.get_forces(),
                                      atoms.get_stress(voigt=False) if stress else None))
        return results
