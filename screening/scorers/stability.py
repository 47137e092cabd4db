"""Thermodynamic and electrochemical stability: energy above the hull, decomposition, alkali window.

For each chemical system in a partition one convex hull is built (the facets pymatgen's
``PhaseDiagram`` finds, from one table of entries per source, cached in-process) and every row of
that system is answered at once with numpy (:mod:`screening.thermo.hull`):

- ``e_above_hull_eV_atom`` = max(0, E_pred - E_hull): E_pred is the candidate's formation enthalpy
  estimated from its composition (:mod:`screening.thermo.formation`, CV MAE about 0.1 eV/atom),
  E_hull the hull of the known crystalline phases at that composition. Clipped at 0 because a
  prediction below the hull would claim a new stable phase, which a regression with that error
  cannot support; 0 means "not distinguishable from the hull".
- ``hull_excess_eV_atom`` = max(0, e_above_hull - allowance): what the ranking judges. Every
  glass sits above the hull (it is metastable by nature: this model puts the synthesised VIGLAS
  glasses at 0.10-0.17 eV/atom), so rewarding a low ``e_above_hull`` would reward crystals for
  being crystals. The allowance (``glass_allowance_eV_atom``, default 0.17 eV/atom, the top of
  that range) plays the role of the amorphous limit of Aykol et al. (Sci. Adv. 4, eaaq0148
  (2018)): below it a composition is as attainable as the glasses already made.
- ``decomposition``: the hull phases at the composition, largest atomic share first.
- ``ox_limit_V`` / ``red_limit_V``: the window (V vs the alkali metal) of the equilibrium phase
  assemblage at the composition in the diagram open to the alkali (Zhu, He and Mo 2015; Richards
  et al. 2016), i.e. the candidate treated as if stabilised onto the hull. With several alkalis
  the one with the largest amount is the mobile ion; without an alkali both are NaN.
- ``window_V``: their difference. A window the data cannot resolve is NaN, never zero, and
  ``window_note`` says why: no alkali, no phase diagram for the system, or an assemblage that
  holds at a single alkali potential (it mixes an oxidant and a reductant, e.g. Cl2 + B when the
  data lack BCl3: a phase is missing, not a window of zero width). ``window_note`` is empty
  where the window is resolved.

Energies are 0 K / 298 K enthalpies, so ``temperature_K`` does not enter.
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import pandas as pd

from candidates.chemistry import ALKALIS
from featurizers.fractions import fraction_matrix
from screening.models.features import MAGPIE, columns_of
from screening.scorers.base import Scorer
from screening.thermo.entries import SOURCES, entry_table
from screening.thermo.formation import load_formation_model
from screening.thermo.hull import ChemsysHull, alkali_window_V

#: Rows per hull query: bounds the rows x facets arrays of one chemical system.
CHUNK_ROWS = 8192
#: Windows narrower than this (V) hold at a single alkali potential: unresolved, not narrow.
ZERO_WIDTH_V = 1e-6
NOTE_NO_ALKALI = "no alkali: no window against an alkali metal"
#: Most elements a hull is built for by default: Qhull's cost grows steeply with the dimension
#: (experimental entries, this machine: 10 elements 0.8 s, 12 elements 19 s, 17 elements > 11 min).
MAX_HULL_ELEMENTS = 10
NOTE_TOO_MANY = ("no phase diagram: {n} elements, above the hull cap of {cap} "
                 "(scorer_options.stability.max_hull_elements raises it; 12 elements take ~20 s)")
NOTE_NO_DIAGRAM = "no phase diagram: the enthalpy data hold no phases of this chemical system"
NOTE_UNRESOLVED = ("unresolved: the equilibrium assemblage holds at a single alkali potential, so "
                   "a phase of this system is missing from the enthalpy data")


class StabilityScorer(Scorer):
    """Energy above the hull, decomposition products and electrochemical window vs the alkali.

    ``source`` picks the phase-diagram entries: ``"experimental"`` (pymatgen's experimental
    formation enthalpies, offline), ``"materials_project"`` (mp-api, cached on disk), or ``"auto"``
    (the Materials Project when ``MP_API_KEY`` is set, else experimental).
    """

    name: ClassVar[str] = "stability"
    outputs: ClassVar[dict[str, tuple[type, str]]] = {
        "e_above_hull_eV_atom": (float, "estimated energy above the convex hull of known phases "
                                        "(eV/atom)"),
        "hull_excess_eV_atom": (float, "e_above_hull_eV_atom beyond the metastability a glass is "
                                       "allowed (glass_allowance_eV_atom), eV/atom; 0 when within "
                                       "it"),
        "decomposition": (str, "competing phases the composition decomposes to"),
        "ox_limit_V": (float, "oxidation limit vs the alkali metal (V); NaN without an alkali"),
        "red_limit_V": (float, "reduction limit vs the alkali metal (V); NaN without an alkali"),
        "window_V": (float, "width of the electrochemical window, ox_limit_V - red_limit_V (V); "
                            "NaN where the data cannot resolve it (see window_note)"),
        "window_note": (str, "why the window is NaN (no alkali, no phase diagram, a missing "
                             "phase); empty when resolved"),
    }
    features: ClassVar[tuple[str, ...]] = (MAGPIE,)
    citations: ClassVar[tuple[str, ...]] = (
        "Zhu, He, Mo, ACS Appl. Mater. Interfaces 7, 23685 (2015), doi:10.1021/acsami.5b07517",
        "Richards et al., Chem. Mater. 28, 266 (2016), doi:10.1021/acs.chemmater.5b04082",
        "Ong et al., Chem. Mater. 20, 1798 (2008), doi:10.1021/cm702327g (phase diagrams)",
        "Wang et al., Sci. Rep. 11, 15496 (2021), doi:10.1038/s41598-021-94550-5 (exp. enthalpies)",
        "Ward et al., npj Comput. Mater. 2, 16028 (2016), doi:10.1038/npjcompumats.2016.28",
        "Aykol et al., Sci. Adv. 4, eaaq0148 (2018), doi:10.1126/sciadv.aaq0148",
    )

    def __init__(self, source: str = "auto", glass_allowance_eV_atom: float = 0.17,
                 max_hull_elements: int = MAX_HULL_ELEMENTS):
        if not 0.0 <= glass_allowance_eV_atom <= 1.0:  # also refuses NaN
            raise ValueError(f"glass_allowance_eV_atom must lie between 0 and 1 eV/atom, got "
                             f"{glass_allowance_eV_atom}")
        if not 2 <= max_hull_elements <= 16:
            raise ValueError(f"max_hull_elements must lie between 2 and 16, got "
                             f"{max_hull_elements}")
        self.source = source
        self.glass_allowance_eV_atom = glass_allowance_eV_atom
        self.max_hull_elements = max_hull_elements

    def resolved_source(self) -> str:
        """The entry source this scorer uses now (``auto`` resolved against ``MP_API_KEY``)."""
        if self.source == "auto":
            return "materials_project" if os.environ.get("MP_API_KEY") else "experimental"
        if self.source not in SOURCES:
            raise ValueError(
                f"StabilityScorer: unknown source {self.source!r}; use 'auto' or one of {SOURCES}"
            )
        return self.source

    def hull(self, chemsys: tuple[str, ...]) -> ChemsysHull | None:
        """The cached hull of a chemical system (None when its entries give no diagram)."""
        source = self.resolved_source()
        hulls = self.__dict__.setdefault("hulls_", {})
        key = (source, chemsys)
        if key not in hulls:
            try:
                hulls[key] = entry_table(chemsys, source).hull(chemsys)
            except (ValueError, np.linalg.LinAlgError):
                hulls[key] = None
        return hulls[key]

    def score(self, frame: pd.DataFrame, temperature_K: float) -> pd.DataFrame:
        """Score a partition; rows are grouped by chemical system and answered per group."""
        formulas = list(frame["formula"])
        n = len(formulas)
        e_above = np.full(n, np.nan)
        ox_V = np.full(n, np.nan)
        red_V = np.full(n, np.nan)
        decomposition: list[str | None] = [None] * n
        note = np.full(n, None, dtype=object)
        matrix = fraction_matrix(formulas)
        e_pred = load_formation_model().predict(formulas, columns_of(frame, MAGPIE).to_numpy())
        valid = np.flatnonzero(matrix.valid)
        systems, group = np.unique(matrix.fractions[valid] > 0, axis=0, return_inverse=True)
        for g, in_system in enumerate(systems):
            members = valid[group == g]
            chemsys = tuple(np.asarray(matrix.elements)[in_system])
            if len(chemsys) > self.max_hull_elements:
                note[members] = NOTE_TOO_MANY.format(n=len(chemsys), cap=self.max_hull_elements)
                continue
            hull = self.hull(chemsys)
            if hull is None:
                note[members] = NOTE_NO_DIAGRAM
                continue
            columns = [matrix.elements.index(el) for el in hull.elements]
            alkalis = [el for el in hull.elements if el in ALKALIS]
            for start in range(0, len(members), CHUNK_ROWS):
                rows = members[start : start + CHUNK_ROWS]
                x = matrix.fractions[np.ix_(rows, columns)]
                e_above[rows] = np.maximum(0.0, e_pred[rows] - hull.energy(x))
                for i, text in zip(rows, hull.decomposition(x), strict=True):
                    decomposition[i] = text
                if not alkalis:
                    note[rows] = NOTE_NO_ALKALI
                else:
                    amounts = x[:, [hull.elements.index(el) for el in alkalis]]
                    mobile = amounts.argmax(axis=1)
                    for k, alkali in enumerate(alkalis):
                        sel = mobile == k
                        if sel.any():
                            window = alkali_window_V(hull, x[sel], alkali)
                            ox_V[rows[sel]], red_V[rows[sel]] = window
        unresolved = np.abs(ox_V - red_V) < ZERO_WIDTH_V
        note[unresolved] = NOTE_UNRESOLVED
        ox_V[unresolved] = red_V[unresolved] = np.nan
        unset = np.array([value is None for value in note], dtype=bool)
        note[matrix.valid & unset] = ""
        return pd.DataFrame(
            {
                "e_above_hull_eV_atom": e_above,
                "hull_excess_eV_atom": np.maximum(e_above - self.glass_allowance_eV_atom, 0.0),
                "decomposition": pd.Series(decomposition, dtype=object),
                "ox_limit_V": ox_V,
                "red_limit_V": red_V,
                "window_V": ox_V - red_V,
                "window_note": pd.Series(note, dtype=object),
            }
        )
