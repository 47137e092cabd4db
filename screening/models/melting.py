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

import numpy as np
import pandas as pd

from candidates.chemistry import ANION_CHARGE, anions_of
from featurizers.charges import balance
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


def _block(elements: tuple[str, ...], amounts: np.ndarray,
           known: dict[tuple[str, str], dict[int, float]]) -> np.ndarray:
    """:data:`MELTING_COLUMNS` of compositions of the same ``elements`` (one row each; the
    columns of ``amounts`` in the order of ``elements``)."""
    out = np.full((len(amounts), len(MELTING_COLUMNS)), np.nan)
    anions = sorted(anions_of(set(elements)))
    cations = [el for el in elements if el not in anions]
    if not anions or not cations:
        return out
    amount = dict(zip(elements, amounts.T, strict=True))
    ions = balance(amounts, list(elements), anions)
    anion_charge = {a: amount[a] * ANION_CHARGE[a] for a in anions}
    # The main anion of each row: the largest charge share, the first in symbol order on a tie.
    main_charge = np.array([ANION_CHARGE[a] for a in anions])[
        np.argmax(np.column_stack([anion_charge[a] for a in anions]), axis=1)]
    tm_K, moles, atoms = [], [], []
    for cation in cations:
        charge = ions.charges[:, elements.index(cation)]
        melting, weight = 0.0, 0.0
        for anion in anions:
            states = known.get((cation, anion))
            if states:
                # The listed oxidation state nearest the balanced charge; ties to the higher
                # (argmin takes the first of equal distances, and states run highest first).
                listed = np.array(sorted(states, reverse=True))
                nearest = np.abs(listed - charge[:, None]).argmin(axis=1)
                melting = melting + anion_charge[anion] * np.array(
                    [states[s] for s in listed])[nearest]
                weight = weight + anion_charge[anion]
        if isinstance(weight, float):  # no compound of this cation is listed
            return out
        valence = np.maximum(np.round(charge), 1).astype(int)
        common = np.gcd(valence, main_charge)
        per_unit = main_charge // common
        tm_K.append(melting / weight)
        moles.append(amount[cation] / per_unit)
        atoms.append(per_unit + valence // common)
    tm, atoms_per_unit = np.column_stack(tm_K), np.column_stack(atoms)
    x = np.column_stack(moles) / sum(moles)[:, None]
    # One dot per row, as before: a sum of products can round differently in its last bit.
    mean_K = np.array([row_x @ row_tm for row_x, row_tm in zip(x, tm, strict=True)])
    liquidus_K = (tm / (1.0 - np.log(x) / atoms_per_unit)).max(axis=1)
    return np.column_stack([mean_K, liquidus_K, liquidus_K / mean_K, tm.min(axis=1),
                            tm.max(axis=1)])


def melting_descriptors(amounts: list[Amounts | None]) -> pd.DataFrame:
    """The :data:`MELTING_COLUMNS` of every composition (NaN where a cation's simple compound
    is not listed, or the composition is unparsed or has no cation or anion)."""
    known = simple_compound_melting_points()
    # Compositions of the same elements (a grid's classes) are computed together, as arrays.
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, composition in enumerate(amounts):
        if composition is not None:
            groups.setdefault(tuple(el for el, n in composition if n > 0), []).append(i)
    out = np.full((len(amounts), len(MELTING_COLUMNS)), np.nan)
    for elements, rows in groups.items():
        block = np.array([[n for _, n in amounts[i] if n > 0] for i in rows], dtype=float)
        out[rows] = _block(elements, block.reshape(len(rows), len(elements)), known)
    return pd.DataFrame(out, columns=list(MELTING_COLUMNS))
