"""``viglas verify``: melt-quench MD of selected candidates of a finished run, on Dask.

Each replica's glass is one task; its production at each temperature is one task that depends
on it (on a GPU, tasks take ``gpu_batch_cells`` cells each and run them in one model pass).
Tasks checkpoint under ``RUN/md/<protocol>/<candidate>/r<replica>/``; at the end every finished
candidate of the run becomes a row of ``RUN/verified.parquet`` (rebuilt whole, atomically), with
the calibrated room-temperature sigma of :mod:`screening.md.calibration` beside the MD's own, and
the ranked table is re-scored with the MD conductivity into ``RUN/ranked_verified.parquet``.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from dask.distributed import Client, as_completed, get_worker
from tqdm.auto import tqdm

from candidates.notation import normalise
from screening import ranking, store
from screening.cluster import check_scheduler, dask_client
from screening.md import MDError, analysis, calibration
from screening.md.potentials import load_potential_class
from screening.md.protocol import PROTOCOLS, Protocol, get_protocol
from screening.md.runner import Job, ps_done, read_summary, run_jobs
from screening.runlock import run_lock

VERIFIED = "verified.parquet"
RANKED_VERIFIED = "ranked_verified.parquet"


class VerifyError(MDError):
    """A verify request that cannot run (unfinished run, unknown formula, changed protocol)."""


@dataclass(frozen=True)
class VerifyResult:
    """What one ``viglas verify`` did."""

    n_candidates: int
    n_resumed: int
    failed: dict[str, str]
    ps_simulated: float
    seconds: float
    verified: pd.DataFrame


def candidate_dir(run_dir: Path, protocol: Protocol, formula: str) -> Path:
    """Where the MD of ``formula`` under ``protocol`` lives."""
    return run_dir / "md" / protocol.name / re.sub(r"[^A-Za-z0-9.]+", "_", formula)


def select(run_dir: Path, top: int | None, formulas: Sequence[str] | None) -> list[str]:
    """The run's best ``top`` ranked formulas, or ``formulas`` (any notation) checked against
    the run's scored candidates."""
    if not (run_dir / "ranked.parquet").exists():
        raise VerifyError(f"{run_dir} has no ranked.parquet yet; finish the run with viglas run")
    if formulas:
        scored = set(pd.read_parquet(run_dir / "scores.parquet", columns=["formula"])["formula"])
        chosen = [normalise(text) for text in formulas]
        missing = [f for f in chosen if f not in scored]
        if missing:
            raise VerifyError(f"{missing[0]} is not a candidate of {run_dir}; pick from "
                              f"viglas query {run_dir} or use --top N")
        return list(dict.fromkeys(chosen))
    ranked = pd.read_parquet(run_dir / "ranked.parquet", columns=["formula", "rank"])
    return ranked.sort_values("rank")["formula"].head(top or 5).tolist()


def candidate_jobs(formula: str, directory: Path, protocol: Protocol,
                   density_g_cm3: float | None = None) -> tuple[list[Job], list[Job]]:
    """The glass jobs (one per replica) and production jobs of ``formula`` under ``directory``."""
    glass = [Job(formula, directory, None, r, density_g_cm3) for r in range(protocol.replicas)]
    production = [Job(formula, directory, t, r, density_g_cm3) for r in range(protocol.replicas)
                  for t in protocol.temperatures_K]
    return glass, production


def claim(directory: Path, formula: str, protocol: Protocol, potential_ref: str,
          density_g_cm3: float | None = None) -> None:
    """Mark ``directory`` as this protocol's, potential's and density's, or refuse to mix runs.

    A directory that holds no MD yet (a claim whose simulation never started, e.g. one written
    before arguments were checked first) is claimed afresh: there is nothing to mix."""
    meta = {"formula": formula, "protocol": protocol.name,
            "protocol_hash": protocol.content_hash, "potential": potential_ref,
            "density_g_cm3": density_g_cm3, "parameters": asdict(protocol)}
    path = directory / "meta.json"
    if path.exists() and any(directory.glob("r*")):
        old = json.loads(path.read_text())
        for key in ("protocol_hash", "potential", "density_g_cm3"):
            if old.get(key) != meta[key]:
                raise VerifyError(f"{directory} holds MD with {key} {old.get(key)!r}, not "
                                  f"{meta[key]!r}; delete it to start again")
        return
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta, indent=1))


def run_group(jobs: list[Job], protocol: Protocol, potential_ref: str, device: str,
              torch_threads: int | None, topic: str,
              *after: object) -> tuple[list[str], str | None]:
    """A Dask task: run ``jobs`` (``after`` only orders it behind their glass tasks), logging
    simulated picoseconds to ``topic``; returns the formulas and an error message instead of
    raising, so one bad cell fails its candidate and the others go on."""
    try:
        worker = get_worker()
    except ValueError:
        worker = None

    def report(ps: float) -> None:
        if worker is not None:
            worker.log_event(topic, {"ps": ps})

    formulas = sorted({job.formula for job in jobs})
    try:
        run_jobs(jobs, protocol, potential_ref, device, torch_threads, report)
    except Exception as exc:  # reported per candidate; the other candidates go on
        stage = ", ".join(sorted({job.stage for job in jobs}))
        return formulas, f"{stage}: {type(exc).__name__}: {exc}"
    return formulas, None


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _has_gpu_workers(client: Client) -> bool:
    return any("GPU" in w.get("resources", {}) for w in client.scheduler_info()["workers"].values())


@dataclass(frozen=True)
class Plan:
    """Jobs of one protocol and potential to run, with a Dask priority (higher runs first)."""

    protocol: Protocol
    potential_ref: str
    glass: tuple[Job, ...]
    production: tuple[Job, ...]
    priority: int = 0

    def total_ps(self) -> float:
        p = self.protocol
        return (len(self.glass) * (p.melt_ps + p.quench_ps)
                + len(self.production) * (p.npt_ps + p.cap_ps))


def plan(directory_of: Callable[[str], Path], formulas: Sequence[str], protocol: Protocol,
         potential_ref: str, densities: dict[str, float] | None = None,
         priority: int = 0) -> Plan:
    """Every replica's glass and production job of ``formulas`` (at ``densities[formula]``
    where given), each candidate under ``directory_of(formula)``."""
    densities = densities or {}
    glass, production = [], []
    for formula in formulas:
        g, p = candidate_jobs(formula, directory_of(formula), protocol, densities.get(formula))
        glass += g
        production += p
    return Plan(protocol, potential_ref, tuple(glass), tuple(production), priority)


def _label(formula: str, p: Plan, several: bool) -> str:
    return f"{formula} [{p.potential_ref}]" if several else formula


def _glass_key(p: Plan, job: Job) -> tuple[str, str, str, int]:
    return p.protocol.name, p.potential_ref, job.formula, job.replica


def _by_priority(plans: Sequence[Plan], stage: str,
                 batch: Callable[[Plan], int]) -> list[tuple[Plan, list[Job], int]]:
    """Every (plan, group of ``stage`` jobs, Dask priority), highest priority first: replica 0
    before replica 1 within a plan, production one above its glass."""
    bump = 1 if stage == "production" else 0
    groups = [(p, group, p.priority - 10 * group[0].replica + bump)
              for p in plans for group in _chunks(list(getattr(p, stage)), batch(p))]
    return sorted(groups, key=lambda item: -item[2])


def simulate(client: Client, plans: Sequence[Plan], device: str, torch_threads: int | None,
             progress: bool, label: str) -> dict[str, str]:
    """Run every job of ``plans`` on ``client``, each production behind its replica's glass,
    replica 0 of every plan first; returns {formula: error} for failures (the formula followed
    by its potential when the plans have more than one)."""
    gpu = _has_gpu_workers(client)
    resources = {"GPU": 1} if gpu else None
    several = len({p.potential_ref for p in plans}) > 1
    done_ps = sum(ps_done(job, p.protocol) for p in plans for job in (*p.glass, *p.production))
    failed: dict[str, str] = {}
    with tqdm(total=sum(p.total_ps() for p in plans), initial=done_ps, desc=label,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} ps "
                         "[{elapsed}<{remaining}{postfix}]", disable=not progress) as bar:
        def advance(event: tuple[float, dict]) -> None:
            bar.update(event[1]["ps"])

        topic = f"viglas-md-{uuid.uuid4().hex}"  # this call's events, not another client's
        client.subscribe_topic(topic, advance)
        names_of: dict[str, list[str]] = {}  # future key -> the candidates of its group
        futures = as_completed(loop=client.loop)
        # Submitted highest priority first: a worker runs what it was sent in order, and tasks
        # sent before the scheduler starts queueing would otherwise run ahead of later,
        # higher-priority ones (seen: the lead pair of a calibration waited behind 6 others).
        batch = (lambda p: p.protocol.gpu_batch_cells) if gpu else (lambda p: 1)
        glass_futures = {}  # each production waits for its replica's glass
        for stage in ("glass", "production"):
            for plan_, group, priority in _by_priority(plans, stage, batch):
                waits = [glass_futures[_glass_key(plan_, j)] for j in group
                         if stage == "production"]
                after = {f.key: f for f in waits}  # one glass may hold several of the group
                future = client.submit(run_group, group, plan_.protocol, plan_.potential_ref,
                                       device, torch_threads, topic, *after.values(),
                                       resources=resources, pure=False, priority=priority)
                futures.add(future)
                names_of[future.key] = [_label(j.formula, plan_, several) for j in group]
                if stage == "glass":
                    glass_futures |= {_glass_key(plan_, job): future for job in group}
        for future in futures:
            _, error = future.result()
            for name in names_of[future.key] if error else ():
                failed.setdefault(name, error)
            bar.set_postfix_str(f"groups done {bar.n:.0f} ps, failed {len(failed)}")
        client.unsubscribe_topic(topic)
    return failed


def candidate_result(directory: Path, protocol: Protocol, target_K: float,
                     tg_K: float | None, partial: bool = False) -> dict | None:
    """The row of the candidate simulated under ``directory`` (claimed by :func:`claim`), or
    None while any of its jobs is unfinished; with ``partial`` the replicas that have finished
    make the row (``replicas`` says how many), None only while none has."""
    meta = json.loads((directory / "meta.json").read_text())
    glass, production = candidate_jobs(meta["formula"], directory, protocol,
                                       meta.get("density_g_cm3"))
    finished = {g.replica for g in glass if g.is_done() and all(
        p.is_done() for p in production if p.replica == g.replica)}
    if not finished or len(finished) < len(glass) and not partial:
        return None
    glass = [job for job in glass if job.replica in finished]
    production = [job for job in production if job.replica in finished]
    glasses = [read_summary(job) for job in glass]
    return {"formula": meta["formula"], "protocol": protocol.name,
            "potential": glasses[0]["potential"],
            "potential_version": glasses[0]["potential_version"], "seed": protocol.seed,
            "fixed_density_g_cm3": meta.get("density_g_cm3"),
            **analysis.candidate_row([read_summary(j) for j in production], glasses,
                                     protocol.haven_ratio, target_K,
                                     protocol.reference_temperature_K, tg_K)}


def collect(run_dir: Path) -> pd.DataFrame:
    """One row per finished candidate, protocol and potential under ``RUN/md``, with the
    calibrated room-temperature sigma, written to ``verified.parquet`` (and the ranked table
    re-scored with it); returns the rows."""
    spec = store.read_toml(run_dir / "spec.toml")
    target_K = float(spec.get("temperature_C", 25.0)) + 273.15
    tg = pd.read_parquet(run_dir / "scores.parquet", columns=["formula", "tg_K"])
    tg_of = {f: None if pd.isna(t) else float(t)
             for f, t in zip(tg["formula"], tg["tg_K"], strict=True)}
    rows = []
    for protocol_dir in sorted((run_dir / "md").glob("*")):
        protocol = PROTOCOLS.get(protocol_dir.name)
        for directory in sorted(p for p in protocol_dir.glob("*") if p.is_dir()):
            if protocol is None or not (directory / "meta.json").exists():
                continue
            formula = json.loads((directory / "meta.json").read_text())["formula"]
            row = candidate_result(directory, protocol, target_K, tg_of.get(formula))
            if row is not None:
                rows.append(row)
    verified = calibration.calibrate_rows(pd.DataFrame(rows))
    if not verified.empty:
        store.record_table(run_dir, VERIFIED.removesuffix(".parquet"), verified)
        ranked = pd.read_parquet(run_dir / "ranked.parquet")
        store.record_table(run_dir, RANKED_VERIFIED.removesuffix(".parquet"),
                           ranking.prefer_verified(ranked, verified, spec.get("rank", {})))
    return verified


def _resolve_device(device: str, client: Client | None = None) -> str:
    if device != "auto":
        return device
    if client is not None and _has_gpu_workers(client):
        return "cuda"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _md_cluster(scheduler: str | None, workers: int | None,
                device: str) -> tuple[int | None, dict[str, float] | None, int | None]:
    """Workers, worker resources and torch threads per task for a verify's cluster.

    A local cluster on a CUDA machine is one worker declaring ``GPU=1`` (more GPUs: start one
    ``dask worker --resources GPU=1`` each and pass ``--scheduler``); on a CPU, ``workers``
    single-task workers sharing the cores. An existing cluster keeps its own settings.
    """
    if scheduler:
        return None, None, None
    cores = os.cpu_count() or 1
    if _resolve_device(device) == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise VerifyError("--device cuda: torch sees no CUDA device on this machine; use "
                              "--device cpu, or --scheduler with workers that have a GPU")
        return 1, {"GPU": 1}, None
    n = min(workers or cores, cores)
    return n, None, max(1, cores // n)


def verify(run_dir: Path, protocol_name: str = "rank", top: int | None = None,
           formulas: Sequence[str] | None = None, potential_ref: str = "chgnet",
           device: str = "auto", scheduler: str | None = None, workers: int | None = None,
           progress: bool = True, densities: dict[str, float] | None = None) -> VerifyResult:
    """Verify the chosen candidates of ``run_dir`` (see the module docstring), holding the run's
    lock so a screen or another verify cannot write beside it; ``densities`` (normalised
    formula -> g/cm3) holds those candidates at a given density (NVT throughout).

    The protocol, the potential's name and the scheduler are checked before anything is
    written (the lock included), so a bad value leaves no trace to trip a later call."""
    get_protocol(protocol_name)
    load_potential_class(potential_ref)  # the name only: no weights are loaded here
    if scheduler:
        check_scheduler(scheduler)
    with run_lock(run_dir):
        return _verify(run_dir, protocol_name, top, formulas, potential_ref, device, scheduler,
                       workers, progress, densities)


def _verify(run_dir: Path, protocol_name: str, top: int | None, formulas: Sequence[str] | None,
            potential_ref: str, device: str, scheduler: str | None, workers: int | None,
            progress: bool, densities: dict[str, float] | None) -> VerifyResult:
    started = time.perf_counter()
    protocol = get_protocol(protocol_name)
    chosen = select(run_dir, top, formulas)
    densities = densities or {}
    for formula in chosen:
        claim(candidate_dir(run_dir, protocol, formula), formula, protocol, potential_ref,
              densities.get(formula))
    work = plan(lambda f: candidate_dir(run_dir.resolve(), protocol, f), chosen, protocol,
                potential_ref, densities)
    all_jobs = [*work.glass, *work.production]
    resumed = sum(1 for f in chosen if any(ps_done(j, protocol) for j in all_jobs
                                           if j.formula == f))
    before = sum(ps_done(job, protocol) for job in all_jobs)
    failed: dict[str, str] = {}
    if not all(job.is_done() for job in all_jobs):
        n_workers, resources, threads = _md_cluster(scheduler, workers, device)
        with dask_client(scheduler, n_workers, resources=resources) as client:
            failed = simulate(client, [work], _resolve_device(device, client), threads,
                              progress, f"verify {protocol.name}")
    simulated = sum(ps_done(job, protocol) for job in all_jobs) - before
    verified = collect(run_dir)
    return VerifyResult(len(chosen), resumed, failed, simulated, time.perf_counter() - started,
                        verified)
