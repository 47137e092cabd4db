"""What the ladder says about the physics tier: metrics, the shipped offsets, the report.

Per protocol and potential, over the ladder rows that have finished:

- Spearman rho between the MD conductivity at the reference temperature and the measured
  room-temperature one (ranking is what the tier is for);
- the mean absolute error of log10 sigma after one global offset fitted leave-one-out (each row
  predicted with an offset fitted to the others), and the root mean square of those residuals,
  which :func:`screening.md.calibration.calibrated_log10_sigma` uses as the offset's spread;
- the Ea error where the ladder has a measured Ea and the MD fit is resolved.

:func:`write_calibration` ships the offsets (``md_calibration.csv``, read by ``viglas verify``);
:func:`write_report` writes ``docs/md_calibration.md`` and its parity plot.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from screening.atomic import atomic_write, write_text
from screening.md.analysis import UPPER_BOUND_SIGMAS, is_resolved
from screening.md.calibration import (
    CALIBRATION_PATH,
    CalibrationError,
    ladder_rows,
    load_ladder,
    loo_offsets,
    run_ladder,
)
from screening.md.protocol import get_protocol

#: Targets of issue 17.
TARGET_SPEARMAN, TARGET_MAE = 0.8, 1.0
#: Ladder rows a protocol and potential need before their offset ships to ``verify``: a spread
#: fitted leave-one-out on a handful of glasses of one kind would claim an error it never saw.
MIN_SHIPPED_ROWS = 8


@dataclass(frozen=True)
class Metrics:
    """How one protocol and potential measure on the ladder."""

    protocol: str
    potential: str
    n_rows: int
    n_resolved_D: int
    spearman: float
    offset: float
    spread: float
    mae_loo: float
    ea_mae_eV: float
    n_ea: int
    #: Spearman rho over the rows whose D is resolved only (NaN under three).
    spearman_resolved: float = float("nan")
    #: Unresolved rows whose calibrated upper bound lies at or above the measurement.
    n_bounds_consistent: int = 0


def resolved_mask(rows: pd.DataFrame) -> np.ndarray:
    """True for the rows whose D at the reference temperature is above 3 uncertainties."""
    return np.array([is_resolved(d, u) for d, u in zip(rows["D_ref_cm2_s"],
                                                        rows["D_ref_unc_cm2_s"], strict=True)],
                    dtype=bool)


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    return float(spearmanr(x, y).statistic) if len(x) > 2 else float("nan")


def metrics(rows: pd.DataFrame, protocol: str, potential: str) -> Metrics:
    """The :class:`Metrics` of finished ladder ``rows`` (from :func:`ladder_rows`).

    The offset, its leave-one-out MAE and spread come from the rows whose D is resolved: an
    unresolved D is a bound, not a value, and is never fitted. It still ranks: Spearman rho
    takes each unresolved row at its upper bound (``sigma_log10_S_cm_ref_upper``), and the row
    counts as consistent when that bound plus the offset is not below the measurement. Adds
    ``loo_log10_sigma`` (resolved rows) and ``calibrated_upper`` (unresolved rows) to ``rows``.
    """
    resolved = resolved_mask(rows)
    md = rows["sigma_log10_S_cm_ref"].to_numpy(dtype=float)
    measured = rows["log10_sigma_measured"].to_numpy(dtype=float)
    upper = (rows["sigma_log10_S_cm_ref_upper"].to_numpy(dtype=float)
             if "sigma_log10_S_cm_ref_upper" in rows else np.full(len(rows), np.nan))
    rows["loo_log10_sigma"] = np.nan
    rows["calibrated_upper"] = np.nan
    offset = spread = mae = float("nan")
    consistent = 0
    if resolved.sum() >= 2:
        offset, predicted = loo_offsets(md[resolved], measured[resolved])
        rows.loc[resolved, "loo_log10_sigma"] = predicted
        residual = predicted - measured[resolved]
        spread, mae = float(np.sqrt(np.mean(residual ** 2))), float(np.mean(np.abs(residual)))
        rows.loc[~resolved, "calibrated_upper"] = upper[~resolved] + offset
        consistent = int(np.sum(upper[~resolved] + offset >= measured[~resolved]))
    ranked_by = np.where(resolved, md, upper)
    status = rows["status"].eq("resolved") & rows["ea_measured_eV"].notna()
    ea_error = (rows.loc[status, "ea_eV"] - rows.loc[status, "ea_measured_eV"]).abs()
    return Metrics(protocol, potential, len(rows), int(resolved.sum()),
                   _rho(ranked_by, measured), offset, spread, mae,
                   float(ea_error.mean()) if len(ea_error) else float("nan"), len(ea_error),
                   _rho(md[resolved], measured[resolved]), consistent)


def best_potential(all_metrics: Sequence[Metrics]) -> Metrics:
    """The potential that measures best: most rows finished, then highest Spearman rho (the
    tier ranks), then lowest leave-one-out MAE."""
    if not all_metrics:
        raise CalibrationError("no protocol and potential has two finished ladder rows yet")
    most = max(m.n_rows for m in all_metrics)
    return min((m for m in all_metrics if m.n_rows == most),
               key=lambda m: (-np.nan_to_num(m.spearman, nan=-2.0), m.mae_loo))


def write_calibration(all_metrics: Sequence[Metrics], path: Path) -> None:
    """Write the offsets, one row per protocol and potential, with ``default`` marking the
    potential that measured best per protocol."""
    table = pd.DataFrame([asdict(m) for m in all_metrics])
    table["default"] = False
    for protocol in table["protocol"].unique():
        best = best_potential([m for m in all_metrics if m.protocol == protocol])
        table.loc[(table["protocol"] == protocol) & (table["potential"] == best.potential),
                  "default"] = True
    with atomic_write(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4g")


def parity_plot(results: dict[tuple[str, str], pd.DataFrame], path: Path) -> None:
    """Measured against leave-one-out calibrated MD log10 sigma, one panel per protocol and
    potential; open triangles: D at the reference temperature not resolved, drawn at its
    calibrated upper bound (clipped into the frame)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.2), squeeze=False)
    for ax, ((protocol, potential), rows) in zip(axes[0], results.items(), strict=True):
        resolved = resolved_mask(rows)
        ax.errorbar(rows.loc[resolved, "log10_sigma_measured"],
                    rows.loc[resolved, "loo_log10_sigma"],
                    yerr=rows.loc[resolved, "sigma_log10_unc_ref"], fmt="o", color="C0",
                    capsize=2, label="D resolved (LOO offset)")
        ax.plot(rows.loc[~resolved, "log10_sigma_measured"],
                rows.loc[~resolved, "calibrated_upper"].clip(upper=-1.2), "v", mfc="none",
                mec="C3", label="D unresolved: upper bound")
        for _, row in rows.iterrows():
            y = row["loo_log10_sigma"] if np.isfinite(row["loo_log10_sigma"]) else min(
                row["calibrated_upper"], -1.2)
            ax.annotate(row["name"].split(" ")[0], (row["log10_sigma_measured"], y), fontsize=6)
        ax.legend(fontsize=7, loc="upper left")
        ax.plot([-10, -1], [-10, -1], "k--", lw=0.8)
        ax.set(xlim=(-10, -1), ylim=(-10, -1), title=f"{protocol} / {potential}",
               xlabel="measured log10 sigma (S/cm)", ylabel="MD + LOO offset, log10 sigma")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _fmt(value: float, digits: int = 2) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _md_sigma(r: pd.Series) -> str:
    if is_resolved(r["D_ref_cm2_s"], r["D_ref_unc_cm2_s"]):
        return f"{r['sigma_log10_S_cm_ref']:.2f} +- {r['sigma_log10_unc_ref']:.2f}"
    return _bound(r.get("sigma_log10_S_cm_ref_upper"))


def _bound(value: float | None) -> str:
    return f"< {value:.2f}" if value is not None and np.isfinite(value) else ""


def _row_table(rows: pd.DataFrame) -> list[str]:
    lines = ["| glass | formula | measured log10 sigma | MD D(ref) cm2/s | replicas | ps/replica"
             " | converged | MD log10 sigma(ref) | LOO calibrated | residual |"
             " density MD (measured) | status |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in rows.sort_values("log10_sigma_measured", ascending=False).iterrows():
        lines.append(
            f"| {r['name']} | {r['formula']} | {r['log10_sigma_measured']:.2f} | "
            f"{r['D_ref_cm2_s']:.2e} +- {r['D_ref_unc_cm2_s']:.1e} "
            f"({'' if is_resolved(r['D_ref_cm2_s'], r['D_ref_unc_cm2_s']) else 'not '}resolved)"
            f" | {r['replicas']} of "
            f"{r['replicas_planned']} | "
            f"{np.nanmean(r['production_ps_T']):.1f} | {'yes' if all(r['converged_T']) else 'no'}"
            f" | {_md_sigma(r)} | "
            f"{_fmt(r.get('loo_log10_sigma', np.nan)) or _bound(r.get('calibrated_upper'))} | "
            f"{_fmt(r.get('loo_log10_sigma', np.nan) - r['log10_sigma_measured'])}"
            f" | {r['density_g_cm3']:.2f} +- {r['density_unc_g_cm3']:.2f} "
            f"({_fmt(r.get('density_measured_g_cm3', np.nan)) or 'not known'}) | {r['status']} |")
    return lines


def _what_would(rows: pd.DataFrame) -> str:
    """Why a protocol missed the targets, from its rows, and what would reach them."""
    d = rows["D_ref_cm2_s"].to_numpy(dtype=float)
    positive = d[d > 0]
    spread = (f"Across the {len(rows)} finished rows D({rows['reference_K'].iloc[0]:g} K) spans "
              f"{np.log10(positive.max() / positive.min()):.1f} decades ({positive.min():.1e} to "
              f"{positive.max():.1e} cm2/s) where the measurements span "
              f"{np.ptp(rows['log10_sigma_measured']):.1f}: the MD does not tell these glasses "
              "apart. " if len(positive) > 1 else "")
    return (spread + "What would reach the targets, from the probes of docs/md_probes.md: not "
            "the density (CHGNet's LiPO3 glass held denser diffuses as fast, and its quenched "
            "density is also its density at rest), nor the engine (Li stays put in a perfect "
            "Li2O crystal); a ten times slower quench moved LiPO3 the right way, but by a "
            "fraction of a decade, so quenches of 10 K/ps or less and D resolved at several "
            "temperatures for the slow glasses (20-100 ps each: the `resolve` protocol on a GPU, "
            "`bench/gpu_md.sh`); and a potential fine-tuned on AIMD of these glasses, since "
            "universal potentials are softened and over-predict diffusion "
            "(shared/docs/domain.md).")


def _default(all_metrics: Sequence[Metrics]) -> list[str]:
    """Why each protocol's default potential is the one it is."""
    lines = []
    for protocol in dict.fromkeys(m.protocol for m in all_metrics):
        candidates = [m for m in all_metrics if m.protocol == protocol]
        best = best_potential(candidates)
        others = ", ".join(f"{m.potential} ({m.n_rows} rows, Spearman "
                           f"{_fmt(m.spearman) or 'n/a'}, LOO MAE {m.mae_loo:.2f})"
                           for m in candidates if m is not best)
        rho = _fmt(best.spearman) or "n/a"
        lines += [f"Default potential for `{protocol}`: **{best.potential}** ({best.n_rows} rows, "
                  f"Spearman {rho}, LOO MAE {best.mae_loo:.2f}): the best ranking (then the "
                  "lowest leave-one-out error) among the potentials with the most finished rows"
                  + (f"; against {others}." if others else "; the only one with two or more "
                     "finished rows so far."), ""]
    return lines


def _verdict(m: Metrics) -> str:
    rho_ok, mae_ok = m.spearman >= TARGET_SPEARMAN, m.mae_loo <= TARGET_MAE
    rho = (f"Spearman rho {m.spearman:.2f} over all {m.n_rows} rows, unresolved ones at their "
           f"upper bound ({'meets' if rho_ok else 'misses'} the target {TARGET_SPEARMAN}"
           f"{'' if rho_ok else f' by {TARGET_SPEARMAN - m.spearman:.2f}'}; "
           f"{_fmt(m.spearman_resolved) or 'not defined'} over the {m.n_resolved_D} resolved)"
           if np.isfinite(m.spearman) else "Spearman rho not yet defined (fewer than 3 rows)")
    parts = [rho,
             f"leave-one-out MAE {m.mae_loo:.2f} decades over the {m.n_resolved_D} rows with D "
             f"resolved ({'meets' if mae_ok else 'misses'} the target {TARGET_MAE:g}"
             f"{'' if mae_ok else f' by {m.mae_loo - TARGET_MAE:.2f}'})",
             f"{m.n_bounds_consistent} of {m.n_rows - m.n_resolved_D} unresolved rows have a "
             "calibrated upper bound at or above their measurement"]
    return "; ".join(parts)


def pair_separation(rows: pd.DataFrame, fast: str, slow: str) -> str | None:
    """One sentence on how far apart ``fast`` and ``slow`` are in D at the reference
    temperature (decades, and whether their 1-sigma intervals are apart; an unresolved slow D
    is taken at its bound max(D, 0) + 2 uncertainties, so the decades are a lower limit), or
    None if either is not finished."""
    by = rows.set_index("formula")
    if fast not in by.index or slow not in by.index:
        return None
    f, s = by.loc[fast], by.loc[slow]
    slow_resolved = is_resolved(s["D_ref_cm2_s"], s["D_ref_unc_cm2_s"])
    slow_D = s["D_ref_cm2_s"] if slow_resolved else (max(s["D_ref_cm2_s"], 0.0)
                                                      + UPPER_BOUND_SIGMAS * s["D_ref_unc_cm2_s"])
    decades = np.log10(f["D_ref_cm2_s"] / slow_D)
    apart = f["D_ref_cm2_s"] - f["D_ref_unc_cm2_s"] > s["D_ref_cm2_s"] + s["D_ref_unc_cm2_s"]
    limit = "" if slow_resolved else (f" at least (the slow D is unresolved: its bound "
                                      f"{slow_D:.1e} is used)")
    return (f"{fast} {f['D_ref_cm2_s']:.2e} +- {f['D_ref_unc_cm2_s']:.1e} against {slow} "
            f"{s['D_ref_cm2_s']:.2e} +- {s['D_ref_unc_cm2_s']:.1e} cm2/s at "
            f"{f['reference_K']:g} K: {decades:.2f} decades apart{limit}, 1-sigma intervals "
            f"{'separate' if apart else 'overlap'} ({f['wall_s'] / 60:.0f} + "
            f"{s['wall_s'] / 60:.0f} min of worker time, all replicas)")


def write_report(path: Path, figure: Path, ladder: pd.DataFrame,
                 results: dict[tuple[str, str], pd.DataFrame], all_metrics: Sequence[Metrics],
                 command: str, notes: Sequence[str] = ()) -> None:
    """Write ``docs/md_calibration.md``: the ladder, per protocol and potential the metrics,
    the rows, the fast-versus-slow pair, and what is not simulated yet."""
    lines = ["# Physics tier against the calibration ladder", "",
             f"Written by `{command}` on {datetime.date.today().isoformat()}. "
             "Every figure below comes from the MD summaries under the run directory; nothing is "
             "typed by hand. Regenerate with the same command (it resumes unfinished MD and "
             "rewrites this page from what has finished).", "", *notes, "",
             "## The ladder", "",
             f"`screening/data/reference/md_ladder.csv`: {len(ladder)} glasses, measured log10 "
             f"sigma from {ladder['log10_sigma_S_cm'].min():.2f} to "
             f"{ladder['log10_sigma_S_cm'].max():.2f} "
             f"({np.ptp(ladder['log10_sigma_S_cm']):.1f} decades), one source per row.", "",
             "| glass | formula | sigma S/cm | at C | Ea eV | source |",
             "|---|---|---|---|---|---|"]
    for _, r in ladder.iterrows():
        doi = f"doi:{r['source_doi']}" if pd.notna(r.get("source_doi")) else r["source"]
        lines.append(f"| {r['name']} | {r['formula']} | {r['sigma_S_cm']:.3g} | "
                     f"{r['temperature_C']:g} | {_fmt(r.get('ea_eV'))} | {doi} |")
    lines += ["", "## Metrics", ""]
    if all_metrics:
        lines += ["| protocol | potential | rows finished | D(ref) resolved | Spearman rho (all,"
                  " bounds at bound) | Spearman rho (resolved) | offset | LOO MAE (decades) |"
                  " LOO RMS (spread) | bounds consistent | Ea MAE (eV, n) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {m.protocol} | {m.potential} | {m.n_rows} | {m.n_resolved_D} | "
                  f"{_fmt(m.spearman)} | {_fmt(m.spearman_resolved)} | {m.offset:+.2f} | "
                  f"{m.mae_loo:.2f} | {m.spread:.2f} | {m.n_bounds_consistent} of "
                  f"{m.n_rows - m.n_resolved_D} | {_fmt(m.ea_mae_eV)} ({m.n_ea}) |"
                  for m in all_metrics]
        lines += ["", "![parity](figures/md_calibration_parity.png)", "", *_default(all_metrics)]
    else:
        lines += ["None yet: a protocol and potential needs two finished ladder rows for a "
                  "leave-one-out offset (three for a Spearman rho).", ""]
    for (protocol, potential), rows in results.items():
        lines += [f"## {protocol} / {potential}", ""]
        m = next((m for m in all_metrics if (m.protocol, m.potential) == (protocol, potential)),
                 None)
        if m is not None:
            lines += [_verdict(m) + ".", ""]
            if m.spearman < TARGET_SPEARMAN or m.mae_loo > TARGET_MAE:
                lines += [_what_would(rows), ""]
        pair = pair_separation(rows, "LiAlCl2.5O0.75", "LiPO3")
        if pair:
            lines += [f"Fast against slow: {pair}.", ""]
        wall_s, ps = rows["wall_s"].sum(), rows["ps_simulated"].sum()
        lines += [f"Cost: {rows['replicas'].sum()} replicas finished, {ps:.1f} ps of MD in "
                  f"{wall_s / 3600.0:.1f} worker-hours ({wall_s / ps:.0f} s per ps; wall seconds"
                  " as the workers saw them, on a shared machine).", ""]
        missing = sorted(set(ladder["formula"]) - set(rows["formula"]))
        if missing:
            lines += [f"Not simulated yet (or still running): {', '.join(missing)}.", ""]
        lines += _row_table(rows) + [""]
    write_text(path, "\n".join(lines) + "\n")
    if all_metrics:
        parity_plot({(m.protocol, m.potential): results[m.protocol, m.potential]
                     for m in all_metrics}, figure)


@dataclass(frozen=True)
class CalibrationResult:
    """What one ``viglas calibrate`` did."""

    metrics: tuple[Metrics, ...]
    failed: dict[str, str]
    ps_simulated: float
    report: Path


def calibrate(out_dir: Path, protocol_names: Sequence[str], potential_refs: Sequence[str],
              report: Path, command: str, simulate: bool = True, device: str = "cpu",
              scheduler: str | None = None, workers: int | None = None,
              fixed_density: bool = False, progress: bool = True,
              calibration_path: Path = CALIBRATION_PATH) -> CalibrationResult:
    """Run (or resume) the ladder under each protocol with each potential unless ``simulate``
    is False, then write the offsets and the report (its figure under ``figures/`` beside it)
    from every row that has finished. The pair of issue 17 (LiAlCl2.5O0.75 and LiPO3) runs
    first, all its replicas, with the first potential."""
    protocols = [get_protocol(name) for name in protocol_names]
    ladder = load_ladder()
    failed, simulated = {}, 0.0
    for protocol in protocols if simulate else ():
        run = run_ladder(out_dir, protocol, potential_refs, ladder, device, scheduler, workers,
                         fixed_density, progress, first=("LiAlCl2.5O0.75", "LiPO3"))
        failed |= run.failed
        simulated += run.ps_simulated
    results, all_metrics, notes = {}, [], []
    for protocol in protocols:
        for ref in potential_refs:
            rows = ladder_rows(out_dir, protocol, ref, ladder)
            n_resolved = int(resolved_mask(rows).sum()) if len(rows) else 0
            if n_resolved < 2:
                notes.append(f"- `{protocol.name}` / `{ref}`: {len(rows)} ladder rows finished, "
                             f"{n_resolved} with D resolved: too few for an offset yet.")
            else:
                all_metrics.append(metrics(rows, protocol.name, ref))
            if len(rows):
                results[protocol.name, ref] = rows
    notes += [f"- Failed: {name}: {error}" for name, error in failed.items()]
    notes += ["- GPU: `bash bench/gpu_md.sh` runs this ladder under `rank` on one GPU (tasks of "
              "16 cells per model pass) and prints cells x atoms x steps/s against the CPU path; "
              "its figures are not on this page unless it was run (it was not in the session "
              "that wrote the tool: no GPU was lent)."]
    shipped = [m for m in all_metrics if m.n_rows >= MIN_SHIPPED_ROWS]
    notes += [f"- `{m.protocol}` / `{m.potential}`: {m.n_rows} ladder rows, fewer than "
              f"{MIN_SHIPPED_ROWS}: reported here, not shipped to `viglas verify`."
              for m in all_metrics if m not in shipped]
    if shipped:
        write_calibration(shipped, calibration_path)
    figure = report.parent / "figures" / "md_calibration_parity.png"
    figure.parent.mkdir(parents=True, exist_ok=True)
    write_report(report, figure, ladder, results, all_metrics, command, notes)
    return CalibrationResult(tuple(all_metrics), failed, simulated, report)
