"""Trajectories to a conductivity: MSD -> D (kinisi), Nernst-Einstein, Arrhenius, extrapolation.

- D with its uncertainty comes from kinisi (McCluskey et al., J. Chem. Theory Comput. 20, 2024,
  doi:10.1021/acs.jctc.4c00205): it estimates the covariance of the mean-squared displacement
  and samples the posterior of D; we keep the samples.
- Nernst-Einstein: sigma = n q^2 D / (H_R k_B T), with the Haven ratio H_R of the protocol.
- Arrhenius: ln D = ln D0 - Ea / (k_B T), fitted to every joint draw of the per-temperature D
  samples, so ``ea_eV`` and the extrapolated sigma carry the MD uncertainty through.
- The extrapolation to the operating temperature crosses the glass transition when Tg lies
  between it and the lowest MD temperature: below Tg a glass no longer follows the liquid's
  Arrhenius line, so such a value is an optimistic bound (flagged, never hidden).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from candidates.space import ALKALIS

K_B_EV = 8.617333262e-5
_E_C = 1.602176634e-19
_K_B_J = 1.380649e-23
#: kinisi's ensemble sampler (its defaults, pinned so results do not move with its releases).
_WALKERS, _THIN = 32, 10


def mobile_species(atoms: Atoms) -> str:
    """The most abundant alkali of the cell: the ion whose diffusion is measured."""
    symbols = atoms.get_chemical_symbols()
    alkalis = [s for s in set(symbols) if s in ALKALIS]
    if not alkalis:
        raise ValueError(f"{atoms.get_chemical_formula()} has no alkali ion to follow")
    return max(sorted(alkalis), key=symbols.count)


def number_density_A3(atoms: Atoms) -> float:
    """Mobile ions per cubic angstrom."""
    species = mobile_species(atoms)
    return atoms.get_chemical_symbols().count(species) / atoms.get_volume()


def diffusion_samples(atoms: Atoms, frames: Sequence[tuple[np.ndarray, np.ndarray]],
                      frame_interval_ps: float, diffusive_from_ps: float, seed: int = 0,
                      n_samples: int = 1000) -> np.ndarray:
    """Posterior samples of the mobile ion's tracer D (cm2/s) from ``frames`` (positions, cell)
    recorded every ``frame_interval_ps``, taking the MSD as diffusive from ``diffusive_from_ps``
    (``n_samples`` steps of kinisi's 32-walker sampler, thinned by 10)."""
    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer

    trajectory = []
    for positions, cell in frames:
        frame = atoms.copy()
        frame.set_cell(cell)
        frame.positions = positions
        trajectory.append(frame)
    analyzer = DiffusionAnalyzer.from_ase(
        trajectory, specie=mobile_species(atoms),
        time_step=sc.scalar(frame_interval_ps, unit="ps"),
        step_skip=sc.scalar(1, unit=sc.units.dimensionless), progress=False)
    analyzer.diffusion(sc.scalar(diffusive_from_ps, unit="ps"), progress=False,
                       random_state=np.random.RandomState(seed), n_samples=n_samples,
                       n_burn=n_samples // 2, n_walkers=_WALKERS, n_thin=_THIN)
    return np.asarray(sc.to_unit(analyzer.D, "cm^2/s").values, dtype=float)


def log10_sigma_S_cm(D_cm2_s: np.ndarray, n_per_A3: float, temperature_K: float,
                     haven_ratio: float) -> np.ndarray:
    """Nernst-Einstein conductivity (log10 S/cm) of monovalent ions of density ``n_per_A3``."""
    sigma_S_m = (n_per_A3 * 1e30 * _E_C ** 2 * np.asarray(D_cm2_s) * 1e-4
                 / (haven_ratio * _K_B_J * temperature_K))
    with np.errstate(divide="ignore"):
        return np.log10(sigma_S_m / 100.0)


def arrhenius_samples(temperatures_K: Sequence[float],
                      D_samples: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Ea (eV) and ln D0 (D0 in cm2/s) for every joint draw of the per-temperature samples
    (draw i of each temperature; the temperatures are independent runs)."""
    n = min(len(s) for s in D_samples)
    ln_d = np.log(np.maximum(np.array([np.asarray(s[:n]) for s in D_samples]), 1e-300))
    inverse_kT = 1.0 / (K_B_EV * np.asarray(temperatures_K, dtype=float))
    design = np.column_stack([np.ones_like(inverse_kT), -inverse_kT])
    (ln_d0, ea), *_ = np.linalg.lstsq(design, ln_d, rcond=None)
    return ea, ln_d0


def extrapolation_crosses_tg(tg_K: float | None, target_K: float,
                             temperatures_K: Sequence[float]) -> bool | None:
    """True when Tg lies between ``target_K`` and the lowest MD temperature; None if Tg unknown."""
    if tg_K is None or not np.isfinite(tg_K):
        return None
    return bool(min(target_K, min(temperatures_K)) < tg_K < max(target_K, min(temperatures_K)))


def candidate_row(summaries: Sequence[dict], glass: dict, haven_ratio: float, target_K: float,
                  tg_K: float | None) -> dict:
    """The ``verified.parquet`` row of one candidate from its production and glass summaries."""
    summaries = sorted(summaries, key=lambda s: s["temperature_K"])
    temperatures = [s["temperature_K"] for s in summaries]
    samples = [np.asarray(s["D_samples_cm2_s"]) for s in summaries]
    ea, ln_d0 = arrhenius_samples(temperatures, samples)
    # Conductivity at the operating temperature, with the mobile-ion density of the glass.
    n_glass = summaries[0]["n_mobile_per_A3"] * glass["density_g_cm3"] / summaries[0][
        "density_g_cm3"]
    d_target = np.exp(ln_d0 - ea / (K_B_EV * target_K))
    log_sigma = log10_sigma_S_cm(d_target, n_glass, target_K, haven_ratio)
    return {
        "species": summaries[0]["species"],
        "n_atoms": glass["n_atoms"],
        "formula_md": glass["formula_md"],
        "density_g_cm3": glass["density_g_cm3"],
        "temperatures_K": temperatures,
        "density_g_cm3_T": [s["density_g_cm3"] for s in summaries],
        "D_cm2_s": [float(np.mean(s)) for s in samples],
        "D_unc_cm2_s": [float(np.std(s)) for s in samples],
        "sigma_log10_S_cm_T": [float(np.mean(log10_sigma_S_cm(
            d, s["n_mobile_per_A3"], s["temperature_K"], haven_ratio)))
            for d, s in zip(samples, summaries, strict=True)],
        "ea_eV": float(np.mean(ea)),
        "ea_unc_eV": float(np.std(ea)),
        "log10_D0_cm2_s": float(np.mean(ln_d0) / np.log(10.0)),
        "temperature_K": target_K,
        "sigma_log10_S_cm_md": float(np.mean(log_sigma)),
        "sigma_log10_unc_md": float(np.std(log_sigma)),
        "haven_ratio": haven_ratio,
        "tg_K": tg_K,
        "extrapolation_crosses_tg": extrapolation_crosses_tg(tg_K, target_K, temperatures),
        "ps_simulated": glass["ps"] + sum(s["ps"] for s in summaries),
        "wall_s": glass["wall_s"] + sum(s["wall_s"] for s in summaries),
    }
