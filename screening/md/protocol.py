"""Melt-quench MD protocols as data: one frozen dataclass per preset, every parameter in the open.

A protocol runs in two stages, each a list of :class:`Phase` (after atomate2's MPMorph flows):

- ``glass`` (once per candidate): a short minimisation of the random packing, an NVT melt above
  the liquidus, and an NPT quench to ``glass_K`` that relaxes the volume as the melt cools;
- ``production`` (once per candidate and temperature, from the quenched glass): NPT at the
  temperature to find its volume, then NVT at the mean volume of the second half of that NPT,
  recording frames for the alkali mean-squared displacement.

Phases are cut into segments of ``segment_steps``; a segment is the unit of checkpointing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Literal

from screening.md import MDError

PhaseKind = Literal["minimize", "nvt", "npt"]


class ProtocolError(MDError):
    """An unknown protocol name."""


@dataclass(frozen=True)
class Phase:
    """One step of a stage: ``n_steps`` of ``kind`` with the target temperature ramped linearly
    from ``start_K`` to ``end_K``; frames are kept every ``record_every`` steps (0: none)."""

    name: str
    kind: PhaseKind
    n_steps: int
    start_K: float = 0.0
    end_K: float = 0.0
    record_every: int = 0
    #: After this phase the cell takes the mean volume of the phase's second half (NPT only).
    adopt_mean_volume: bool = False


@dataclass(frozen=True)
class Protocol:
    """A melt-quench-production recipe; see the module docstring for the stages."""

    name: str
    target_atoms: int
    max_atoms: int
    packing_fraction: float
    timestep_fs: float
    relax_steps: int
    melt_K: float
    melt_ps: float
    glass_K: float
    quench_ps: float
    temperatures_K: tuple[float, ...]
    npt_ps: float
    production_ps: float
    record_every: int
    segment_steps: int
    #: Where the MSD is taken as diffusive (kinisi's ``start_dt``), as a fraction of production.
    diffusive_from: float
    thermostat_ps: float = 0.1
    barostat_ps: float = 0.2
    bulk_modulus_GPa: float = 20.0
    #: D_tracer / D_sigma assumed by Nernst-Einstein: 1 ignores ion-ion correlation (glasses
    #: often have 0.3-0.7, so the MD conductivity may be up to about 3x low).
    haven_ratio: float = 1.0
    #: Posterior draws of D that kinisi keeps per temperature (after as many burn-in steps / 2).
    posterior_samples: int = 1000
    seed: int = 0
    #: Cells evaluated in one model pass on a GPU (on a CPU every task holds one cell).
    gpu_batch_cells: int = 16

    def steps(self, ps: float) -> int:
        """Whole MD steps in ``ps`` picoseconds."""
        return round(ps * 1000.0 / self.timestep_fs)

    def glass_phases(self) -> tuple[Phase, ...]:
        """Minimise, melt, quench (with the volume relaxing as it cools)."""
        return (
            Phase("relax", "minimize", self.relax_steps),
            Phase("melt", "nvt", self.steps(self.melt_ps), self.melt_K, self.melt_K,
                  record_every=self.record_every * 5),
            Phase("quench", "npt", self.steps(self.quench_ps), self.melt_K, self.glass_K,
                  record_every=self.record_every * 5, adopt_mean_volume=True),
        )

    def production_phases(self, temperature_K: float) -> tuple[Phase, ...]:
        """Volume at ``temperature_K`` by NPT, then NVT production recording frames."""
        return (
            Phase("npt", "npt", self.steps(self.npt_ps), temperature_K, temperature_K,
                  adopt_mean_volume=True),
            Phase("production", "nvt", self.steps(self.production_ps), temperature_K,
                  temperature_K, record_every=self.record_every),
        )

    @property
    def content_hash(self) -> str:
        """SHA-256 (16 hex digits) of every parameter: a checkpoint is only resumed under it."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def total_ps(self) -> float:
        """Picoseconds of MD per candidate, all stages and temperatures."""
        per_t = self.npt_ps + self.production_ps
        return self.melt_ps + self.quench_ps + per_t * len(self.temperatures_K)


#: A first look: two candidates in under 20 minutes on 2 CPU cores; errors are wide.
QUICK = Protocol(
    name="quick", target_atoms=100, max_atoms=160, packing_fraction=0.5, timestep_fs=2.0,
    relax_steps=40, melt_K=1000.0, melt_ps=0.5, glass_K=300.0, quench_ps=0.5,
    temperatures_K=(600.0, 700.0, 800.0), npt_ps=0.2, production_ps=1.0, record_every=10,
    segment_steps=50, diffusive_from=0.15,
)

#: The protocol of docs/md_validation.md: twice the melt, quench and production of ``quick``
#: (4,650 steps of 100 atoms; docs/performance.md has its cost on 2 CPU cores).
STANDARD = Protocol(
    name="standard", target_atoms=100, max_atoms=160, packing_fraction=0.5, timestep_fs=2.0,
    relax_steps=50, melt_K=1000.0, melt_ps=1.0, glass_K=300.0, quench_ps=1.0,
    temperatures_K=(600.0, 700.0, 800.0), npt_ps=0.4, production_ps=2.0, record_every=10,
    segment_steps=50, diffusive_from=0.15,
)

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (QUICK, STANDARD)}


def get_protocol(name: str) -> Protocol:
    """The preset called ``name``."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ProtocolError(f"unknown protocol {name!r}; use one of {sorted(PROTOCOLS)}") from None
