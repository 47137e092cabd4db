"""Rank scored candidates: hard filters, a weighted desirability score with per-objective
contributions that explain it, and the Pareto front over the objectives.

Each objective maps linearly onto a desirability d in [0, 1] between its ``low`` and ``high``
bounds (Derringer & Suich, J. Qual. Technol. 12, 214 (1980)), reversed for ``goal = "min"``.
``score`` = sum_i w_i d_i / sum_i w_i, and ``contrib_<column>`` = w_i d_i / sum_i w_i, so the
contributions of a row add up to its score. A missing value has desirability 0.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np
import pandas as pd

from screening.spec import Filter, Objective

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "==": operator.eq, "!=": operator.ne}


def passes_filters(frame: pd.DataFrame, filters: Sequence[Filter]) -> np.ndarray:
    """Boolean mask of rows meeting every filter; a missing value fails its filter."""
    mask = np.ones(len(frame), dtype=bool)
    for flt in filters:
        column = frame[flt.column]
        mask &= (_OPS[flt.op](column, flt.value) & column.notna()).to_numpy(dtype=bool)
    return mask


def desirability(values: np.ndarray, objective: Objective) -> np.ndarray:
    """Linear desirability in [0, 1]; NaN maps to 0."""
    d = (np.asarray(values, dtype=float) - objective.low) / (objective.high - objective.low)
    if objective.goal == "min":
        d = 1.0 - d
    return np.nan_to_num(np.clip(d, 0.0, 1.0), nan=0.0)


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Rows of ``points`` (larger is better in every column) that no other row dominates.

    Ties are kept: two identical rows on the front are both on it. NaN counts as worst.
    """
    pts = np.where(np.isnan(points), -np.inf, points)
    candidates = np.arange(len(pts))
    i = 0
    while i < len(candidates):
        p = pts[candidates[i]]
        rest = pts[candidates]
        keep = np.any(rest > p, axis=1) | np.all(rest == p, axis=1)
        # Rows dominated by p drop out; p itself stays (it equals itself).
        i = int(np.count_nonzero(keep[:i])) + 1
        candidates = candidates[keep]
    mask = np.zeros(len(pts), dtype=bool)
    mask[candidates] = True
    return mask


def rank(frame: pd.DataFrame, objectives: Sequence[Objective], filters: Sequence[Filter],
         pareto_columns: Sequence[str]) -> pd.DataFrame:
    """Filter, score and order ``frame``; returns only rows passing the filters, best first.

    Adds ``contrib_<column>`` per objective, ``score``, ``rank`` (1 = best) and ``pareto``.
    Ties in score are broken by formula so the order is reproducible.
    """
    kept = frame.loc[passes_filters(frame, filters)].copy()
    total_weight = sum(o.weight for o in objectives)
    for obj in objectives:
        share = obj.weight / total_weight
        kept[f"contrib_{obj.column}"] = share * desirability(kept[obj.column], obj)
    kept["score"] = kept[[f"contrib_{o.column}" for o in objectives]].sum(axis=1)
    by_column = {o.column: o for o in objectives}
    signed = np.column_stack([
        kept[c].to_numpy(dtype=float) * (1.0 if by_column[c].goal == "max" else -1.0)
        for c in pareto_columns
    ]) if pareto_columns else np.zeros((len(kept), 0))
    kept["pareto"] = pareto_mask(signed) if len(kept) and pareto_columns else False
    kept = kept.sort_values(["score", "formula"], ascending=[False, True], kind="mergesort")
    kept["rank"] = np.arange(1, len(kept) + 1)
    return kept.reset_index(drop=True)
