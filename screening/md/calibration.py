"""The calibration ladder: measured glasses through the physics tier, and what it says about MD.

``screening/data/reference/md_ladder.csv`` holds amorphous Li and Na conductors with a measured
conductivity near room temperature (one source per row). :func:`run_ladder` melt-quenches every
row under a protocol and potential (checkpointed like ``viglas verify``, on Dask);
:func:`ladder_rows` collects what has finished; :mod:`screening.md.calibration_report` compares
it with the measurements and fits, per protocol and potential, one global offset

    log10 sigma_measured(RT) = log10 sigma_MD(reference temperature) + offset

whose leave-one-out residual spread is the honest error of a calibrated MD conductivity. The
shipped ``md_calibration.csv`` holds those offsets; :func:`calibrated_log10_sigma` applies them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from candidates.notation import normalise
from screening.md import MDError
from screening.md.protocol import Protocol

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "reference"
LADDER_PATH = REFERENCE / "md_ladder.csv"
CALIBRATION_PATH = REFERENCE / "md_calibration.csv"
ROOM_K = 298.15
_LADDER_COLUMNS = ("name", "formula", "alkali", "sigma_S_cm", "temperature_C", "source")


class CalibrationError(MDError):
    """A ladder or calibration file that cannot be used."""


def load_ladder(path: Path = LADDER_PATH) -> pd.DataFrame:
    """The ladder table with ``formula`` normalised and ``log10_sigma_S_cm`` added."""
    try:
        ladder = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"cannot read the ladder {path}: {exc}") from None
    missing = [c for c in _LADDER_COLUMNS if c not in ladder]
    if missing:
        raise CalibrationError(f"{path}: no column {missing[0]!r}")
    for i, row in ladder.iterrows():
        if not (row["sigma_S_cm"] > 0) or pd.isna(row["source"]):
            raise CalibrationError(f"{path} row {i + 2} ({row['name']}): needs a positive "
                                   "sigma_S_cm and a source")
    ladder["formula"] = [normalise(f) for f in ladder["formula"]]
    ladder["log10_sigma_S_cm"] = np.log10(ladder["sigma_S_cm"])
    return ladder


def ladder_dir(out_dir: Path, protocol: Protocol, potential_ref: str, formula: str) -> Path:
    """Where the MD of one ladder row under ``protocol`` and ``potential_ref`` lives."""
    safe = re.sub(r"[^A-Za-z0-9.]+", "_", potential_ref)
    return out_dir / protocol.name / safe / re.sub(r"[^A-Za-z0-9.]+", "_", formula)


@dataclass(frozen=True)
class LadderRun:
    """What one :func:`run_ladder` did."""

    failed: dict[str, str]
    ps_simulated: float


def run_ladder(out_dir: Path, protocol: Protocol, potential_refs: Sequence[str],
               ladder: pd.DataFrame, device: str = "cpu", scheduler: str | None = None,
               workers: int | None = None, fixed_density: bool = False,
               progress: bool = True, first: Sequence[str] = ()) -> LadderRun:
    """Simulate every ladder row under ``protocol`` with each potential, resuming what exists.

    Replica 0 of every row and potential runs before any replica 1, so a run stopped early
    still covers the whole ladder; the first potential goes first at each replica, and the
    formulas in ``first`` (all their replicas, first potential) before everything. With
    ``fixed_density`` rows with a measured density run at it (NVT throughout).
    """
    from screening.cluster import check_scheduler, dask_client
    from screening.md.runner import ps_done
    from screening.md.verify import _md_cluster, _resolve_device, claim, plan, simulate

    if scheduler:
        check_scheduler(scheduler)
    densities = {}
    if fixed_density and "density_g_cm3" in ladder:
        densities = {f: float(d) for f, d in zip(ladder["formula"], ladder["density_g_cm3"],
                                                 strict=True) if pd.notna(d)}
    formulas = list(ladder["formula"])
    plans = []
    for rank, ref in enumerate(potential_refs):
        for formula in formulas:
            claim(ladder_dir(out_dir, protocol, ref, formula), formula, protocol, ref,
                  densities.get(formula))
        lead = [f for f in formulas if f in first and not rank]
        for chosen, priority in ((lead, 100), ([f for f in formulas if f not in lead], -rank)):
            plans.append(plan(lambda f, ref=ref: ladder_dir(out_dir, protocol, ref, f), chosen,
                              protocol, ref, densities, priority))
    jobs = [(job, p.protocol) for p in plans for job in (*p.glass, *p.production)]
    before = sum(ps_done(job, proto) for job, proto in jobs)
    failed: dict[str, str] = {}
    if not all(job.is_done() for job, _ in jobs):
        n_workers, resources, threads = _md_cluster(scheduler, workers, device)
        with dask_client(scheduler, n_workers, resources=resources) as client:
            failed = simulate(client, plans, _resolve_device(device, client), threads, progress,
                              f"calibrate {protocol.name}")
    return LadderRun(failed, sum(ps_done(job, proto) for job, proto in jobs) - before)


def ladder_rows(out_dir: Path, protocol: Protocol, potential_ref: str,
                ladder: pd.DataFrame) -> pd.DataFrame:
    """One row per ladder composition with at least one replica finished under ``protocol`` and
    ``potential_ref`` (``replicas`` says how many), joined with its measurement (rows not yet
    simulated are absent)."""
    from screening.md.verify import candidate_result

    rows = []
    for _, measured in ladder.iterrows():
        directory = ladder_dir(out_dir, protocol, potential_ref, measured["formula"])
        if not (directory / "meta.json").exists():
            continue
        row = candidate_result(directory, protocol, ROOM_K, None, partial=True)
        if row is not None:
            rows.append({**row, "name": measured["name"], "replicas_planned": protocol.replicas,
                         "log10_sigma_measured": measured["log10_sigma_S_cm"],
                         "ea_measured_eV": measured.get("ea_eV", np.nan),
                         "density_measured_g_cm3": measured.get("density_g_cm3", np.nan)})
    return pd.DataFrame(rows)


def loo_offsets(md: np.ndarray, measured: np.ndarray) -> tuple[float, np.ndarray]:
    """The global offset (mean of measured - MD) and, for each row, its prediction with that
    row left out of the offset: ``md[i] + mean(measured - md without i)``."""
    diff = np.asarray(measured, dtype=float) - np.asarray(md, dtype=float)
    n = len(diff)
    if n < 2:
        raise CalibrationError("a leave-one-out offset needs at least two finished rows")
    loo = (diff.sum() - diff) / (n - 1)
    return float(diff.mean()), np.asarray(md, dtype=float) + loo


def load_calibration(path: Path = CALIBRATION_PATH) -> dict[str, dict]:
    """The shipped offsets: {"protocol/potential": {"offset": ..., "spread": ..., ...}}."""
    if not path.exists():
        return {}
    try:
        table = pd.read_csv(path)
        return {f"{r['protocol']}/{r['potential']}": r.to_dict() for _, r in table.iterrows()}
    except (ValueError, KeyError) as exc:
        raise CalibrationError(f"{path}: not a calibration table ({exc})") from None


def default_potential(protocol_name: str, path: Path = CALIBRATION_PATH) -> str:
    """The potential that measured best on the ladder under ``protocol_name`` (CHGNet where
    the protocol was never calibrated)."""
    best = [e["potential"] for e in load_calibration(path).values()
            if e["protocol"] == protocol_name and e.get("default")]
    return best[0] if best else "chgnet"


def calibrated_log10_sigma(row: dict | pd.Series,
                           calibration: dict | None = None) -> tuple[float, float, bool]:
    """Room-temperature log10 sigma (S/cm) of a verified or ladder row from its MD conductivity
    at the reference temperature and the shipped offset of its protocol and potential: (mean,
    standard uncertainty, resolved). The uncertainty adds the MD's own (replicas and kinisi),
    the offset's leave-one-out spread and the row's potential disagreement in quadrature.
    ``resolved`` is False (and the mean NaN) when D at the reference temperature is not above 3
    uncertainties or the protocol and potential were never calibrated."""
    from screening.md.analysis import is_resolved

    calibration = load_calibration() if calibration is None else calibration
    entry = calibration.get(f"{row['protocol']}/{row['potential']}")
    if entry is None or not is_resolved(row["D_ref_cm2_s"], row["D_ref_unc_cm2_s"]):
        return float("nan"), float("nan"), False
    disagreement = row.get("potential_spread_log10", 0.0)
    disagreement = 0.0 if pd.isna(disagreement) else float(disagreement)
    sigma = float(np.sqrt(row["sigma_log10_unc_ref"] ** 2 + entry["spread"] ** 2
                          + disagreement ** 2))
    return float(row["sigma_log10_S_cm_ref"] + entry["offset"]), sigma, True


def calibrate_rows(rows: pd.DataFrame, calibration: dict | None = None) -> pd.DataFrame:
    """``rows`` (verified rows) with ``potential_spread_log10`` (half the range of the
    reference-temperature sigma across potentials of the same protocol, where more than one ran)
    and the calibrated room-temperature ``sigma_log10_S_cm_cal`` +- ``sigma_log10_unc_cal``,
    with ``calibrated`` False where that is not possible."""
    if rows.empty:
        return rows
    out = rows.copy()
    by = out.groupby(["formula", "protocol"])["sigma_log10_S_cm_ref"]
    out["potential_spread_log10"] = (by.transform("max") - by.transform("min")) / 2.0
    calibration = load_calibration() if calibration is None else calibration
    values = [calibrated_log10_sigma(row, calibration) for _, row in out.iterrows()]
    out["sigma_log10_S_cm_cal"] = [v[0] for v in values]
    out["sigma_log10_unc_cal"] = [v[1] for v in values]
    out["calibrated"] = [v[2] for v in values]
    return out
