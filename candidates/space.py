"""Enumerate oxyhalide compositions A(a) M X(a+v-2x) Ch(x), charge-neutral by construction.

A is an alkali (+1), M a centre of valence v (or a binary mix of two centres), X a halogen (-1, or a
binary mix), Ch the chalcogen (O or S, -2) and x its amount per centre. Every chemistry class is
checked once with SMACT's rules (ICSD-24 oxidation states and the Pauling electronegativity test),
so the per-row cost stays at a few microseconds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cache, lru_cache

import numpy as np
import pandas as pd
import smact
from smact.screening import pauling_test

from candidates.chemistry import ALKALIS, CHALCOGENS, HALOGENS, element
from candidates.errors import UserError
from candidates.formula import (
    AMOUNT_DIGITS,
    format_amount,
    format_formula,
    is_element,
    parse_plain,
)

ALKALI_VALENCE = 1
HALOGEN_VALENCE = -1
CHALCOGEN_VALENCE = -2
#: The chalcogens a grid may use: Te is a chalcogen (``candidates.chemistry``), but its
#: tellurohalide glasses are outside what this screen's models were trained on.
GRID_CHALCOGENS = frozenset({"O", "S", "Se"})
ANIONS_AND_ALKALIS = ALKALIS | frozenset(HALOGENS) | frozenset(CHALCOGENS)
#: Most alkali (a) or chalcogen (x) atoms per centre a grid may ask for: A10 M X.. is already
#: an alkali halide with a trace of centre, far outside any glass this screen models.
MAX_PER_CENTRE = 10.0
#: Smallest amount a grid may ask for: what a formula string keeps (``AMOUNT_DIGITS``).
MIN_PER_CENTRE = 10.0 ** -AMOUNT_DIGITS

#: Columns of the candidate table, in order, with the kind of value each holds (what a filter may
#: compare it with); every row keeps its generation parameters.
CANDIDATE_KINDS: dict[str, type] = {
    "formula": str, "source": str, "alkali": str, "metal": str, "halogen": str, "chalcogen": str,
    "a_per_m": float, "o_per_m": float, "s_per_m": float, "x_per_m": float, "valence": float,
    "metal2_frac": float, "halogen2_frac": float, "charge_balanced": bool,
}
CANDIDATE_COLUMNS = tuple(CANDIDATE_KINDS)
#: The element slots of a grid formula, each a column of the class table.
_SLOTS = ("alkali", "metal_1", "metal_2", "halogen_1", "halogen_2", "chalcogen")


class SpaceError(UserError):
    """A composition space that cannot be enumerated (unknown element, impossible valence...)."""


@dataclass(frozen=True)
class CompositionSpace:
    """The declared search space of a run spec's ``[space]`` section (see runs/viglas.toml)."""

    alkali: tuple[str, ...]
    centres: tuple[tuple[str, int], ...]
    halogens: tuple[str, ...]
    chalcogen_per_m: tuple[float, ...]
    a_per_m: tuple[float, ...] = (1.0,)
    chalcogens: tuple[str, ...] = ("O",)
    halogen_mixes: tuple[tuple[str, str], ...] = ()
    halogen_mix_fractions: tuple[float, ...] = (0.5,)
    centre_mixes: tuple[tuple[str, str], ...] = ()
    centre_mix_fractions: tuple[float, ...] = (0.5,)
    max_candidates: int = 5_000_000
    valences: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "valences", dict(self.centres))
        symbols = [*self.alkali, *self.valences, *self.halogens, *self.chalcogens]
        symbols += [s for pair in (*self.halogen_mixes, *self.centre_mixes) for s in pair]
        for symbol in symbols:
            if not is_element(symbol):
                raise SpaceError(f"unknown element {symbol!r} in the composition space")
        halogens = [*self.halogens, *(s for pair in self.halogen_mixes for s in pair)]
        centres = [*self.valences, *(s for pair in self.centre_mixes for s in pair)]
        for role, listed, allowed in (("alkali", self.alkali, ALKALIS),
                                      ("halogens", halogens, HALOGENS),
                                      ("chalcogens", self.chalcogens, GRID_CHALCOGENS)):
            wrong = [s for s in listed if s not in allowed]
            if wrong:
                raise SpaceError(f"{role}: {wrong[0]!r} is not one of {', '.join(sorted(allowed))}")
        misplaced = [s for s in centres if s in ANIONS_AND_ALKALIS]
        if misplaced:
            raise SpaceError(f"centres: {misplaced[0]!r} is an alkali, halogen or chalcogen, not a "
                             f"network centre")
        inert = [s for s in centres if not _cation_states(s)]
        if inert:
            raise SpaceError(f"centres: {inert[0]!r} forms no cation in SMACT's oxidation states, "
                             f"so it cannot be a network centre")
        for a, b in self.centre_mixes:
            missing = [s for s in (a, b) if s not in self.valences]
            if missing:
                raise SpaceError(f"centre mix {a}-{b}: give the valence of {missing[0]} in centres")
        grids = {"chalcogen_per_m": self.chalcogen_per_m, "a_per_m": self.a_per_m,
                 "halogen_mix_fractions": self.halogen_mix_fractions,
                 "centre_mix_fractions": self.centre_mix_fractions}
        for name, values in grids.items():
            if any(v < 0 for v in values):
                raise SpaceError(f"negative amount in {name}: {min(values):g}")
        # Each amount is one a formula writes (a smaller one would vanish from it, leaving a
        # row labelled with an element it lacks) and one a glass can have.
        for name, key, what in (("a_per_m", "a_per_m", "alkali"),
                                ("chalcogen_per_m", "o_per_m", "chalcogen")):
            zero_ok = name == "chalcogen_per_m"  # no chalcogen: the plain halide
            wrong = [v for v in grids[name]
                     if not (zero_ok and v == 0 or MIN_PER_CENTRE <= v <= MAX_PER_CENTRE)]
            if wrong:
                raise SpaceError(f"{key}: {wrong[0]:g} {what} atoms per centre; give "
                                 f"{'0 or ' if zero_ok else ''}{MIN_PER_CENTRE:g} to "
                                 f"{MAX_PER_CENTRE:g} (less vanishes from the formula, more is "
                                 f"no glass)")
        for name in ("halogen_mix_fractions", "centre_mix_fractions"):
            if any(not MIN_PER_CENTRE <= v <= 1 - MIN_PER_CENTRE for v in grids[name]):
                raise SpaceError(f"{name} must lie strictly between 0 and 1 (from "
                                 f"{MIN_PER_CENTRE:g} to 1 - {MIN_PER_CENTRE:g})")
        for key, pairs in (("halogen_mixes", self.halogen_mixes),
                           ("centre_mixes", self.centre_mixes)):
            same = [a for a, b in pairs if a == b]
            if same:
                raise SpaceError(f"{key}: [{same[0]!r}, {same[0]!r}] mixes {same[0]} with "
                                 f"itself; list {same[0]} alone or mix two elements")
            twice = [p for i, p in enumerate(pairs) if {*p} in [{*q} for q in pairs[:i]]]
            if twice:
                raise SpaceError(f"{key}: {list(twice[0])} is listed twice (a mix is the same "
                                 f"in either order); list it once")

    def grid_size(self) -> int:
        """Number of grid points before validity filtering and deduplication."""
        return grid_points(alkali=len(self.alkali), centres=len(self.centres),
                           centre_mixes=len(self.centre_mixes),
                           centre_mix_fractions=len(self.centre_mix_fractions),
                           halogens=len(self.halogens), halogen_mixes=len(self.halogen_mixes),
                           halogen_mix_fractions=len(self.halogen_mix_fractions),
                           chalcogens=len(self.chalcogens),
                           chalcogen_per_m=len(self.chalcogen_per_m), a_per_m=len(self.a_per_m))


def grid_points(*, alkali: int, centres: int, centre_mixes: int, centre_mix_fractions: int,
                halogens: int, halogen_mixes: int, halogen_mix_fractions: int, chalcogens: int,
                chalcogen_per_m: int, a_per_m: int) -> int:
    """Grid points of a space with that many values on each axis: what a spec reader checks
    against ``max_candidates`` before building any axis."""
    return (alkali * (centres + centre_mixes * centre_mix_fractions)
            * (halogens + halogen_mixes * halogen_mix_fractions) * chalcogens
            * chalcogen_per_m * a_per_m)


def _options(kind: str, singles: tuple[str, ...], mixes: tuple[tuple[str, str], ...],
             fractions: tuple[float, ...]) -> pd.DataFrame:
    """One row per cation (or anion) option: a single element or a binary mix.

    Mix pairs are put in alphabetical order (fraction flipped) so the same mixture written two
    ways is one option.
    """
    rows = [(s, s, None, 0.0) for s in singles]
    for first, second in mixes:
        for frac in fractions:
            (a, fa), (b, fb) = sorted([(first, 1 - frac), (second, frac)])
            rows.append((f"{a}{format_amount(fa)}{b}{format_amount(fb)}", a, b, fb))
    return pd.DataFrame(rows, columns=[kind, f"{kind}_1", f"{kind}_2", f"{kind}2_frac"])


@cache
def _cation_states(symbol: str) -> tuple[int, ...]:
    """The positive oxidation states SMACT knows for ``symbol`` (none for a noble gas, or for
    a superheavy element SMACT has no data on)."""
    try:
        element = smact.Element(symbol)
    except KeyError:
        return ()
    states = element.oxidation_states_icsd24 or element.oxidation_states or ()
    return tuple(state for state in states if state > 0)


@lru_cache(maxsize=4096)
def smact_allows(cations: tuple[tuple[str, int], ...], anions: tuple[tuple[str, int], ...]) -> bool:
    """SMACT's rules for one chemistry class: each oxidation state is one SMACT knows (ICSD-24
    set), and every anion is more electronegative than every cation (Pauling test)."""
    species = [*cations, *anions]
    for symbol, state in species:
        element = smact.Element(symbol)
        if state not in (element.oxidation_states_icsd24 or element.oxidation_states or ()):
            return False
    enegs = [smact.Element(s).pauling_eneg for s, _ in species]
    if any(e is None for e in enegs):
        return False
    return bool(pauling_test([st for _, st in species], enegs, [s for s, _ in species]))


def _classes(space: CompositionSpace) -> pd.DataFrame:
    """Every (alkali, centre option, halogen option, chalcogen) class that SMACT allows."""
    centres = _options("metal", tuple(space.valences), space.centre_mixes,
                       space.centre_mix_fractions)
    halogens = _options("halogen", space.halogens, space.halogen_mixes,
                        space.halogen_mix_fractions)
    classes = (pd.DataFrame({"alkali": list(space.alkali)})
               .merge(centres, how="cross").merge(halogens, how="cross")
               .merge(pd.DataFrame({"chalcogen": list(space.chalcogens)}), how="cross"))
    allowed = []
    for row in classes.itertuples(index=False):
        metals = [m for m in (row.metal_1, row.metal_2) if m]
        cations = ((row.alkali, ALKALI_VALENCE), *((m, space.valences[m]) for m in metals))
        anions = (*((x, HALOGEN_VALENCE) for x in (row.halogen_1, row.halogen_2) if x),
                  (row.chalcogen, CHALCOGEN_VALENCE))
        allowed.append(smact_allows(cations, anions))
    classes = classes.loc[allowed].reset_index(drop=True)
    v1 = classes["metal_1"].map(space.valences).astype(float)
    v2 = classes["metal_2"].map(space.valences).astype(float).fillna(0.0)
    classes["valence"] = v1 * (1 - classes["metal2_frac"]) + v2 * classes["metal2_frac"]
    return classes


def _formulas(classes: pd.DataFrame, class_index: np.ndarray,
              amounts: list[np.ndarray]) -> np.ndarray:
    """Plain formula strings of grid rows, slots ordered by electronegativity as pymatgen does.

    Row i is of class ``class_index[i]`` and holds ``amounts[k][i]`` of the element in slot
    ``_SLOTS[k]``; a slot without an element or with a zero amount is not written. The slot order
    depends only on the class, so it is sorted per class (empty slots last), and a slot's text is
    looked up in a small table of its distinct symbol + amount texts rather than written per row.
    """
    enegs = np.column_stack([classes[slot].map(_electronegativity).to_numpy(float)
                             for slot in _SLOTS])
    order = np.argsort(enegs, axis=1, kind="stable")[class_index]
    texts, codes = [""], []  # code 0 is the empty slot
    for slot, amount in zip(_SLOTS, amounts, strict=True):
        symbol_codes, symbols = pd.factorize(classes[slot])
        amount_codes, uniques = pd.factorize(amount)
        row_symbols = symbol_codes[class_index]
        present = (row_symbols >= 0) & (amount > 1e-9)
        codes.append(np.where(present, len(texts) + row_symbols * len(uniques) + amount_codes, 0))
        amount_texts = [format_amount(value) for value in uniques]
        texts += [symbol + text for symbol in symbols for text in amount_texts]
    ordered = np.take_along_axis(np.column_stack(codes), order, axis=1)
    return np.add.reduce(np.array(texts, dtype=object)[ordered], axis=1)


@cache
def _electronegativity(symbol: str | None) -> float:
    """Pauling electronegativity as pymatgen orders formulas; an empty slot sorts last."""
    return float(element(symbol).X) if isinstance(symbol, str) else np.inf


def enumerate_space(space: CompositionSpace) -> pd.DataFrame:
    """All SMACT-valid, charge-neutral grid compositions of ``space``, one row per composition.

    Columns are :data:`CANDIDATE_COLUMNS`. Rows whose halide amount a + v - 2x would not be
    above what a formula keeps (1e-6) are skipped: they are not oxyhalides. Raises
    :class:`SpaceError` when the grid exceeds ``max_candidates``. Built column-wise with pandas,
    so a row costs microseconds.
    """
    if space.grid_size() > space.max_candidates:
        raise SpaceError(f"the space has {space.grid_size():,} grid points, above max_candidates "
                         f"= {space.max_candidates:,}; raise it or shrink the grid")
    amounts = pd.DataFrame(list(itertools.product(space.a_per_m, space.chalcogen_per_m)),
                           columns=["a_per_m", "x"], dtype=float)
    classes = _classes(space)
    grid = classes.reset_index(names="class").merge(amounts, how="cross")
    grid["x_per_m"] = grid["a_per_m"] + grid["valence"] - 2 * grid["x"]
    grid = _take_rows(grid, grid["x_per_m"].to_numpy() > MIN_PER_CENTRE)
    m2, h2 = grid["metal2_frac"], grid["halogen2_frac"]
    slot_amounts = [grid["a_per_m"], 1 - m2, m2, grid["x_per_m"] * (1 - h2),
                    grid["x_per_m"] * h2, grid["x"]]
    grid["formula"] = _formulas(classes, grid["class"].to_numpy(),
                                [amount.to_numpy(float) for amount in slot_amounts])
    grid["source"] = "grid"
    grid["charge_balanced"] = True
    grid["o_per_m"] = np.where(grid["chalcogen"] == "O", grid["x"], 0.0)
    grid["s_per_m"] = np.where(grid["chalcogen"] == "S", grid["x"], 0.0)
    return grid[list(CANDIDATE_COLUMNS)]


def _dedupe_key(formula: str) -> str:
    """The formula scaled to one centre atom (grid formulas already are) in pymatgen order."""
    pairs = parse_plain(formula)
    centre_total = sum(n for el, n in pairs if el not in ANIONS_AND_ALKALIS) or 1.0
    ordered = sorted(pairs, key=lambda pair: _electronegativity(pair[0]))
    return format_formula([(el, n / centre_total) for el, n in ordered])


def dedupe(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows whose reduced composition repeats an earlier row (first occurrence wins)."""
    keys = frame["formula"].copy()
    listed = frame["source"] != "grid"
    keys[listed] = frame.loc[listed, "formula"].map(_dedupe_key)
    return _take_rows(frame, ~keys.duplicated().to_numpy())


def _take_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` where ``keep`` is True, on a fresh RangeIndex.

    A million-row candidate table is copied once here, not once more by ``reset_index``, and not
    at all when every row is kept.
    """
    if keep.all():
        return frame.set_axis(pd.RangeIndex(len(frame)), copy=False)
    kept = frame.loc[keep]
    kept.index = pd.RangeIndex(len(kept))
    return kept


def explicit_rows(formulas: list[str], source: str) -> pd.DataFrame:
    """Candidate rows for compositions listed by hand (already normalised plain formulas).

    Generation parameters that do not apply are NaN; the alkali/metal/halogen labels and
    per-centre amounts are read off the composition so explicit rows rank beside grid rows.
    ``charge_balanced`` is None (not checked): the user typed these compositions.
    """
    rows = []
    for formula in formulas:
        pairs = dict(parse_plain(formula))
        alk = [s for s in pairs if s in ALKALIS]
        hal = [s for s in pairs if s in HALOGENS]
        chal = [s for s in pairs if s in CHALCOGENS]
        metals = [s for s in pairs if s not in ANIONS_AND_ALKALIS]
        per_m = sum(pairs[m] for m in metals) or np.nan
        rows.append((
            formula, source, "".join(alk) or None, "".join(metals) or None,
            "".join(hal) or None, "".join(chal) or None,
            sum(pairs[s] for s in alk) / per_m, pairs.get("O", 0.0) / per_m,
            pairs.get("S", 0.0) / per_m, sum(pairs[s] for s in hal) / per_m,
            np.nan, np.nan, np.nan, None,
        ))
    return pd.DataFrame.from_records(rows, columns=list(CANDIDATE_COLUMNS))

