"""Melting points of simple compounds and the liquidus descriptors of glass formation built on them.

A melt vitrifies more easily the lower its liquidus lies: the liquid reaches the glass transition
sooner after crossing it, and the driving force for crystallisation is smaller. Two classic forms
of that idea are used here:

- Rawson's criterion (H. Rawson, 1956, as issue 20 cites it; the paper itself was not
  retrieved): glass formation goes with a high bond strength *relative to the melting
  temperature*. Sun's single-bond strengths could not be sourced (``SOURCES_glass.md``), so the
  glass-forming model divides the electrostatic former-anion bond strength instead;
- deep eutectics: mixtures whose liquidus falls well below their end members' melting points form
  glasses where the end members crystallise (the liquidus depression of an ideal solution, the
  Schroeder-van Laar equation, with the entropy of fusion from Richards' rule, about R per mole
  of atoms).

Each composition is read as a mixture of the simple compounds of its cations: every cation takes
the anions present in proportion to their charge, at its charge-balanced oxidation state, and its
compound's melting point is looked up in ``simple_compound_melting_points.csv`` (CRC Handbook,
95th ed.; see ``SOURCES_glass.md``). A composition with a cation that has no listed compound with
any of its anions gets NaN descriptors (unknown, never guessed).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from math import gcd

import numpy as np
import pandas as pd

from candidates.chemistry import ANION_CHARGE, anions_of
from featurizers.charges import cation_charge_limits
from screening.models.features import Amounts

MELTING_FILE = "simple_compound_melting_points.csv"
MELTING_COLUMNS = (
    "melt_tm_mean_K",  # mole-fraction mean melting point of the simple compounds
    "melt_liquidus_ideal_K",  # ideal-solution liquidus of their mixture
    "melt_liquidus_over_tm_mean",  # the liquidus depression: below 1 near a deep eutectic
    "melt_tm_min_K",  # lowest-melting simple compound present
    "melt_tm_max_K",  # highest-melting simple compound present
)


@cache
def simple_compound_melting_points() -> dict[tuple[str, str], dict[int, float]]:
    """Melting points (K) of the simple compounds, as ``(cation, anion) -> {oxidation state:
    tm_K}`` (one row per key in the shipped table; its tests check that)."""
    path = files("screening").joinpath("data", "reference", MELTING_FILE)
    with path.open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle)
    known: dict[tuple[str, str], dict[int, float]] = {}
    for row in table.itertuples(index=False):
        known.setdefault((row.cation, row.anion), {})[int(row.oxidation_state)] = float(row.tm_K)
    return known


def _cation_charges(present: dict[str, float], anions: set[str]) -> dict[str, float]:
    """Charges of the cations: fixed ones (alkali, alkaline earth, rare earth, Ag) at their value,
    the others sharing the rest of the anion charge in proportion to their nominal charge (the
    rule of :func:`featurizers.charges.balance`, with S, Se and Te as cations beside O)."""
    cations = [el for el in present if el not in anions]
    limits = {el: cation_charge_limits(el) for el in cations}
    remaining = sum(present[a] * ANION_CHARGE[a] for a in anions) - sum(
        present[el] * limits[el][0] for el in cations)
    free = [el for el in cations if limits[el][0] == 0]
    nominal_total = sum(present[el] * limits[el][1] for el in free)
    scale = remaining / nominal_total if remaining > 0 and nominal_total > 0 else 1.0
    return {el: limits[el][0] if limits[el][0] else
            float(np.clip(limits[el][1] * scale, 1.0, limits[el][2])) for el in cations}


def _row(composition: Amounts, known: dict[tuple[str, str], dict[int, float]]) -> list[float]:
    present = {el: n for el, n in composition if n > 0}
    anions = anions_of(set(present))
    if not anions or anions == set(present):
        return [np.nan] * len(MELTING_COLUMNS)
    anion_charge = {a: present[a] * ANION_CHARGE[a] for a in anions}
    main_anion = max(sorted(anions), key=anion_charge.__getitem__)
    tm_K, moles, atoms = [], [], []
    for cation, charge in _cation_charges(present, anions).items():
        melting, weight = 0.0, 0.0
        for anion in anions:
            states = known.get((cation, anion))
            if states:
                # The listed oxidation state nearest the balanced charge; ties to the higher.
                state = min(states, key=lambda s: (abs(s - charge), -s))
                melting += anion_charge[anion] * states[state]
                weight += anion_charge[anion]
        if weight == 0.0:
            return [np.nan] * len(MELTING_COLUMNS)
        valence = max(round(charge), 1)
        common = gcd(valence, ANION_CHARGE[main_anion])
        per_unit = ANION_CHARGE[main_anion] // common
        tm_K.append(melting / weight)
        moles.append(present[cation] / per_unit)
        atoms.append(per_unit + valence // common)
    x = np.array(moles) / sum(moles)
    tm = np.array(tm_K)
    mean_K = float(x @ tm)
    liquidus_K = float(np.max(tm / (1.0 - np.log(x) / np.array(atoms))))
    return [mean_K, liquidus_K, liquidus_K / mean_K, float(tm.min()), float(tm.max())]


def melting_descriptors(amounts: list[Amounts | None]) -> pd.DataFrame:
    """The :data:`MELTING_COLUMNS` of every composition (NaN where a cation's simple compound
    is not listed, or the composition is unparsed or has no cation or anion)."""
    known = simple_compound_melting_points()
    rows = [[np.nan] * len(MELTING_COLUMNS) if composition is None else _row(composition, known)
            for composition in amounts]
    return pd.DataFrame(np.array(rows, dtype=float).reshape(len(amounts), len(MELTING_COLUMNS)),
                        columns=list(MELTING_COLUMNS))
