"""MD throughput of the physics tier: ms per step and candidates per hour, per protocol.

    .venv/bin/python bench/bench_md.py --steps 40 --repeat 3 --threads 1 2
    .venv/bin/python bench/bench_md.py --from-run results/viglas

With ``--from-run`` it reads what ``viglas verify`` runs in that run directory measured (each
job's wall seconds and steps, from its ``summary.json``) instead of timing new steps: ms per step
of the glass stage and of production, and candidates per hour with one worker per core.

Builds the LiAlCl2.5O0.75 starting cell of the protocols (105 atoms), takes the worst contacts
out with FIRE, and times steps of the tier's own integrator with CHGNet: NVT steps (energy and
forces) and NPT steps (stress too), with 1 torch thread (one of ``viglas verify``'s workers on
this machine) and with 2, and three cells batched in one model call. Candidates per hour follow
from the protocol's step counts: ``workers x 3600 / (NVT steps x t_nvt + NPT steps x t_npt)``
with one single-thread worker per core; FIRE steps count as NVT steps.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from screening.md.cell import density_estimate_g_cm3, random_packing, whole_atoms
from screening.md.dynamics import CellState, fire, maxwell_boltzmann, run_md
from screening.md.potentials import load_potential
from screening.md.protocol import PROTOCOLS, Phase, Protocol


def _cells(protocol: Protocol, n: int, potential) -> list[CellState]:
    counts = whole_atoms("LiAlCl2.5O0.75", protocol.target_atoms, protocol.max_atoms)
    density = density_estimate_g_cm3(counts, protocol.packing_fraction)
    states = []
    for seed in range(n):
        atoms = random_packing(counts, density, np.random.default_rng(seed))
        states.append(CellState(atoms.numbers, atoms.positions, np.array(atoms.cell),
                                np.zeros_like(atoms.positions), np.random.default_rng(seed)))
    fire(states, potential, 20)
    for state in states:
        maxwell_boltzmann(state, 600.0)
    return states


def time_step_ms(states: list[CellState], kind: str, steps: int, potential,
                 protocol: Protocol) -> float:
    """Wall milliseconds per MD step of ``states`` together (after 3 warm-up steps)."""
    phases = [Phase(kind, kind, 10 ** 6, 600.0, 600.0) for _ in states]
    run_md(states, phases, potential, protocol, 0, 3)
    started = time.perf_counter()
    run_md(states, phases, potential, protocol, 3, steps)
    return (time.perf_counter() - started) / steps * 1000.0


def steps_per_candidate(protocol: Protocol) -> tuple[int, int]:
    """(NVT-like steps, NPT steps) of one candidate under ``protocol``."""
    n_t = len(protocol.temperatures_K)
    nvt = protocol.relax_steps + protocol.steps(protocol.melt_ps) + n_t * protocol.steps(
        protocol.production_ps)
    npt = protocol.steps(protocol.quench_ps) + n_t * protocol.steps(protocol.npt_ps)
    return nvt, npt


def from_run(run_dir: Path) -> None:
    """Print ms per step and candidates per hour from the finished jobs of ``run_dir``/md."""
    workers = os.cpu_count() or 1
    print("| protocol | candidates | stage | jobs | ms per step (median, min-max) | "
          "candidate wall (median) | candidates per hour |")
    print("|---|---|---|---|---|---|---|")
    for protocol_dir in sorted((run_dir / "md").glob("*")):
        protocol = PROTOCOLS.get(protocol_dir.name)
        if protocol is None:
            continue
        per_candidate, per_step = [], {"glass": [], "production": []}
        for candidate in sorted(p for p in protocol_dir.glob("*") if p.is_dir()):
            summaries = [json.loads(f.read_text()) for f in candidate.glob("*/summary.json")]
            if len(summaries) != 1 + len(protocol.temperatures_K):
                continue
            per_candidate.append(sum(s["wall_s"] for s in summaries))
            for s in summaries:
                glass = s["temperature_K"] is None
                steps = round(s["ps"] * 1000.0 / protocol.timestep_fs) + (
                    protocol.relax_steps if glass else 0)
                per_step["glass" if glass else "production"].append(s["wall_s"] / steps * 1e3)
        if not per_candidate:
            continue
        wall = statistics.median(per_candidate)
        for stage, values in per_step.items():
            print(f"| {protocol.name} | {len(per_candidate)} | {stage} | {len(values)} | "
                  f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f}) | "
                  f"{wall / 60:.0f} min | {workers * 3600.0 / wall:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--from-run", type=Path, help="Report a verified run instead.")
    args = parser.parse_args()
    if args.from_run:
        from_run(args.from_run)
        return
    if 1 not in args.threads:
        parser.error("--threads must include 1: candidates per hour assume single-thread workers")
    potential = load_potential("chgnet", "cpu")
    protocol = PROTOCOLS["quick"]
    timings: dict[tuple[int, str, int], list[float]] = {}
    for _ in range(args.repeat):
        for threads in args.threads:
            torch.set_num_threads(threads)
            for n_cells in (1, 3):
                states = _cells(protocol, n_cells, potential)
                for kind in ("nvt", "npt"):
                    ms = time_step_ms(states, kind, args.steps, potential, protocol)
                    timings.setdefault((threads, kind, n_cells), []).append(ms)
    print(f"CHGNet on {os.cpu_count()} CPU cores, LiAlCl2.5O0.75, {len(states[0].numbers)} atoms,"
          f" {args.steps} steps x {args.repeat} repeats (median, min-max)")
    print("| torch threads | step | cells per call | ms per step | ms per cell-step |")
    print("|---|---|---|---|---|")
    for (threads, kind, n_cells), values in sorted(timings.items()):
        median = statistics.median(values)
        print(f"| {threads} | {kind} | {n_cells} | {median:.0f} ({min(values):.0f}-"
              f"{max(values):.0f}) | {median / n_cells:.0f} |")
    t_nvt = statistics.median(timings[(1, "nvt", 1)]) / 1000.0
    t_npt = statistics.median(timings[(1, "npt", 1)]) / 1000.0
    workers = os.cpu_count() or 1
    print(f"\n| protocol | NVT + FIRE steps | NPT steps | ps | candidates per hour "
          f"({workers} single-thread workers) |")
    print("|---|---|---|---|---|")
    for name, p in PROTOCOLS.items():
        nvt, npt = steps_per_candidate(p)
        per_candidate_s = nvt * t_nvt + npt * t_npt
        print(f"| {name} | {nvt} | {npt} | {p.total_ps():.1f} | "
              f"{workers * 3600.0 / per_candidate_s:.1f} |")


if __name__ == "__main__":
    main()
