"""Batched molecular dynamics: many cells advanced in lockstep, one potential call per step.

Each cell carries its own state and random generator, so a cell's trajectory depends only on its
seed and its inputs, and a checkpointed state resumes bit for bit on the same device. The
integrators are the textbook ones, written for batches:

- velocity Verlet with the Bussi-Donadio-Parrinello stochastic velocity rescaling thermostat
  (J. Chem. Phys. 126, 014101 (2007)): canonical sampling with the least disturbance of the
  dynamics, which is what diffusion coefficients need (unlike Langevin friction);
- the Berendsen barostat (J. Chem. Phys. 81, 3684 (1984)), isotropic, for NPT phases that only
  relax the volume (the protocol then runs NVT at the mean volume);
- FIRE (Bitzek et al., PRL 97, 170201 (2006)) to take the worst contacts out of a random packing.

Units are ASE's: A, eV, amu, and ASE time (``ase.units.fs`` per femtosecond).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms, units

from screening.md.potentials import Potential
from screening.md.protocol import Phase, Protocol

#: Largest relative volume change one barostat step may make (keeps a bad start from exploding).
_MAX_VOLUME_STEP = 0.01
#: FIRE parameters (ASE's defaults, in ASE time; unit masses).
_FIRE = {"dt": 0.1, "dt_max": 1.0, "max_move_A": 0.2, "n_min": 5, "f_inc": 1.1, "f_dec": 0.5,
         "a_start": 0.1, "f_a": 0.99}


@dataclass
class CellState:
    """One cell's dynamical state; ``positions`` are unwrapped (atoms never jump across the box)."""

    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    velocities: np.ndarray
    rng: np.random.Generator
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    #: Sum and count of volumes over the second half of the current NPT phase.
    volume_sum: float = 0.0
    volume_count: int = 0
    masses: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.masses = Atoms(numbers=self.numbers).get_masses()

    def atoms(self) -> Atoms:
        """The cell as ASE ``Atoms`` (positions unwrapped)."""
        return Atoms(numbers=self.numbers, positions=self.positions, cell=self.cell, pbc=True)

    @property
    def volume_A3(self) -> float:
        return float(abs(np.linalg.det(self.cell)))

    def kinetic_eV(self) -> float:
        return float(0.5 * np.sum(self.masses[:, None] * self.velocities ** 2))

    def temperature_K(self) -> float:
        return 2.0 * self.kinetic_eV() / (self.dof * units.kB)

    @property
    def dof(self) -> int:
        return 3 * len(self.numbers) - 3

    def scale(self, factor: float) -> None:
        """Scale the cell and positions isotropically by ``factor`` (a length ratio)."""
        self.cell = self.cell * factor
        self.positions = self.positions * factor


def maxwell_boltzmann(state: CellState, temperature_K: float) -> None:
    """Draw velocities at ``temperature_K`` from the cell's generator, with zero total momentum."""
    sigma = np.sqrt(units.kB * temperature_K / state.masses)[:, None]
    velocities = state.rng.standard_normal(state.positions.shape) * sigma
    momentum = (state.masses[:, None] * velocities).sum(axis=0)
    state.velocities = velocities - momentum / state.masses.sum()


def _evaluate(potential: Potential, states: Sequence[CellState], stress: bool) -> None:
    for state, result in zip(states, potential.evaluate([s.atoms() for s in states], stress),
                             strict=True):
        state.forces = result.forces_eV_A
        state.stress = result.stress_eV_A3


def _bussi(state: CellState, target_K: float, dt: float, tau: float) -> None:
    kinetic = state.kinetic_eV()
    if kinetic <= 0.0:
        return
    decay = np.exp(-dt / tau)
    share = (1.0 - decay) * 0.5 * units.kB * target_K / kinetic
    r = state.rng.standard_normal()
    s = state.rng.chisquare(state.dof - 1)
    alpha2 = decay + share * (s + r * r) + 2.0 * r * np.sqrt(decay * share)
    state.velocities *= np.sqrt(max(alpha2, 0.0))


def _berendsen(state: CellState, dt: float, tau: float, compressibility: float) -> None:
    pressure = -np.trace(state.stress) / 3.0 + 2.0 * state.kinetic_eV() / (3.0 * state.volume_A3)
    ratio = 1.0 + compressibility * dt / tau * pressure  # target pressure 0
    ratio = min(max(ratio, 1.0 - _MAX_VOLUME_STEP), 1.0 + _MAX_VOLUME_STEP)
    state.scale(ratio ** (1.0 / 3.0))


def run_md(states: Sequence[CellState], phases: Sequence[Phase], potential: Potential,
           protocol: Protocol, first_step: int, n_steps: int) -> list[list[tuple]]:
    """Advance ``states`` (one :class:`Phase` each, same kind and length) by ``n_steps`` from step
    ``first_step`` of their phase; returns each cell's recorded frames (positions, cell)."""
    dt = protocol.timestep_fs * units.fs
    tau_t = protocol.thermostat_ps * 1000.0 * units.fs
    tau_p = protocol.barostat_ps * 1000.0 * units.fs
    compressibility = 1.0 / (protocol.bulk_modulus_GPa * units.GPa)
    npt = phases[0].kind == "npt"
    frames: list[list[tuple]] = [[] for _ in states]
    if any(s.forces is None or (npt and s.stress is None) for s in states):
        _evaluate(potential, states, npt)
    for step in range(first_step, first_step + n_steps):
        for state in states:
            state.velocities += 0.5 * dt * state.forces / state.masses[:, None]
            state.positions = state.positions + dt * state.velocities
        _evaluate(potential, states, npt)
        for i, (state, phase) in enumerate(zip(states, phases, strict=True)):
            target_K = phase.start_K + (phase.end_K - phase.start_K) * (step + 1) / phase.n_steps
            state.velocities += 0.5 * dt * state.forces / state.masses[:, None]
            _bussi(state, target_K, dt, tau_t)
            if npt:
                _berendsen(state, dt, tau_p, compressibility)
                if step >= phase.n_steps // 2:
                    state.volume_sum += state.volume_A3
                    state.volume_count += 1
            if phase.record_every and (step + 1) % phase.record_every == 0:
                frames[i].append((state.positions.copy(), state.cell.copy()))
    return frames


def adopt_mean_volume(state: CellState) -> None:
    """Scale the cell to the mean volume accumulated over its last NPT phase, then reset it."""
    if state.volume_count:
        state.scale((state.volume_sum / state.volume_count / state.volume_A3) ** (1.0 / 3.0))
        state.forces = state.stress = None
    state.volume_sum, state.volume_count = 0.0, 0


def fire(states: Sequence[CellState], potential: Potential, n_steps: int) -> None:
    """``n_steps`` of FIRE on every state at once (positions only; velocities are left zero)."""
    p = _FIRE
    velocity = [np.zeros_like(s.positions) for s in states]
    dt = [p["dt"]] * len(states)
    alpha = [p["a_start"]] * len(states)
    since_negative = [0] * len(states)
    for _ in range(n_steps):
        _evaluate(potential, states, False)
        for i, state in enumerate(states):
            f, v = state.forces, velocity[i]
            power = float(np.vdot(f, v))
            if power > 0.0:
                v[:] = (1.0 - alpha[i]) * v + alpha[i] * f / np.linalg.norm(f) * np.linalg.norm(v)
                since_negative[i] += 1
                if since_negative[i] > p["n_min"]:
                    dt[i] = min(dt[i] * p["f_inc"], p["dt_max"])
                    alpha[i] *= p["f_a"]
            else:
                v[:] = 0.0
                alpha[i], since_negative[i] = p["a_start"], 0
                dt[i] *= p["f_dec"]
            v += dt[i] * f
            move = dt[i] * v
            longest = np.sqrt((move ** 2).sum(axis=1)).max()
            if longest > p["max_move_A"]:
                move *= p["max_move_A"] / longest
            state.positions = state.positions + move
    for state in states:
        state.forces = state.stress = None
        state.velocities = np.zeros_like(state.positions)
