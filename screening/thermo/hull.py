"""One chemical system's convex hull as arrays, queried for many compositions at once.

pymatgen's :class:`PhaseDiagram` finds the lower-hull facets; this module turns each facet into the
chemical potentials of its elements (the facet plane ``E(x) = x . mu``, solved from its vertices as
in ``PhaseDiagram._get_facet_chempots``) and then answers for a whole fraction matrix with numpy:

- the hull is convex, so its formation energy at ``x`` is the largest facet plane value there;
- the facet attaining it gives the decomposition (barycentric weights of its vertices);
- the facets attaining it within a tolerance are the equilibria meeting at ``x``; the range of an
  element's chemical potential over them is the window over which that phase assemblage holds.
  For a compound on the hull this is the stability window of Zhu, He and Mo (ACS Appl. Mater.
  Interfaces 7, 23685 (2015)) and Richards et al. (Chem. Mater. 28, 266 (2016)), the same numbers
  as the grand-potential diagram open to that element or ``PhaseDiagram.get_element_profile``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.entries import Entry

#: Energy (eV/atom) within which a facet counts as meeting the hull at a composition.
ACTIVE_TOL_EV_ATOM = 1e-6
#: Barycentric weight below which a vertex phase is not part of a decomposition.
WEIGHT_TOL = 1e-8


@dataclass(frozen=True)
class ChemsysHull:
    """The lower convex hull of formation energy per atom over one chemical system.

    ``chempots_eV[f, j]`` is the chemical potential of ``elements[j]`` (eV/atom, relative to the
    element's reference entry) on facet ``f``; ``vertices[f]`` indexes ``phases`` (reduced formulas
    of the stable entries) and ``inverse[f]`` maps atomic fractions to the facet's barycentric
    weights.
    """

    elements: tuple[str, ...]
    phases: tuple[str, ...]
    chempots_eV: np.ndarray
    vertices: np.ndarray
    inverse: np.ndarray

    @classmethod
    def from_entries(cls, entries: Sequence[Entry]) -> ChemsysHull:
        """Build the hull of ``entries`` (which must include every element's reference entry)."""
        return cls.from_phase_diagram(PhaseDiagram(entries))

    @classmethod
    def from_phase_diagram(cls, diagram: PhaseDiagram) -> ChemsysHull:
        """Read the facets of a pymatgen :class:`PhaseDiagram` into arrays."""
        elements = tuple(el.symbol for el in diagram.elements)
        stable = sorted({i for facet in diagram.facets for i in facet})
        position = {i: n for n, i in enumerate(stable)}
        entries = [diagram.qhull_entries[i] for i in stable]
        fractions = np.array(
            [[e.composition.get_atomic_fraction(el) for el in diagram.elements] for e in entries]
        )
        form_eV_atom = np.array([diagram.get_form_energy_per_atom(e) for e in entries])
        vertices = np.array([[position[i] for i in facet] for facet in diagram.facets])
        corner = fractions[vertices]
        return cls(
            elements=elements,
            phases=tuple(e.composition.reduced_formula for e in entries),
            chempots_eV=np.linalg.solve(corner, form_eV_atom[vertices][..., None])[..., 0],
            vertices=vertices,
            inverse=np.linalg.inv(corner),
        )

    def _planes(self, fractions: np.ndarray) -> np.ndarray:
        return fractions @ self.chempots_eV.T

    def energy(self, fractions: np.ndarray) -> np.ndarray:
        """Hull formation energy (eV/atom) at each row of ``fractions`` (columns = ``elements``)."""
        return self._planes(fractions).max(axis=1)

    def decomposition(self, fractions: np.ndarray) -> list[str]:
        """The phases each composition decomposes into, largest atomic share first: ``"A + B"``."""
        facet = self._planes(fractions).argmax(axis=1)
        weights = np.einsum("nk,nkl->nl", fractions, self.inverse[facet])
        names = []
        for row, w in zip(self.vertices[facet], weights, strict=True):
            shares = zip(row, w, strict=True)
            order = sorted((-share, self.phases[i]) for i, share in shares if share > WEIGHT_TOL)
            names.append(" + ".join(name for _, name in order))
        return names

    def chempot_window(self, fractions: np.ndarray, element: str) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest chemical potential of ``element`` (eV, vs its reference entry) over
        which the equilibrium phase assemblage at each composition holds."""
        planes = self._planes(fractions)
        active = planes >= planes.max(axis=1, keepdims=True) - ACTIVE_TOL_EV_ATOM
        mu = self.chempots_eV[:, self.elements.index(element)]
        low = np.where(active, mu, np.inf).min(axis=1)
        high = np.where(active, mu, -np.inf).max(axis=1)
        return low, high


def alkali_window_V(
    hull: ChemsysHull, fractions: np.ndarray, alkali: str
) -> tuple[np.ndarray, np.ndarray]:
    """Oxidation and reduction limits (V vs the ``alkali`` metal) of each composition.

    ``A -> A+ + e-`` moves one electron per alkali atom, so a chemical potential ``mu_A`` (eV below
    the metal) is a potential of ``-mu_A`` volts: the assemblage loses alkali above the oxidation
    limit (the lowest ``mu_A``) and takes alkali up below the reduction limit (the highest).
    """
    low_eV, high_eV = hull.chempot_window(fractions, alkali)
    return 0.0 - low_eV, 0.0 - high_eV  # 0.0 - x turns a limit of 0 into 0.0, not -0.0
