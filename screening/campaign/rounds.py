"""The campaign: rounds of pick -> verify -> learn -> re-rank over a finished run.

Each round (see :mod:`screening.campaign.state` for its files):

1. picks ``batch`` eligible rows by the acquisition on the current prediction
   (:mod:`screening.campaign.pick`);
2. simulates them with :func:`screening.md.verify.verify`, which resumes from its checkpoints;
3. reads each MD row through :func:`screening.campaign.estimate.md_log10_sigma` and conditions
   the residual Gaussian process on every resolved one so far
   (:mod:`screening.campaign.learn`);
4. re-scores the whole run with the corrected conductivity and re-ranks the rows that pass the
   run's filters with the run's objectives (:func:`screening.ranking.rank`).

The model, the MD and the picks are deterministic, so a campaign killed at any point and run
again ends with the same rounds. It holds ``RUN/campaign/.lock`` for its whole life and the
run's own lock whenever it writes (``verify`` takes the run's lock while it simulates).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from screening import ranking, store
from screening.atomic import remove_stale_temporaries
from screening.campaign import CampaignError, state
from screening.campaign.estimate import md_estimates
from screening.campaign.learn import ResidualGP, composition_roots, hellinger
from screening.campaign.pick import chemical_systems, eligible, pick
from screening.campaign.report import write_report
from screening.md.verify import verify
from screening.runlock import run_lock
from screening.spec import Confidence, Objective

SIGMA, UNC = "sigma_log10_S_cm", "sigma_log10_unc"
#: Columns ``ranking.rank`` adds; dropped before a table is ranked again.
_RANK_ADDED = ("score", "rank", "pareto")
#: A prediction moved by less than this (log10) counts as unchanged.
MOVED_LOG10 = 0.01
#: Columns of a pick and of its MD row that say what the campaign believed when it picked.
_PREDICTION = ["formula", "system", SIGMA, UNC, f"{SIGMA}_model", f"{UNC}_model", "rank"]
#: Columns of ``update.parquet``: the MD points the correction learns from.
_POINT_COLUMNS = ("round", "formula", "source", "md_sigma_log10_S_cm", "md_sigma_log10_unc",
                  f"{SIGMA}_model", f"{UNC}_model", "residual")


@dataclass(frozen=True)
class Space:
    """The run's scored compositions, the model's prediction of each and its ranked table."""

    formulas: pd.Index
    mean: np.ndarray
    sd: np.ndarray
    roots: np.ndarray
    ranked: pd.DataFrame
    in_ranked: np.ndarray
    objectives: tuple[Objective, ...]
    pareto: tuple[str, ...]
    confidence: Confidence

    @classmethod
    def load(cls, run_dir: Path) -> Space:
        """Read the run's scores, ranked table and ranking settings."""
        scores = pd.read_parquet(run_dir / "scores.parquet", columns=["formula", SIGMA, UNC])
        ranked = pd.read_parquet(run_dir / "ranked.parquet")
        rank_spec = store.read_toml(run_dir / "spec.toml").get("rank", {})
        on_sigma = [f for f in rank_spec.get("filters", []) if f.split()[0] in (SIGMA, UNC)]
        if on_sigma:
            raise CampaignError(f"{run_dir} filters on the conductivity ({on_sigma[0]!r}); the "
                                "campaign re-ranks the rows that passed and cannot apply it "
                                "again: drop it from the spec and screen again")
        objectives = tuple(Objective(name, o["goal"], float(o["weight"]), float(o["low"]),
                                     float(o["high"]), o.get("uncertainty") or None)
                           for name, o in rank_spec.get("objectives", {}).items())
        flags = tuple(sorted(c for c in ranked.columns if c.endswith("_in_domain")))
        confidence = Confidence(float(rank_spec.get("confidence_k", 0.0)),
                                rank_spec.get("out_of_domain", "keep"),
                                float(rank_spec.get("out_of_domain_factor", 0.5)), flags)
        formulas = pd.Index(scores["formula"])
        ranked = ranked.drop(columns=[c for c in ranked.columns if c in _RANK_ADDED
                                      or c.startswith(("contrib_", "bound_"))])
        ranked["system"] = chemical_systems(ranked["formula"].tolist())
        return cls(formulas, scores[SIGMA].to_numpy(dtype=float),
                   scores[UNC].to_numpy(dtype=float), composition_roots(formulas.tolist()),
                   ranked, formulas.get_indexer(ranked["formula"]), objectives,
                   tuple(rank_spec.get("pareto", ())), confidence)

    def positions(self, formulas: pd.Series) -> np.ndarray:
        """Rows of the space holding ``formulas``."""
        return self.formulas.get_indexer(formulas)

    def corrected(self, points: pd.DataFrame, length_scale: float
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The prediction of every composition corrected by the MD ``points`` (rows of
        ``update.parquet``); the model's own where there are none."""
        if points.empty:
            return self.mean, self.sd
        where = self.positions(points["formula"])
        gp = ResidualGP.fit(self.roots[where], points["residual"].to_numpy(),
                            points["md_sigma_log10_unc"].to_numpy() ** 2, self.sd[where],
                            length_scale)
        finite = np.isfinite(self.mean) & np.isfinite(self.sd)
        mean, sd = self.mean.copy(), self.sd.copy()
        mean[finite], sd[finite] = gp.correct(self.roots[finite], self.mean[finite],
                                              self.sd[finite])
        return mean, sd

    def rank(self, mean: np.ndarray, sd: np.ndarray, source: str) -> pd.DataFrame:
        """The ranked table with the conductivity ``mean`` +- ``sd``, scored and ordered with
        the run's objectives; ``sigma_source`` names ``source`` where the value moved."""
        frame = self.ranked.assign(**{
            f"{SIGMA}_model": self.mean[self.in_ranked], f"{UNC}_model": self.sd[self.in_ranked],
            SIGMA: mean[self.in_ranked], UNC: sd[self.in_ranked]})
        moved = (np.abs(frame[SIGMA] - frame[f"{SIGMA}_model"]) >= MOVED_LOG10) | (
            np.abs(frame[UNC] - frame[f"{UNC}_model"]) >= MOVED_LOG10)
        frame["sigma_source"] = np.where(moved, f"model corrected by {source}", "model")
        # The rows passed the run's filters already, and none of them reads the conductivity.
        return ranking.rank(frame, self.objectives, (), self.pareto, self.confidence)


@dataclass(frozen=True)
class CampaignResult:
    """What one ``viglas campaign`` did."""

    rounds: int
    resumed_rounds: int
    failed: dict[str, str]
    seconds: float
    report: Path


#: Notices go to logging; the CLI shows them as ``viglas: message``.
_notice = logging.getLogger(__name__).warning


def run_campaign(run_dir: Path, rounds: int, settings: state.Settings, device: str = "auto",
                 scheduler: str | None = None, workers: int | None = None,
                 progress: bool = True,
                 notice: Callable[[str], None] = _notice) -> CampaignResult:
    """Run (or resume, or extend) the campaign of ``run_dir`` to ``rounds`` rounds."""
    started = time.perf_counter()
    settings.check()
    if rounds < 1:
        raise CampaignError(f"--rounds must be at least 1, got {rounds}")
    with run_lock(state.campaign_dir(run_dir)):
        state.start(run_dir, settings)
        remove_stale_temporaries(state.campaign_dir(run_dir))
        done = state.complete_rounds(run_dir)
        space = Space.load(run_dir)
        points = (pd.read_parquet(state.round_dir(run_dir, len(done)) / "update.parquet")
                  if done else pd.DataFrame(columns=_POINT_COLUMNS))
        failed: dict[str, str] = {}
        for index in range(len(done) + 1, rounds + 1):
            points, round_failed = _round(run_dir, space, settings, index, points,
                                          dict(device=device, scheduler=scheduler,
                                               workers=workers, progress=progress), notice)
            failed |= round_failed
        report = write_report(run_dir)
    return CampaignResult(rounds, min(len(done), rounds), failed,
                          time.perf_counter() - started, report)


def _simulated(run_dir: Path, index: int) -> set[str]:
    return {f for i in range(1, index)
            for f in pd.read_parquet(state.round_dir(run_dir, i) / "picks.parquet",
                                     columns=["formula"])["formula"]}


def _picks(table: pd.DataFrame, settings: state.Settings, index: int,
           simulated: set[str]) -> pd.DataFrame:
    """Round ``index``'s picks from the current ranked ``table``, with why."""
    mask = eligible(table, settings.glass_formers_only, simulated)
    rng = np.random.default_rng([settings.seed, index])
    chosen = pick(table.loc[mask, _PREDICTION], settings.batch, settings.acquisition,
                  settings.kappa, rng)
    why = {"ucb": f"mean + {settings.kappa:g} x uncertainty", "ei": "expected improvement",
           "greedy": "mean", "random": "a seeded random draw"}[settings.acquisition]
    return chosen.assign(round=index, pick=np.arange(1, len(chosen) + 1),
                         acquisition=settings.acquisition,
                         why=[f"best {why} ({v:.3g}) of {s} among {int(mask.sum())} eligible"
                              for v, s in zip(chosen["acquisition_value"], chosen["system"],
                                              strict=True)])


def _round(run_dir: Path, space: Space, settings: state.Settings, index: int,
           points: pd.DataFrame, md_options: dict[str, Any],
           notice: Callable[[str], None]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Run round ``index`` from the MD ``points`` learned so far; returns the points after it
    and the candidates whose MD failed."""
    directory = state.round_dir(run_dir, index)
    directory.mkdir(parents=True, exist_ok=True)
    source = f"MD ({settings.protocol}, {settings.potential})"
    before = space.rank(*space.corrected(points, settings.length_scale), source)
    picks = _picks(before, settings, index, _simulated(run_dir, index))
    if picks.empty:
        raise CampaignError(f"round {index}: no eligible candidate is left to simulate in "
                            f"{run_dir}")
    with run_lock(run_dir):
        files = {"picks.parquet": store.write_parquet(picks, directory / "picks.parquet")}
    result = verify(run_dir, settings.protocol, formulas=picks["formula"].tolist(),
                    potential_ref=settings.potential, **md_options)
    md = _md_rows(picks, result.verified, result.failed, settings.protocol, source)
    learned = md[md["md_resolved"]].assign(residual=lambda f: f["md_sigma_log10_S_cm"]
                                           - f[f"{SIGMA}_model"])
    learned = learned[list(_POINT_COLUMNS)]
    points = pd.concat([points, learned], ignore_index=True) if len(points) else learned
    mean, sd = space.corrected(points, settings.length_scale)
    after = space.rank(mean, sd, source)
    tables = {"md": md, "update": points, "ranked": after.assign(round=index),
              "changes": _changes(before, after, index)}
    with run_lock(run_dir):
        for name, table in tables.items():
            files[f"{name}.parquet"] = store.write_parquet(table, directory / f"{name}.parquet")
        state.finish_round(run_dir, index, files,
                           _uncertainty(space, points, mean, sd, settings.length_scale))
    return points, {f: e for f, e in result.failed.items() if f in set(picks["formula"])}


def _md_rows(picks: pd.DataFrame, verified: pd.DataFrame, failed: dict[str, str],
             protocol: str, source: str) -> pd.DataFrame:
    """The picks' MD rows, read through the seam, against what the campaign predicted."""
    if verified.empty:  # every pick failed: no columns to select from
        verified = pd.DataFrame({"formula": [], "protocol": []})
    mine = verified[verified["formula"].isin(picks["formula"])
                    & (verified["protocol"] == protocol)]
    rows = picks[["round", *_PREDICTION]].merge(mine, on="formula", how="left",
                                                suffixes=("", "_verify"))
    rows = pd.concat([rows, md_estimates(rows)], axis=1)
    rows["md_reason"] = [f"MD failed: {failed[f]}" if f in failed else r
                         for f, r in zip(rows["formula"], rows["md_reason"], strict=True)]
    spread = np.sqrt(rows[UNC] ** 2 + rows["md_sigma_log10_unc"] ** 2)
    gap = rows["md_sigma_log10_S_cm"] - rows[SIGMA]
    return rows.assign(source=source, md_minus_predicted=gap, z=gap / spread,
                       within_1sigma=gap.abs() <= rows[UNC],
                       contradicted=rows["md_resolved"] & (gap.abs() > 2.0 * spread))


def _changes(before: pd.DataFrame, after: pd.DataFrame, index: int) -> pd.DataFrame:
    """Rows whose conductivity or its uncertainty the round moved, with their ranks."""
    columns = ["formula", "rank", SIGMA, UNC, "score"]
    both = before[columns].merge(after[columns], on="formula", suffixes=("_before", "_after"))
    both["rank_moved"] = both["rank_before"] - both["rank_after"]
    both[f"{SIGMA}_change"] = both[f"{SIGMA}_after"] - both[f"{SIGMA}_before"]
    both[f"{UNC}_change"] = both[f"{UNC}_after"] - both[f"{UNC}_before"]
    moved = (both[f"{SIGMA}_change"].abs() >= MOVED_LOG10) | (
        both[f"{UNC}_change"].abs() >= MOVED_LOG10)
    return both[moved].sort_values("rank_after").assign(round=index).reset_index(drop=True)


def _uncertainty(space: Space, points: pd.DataFrame, mean: np.ndarray, sd: np.ndarray,
                 length_scale: float) -> dict[str, Any]:
    """The model's uncertainty over the space against the corrected one, everywhere and within
    one length scale of an MD point learned from."""
    finite = np.isfinite(space.sd)
    near = np.zeros(len(space.sd), dtype=bool)
    if not points.empty:
        anchors = space.roots[space.positions(points["formula"])]
        near = (hellinger(space.roots, anchors) <= length_scale).any(axis=1) & finite
    return {"n_points": len(points), "n_rows": int(finite.sum()), "n_near": int(near.sum()),
            "median_unc_model": float(np.median(space.sd[finite])),
            "median_unc": float(np.median(sd[finite])),
            "median_unc_model_near": float(np.median(space.sd[near])) if near.any() else None,
            "median_unc_near": float(np.median(sd[near])) if near.any() else None,
            "max_mean_change": float(np.max(np.abs(mean - space.mean)[finite], initial=0.0))}
