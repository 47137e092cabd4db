"""MD throughput of the physics tier: ms per step and candidates per hour, per protocol.

    .venv/bin/python bench/bench_md.py --steps 40 --repeat 3

Builds the LiAlCl2.5O0.75 starting cell of the protocols (105 atoms), takes the worst contacts
out with FIRE, and times steps of the tier's own integrator with CHGNet: NVT steps (energy and
forces) and NPT steps (stress too), with 1 torch thread (one of ``viglas verify``'s workers on
this machine) and with 2, and three cells batched in one model call. Candidates per hour follow
from the protocol's step counts: ``workers x 3600 / (NVT steps x t_nvt + NPT steps x t_npt)``
with one single-thread worker per core; FIRE steps count as NVT steps.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    potential = load_potential("chgnet", "cpu")
    protocol = PROTOCOLS["quick"]
    timings: dict[tuple[int, str, int], list[float]] = {}
    for _ in range(args.repeat):
        for threads in (1, 2):
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
