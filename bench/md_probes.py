"""Probes of the physics tier (issue 17): what moves CHGNet's D(600 K) and what does not.

    .venv/bin/python bench/md_probes.py density LiPO3 2.30 --out /tmp/probes   # NVT at 2.30 g/cm3
    .venv/bin/python bench/md_probes.py pair sevennet-mf-r2scan --out /tmp/probes
    .venv/bin/python bench/md_probes.py crystal --temperature 600         # Li2O: must not diffuse
    .venv/bin/python bench/md_probes.py relax RUN/.../r0/glass/final.npz  # the potential's density

``density`` runs one ladder composition under the ``rank`` protocol (``--replicas``, 1 by
default) held at the given density; ``pair`` runs LiAlCl2.5O0.75 and LiPO3 glass under
``rank`` with another potential. Both go through ``screening.md.calibration.run_ladder``, so a
probe stopped half way resumes from its checkpoints, and a finished one only prints. Each prints
D at 600 K with its uncertainty (the mean and standard deviation over replicas of kinisi's
posterior, as ``viglas calibrate`` reports it) and the density of the cell.

``crystal`` is a check of the engine itself: a perfect Li2O crystal (96 atoms, fluorite,
a = 4.61 A) at ``--temperature`` for 0.5 ps, then 2 ps recording frames; with no vacancy, Li
must rattle in place (a mean-squared displacement that stops growing, well under 1 A2), so any
D the glasses show is the glasses', not the integrator's or the thermostat's.

``relax`` takes quenched glasses (a stage's ``final.npz``) to zero pressure at 0 K (FIRE on
positions and cell, ASE's ``FrechetCellFilter``, forces below 0.05 eV/A or 300 steps) and prints
the density before and after: the potential's own density of that glass, which says whether a
quench left the cell under-dense for the potential or the potential itself is.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from screening.md import calibration, protocol

PAIR = ("LiAlCl2.5O0.75", "LiPO3")
AMU_A3_TO_G_CM3 = 1.66054


def _run(formulas: tuple[str, ...], potential: str, out: Path, replicas: int,
         density_g_cm3: float | None) -> None:
    ladder = calibration.load_ladder()
    ladder = ladder[ladder["formula"].isin(formulas)].copy()
    if density_g_cm3 is not None:
        ladder["density_g_cm3"] = density_g_cm3
    rank = dataclasses.replace(protocol.RANK, replicas=replicas)
    # One worker, which gets every core's torch threads: a probe runs one composition at a time.
    calibration.run_ladder(out, rank, [potential], ladder, device="cpu", workers=1,
                           fixed_density=density_g_cm3 is not None, progress=True)
    rows = calibration.ladder_rows(out, rank, potential, ladder)
    for _, row in rows.iterrows():
        print(f"{row['formula']:16s} {potential}: D(600 K) {row['D_ref_cm2_s']:.2e} +- "
              f"{row['D_ref_unc_cm2_s']:.1e} cm2/s, {row['replicas']} replica(s), density "
              f"{row['density_g_cm3']:.2f} g/cm3, measured log10 sigma "
              f"{row['log10_sigma_measured']:.2f}")


def crystal(temperature_K: float, potential_ref: str) -> None:
    """Li mean-squared displacement in a perfect Li2O crystal (see the module docstring)."""
    import torch
    from ase.build import bulk

    from screening.md.dynamics import CellState, maxwell_boltzmann, run_md
    from screening.md.potentials import load_potential
    from screening.md.protocol import Phase

    torch.set_num_threads(2)
    atoms = bulk("Li2O", "fluorite", a=4.61, cubic=True).repeat(2)
    state = CellState(atoms.numbers, atoms.positions.copy(), atoms.cell.array.copy(),
                      np.zeros((len(atoms), 3)), np.random.default_rng(0))
    maxwell_boltzmann(state, temperature_K)
    potential = load_potential(potential_ref, "cpu")
    rank = protocol.RANK
    run_md([state], [Phase("equilibrate", "nvt", 250, temperature_K, temperature_K)],
           potential, rank, 0, 250)
    production = Phase("production", "nvt", 1000, temperature_K, temperature_K, record_every=10)
    frames = run_md([state], [production], potential, rank, 0, 1000)[0]
    positions = np.array([p for p, _ in frames])[:, atoms.numbers == 3]
    frame_ps = 10 * rank.timestep_fs / 1000.0
    for lag in (5, 25, 50, 75, 99):
        msd = ((positions[lag:] - positions[:-lag]) ** 2).sum(-1).mean()
        print(f"Li2O crystal, {temperature_K:g} K, {potential_ref}: MSD(Li) at "
              f"{lag * frame_ps:.2f} ps = {msd:.3f} A2")


def relax(paths: list[Path]) -> None:
    """Each glass at zero pressure and 0 K (see the module docstring)."""
    import torch
    from ase import Atoms
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE
    from chgnet.model.dynamics import CHGNetCalculator

    torch.set_num_threads(2)
    calculator = CHGNetCalculator(use_device="cpu")
    for path in paths:
        saved = np.load(path)
        atoms = Atoms(numbers=saved["numbers"], positions=saved["positions"],
                      cell=saved["cell"], pbc=True)
        atoms.calc = calculator
        before = atoms.get_masses().sum() / atoms.get_volume() * AMU_A3_TO_G_CM3
        optimizer = FIRE(FrechetCellFilter(atoms), logfile=None)
        optimizer.run(fmax=0.05, steps=300)
        after = atoms.get_masses().sum() / atoms.get_volume() * AMU_A3_TO_G_CM3
        print(f"{path}: {before:.3f} -> {after:.3f} g/cm3 at 0 K and zero pressure "
              f"({optimizer.nsteps} FIRE steps, chgnet)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="probe", required=True)
    density = sub.add_parser("density", help="one ladder composition at a given density")
    density.add_argument("formula")
    density.add_argument("density_g_cm3", type=float)
    pair = sub.add_parser("pair", help="LiAlCl2.5O0.75 and LiPO3 under another potential")
    pair.add_argument("potential")
    for probe in (density, pair):
        probe.add_argument("--out", type=Path, required=True)
        probe.add_argument("--replicas", type=int, default=1)
    cell = sub.add_parser("crystal", help="Li2O crystal: the engine's zero")
    cell.add_argument("--temperature", type=float, default=600.0)
    cell.add_argument("--potential", default="chgnet")
    glasses = sub.add_parser("relax", help="quenched glasses to zero pressure at 0 K")
    glasses.add_argument("glass", type=Path, nargs="+", help="a glass stage's final.npz")
    args = parser.parse_args()
    if args.probe == "density":
        _run((args.formula,), "chgnet", args.out, args.replicas, args.density_g_cm3)
    elif args.probe == "pair":
        _run(PAIR, args.potential, args.out, args.replicas, None)
    elif args.probe == "relax":
        relax(args.glass)
    else:
        crystal(args.temperature, args.potential)


if __name__ == "__main__":
    main()
