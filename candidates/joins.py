"""Join enumeration: mixtures of end-member compounds on a mole-fraction simplex.

Glass chemists write compositions as joins (x Li2O - y LiCl - z AlCl3). A join spec lists the
end members and a mole-fraction step; every mixture with fractions on that grid (within optional
per-end-member bounds) becomes a candidate whose formula is sum_i f_i * end_member_i, i.e. one
mole of end-member formula units in total. The fractions stay as ``frac_<end member>`` columns so
results can be plotted on the join.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pymatgen.core import Composition
from smact.screening import smact_validity

from candidates.errors import UserError, format_count
from candidates.notation import parse_composition, to_formula
from candidates.space import explicit_rows

#: Most mixtures one join may hold; a finer step is refused before any point is built.
MAX_POINTS = 1_000_000


class JoinError(UserError):
    """A join that cannot be enumerated (fewer than two end members, bad step or bounds);
    ``key`` names the join's spec key at fault."""

    def __init__(self, message: str, key: str = "end_members") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Join:
    """End members (any accepted notation), a mole-fraction step and optional bounds."""

    end_members: tuple[str, ...]
    step: float = 0.05
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.end_members) < 2:
            raise JoinError("a join needs at least two end members")
        if (not 0 < self.step <= 0.5 or not math.isfinite(1 / self.step)
                or abs(round(1 / self.step) * self.step - 1) > 1e-9):
            raise JoinError(f"step {self.step} must divide 1 (e.g. 0.1, 0.05, 0.02)", "step")
        points = math.comb(round(1 / self.step) + len(self.end_members) - 1,
                           len(self.end_members) - 1)
        if points > MAX_POINTS:
            raise JoinError(f"step {self.step:g} gives {format_count(points)} mixtures of "
                            f"{len(self.end_members)} end members, above {MAX_POINTS:,}; "
                            f"use a coarser step", "step")
        for name, (low, high) in self.bounds.items():
            if name not in self.end_members:
                raise JoinError(f"bounds for {name!r}, which is not an end member", "bounds")
            if not 0 <= low <= high <= 1:
                raise JoinError(f"bounds for {name!r} must satisfy 0 <= low <= high <= 1",
                                "bounds")


def fraction_column(end_member: str) -> str:
    """The candidates column holding the mole fraction of ``end_member``."""
    return f"frac_{end_member}"


def simplex_points(n: int, steps: int) -> np.ndarray:
    """All integer compositions of ``steps`` into ``n`` non-negative parts, as fractions, in
    lexicographic order of the first ``n - 1`` parts.

    Stars and bars: each choice of ``n - 1`` bar positions among ``steps + n - 1`` slots is one
    composition, so the work is the number of points (the binomial count :class:`Join` checks),
    not the ``(steps + 1) ** (n - 1)`` of filtering a product.
    """
    bars = np.array(list(itertools.combinations(range(steps + n - 1), n - 1)),
                    dtype=np.int64).reshape(-1, n - 1)
    edges = np.hstack([np.full((len(bars), 1), -1), bars, np.full((len(bars), 1), steps + n - 1)])
    return (np.diff(edges, axis=1) - 1).astype(float) / steps


def charge_balanced(formula: str) -> bool:
    """SMACT's validity test (oxidation states that balance, Pauling order) for one compound."""
    return bool(smact_validity(parse_composition(formula)))


def enumerate_join(join: Join) -> pd.DataFrame:
    """One candidate row per mixture on the join's grid; see the module docstring.

    Mixtures containing an end member that SMACT cannot charge-balance are kept with
    ``charge_balanced = False`` and reported in a warning, never silently dropped.
    """
    members = [parse_composition(text) for text in join.end_members]
    fractions = simplex_points(len(members), round(1 / join.step))
    for i, name in enumerate(join.end_members):
        low, high = join.bounds.get(name, (0.0, 1.0))
        fractions = fractions[(fractions[:, i] >= low - 1e-9) & (fractions[:, i] <= high + 1e-9)]
    balanced = np.array([charge_balanced(to_formula(m)) for m in members])
    formulas = [
        to_formula(sum((m * f for m, f in zip(members, point, strict=True) if f > 0),
                       start=Composition()))
        for point in fractions
    ]
    frame = explicit_rows(formulas, "join")
    for name, column in zip(join.end_members, fractions.T, strict=True):
        frame[fraction_column(name)] = column
    frame["charge_balanced"] = [bool(balanced[point > 0].all()) for point in fractions]
    unbalanced = [n for n, ok in zip(join.end_members, balanced, strict=True) if not ok]
    if unbalanced:
        warnings.warn(f"{int((~frame['charge_balanced']).sum())} mixtures contain end members "
                      f"SMACT cannot charge-balance ({', '.join(unbalanced)}); they are kept with "
                      f"charge_balanced = false", stacklevel=2)
    return frame


def join_label(end_members: Sequence[str]) -> str:
    """``LiCl-AlCl3-Al2O3``: the join's name in plots and tables."""
    return "-".join(end_members)
