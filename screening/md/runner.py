"""Run the stages of a protocol for a group of cells, checkpointing after every segment.

A *job* is one cell and one stage: the ``glass`` of a candidate's replica, or that replica's
production at one temperature (which starts from its glass). Jobs of a group advance in
lockstep, one batched potential call per step. Each job owns a directory
(``<candidate>/r<replica>/<stage>``)::

    checkpoint.npz        state after the last finished segment (written atomically)
    frames-P-SSSSSS.npz   frames recorded in phase P from step SSSSSS (one file per segment)
    trajectory.traj       every recorded frame, as an ASE trajectory (when the stage is done)
    final.npz             the final state (the glass is where production starts)
    summary.json          written last: the job is done when it exists

A job killed at any point restarts from its checkpoint; frames after it are recomputed, and since
the state holds the random generator, the result is the same as an uninterrupted run's on the
same device and batch.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import Trajectory

from screening.atomic import atomic_write, write_text
from screening.cluster import keep_freed_memory
from screening.md import analysis
from screening.md.cell import density_g_cm3, pack, whole_atoms
from screening.md.dynamics import CellState, adopt_mean_volume, fire, maxwell_boltzmann, run_md
from screening.md.potentials import Potential, load_potential
from screening.md.protocol import Phase, Protocol

GLASS = "glass"
_CHECKPOINT = "checkpoint.npz"
_FINAL = "final.npz"
_SUMMARY = "summary.json"
_TRAJECTORY = "trajectory.traj"
#: Written by a glass job whose composition only packed at a lower packing fraction.
_PACKING = "packing.json"


@dataclass(frozen=True)
class Job:
    """One cell and one stage of ``formula``'s replica ``replica`` under a candidate directory;
    with ``density_g_cm3`` the cell is held at that density (every phase at constant volume)."""

    formula: str
    candidate_dir: Path
    temperature_K: float | None = None
    replica: int = 0
    density_g_cm3: float | None = None

    @property
    def stage(self) -> str:
        return GLASS if self.temperature_K is None else f"T{self.temperature_K:g}K"

    @property
    def replica_dir(self) -> Path:
        return self.candidate_dir / f"r{self.replica}"

    @property
    def directory(self) -> Path:
        return self.replica_dir / self.stage

    def phases(self, protocol: Protocol) -> tuple[Phase, ...]:
        fixed = self.density_g_cm3 is not None
        if self.temperature_K is None:
            return protocol.glass_phases(fixed)
        return protocol.production_phases(self.temperature_K, fixed)

    def seed(self, protocol: Protocol) -> np.random.SeedSequence:
        """Seed from the protocol seed, the formula, the stage and the replica, never from
        Python's hash()."""
        tag = f"{self.formula}|{self.stage}" + (f"|r{self.replica}" if self.replica else "")
        digest = hashlib.sha256(tag.encode()).digest()
        return np.random.SeedSequence([protocol.seed, int.from_bytes(digest[:8], "little")])

    def is_done(self) -> bool:
        return (self.directory / _SUMMARY).exists()


def _atomic_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_write(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def _atomic_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, indent=1))


def read_summary(job: Job) -> dict:
    """The summary of a finished job."""
    return json.loads((job.directory / _SUMMARY).read_text())


@dataclass
class _Progress:
    state: CellState
    phase_index: int
    step: int
    wall_s: float
    ps_done: float


def _save_checkpoint(job: Job, p: _Progress) -> None:
    s = p.state
    optional = {k: v for k, v in (("forces", s.forces), ("stress", s.stress)) if v is not None}
    _atomic_npz(job.directory / _CHECKPOINT, numbers=s.numbers, positions=s.positions,
                cell=s.cell, velocities=s.velocities, volume=[s.volume_sum, s.volume_count],
                where=[p.phase_index, p.step], clock=[p.wall_s, p.ps_done],
                rng=np.array(json.dumps(s.rng.bit_generator.state)), **optional)


def _load_checkpoint(job: Job) -> _Progress:
    with np.load(job.directory / _CHECKPOINT) as data:
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = json.loads(str(data["rng"]))
        state = CellState(data["numbers"], data["positions"], data["cell"], data["velocities"],
                          rng, data.get("forces"), data.get("stress"),
                          float(data["volume"][0]), int(data["volume"][1]))
        phase_index, step = (int(v) for v in data["where"])
        wall_s, ps_done = (float(v) for v in data["clock"])
    return _Progress(state, phase_index, step, wall_s, ps_done)


def ps_done(job: Job, protocol: Protocol) -> float:
    """Picoseconds of MD this job has behind it (all of it once done)."""
    if job.is_done():
        return float(read_summary(job)["ps"])
    if (job.directory / _CHECKPOINT).exists():
        with np.load(job.directory / _CHECKPOINT) as data:
            return float(data["clock"][1])
    return 0.0


def _start(job: Job, protocol: Protocol) -> _Progress:
    rng = np.random.default_rng(job.seed(protocol))
    if job.temperature_K is None:
        counts = whole_atoms(job.formula, protocol.target_atoms, protocol.max_atoms)
        atoms, fraction = pack(counts, protocol.packing_fraction, rng, job.density_g_cm3)
        if fraction != protocol.packing_fraction:
            (job.directory / _PACKING).write_text(json.dumps({"packing_fraction": fraction}))
        state = CellState(atoms.numbers, atoms.positions, np.array(atoms.cell),
                          np.zeros_like(atoms.positions), rng)
    else:
        with np.load(job.replica_dir / GLASS / _FINAL) as glass:
            state = CellState(glass["numbers"], glass["positions"], glass["cell"],
                              np.zeros_like(glass["positions"]), rng)
    return _Progress(state, 0, 0, 0.0, 0.0)


def _resume(job: Job, protocol: Protocol) -> _Progress:
    job.directory.mkdir(parents=True, exist_ok=True)
    if not (job.directory / _CHECKPOINT).exists():
        for stale in job.directory.glob("frames-*.npz"):
            stale.unlink()
        return _start(job, protocol)
    progress = _load_checkpoint(job)
    for frames in job.directory.glob("frames-*.npz"):
        phase, step = (int(v) for v in frames.stem.split("-")[1:])
        if (phase, step) >= (progress.phase_index, progress.step):
            frames.unlink()  # written after the checkpoint by a killed run
    return progress


@lru_cache(maxsize=2)
def _potential(ref: str, device: str) -> Potential:
    # One model per worker process, kept across tasks.
    return load_potential(ref, device)


def run_jobs(jobs: Sequence[Job], protocol: Protocol, potential_ref: str, device: str = "cpu",
             torch_threads: int | None = None,
             report: Callable[[float], None] | None = None) -> list[str]:
    """Run (or resume) ``jobs`` together until each is done; returns their stages.

    ``report(ps)`` is called after every segment with the picoseconds it simulated per cell.
    """
    keep_freed_memory()
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    todo = [job for job in jobs if not job.is_done()]
    if not todo:
        return [job.stage for job in jobs]
    potential = _potential(potential_ref, device)
    progress = {job: _resume(job, protocol) for job in todo}
    while progress:
        position = min((p.phase_index, p.step) for p in progress.values())
        group = [job for job, p in progress.items() if (p.phase_index, p.step) == position]
        _segment(group, [progress[j] for j in group], protocol, potential, report)
        for job in group:
            if progress[job].phase_index == len(job.phases(protocol)):
                _finish(job, progress.pop(job), protocol, potential)
    return [job.stage for job in jobs]


def _segment(jobs: list[Job], progress: list[_Progress], protocol: Protocol,
             potential: Potential, report: Callable[[float], None] | None) -> None:
    started = time.perf_counter()
    phase_index, step = progress[0].phase_index, progress[0].step
    phases = [job.phases(protocol)[phase_index] for job in jobs]
    states = [p.state for p in progress]
    if phases[0].kind == "minimize":
        fire(states, potential, phases[0].n_steps)
        n_steps, ps = phases[0].n_steps, 0.0
    else:
        all_phases = jobs[0].phases(protocol)
        if step == 0 and (phase_index == 0 or all_phases[phase_index - 1].kind == "minimize"):
            for state, phase in zip(states, phases, strict=True):
                maxwell_boltzmann(state, phase.start_K)
        n_steps = min(protocol.segment_steps, phases[0].n_steps - step)
        frames = run_md(states, phases, potential, protocol, step, n_steps)
        for job, recorded in zip(jobs, frames, strict=True):
            if recorded:
                _atomic_npz(job.directory / f"frames-{phase_index}-{step:06d}.npz",
                            positions=np.array([f[0] for f in recorded]),
                            cell=np.array([f[1] for f in recorded]))
        ps = n_steps * protocol.timestep_fs / 1000.0
    share = (time.perf_counter() - started) / len(jobs)
    for job, p, phase in zip(jobs, progress, phases, strict=True):
        p.step += n_steps
        p.wall_s += share
        p.ps_done += ps
        if p.step < phase.n_steps and _converged(job, phase, p.step, protocol):
            p.step = phase.n_steps  # D is known well enough: the production ends here
        if p.step == phase.n_steps:
            if phase.adopt_mean_volume:
                adopt_mean_volume(p.state)
            p.phase_index, p.step = p.phase_index + 1, 0
        _save_checkpoint(job, p)
    if report is not None and ps:
        report(ps * len(jobs))


def _converged(job: Job, phase: Phase, step: int, protocol: Protocol) -> bool:
    """Whether a production phase at ``step`` may stop: at a check point past the minimum
    length, with D's relative uncertainty below the target. Decided from the frames on disk and
    a seeded sampler, so a resumed run decides the same."""
    minimum, every = protocol.steps(protocol.production_ps), protocol.steps(protocol.check_ps)
    if phase.name != "production" or step < minimum or (step - minimum) % every:
        return False
    with np.load(job.replica_dir / GLASS / _FINAL) as glass:
        atoms = Atoms(numbers=glass["numbers"], positions=glass["positions"],
                      cell=glass["cell"], pbc=True)
    samples = _diffusion(job, protocol, atoms, _frames(job))
    return _is_converged(samples, protocol)


def _is_converged(samples: np.ndarray, protocol: Protocol) -> bool:
    return bool(samples.std() < protocol.target_rel_unc * samples.mean())


def _diffusion(job: Job, protocol: Protocol, atoms: Atoms,
               frames: list[tuple[int, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Posterior samples of D (cm2/s) from the production frames of ``job`` (``atoms``: the
    cell, for its species)."""
    production = len(job.phases(protocol)) - 1
    recorded = [(pos, cell) for phase, pos, cell in frames if phase == production]
    return analysis.diffusion_samples(
        atoms, recorded, protocol.timestep_fs * protocol.record_every / 1000.0,
        protocol.diffusive_from * protocol.production_ps, seed=protocol.seed,
        n_samples=protocol.posterior_samples)


def _frames(job: Job) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Every recorded frame of a job in order, as (phase index, positions, cell)."""
    files = sorted(job.directory.glob("frames-*.npz"),
                   key=lambda f: tuple(int(v) for v in f.stem.split("-")[1:]))
    frames = []
    for path in files:
        with np.load(path) as data:
            phase = int(path.stem.split("-")[1])
            frames += [(phase, pos, cell) for pos, cell in zip(data["positions"], data["cell"],
                                                                strict=True)]
    return frames


def _finish(job: Job, p: _Progress, protocol: Protocol, potential: Potential) -> None:
    state = p.state
    frames = _frames(job)
    with (atomic_write(job.directory / _TRAJECTORY) as tmp,
          Trajectory(str(tmp), "w") as trajectory):
        for phase, positions, cell in frames:
            atoms = state.atoms()
            atoms.set_cell(cell)
            atoms.positions = positions
            atoms.info["phase"] = job.phases(protocol)[phase].name
            trajectory.write(atoms)
    _atomic_npz(job.directory / _FINAL, numbers=state.numbers, positions=state.positions,
                cell=state.cell, velocities=state.velocities)
    atoms = state.atoms()
    summary = {"formula": job.formula, "stage": job.stage, "temperature_K": job.temperature_K,
               "replica": job.replica, "n_atoms": len(atoms),
               "formula_md": atoms.get_chemical_formula("metal"),
               "density_g_cm3": density_g_cm3(atoms), "fixed_density": job.density_g_cm3,
               "wall_s": p.wall_s, "ps": p.ps_done,
               "potential": potential.name, "potential_version": potential.version}
    if (job.directory / _PACKING).exists():
        summary |= json.loads((job.directory / _PACKING).read_text())
    if job.temperature_K is not None:
        samples = _diffusion(job, protocol, atoms, frames)
        production = len(job.phases(protocol)) - 1
        production_ps = sum(1 for phase, *_ in frames if phase == production
                            ) * protocol.record_every * protocol.timestep_fs / 1000.0
        converged = _is_converged(samples, protocol)
        summary |= {"species": analysis.mobile_species(atoms),
                    "n_mobile_per_A3": analysis.number_density_A3(atoms),
                    "production_ps": production_ps, "converged": converged,
                    "stopped_at_cap": not converged and production_ps >= protocol.cap_ps - 1e-9,
                    "D_samples_cm2_s": samples.tolist()}
    _atomic_json(job.directory / _SUMMARY, summary)
    for leftover in [job.directory / _CHECKPOINT, *job.directory.glob("frames-*.npz")]:
        leftover.unlink(missing_ok=True)
