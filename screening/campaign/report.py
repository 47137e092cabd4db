"""The campaign report: per round the picks, the MD against the prediction and its calibration,
how the top 10 changed and how the uncertainty over the space shrank where the MD taught it.

:func:`campaign_tables` returns the tables behind it, for any other report (the HTML report's
campaign panel); :func:`write_report` writes ``RUN/campaign/report.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from screening.atomic import write_text
from screening.campaign import estimate, state

TOP = 10


@dataclass(frozen=True)
class CampaignTables:
    """A campaign's complete rounds as tables (empty frames before its first round)."""

    settings: dict
    rounds: pd.DataFrame  # one row per round: picks, learned, calibration, uncertainty
    picks: pd.DataFrame
    md: pd.DataFrame
    top: pd.DataFrame  # the top 10 before the first round (round 0) and after each round


def _top(path: Path, index: int) -> pd.DataFrame:
    columns = ["rank", "formula", "sigma_log10_S_cm", "sigma_log10_unc"]
    table = pd.read_parquet(path, filters=[("rank", "<=", TOP)])
    source = table.get("sigma_source", pd.Series("model", index=table.index))
    return table[columns].assign(sigma_source=source, round=index).sort_values("rank")


def campaign_tables(run_dir: Path) -> CampaignTables:
    """The tables of the campaign of ``run_dir`` (see :class:`CampaignTables`)."""
    markers = state.complete_rounds(run_dir)
    settings = json.loads((state.campaign_dir(run_dir) / state.SETTINGS).read_text())
    directories = [state.round_dir(run_dir, m["round"]) for m in markers]
    picks = pd.concat([pd.read_parquet(d / "picks.parquet") for d in directories]
                      or [pd.DataFrame()], ignore_index=True)
    md = pd.concat([pd.read_parquet(d / "md.parquet") for d in directories]
                   or [pd.DataFrame()], ignore_index=True)
    top = pd.concat([_top(run_dir / "ranked.parquet", 0),
                     *(_top(d / "ranked.parquet", m["round"])
                       for d, m in zip(directories, markers, strict=True))], ignore_index=True)
    rows = []
    for marker in markers:
        mine = md[md["round"] == marker["round"]]
        resolved = mine[mine["md_resolved"]]
        rows.append({"round": marker["round"], "picks": len(mine),
                     "md_resolved": len(resolved),
                     "within_1sigma": int(resolved["within_1sigma"].sum()),
                     "within_2sigma": int((resolved["z"].abs() <= 2.0).sum()),
                     "contradicted": int(resolved["contradicted"].sum()),
                     "md_s": float(mine.get("wall_s", pd.Series(dtype=float)).sum()),
                     **marker["summary"]})
    return CampaignTables(settings.get("settings", {}), pd.DataFrame(rows), picks, md, top)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, floatfmt=".3g") if len(frame) else "(none)"


def _pm(mean: pd.Series, sd: pd.Series) -> pd.Series:
    return [f"{m:.2f} +- {s:.2f}" if pd.notna(m) else "" for m, s in zip(mean, sd, strict=True)]


def _round_section(tables: CampaignTables, index: int) -> list[str]:
    picks = tables.picks[tables.picks["round"] == index]
    md = tables.md[tables.md["round"] == index]
    summary = tables.rounds.set_index("round").loc[index]
    before = tables.top[tables.top["round"] == index - 1].reset_index(drop=True)
    after = tables.top[tables.top["round"] == index].reset_index(drop=True)
    resolved = int(summary["md_resolved"])
    lines = [f"## Round {index}", "", "Picks:", "", _table(pd.DataFrame({
        "formula": picks["formula"], "system": picks["system"],
        "acquisition value": picks["acquisition_value"],
        "predicted log10 sigma": _pm(picks["sigma_log10_S_cm"], picks["sigma_log10_unc"]),
        "model alone": _pm(picks["sigma_log10_S_cm_model"], picks["sigma_log10_unc_model"]),
        "rank": picks["rank"]})), "", "MD against the prediction (log10 S/cm):", "",
        _table(pd.DataFrame({
            "formula": md["formula"], "source": md["source"],
            "MD estimate": _pm(md["md_sigma_log10_S_cm"], md["md_sigma_log10_unc"]),
            "predicted": _pm(md["sigma_log10_S_cm"], md["sigma_log10_unc"]),
            "z": md["z"], "within 1 sigma": md["within_1sigma"],
            "contradicted": md["contradicted"],
            "learned": [r or "yes" for r in md["md_reason"]]})), "",
        f"Calibration of the prediction on the picks: {resolved} of {len(md)} MD rows resolved; "
        f"{int(summary['within_1sigma'])} of them within the predicted 1 sigma, "
        f"{int(summary['within_2sigma'])} within 2 sigma of the combined uncertainty; "
        f"{int(summary['contradicted'])} contradicted the prediction (beyond 2 sigma).", "",
        "Top 10 before and after the round:", "", _table(pd.DataFrame({
            "rank": after["rank"], "before": before["formula"],
            "log10 sigma before": _pm(before["sigma_log10_S_cm"], before["sigma_log10_unc"]),
            "after": after["formula"],
            "log10 sigma after": _pm(after["sigma_log10_S_cm"], after["sigma_log10_unc"]),
            "source after": after["sigma_source"]})), ""]
    near = summary["n_near"]
    lines.append(
        f"Uncertainty over the space ({int(summary['n_rows'])} scored rows, "
        f"{int(summary['n_points'])} MD points learned so far): median 1 sigma "
        f"{summary['median_unc_model']:.2f} (model) -> {summary['median_unc']:.2f} (corrected); "
        + (f"within one length scale of an MD point ({int(near)} rows) "
           f"{summary['median_unc_model_near']:.2f} -> {summary['median_unc_near']:.2f}."
           if near else "no row is near a learned MD point yet."))
    return [*lines, ""]


def markdown(run_dir: Path) -> str:
    """The campaign report of ``run_dir`` as markdown."""
    tables = campaign_tables(run_dir)
    settings = tables.settings
    head = [
        f"# Campaign on {run_dir.name}", "",
        f"{len(tables.rounds)} complete rounds of {settings.get('batch')} picks by "
        f"`{settings.get('acquisition')}` (kappa {settings.get('kappa')}), MD protocol "
        f"`{settings.get('protocol')}`, potential `{settings.get('potential')}`, "
        + ("glass formers only" if settings.get("glass_formers_only") else "every ranked row")
        + f", correlation length {settings.get('length_scale')} (Hellinger).", "",
        "The MD values are a source of their own, labelled in every table (`source`, and "
        "`sigma_source` in the ranked tables); the conductivity model's training measurements "
        "are untouched. Each MD row is read as its extrapolated room-temperature value with "
        f"its kinisi spread, plus {estimate.HAVEN_UNC_LOG10} log10 for the Haven ratio and "
        f"{estimate.EA_SYSTEMATIC_EV} eV of activation energy levered to the run's "
        "temperature; rows whose Ea is not resolved, or whose extrapolation crosses Tg, are "
        "not learned from.", "",
        _table(tables.rounds[["round", "picks", "md_resolved", "within_1sigma",
                              "contradicted", "median_unc_model", "median_unc",
                              "median_unc_near", "max_mean_change"]])
        if len(tables.rounds) else "(no complete round yet)", ""]
    return "\n".join([*head, *(line for index in tables.rounds["round"]
                                for line in _round_section(tables, index))]) \
        if len(tables.rounds) else "\n".join(head)


def write_report(run_dir: Path) -> Path:
    """Write ``RUN/campaign/report.md`` atomically; returns its path."""
    path = state.campaign_dir(run_dir) / "report.md"
    write_text(path, markdown(run_dir))
    return path
