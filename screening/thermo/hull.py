"""One chemical system's convex hull as arrays, queried for many compositions at once.

The lower-hull facets are those pymatgen's :class:`PhaseDiagram` finds: :class:`EntryTable` holds
a set of entries as arrays in the order ``PhaseDiagram`` sorts them and, for any chemical system
within them, gives Qhull the same points with the same options and keeps the same facets, without
a pymatgen object per entry (a screen asks for hundreds of systems, each a subset of one table).
Each facet is turned into the chemical potentials of its elements (the facet plane
``E(x) = x . mu``, solved from its vertices as in ``PhaseDiagram._get_facet_chempots``), and the
hull answers for a whole fraction matrix with numpy:

- the hull is convex, so its formation energy at ``x`` is the largest facet plane value there;
- the facet attaining it gives the decomposition (barycentric weights of its vertices);
- the facets attaining it within a tolerance are the equilibria meeting at ``x``; the range of an
  element's chemical potential over them is the window over which that phase assemblage holds.
  For a compound on the hull this is the stability window of Zhu, He and Mo (ACS Appl. Mater.
  Interfaces 7, 23685 (2015)) and Richards et al. (Chem. Mater. 28, 266 (2016)), the same numbers
  as the grand-potential diagram open to that element or ``PhaseDiagram.get_element_profile``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.entries import Entry
from scipy.spatial import ConvexHull

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
        stable = sorted({i for facet in diagram.facets for i in facet})
        entries = [diagram.qhull_entries[i] for i in stable]
        return cls.from_facets(
            elements=tuple(el.symbol for el in diagram.elements),
            phases=tuple(e.composition.reduced_formula for e in entries),
            fractions=np.array([[e.composition.get_atomic_fraction(el) for el in diagram.elements]
                                for e in entries]),
            form_eV_atom=np.array([diagram.get_form_energy_per_atom(e) for e in entries]),
            vertices=np.searchsorted(stable, np.asarray(diagram.facets)),
        )

    @classmethod
    def from_facets(cls, elements: tuple[str, ...], phases: tuple[str, ...],
                    fractions: np.ndarray, form_eV_atom: np.ndarray,
                    vertices: np.ndarray) -> ChemsysHull:
        """The hull whose facets join ``vertices`` (rows index ``phases``), from each phase's
        atomic fractions over ``elements`` and formation energy per atom."""
        corner = fractions[vertices]
        return cls(
            elements=elements,
            phases=phases,
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
        """The phases each composition decomposes into, largest atomic share first (equal shares
        by name): ``"A + B"``."""
        facet = self._planes(fractions).argmax(axis=1)
        weights = np.einsum("nk,nkl->nl", fractions, self.inverse[facet])
        vertex = self.vertices[facet]
        by_name = {name: rank for rank, name in enumerate(sorted(self.phases))}
        name_rank = np.array([by_name[name] for name in self.phases])[vertex]
        kept = weights > WEIGHT_TOL
        order = np.lexsort((name_rank, np.where(kept, -weights, np.inf)), axis=-1)
        listed = np.where(np.take_along_axis(kept, order, axis=-1),
                          np.take_along_axis(vertex, order, axis=-1), -1)
        # Few distinct assemblages per system: join each once, not once per row.
        assemblages, row_of = np.unique(listed.reshape(len(listed), -1), axis=0,
                                        return_inverse=True)
        texts = [" + ".join(self.phases[i] for i in row if i >= 0) for row in assemblages]
        return [texts[i] for i in row_of.ravel()]

    def chempot_window(self, fractions: np.ndarray, element: str) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest chemical potential of ``element`` (eV, vs its reference entry) over
        which the equilibrium phase assemblage at each composition holds."""
        planes = self._planes(fractions)
        active = planes >= planes.max(axis=1, keepdims=True) - ACTIVE_TOL_EV_ATOM
        mu = self.chempots_eV[:, self.elements.index(element)]
        low = np.where(active, mu, np.inf).min(axis=1)
        high = np.where(active, mu, -np.inf).max(axis=1)
        return low, high


@dataclass(frozen=True)
class EntryTable:
    """Phase-diagram entries as arrays, in the order :class:`PhaseDiagram` sorts them.

    Rows are sorted by (reduced composition, energy per atom, name) as ``PhaseDiagram`` sorts its
    entries, so the rows of any chemical system within the table are already in the order that
    ``PhaseDiagram`` would sort that system's entries, and :meth:`hull` reproduces its Qhull input
    and facet selection. ``composition_id`` numbers the reduced compositions (equal ids are
    adjacent); ``elements`` are the columns, in pymatgen's element order.
    """

    elements: tuple[str, ...]
    fractions: np.ndarray
    energy_eV_atom: np.ndarray
    phases: tuple[str, ...]
    composition_id: np.ndarray

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> EntryTable:
        """Read ``entries`` through pymatgen once (fractions, energies, formulas, sort order)."""
        ordered = sorted(
            entries, key=lambda e: (e.composition.reduced_composition, e.energy_per_atom,
                                    str(e.name))
        )
        elements = sorted({el for e in ordered for el in e.elements})
        ids = itertools.accumulate(
            (int(a.composition.reduced_composition != b.composition.reduced_composition)
             for a, b in itertools.pairwise(ordered)), initial=0)
        return cls(
            elements=tuple(el.symbol for el in elements),
            fractions=np.array([[e.composition.get_atomic_fraction(el) for el in elements]
                                for e in ordered]).reshape(len(ordered), len(elements)),
            energy_eV_atom=np.array([e.energy_per_atom for e in ordered]),
            phases=tuple(e.composition.reduced_formula for e in ordered),
            composition_id=np.fromiter(ids, dtype=np.int64, count=len(ordered)),
        )

    def hull(self, chemsys: Iterable[str]) -> ChemsysHull:
        """The hull of the entries within ``chemsys``: the facets ``PhaseDiagram`` finds for them
        (``PhaseDiagram._compute``, step by step on arrays). Raises ValueError, as it does, when an
        element has no reference entry."""
        wanted = set(chemsys)
        inside = np.array([el in wanted for el in self.elements])
        if int(inside.sum()) != len(wanted):
            missing = sorted(wanted - set(self.elements))
            raise ValueError(f"Missing terminal entries for elements {missing}")
        columns = np.flatnonzero(inside)
        rows = np.flatnonzero(~(self.fractions[:, ~inside] > 0).any(axis=1))
        # The first row of each reduced composition is its lowest energy (the sort order).
        ids = self.composition_id[rows]
        lowest = rows[np.r_[True, ids[1:] != ids[:-1]]]
        fractions = self.fractions[np.ix_(lowest, columns)]
        pure = np.flatnonzero(fractions.max(axis=1) == 1.0)
        ref_of = dict(zip(fractions[pure].argmax(axis=1).tolist(), pure.tolist(), strict=True))
        if len(ref_of) != len(columns):
            absent = [self.elements[c] for j, c in enumerate(columns) if j not in ref_of]
            raise ValueError(f"Missing terminal entries for elements {absent}")
        refs = [ref_of[j] for j in range(len(columns))]
        data = np.column_stack([fractions, self.energy_eV_atom[lowest]])
        form = -np.dot(data, [*data[refs, -1], -1])
        idx = np.where(form < -PhaseDiagram.formation_energy_tol)[0].tolist() + sorted(refs)
        points = data[idx][:, 1:]
        extra = np.full(len(columns), 1 / len(columns))  # PhaseDiagram's full-dimension point
        extra[-1] = np.max(points) + 1
        points = np.concatenate([points, [extra]], axis=0)
        if len(columns) == 1:
            facets = points.argmin(axis=0)[None, :]
        else:
            facets = ConvexHull(points, qhull_options="Qt i").simplices
            facets = facets[facets.max(axis=1) != len(points) - 1]
            square = points[facets]
            square[..., -1] = 1
            facets = facets[np.abs(np.linalg.det(square)) > 1e-14]
        stable = np.unique(facets)
        entry_rows = np.asarray(idx)[stable]
        ref_eV_atom = data[refs, -1]
        return ChemsysHull.from_facets(
            elements=tuple(self.elements[c] for c in columns),
            phases=tuple(self.phases[lowest[i]] for i in entry_rows),
            fractions=fractions[entry_rows],
            form_eV_atom=data[entry_rows, -1] - fractions[entry_rows] @ ref_eV_atom,
            vertices=np.searchsorted(stable, facets),
        )


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
