"""Melt-quench MD protocols as data: one frozen dataclass per preset, every parameter in the open.

A protocol runs in two stages, each a list of :class:`Phase` (after atomate2's MPMorph flows):

- ``glass`` (once per candidate): a short minimisation of the random packing, an NVT melt above
  the liquidus, and an NPT quench to ``glass_K`` that relaxes the volume as the melt cools;
- ``production`` (once per candidate and temperature, from the quenched glass): NPT at the
  temperature to find its volume (skipped when ``npt_ps`` is 0), then NVT at the mean volume of
  the second half of that NPT, recording frames for the alkali mean-squared displacement.

Both stages run once per *replica*: ``replicas`` independent melt-quenched cells (own random
packing, own seed), because the spread between glasses is usually the largest error of glass MD.
At a given density (``fixed_density``) every phase runs at constant volume instead.

Production is driven by convergence: it runs ``production_ps``, then every ``check_ps`` it asks
kinisi for D and stops once D's relative uncertainty is below ``target_rel_unc``, or at
``production_cap_ps`` (the summary says which).

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
    #: Independent melt-quench cells per composition.
    replicas: int = 1
    #: Production stops here at the latest (0: exactly ``production_ps``), checking D's relative
    #: uncertainty against ``target_rel_unc`` every ``check_ps`` after ``production_ps``.
    production_cap_ps: float = 0.0
    check_ps: float = 0.5
    target_rel_unc: float = 0.2
    #: Where D is reported when the Arrhenius fit is not resolved (one of ``temperatures_K``).
    reference_K: float = 0.0

    def __post_init__(self) -> None:
        if self.reference_K and self.reference_K not in self.temperatures_K:
            raise ProtocolError(f"protocol {self.name}: reference_K {self.reference_K:g} is not "
                                f"one of its temperatures {self.temperatures_K}")

    @property
    def reference_temperature_K(self) -> float:
        """The temperature at which D is reported for every row (the lowest by default)."""
        return self.reference_K or min(self.temperatures_K)

    @property
    def cap_ps(self) -> float:
        """The longest production run, in ps."""
        return max(self.production_cap_ps, self.production_ps)

    def steps(self, ps: float) -> int:
        """Whole MD steps in ``ps`` picoseconds."""
        return round(ps * 1000.0 / self.timestep_fs)

    def glass_phases(self, fixed_density: bool = False) -> tuple[Phase, ...]:
        """Minimise, melt, quench (with the volume relaxing as it cools, unless the density is
        fixed)."""
        return (
            Phase("relax", "minimize", self.relax_steps),
            Phase("melt", "nvt", self.steps(self.melt_ps), self.melt_K, self.melt_K,
                  record_every=self.record_every * 5),
            Phase("quench", "nvt" if fixed_density else "npt", self.steps(self.quench_ps),
                  self.melt_K, self.glass_K, record_every=self.record_every * 5,
                  adopt_mean_volume=not fixed_density),
        )

    def production_phases(self, temperature_K: float,
                          fixed_density: bool = False) -> tuple[Phase, ...]:
        """Volume at ``temperature_K`` by NPT (unless fixed or ``npt_ps`` is 0), then NVT
        production recording frames, up to the cap (see the module docstring)."""
        production = Phase("production", "nvt", self.steps(self.cap_ps), temperature_K,
                           temperature_K, record_every=self.record_every)
        if fixed_density or not self.npt_ps:
            return (production,)
        return (Phase("npt", "npt", self.steps(self.npt_ps), temperature_K, temperature_K,
                      adopt_mean_volume=True), production)

    @property
    def content_hash(self) -> str:
        """SHA-256 (16 hex digits) of every parameter: a checkpoint is only resumed under it."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def total_ps(self) -> float:
        """Picoseconds of MD per candidate at most, all replicas, stages and temperatures."""
        per_t = self.npt_ps + self.cap_ps
        return (self.melt_ps + self.quench_ps + per_t * len(self.temperatures_K)) * self.replicas


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

#: The CPU protocol: ranks by D at 600 K on 2 cores (docs/md_calibration.md). Three small
#: replicas melted at 1500 K and quenched at 3000 K/ps (fast: the cost of a CPU), production at
#: constant volume from 1 ps, extended by 0.5 ps until D is known to 20 %, at most 2 ps. One
#: temperature, so no Ea: rows are always ``unresolved`` and carry D(600 K) and the calibrated
#: room-temperature sigma instead.
RANK = Protocol(
    name="rank", target_atoms=64, max_atoms=100, packing_fraction=0.45, timestep_fs=2.0,
    relax_steps=30, melt_K=1500.0, melt_ps=0.3, glass_K=600.0, quench_ps=0.3,
    temperatures_K=(600.0,), npt_ps=0.0, production_ps=1.0, record_every=10,
    segment_steps=50, diffusive_from=0.2, posterior_samples=500, replicas=3,
    production_cap_ps=2.0, check_ps=0.5, target_rel_unc=0.2, reference_K=600.0,
)

#: The GPU protocol of issue 17 (the literature's practice, shared/docs/domain.md): 4 replicas of
#: about 300 atoms, melted at 1500 K and quenched at 10 K/ps, five temperatures, production from
#: 20 ps extended to 100 ps until D is known to 10 %. Hours per composition on a CPU.
RESOLVE = Protocol(
    name="resolve", target_atoms=300, max_atoms=400, packing_fraction=0.45, timestep_fs=2.0,
    relax_steps=100, melt_K=1500.0, melt_ps=20.0, glass_K=300.0, quench_ps=120.0,
    temperatures_K=(400.0, 450.0, 500.0, 600.0, 700.0), npt_ps=5.0, production_ps=20.0,
    record_every=50, segment_steps=500, diffusive_from=0.1, replicas=4,
    production_cap_ps=100.0, check_ps=10.0, target_rel_unc=0.1, reference_K=600.0,
)

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (QUICK, STANDARD, RANK, RESOLVE)}


def get_protocol(name: str) -> Protocol:
    """The preset called ``name``."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ProtocolError(f"unknown protocol {name!r}; use one of {sorted(PROTOCOLS)}") from None
