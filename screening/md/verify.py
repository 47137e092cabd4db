"""``viglas verify``: melt-quench MD of selected candidates of a finished run, on Dask.

Each candidate's glass is one task; its production at each temperature is one task that depends
on it (on a GPU, tasks take ``gpu_batch_cells`` cells each and run them in one model pass).
Tasks checkpoint under ``RUN/md/<protocol>/<candidate>/``; at the end every finished candidate
of the run becomes a row of ``RUN/verified.parquet`` (rebuilt whole, atomically), and the ranked
table is re-scored with the MD conductivity into ``RUN/ranked_verified.parquet``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from dask.distributed import Client, as_completed, get_worker
from tqdm.auto import tqdm

from candidates.notation import normalise
from screening import ranking, store
from screening.cluster import check_scheduler, dask_client
from screening.md import MDError, analysis
from screening.md.protocol import PROTOCOLS, Protocol, get_protocol
from screening.md.runner import Job, ps_done, read_summary, run_jobs

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


def _claim(directory: Path, formula: str, protocol: Protocol, potential_ref: str) -> None:
    """Mark ``directory`` as this protocol's and potential's, or refuse to mix runs."""
    meta = {"formula": formula, "protocol": protocol.name,
            "protocol_hash": protocol.content_hash,
            "potential": potential_ref, "parameters": asdict(protocol)}
    path = directory / "meta.json"
    if path.exists():
        old = json.loads(path.read_text())
        for key in ("protocol_hash", "potential"):
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


def simulate(client: Client, run_dir: Path, formulas: list[str], protocol: Protocol,
             potential_ref: str, device: str, torch_threads: int | None,
             progress: bool) -> dict[str, str]:
    """Run every job of ``formulas`` on ``client``; returns {formula: error} for failures."""
    gpu = _has_gpu_workers(client)
    batch = protocol.gpu_batch_cells if gpu else 1
    resources = {"GPU": 1} if gpu else None
    glass = {f: Job(f, candidate_dir(run_dir, protocol, f)) for f in formulas}
    production = [Job(f, glass[f].candidate_dir, t) for f in formulas
                  for t in protocol.temperatures_K]
    jobs = [*glass.values(), *production]
    total_ps = protocol.total_ps() * len(formulas)
    done_ps = sum(ps_done(job, protocol) for job in jobs)
    failed: dict[str, str] = {}
    with tqdm(total=total_ps, initial=done_ps, desc=f"verify {protocol.name}",
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} ps "
                         "[{elapsed}<{remaining}{postfix}]", disable=not progress) as bar:
        def advance(event: tuple[float, dict]) -> None:
            bar.update(event[1]["ps"])

        topic = f"viglas-md-{uuid.uuid4().hex}"  # this call's events, not another client's
        client.subscribe_topic(topic, advance)
        glass_futures = {}
        futures = as_completed(loop=client.loop)
        for group in _chunks(list(glass.values()), batch):
            future = client.submit(run_group, group, protocol, potential_ref, device,
                                   torch_threads, topic, resources=resources, pure=False)
            futures.add(future)
            for job in group:
                glass_futures[job.formula] = future
        for group in _chunks(production, batch):
            after = list({glass_futures[job.formula].key: glass_futures[job.formula]
                          for job in group}.values())
            futures.add(client.submit(run_group, group, protocol, potential_ref, device,
                                      torch_threads, topic, *after, resources=resources,
                                      pure=False))
        n_done = sum(1 for f in formulas if all(j.is_done() for j in jobs if j.formula == f))
        bar.set_postfix_str(f"candidates {n_done}/{len(formulas)}")
        for future in futures:
            group_formulas, error = future.result()
            for formula in group_formulas if error else ():
                failed.setdefault(formula, error)
            n_done = sum(1 for f in formulas
                         if f not in failed and all(j.is_done() for j in jobs if j.formula == f))
            bar.set_postfix_str(f"candidates {n_done}/{len(formulas)}")
        client.unsubscribe_topic(topic)
    return failed


def collect(run_dir: Path) -> pd.DataFrame:
    """One row per finished candidate and protocol under ``RUN/md``, written to
    ``verified.parquet`` (and the ranked table re-scored with it); returns the rows."""
    spec = store.read_toml(run_dir / "spec.toml")
    target_K = float(spec.get("temperature_C", 25.0)) + 273.15
    tg = pd.read_parquet(run_dir / "scores.parquet", columns=["formula", "tg_K"])
    tg_of = dict(zip(tg["formula"], tg["tg_K"], strict=True))
    rows = []
    for protocol_dir in sorted((run_dir / "md").glob("*")):
        protocol = PROTOCOLS.get(protocol_dir.name)
        for directory in sorted(p for p in protocol_dir.glob("*") if p.is_dir()):
            meta_path = directory / "meta.json"
            if protocol is None or not meta_path.exists():
                continue
            meta = json.loads(meta_path.read_text())
            glass_job = Job(meta["formula"], directory)
            production = [Job(meta["formula"], directory, t) for t in protocol.temperatures_K]
            if not all(job.is_done() for job in (glass_job, *production)):
                continue
            glass = read_summary(glass_job)
            tg_K = tg_of.get(meta["formula"])
            row = {"formula": meta["formula"], "protocol": protocol.name,
                   "potential": glass["potential"], "potential_version": glass["potential_version"],
                   "seed": protocol.seed,
                   **analysis.candidate_row([read_summary(j) for j in production], glass,
                                            protocol.haven_ratio, target_K,
                                            None if pd.isna(tg_K) else float(tg_K))}
            rows.append(row)
    verified = pd.DataFrame(rows)
    if not verified.empty:
        store.write_parquet(verified, run_dir / VERIFIED)
        ranked = pd.read_parquet(run_dir / "ranked.parquet")
        store.write_parquet(ranking.prefer_verified(ranked, verified, spec.get("rank", {})),
                            run_dir / RANKED_VERIFIED)
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


def verify(run_dir: Path, protocol_name: str = "quick", top: int | None = None,
           formulas: Sequence[str] | None = None, potential_ref: str = "chgnet",
           device: str = "auto", scheduler: str | None = None, workers: int | None = None,
           progress: bool = True) -> VerifyResult:
    """Verify the chosen candidates of ``run_dir`` (see the module docstring), holding the run's
    lock so a screen or another verify cannot write beside it."""
    with store.run_lock(run_dir, _notice):
        return _verify(run_dir, protocol_name, top, formulas, potential_ref, device, scheduler,
                       workers, progress)


def _notice(message: str) -> None:
    print(f"viglas: {message}", file=sys.stderr)


def _verify(run_dir: Path, protocol_name: str, top: int | None, formulas: Sequence[str] | None,
            potential_ref: str, device: str, scheduler: str | None, workers: int | None,
            progress: bool) -> VerifyResult:
    started = time.perf_counter()
    protocol = get_protocol(protocol_name)
    chosen = select(run_dir, top, formulas)
    if scheduler:
        check_scheduler(scheduler)  # before any candidate is claimed under this request
    for formula in chosen:
        _claim(candidate_dir(run_dir, protocol, formula), formula, protocol, potential_ref)
    all_jobs = [Job(f, candidate_dir(run_dir, protocol, f), t) for f in chosen
                for t in (None, *protocol.temperatures_K)]
    resumed = sum(1 for f in chosen if any(ps_done(j, protocol) for j in all_jobs
                                           if j.formula == f))
    before = sum(ps_done(job, protocol) for job in all_jobs)
    failed: dict[str, str] = {}
    if not all(job.is_done() for job in all_jobs):
        n_workers, resources, threads = _md_cluster(scheduler, workers, device)
        with dask_client(scheduler, n_workers, resources=resources) as client:
            failed = simulate(client, run_dir.resolve(), chosen, protocol, potential_ref,
                              _resolve_device(device, client), threads, progress)
    simulated = sum(ps_done(job, protocol) for job in all_jobs) - before
    verified = collect(run_dir)
    return VerifyResult(len(chosen), resumed, failed, simulated, time.perf_counter() - started,
                        verified)
