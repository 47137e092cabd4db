"""MD throughput of the physics tier: ms per step and candidates per hour, per protocol.

    .venv/bin/python bench/bench_md.py --steps 40 --repeat 3 --threads 1 2
    .venv/bin/python bench/bench_md.py --potential sevennet --cells 1 --threads 1
    .venv/bin/python bench/bench_md.py --device cuda --cells 1 16 64 --threads 1   # a GPU
    .venv/bin/python bench/bench_md.py --from-run results/viglas/md
    .venv/bin/python bench/bench_md.py --from-run results/md-calibration      # viglas calibrate

With ``--from-run`` it reads what ``viglas verify`` or ``viglas calibrate`` measured under that
directory (each job's wall seconds and steps, from its ``summary.json``) instead of timing new
steps: ms per step of the glass stage and of production per protocol and potential, and
replicas per hour with one worker per core.

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


def steps_per_candidate(protocol: Protocol, longest: bool = False) -> tuple[int, int]:
    """(NVT-like steps, NPT steps) of one candidate (every replica) under ``protocol``, with
    the shortest production (or the longest, to the cap)."""
    n_t = len(protocol.temperatures_K)
    production = protocol.cap_ps if longest else protocol.production_ps
    nvt = protocol.relax_steps + protocol.steps(protocol.melt_ps) + n_t * protocol.steps(
        production)
    npt = protocol.steps(protocol.quench_ps) + n_t * protocol.steps(protocol.npt_ps)
    return nvt * protocol.replicas, npt * protocol.replicas


def from_run(root: Path) -> None:
    """Print ms per step and replicas per hour from every finished job under ``root`` (a run's
    ``md`` directory or a ``viglas calibrate --out`` directory)."""
    workers = os.cpu_count() or 1
    per_step: dict[tuple[str, str, str], list[float]] = {}
    per_replica: dict[tuple[str, str], dict[Path, list[float]]] = {}
    for path in sorted(root.rglob("summary.json")):
        protocol = next((PROTOCOLS[p] for p in path.parts if p in PROTOCOLS), None)
        if protocol is None:
            continue
        s = json.loads(path.read_text())
        glass = s["temperature_K"] is None
        steps = round(s["ps"] * 1000.0 / protocol.timestep_fs) + (
            protocol.relax_steps if glass else 0)
        stage = "glass" if glass else "production"
        per_step.setdefault((protocol.name, s["potential"], stage), []).append(
            s["wall_s"] / steps * 1e3)
        replicas = per_replica.setdefault((protocol.name, s["potential"]), {})
        replicas.setdefault(path.parent.parent, []).append(s["wall_s"])
    print("| protocol | potential | stage | jobs | ms per step (median, min-max) | "
          "replica wall (median) | replicas per hour |")
    print("|---|---|---|---|---|---|---|")
    for (name, potential, stage), values in sorted(per_step.items()):
        stages = 1 + len(PROTOCOLS[name].temperatures_K)
        walls = [sum(w) for w in per_replica[name, potential].values() if len(w) == stages]
        wall = statistics.median(walls) if walls else float("nan")
        print(f"| {name} | {potential} | {stage} | {len(values)} | "
              f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f}) | "
              f"{wall / 60:.0f} min | {workers * 3600.0 / wall:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cells", type=int, nargs="+", default=[1, 3],
                        help="Cells per model call (a GPU batches many).")
    parser.add_argument("--potential", default="chgnet")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--protocol", default="quick", choices=sorted(PROTOCOLS),
                        help="Whose cell size to time.")
    parser.add_argument("--from-run", type=Path,
                        help="Report what verify or calibrate measured under this directory.")
    args = parser.parse_args()
    if args.from_run:
        from_run(args.from_run)
        return
    if 1 not in args.threads:
        parser.error("--threads must include 1: candidates per hour assume single-thread workers")
    potential = load_potential(args.potential, args.device)
    protocol = PROTOCOLS[args.protocol]
    timings: dict[tuple[int, str, int], list[float]] = {}
    for _ in range(args.repeat):
        for threads in args.threads:
            torch.set_num_threads(threads)
            for n_cells in args.cells:
                states = _cells(protocol, n_cells, potential)
                for kind in ("nvt", "npt"):
                    ms = time_step_ms(states, kind, args.steps, potential, protocol)
                    timings.setdefault((threads, kind, n_cells), []).append(ms)
    n_atoms = len(states[0].numbers)
    print(f"{potential.version} on {args.device} ({os.cpu_count()} CPU cores), LiAlCl2.5O0.75, "
          f"{n_atoms} atoms, {args.steps} steps x {args.repeat} repeats (median, min-max)")
    print("| torch threads | step | cells per call | ms per step | ms per cell-step | "
          "cells x atoms x steps/s |")
    print("|---|---|---|---|---|---|")
    for (threads, kind, n_cells), values in sorted(timings.items()):
        median = statistics.median(values)
        print(f"| {threads} | {kind} | {n_cells} | {median:.0f} ({min(values):.0f}-"
              f"{max(values):.0f}) | {median / n_cells:.0f} | "
              f"{n_cells * n_atoms * 1000.0 / median:.0f} |")
    single = min(args.cells)
    t_nvt = statistics.median(timings[(1, "nvt", single)]) / 1000.0 / single
    t_npt = statistics.median(timings[(1, "npt", single)]) / 1000.0 / single
    workers = 1 if args.device != "cpu" else os.cpu_count() or 1
    print(f"\n| protocol | NVT + FIRE steps (all replicas, shortest-longest) | NPT steps | "
          f"ps at most | candidates per hour ({workers} worker(s), {single} cell(s) per call) |")
    print("|---|---|---|---|---|")
    for name, p in PROTOCOLS.items():
        nvt, npt = steps_per_candidate(p)
        nvt_max, _ = steps_per_candidate(p, longest=True)
        rates = [workers * 3600.0 / (n * t_nvt + npt * t_npt) for n in (nvt_max, nvt)]
        print(f"| {name} | {nvt}-{nvt_max} | {npt} | {p.total_ps():.1f} | "
              f"{rates[0]:.2f}-{rates[1]:.2f} |")


if __name__ == "__main__":
    main()
