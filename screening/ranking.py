"""Rank scored candidates: hard filters (:mod:`screening.filters`), a weighted desirability score
with per-objective contributions that explain it, and the Pareto front over the objectives.

Each objective maps linearly onto a desirability d in [0, 1] between its ``low`` and ``high``
bounds (Derringer & Suich, J. Qual. Technol. 12, 214 (1980)), reversed for ``goal = "min"``.
``score`` = sum_i w_i d_i / sum_i w_i, and ``contrib_<column>`` = w_i d_i / sum_i w_i, so the
contributions of a row add up to its score. A missing value has desirability 0.

With ``confidence_k`` = k > 0 each objective with an uncertainty is ranked on its pessimistic
bound (``bound_<column>``: value - k * unc to maximise, value + k * unc to minimise), so a
prediction ranks high only when it is good *and* sure; the Pareto front uses the same bounds.
Rows outside a model's applicability domain can be kept, penalized or excluded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.filters import Filter, passes_filters

#: What ``out_of_domain`` may say about rows outside a model's applicability domain.
OUT_OF_DOMAIN = ("keep", "penalize", "exclude")


@dataclass(frozen=True)
class Objective:
    """One ranked objective: a score column, its direction and the desirability range."""

    column: str
    goal: str
    weight: float
    low: float
    high: float
    uncertainty: str | None = None



@dataclass(frozen=True)
class Confidence:
    """How uncertain and out-of-domain predictions are ranked.

    ``k`` > 0 ranks (and builds the Pareto front) on the pessimistic bound value - k * unc for
    objectives to maximise, value + k * unc for objectives to minimise. ``out_of_domain`` keeps,
    penalizes (score times ``factor`` per ``*_in_domain`` flag that is false) or excludes rows
    outside a model's applicability domain; ``domain_columns`` are the flags consulted.
    """

    k: float = 0.0
    out_of_domain: str = "keep"
    factor: float = 0.5
    domain_columns: tuple[str, ...] = ()


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
    if pts.shape[1] == 1:
        return pts[:, 0] == pts[:, 0].max(initial=-np.inf)
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


def best_first(score: pd.Series, formula: pd.Series) -> np.ndarray:
    """Positions of the rows by ``score``, highest first, ties broken by ``formula``.

    Sorted in Arrow: pandas compares Python strings one by one, seconds for a million rows.
    """
    table = pa.table({"score": score.to_numpy(dtype=float),
                      "formula": pa.array(formula.to_numpy(), type=pa.string())})
    keys = [("score", "descending"), ("formula", "ascending")]
    return pc.sort_indices(table, sort_keys=keys).to_numpy()


def ranked_values(frame: pd.DataFrame, objective: Objective, k: float) -> pd.Series:
    """The objective's values, or their pessimistic bound when ``k`` > 0 and it has an
    uncertainty column (a missing uncertainty leaves the value as it is)."""
    values = frame[objective.column].astype(float)
    if k <= 0 or objective.uncertainty is None:
        return values
    unc = frame[objective.uncertainty].astype(float).fillna(0.0)
    return values - k * unc if objective.goal == "max" else values + k * unc


def rank(frame: pd.DataFrame, objectives: Sequence[Objective], filters: Sequence[Filter],
         pareto_columns: Sequence[str], confidence: Confidence | None = None) -> pd.DataFrame:
    """Filter, score and order ``frame``; returns only rows passing the filters, best first.

    Adds ``contrib_<column>`` per objective, ``score``, ``rank`` (1 = best) and ``pareto``, and
    ``bound_<column>`` for objectives ranked on a confidence bound. Ties in score are broken by
    formula so the order is reproducible.
    """
    confidence = confidence or Confidence()
    mask = passes_filters(frame, filters)
    domain = np.ones(len(frame))
    for flag in confidence.domain_columns:
        inside = frame[flag].fillna(False).to_numpy(dtype=bool)
        domain *= np.where(inside, 1.0, confidence.factor)
        if confidence.out_of_domain == "exclude":
            mask &= inside
    kept = frame if mask.all() else frame.loc[mask]
    values = {o.column: ranked_values(kept, o, confidence.k).to_numpy() for o in objectives}
    # New columns are collected and joined once: adding them one by one to a million-row frame
    # makes pandas copy it again and again.
    added = {f"bound_{o.column}": values[o.column] for o in objectives
             if confidence.k > 0 and o.uncertainty is not None}
    total_weight = sum(o.weight for o in objectives)
    penalty = domain[mask] if confidence.out_of_domain == "penalize" else 1.0
    for obj in objectives:
        share = obj.weight / total_weight
        added[f"contrib_{obj.column}"] = share * desirability(values[obj.column], obj) * penalty
    added["score"] = np.sum([added[f"contrib_{o.column}"] for o in objectives], axis=0)
    by_column = {o.column: o for o in objectives}
    signed = np.column_stack([
        values[c] * (1.0 if by_column[c].goal == "max" else -1.0) for c in pareto_columns
    ]) if pareto_columns else np.zeros((len(kept), 0))
    added["pareto"] = pareto_mask(signed) if len(kept) and pareto_columns else False
    ranked = pd.concat([kept, pd.DataFrame(added, index=kept.index)], axis=1)
    ranked = ranked.take(best_first(ranked["score"], ranked["formula"]))
    ranked.index = pd.RangeIndex(len(ranked))
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    return ranked


def prefer_verified(ranked: pd.DataFrame, verified: pd.DataFrame,
                    rank_spec: dict) -> pd.DataFrame:
    """``ranked`` re-scored with the MD conductivity of ``verified`` where a candidate has one.

    ``sigma_log10_S_cm`` and ``sigma_log10_unc`` take the MD values (from the protocol that
    simulated most picoseconds) where the MD's Arrhenius fit is resolved (``ea_eV`` above its
    1-sigma uncertainty: a D that does not rise with temperature extrapolates to nothing),
    ``sigma_source`` says "md", "proxy" or "proxy (MD Ea unresolved)", the conductivity
    contribution and ``score`` are recomputed with the run's objective (``rank_spec`` is the
    ``[rank]`` table of the run's spec.toml; a domain penalty of the proxy no longer applies to
    an MD value), the Pareto front is rebuilt and the rows are ordered and ranked again.
    """
    column, unc = "sigma_log10_S_cm", "sigma_log10_unc"
    best = verified.sort_values("ps_simulated").drop_duplicates("formula", keep="last")
    best = best.set_index("formula")
    out = ranked.copy()
    simulated = out["formula"].isin(best.index).to_numpy()
    resolved = (best["ea_eV"] > best["ea_unc_eV"]) & best["sigma_log10_S_cm_md"].notna()
    best = best[resolved]
    has = out["formula"].map(best["sigma_log10_S_cm_md"]).notna().to_numpy()
    out["sigma_source"] = np.where(has, "md", np.where(simulated, "proxy (MD Ea unresolved)",
                                                      "proxy"))
    out.loc[has, column] = out.loc[has, "formula"].map(best["sigma_log10_S_cm_md"])
    out.loc[has, unc] = out.loc[has, "formula"].map(best["sigma_log10_unc_md"])
    specs = rank_spec.get("objectives", {})
    objectives = {name: Objective(name, o["goal"], float(o["weight"]), float(o["low"]),
                                  float(o["high"]), o.get("uncertainty") or None)
                  for name, o in specs.items()}
    k = float(rank_spec.get("confidence_k", 0.0))
    if column in objectives and has.any():
        objective = objectives[column]
        values = ranked_values(out.loc[has], objective, k)
        share = objective.weight / sum(o.weight for o in objectives.values())
        contrib = share * desirability(values.to_numpy(), objective)
        out.loc[has, "score"] += contrib - out.loc[has, f"contrib_{column}"].to_numpy()
        out.loc[has, f"contrib_{column}"] = contrib
        if f"bound_{column}" in out:
            out.loc[has, f"bound_{column}"] = values
    pareto = [objectives[c] for c in rank_spec.get("pareto", []) if c in objectives]
    if pareto and len(out):
        signed = np.column_stack([ranked_values(out, o, k).to_numpy()
                                  * (1.0 if o.goal == "max" else -1.0) for o in pareto])
        out["pareto"] = pareto_mask(signed)
    out = out.take(best_first(out["score"], out["formula"]))
    out.index = pd.RangeIndex(len(out))
    out["rank"] = np.arange(1, len(out) + 1)
    return out
