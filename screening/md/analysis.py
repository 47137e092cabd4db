"""Trajectories to a conductivity: MSD -> D (kinisi), Nernst-Einstein, Arrhenius, extrapolation.

- D with its uncertainty comes from kinisi (McCluskey et al., J. Chem. Theory Comput. 20, 2024,
  doi:10.1021/acs.jctc.4c00205): it estimates the covariance of the mean-squared displacement
  and samples the posterior of D; we keep the samples.
- Nernst-Einstein: sigma = n q^2 D / (H_R k_B T), with the Haven ratio H_R of the protocol.
- Replicas: D at a temperature is the mean over the melt-quenched replicas, its uncertainty the
  between-replica spread and the kinisi posteriors together (:func:`replica_mean`).
- Arrhenius: ln D = ln D0 - Ea / (k_B T), fitted to every joint draw of the per-temperature D
  (log-normal draws with the replica mean and uncertainty), so ``ea_eV`` and the extrapolated
  sigma carry the MD uncertainty through. A fit is *resolved* when every D and Ea lie above 3
  uncertainties; only then is sigma extrapolated, otherwise the row says ``unresolved`` and
  gives D at the reference temperature.
- The extrapolation to the operating temperature crosses the glass transition when Tg lies
  between it and the lowest MD temperature: below Tg a glass no longer follows the liquid's
  Arrhenius line, so such a value is an optimistic bound (flagged, never hidden).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from candidates.chemistry import ALKALIS

K_B_EV = 8.617333262e-5
_E_C = 1.602176634e-19
_K_B_J = 1.380649e-23
#: kinisi's ensemble sampler (its defaults, pinned so results do not move with its releases).
_WALKERS, _THIN = 32, 10
#: A value is "resolved" when it is this many standard uncertainties above zero.
RESOLVED_SIGMAS = 3.0
#: An unresolved D is reported as the bound max(D, 0) + this many uncertainties.
UPPER_BOUND_SIGMAS = 2.0


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


def replica_mean(D_samples: Sequence[np.ndarray]) -> tuple[float, float]:
    """D (cm2/s) of a composition and its uncertainty from its replicas' posterior samples: the
    mean over replicas, with variance (between-replica variance + mean posterior variance) / n.
    The spread between glasses counts in full; one replica has only its posterior."""
    means = np.array([np.mean(s) for s in D_samples])
    within = np.mean([np.var(s) for s in D_samples])
    between = np.var(means, ddof=1) if len(means) > 1 else 0.0
    return float(means.mean()), float(np.sqrt((between + within) / len(means)))


def is_resolved(value: float, uncertainty: float) -> bool:
    """A value is resolved when it lies more than 3 uncertainties from zero."""
    return bool(np.isfinite(value) and value > RESOLVED_SIGMAS * uncertainty)


def _draws(D_cm2_s: Sequence[float], D_unc_cm2_s: Sequence[float], n: int,
           seed: int) -> list[np.ndarray]:
    """Log-normal draws of D per temperature matching each mean and uncertainty."""
    rng = np.random.default_rng(seed)
    out = []
    for d, u in zip(D_cm2_s, D_unc_cm2_s, strict=True):
        log_sd = np.sqrt(np.log1p((u / d) ** 2)) if d > 0 else 0.0
        noise = log_sd * rng.standard_normal(n)
        out.append(np.exp(np.log(max(d, 1e-300)) - log_sd ** 2 / 2 + noise))
    return out


def candidate_row(productions: Sequence[dict], glasses: Sequence[dict], haven_ratio: float,
                  target_K: float, reference_K: float, tg_K: float | None,
                  n_draws: int = 4000, seed: int = 0) -> dict:
    """The ``verified.parquet`` row of one candidate from the summaries of its replicas'
    production (every replica, every temperature) and glass stages.

    Sigma at ``target_K`` comes only from a resolved Arrhenius fit (two or more temperatures,
    every D and Ea above 3 uncertainties); otherwise it is NaN and ``status`` says why, while
    ``D_ref_cm2_s`` (D at ``reference_K``) still ranks. ``sigma_log10_S_cm_ref`` is NaN when
    that D is not positive; ``sigma_log10_S_cm_ref_upper`` is the conductivity of the bound
    max(D, 0) + 2 uncertainties, which is what an unresolved D says.
    """
    temperatures = sorted({s["temperature_K"] for s in productions})
    at = {t: [s for s in productions if s["temperature_K"] == t] for t in temperatures}
    D, D_unc = zip(*(replica_mean([np.asarray(s["D_samples_cm2_s"]) for s in at[t]])
                     for t in temperatures), strict=True)
    ea, ln_d0 = (arrhenius_samples(temperatures, _draws(D, D_unc, n_draws, seed))
                 if len(temperatures) > 1 else (np.full(n_draws, np.nan), np.full(n_draws, np.nan)))
    ea_eV, ea_unc_eV = float(np.mean(ea)), float(np.std(ea))
    d_resolved = [is_resolved(d, u) for d, u in zip(D, D_unc, strict=True)]
    ref = temperatures.index(reference_K)
    if len(temperatures) < 2:
        status = f"unresolved: one temperature, no Ea (D at {reference_K:g} K given)"
    elif not all(d_resolved):
        cold = [f"{t:g} K" for t, ok in zip(temperatures, d_resolved, strict=True) if not ok]
        status = f"unresolved: D below 3 sigma at {', '.join(cold)}"
    elif not is_resolved(ea_eV, ea_unc_eV):
        status = f"unresolved: Ea {ea_eV:.2f} +- {ea_unc_eV:.2f} eV is below 3 sigma"
    else:
        status = "resolved"
    first = at[temperatures[0]][0]
    n_per_A3 = float(np.mean([s["n_mobile_per_A3"] for s in productions]))
    n_glass = n_per_A3 * np.mean([g["density_g_cm3"] for g in glasses]) / np.mean(
        [s["density_g_cm3"] for s in productions])
    sigma_md = sigma_unc_md = float("nan")
    if status == "resolved":
        log_sigma = log10_sigma_S_cm(np.exp(ln_d0 - ea / (K_B_EV * target_K)), n_glass,
                                     target_K, haven_ratio)
        sigma_md, sigma_unc_md = float(np.mean(log_sigma)), float(np.std(log_sigma))
    n_ref = float(np.mean([s["n_mobile_per_A3"] for s in at[reference_K]]))
    ref_log_sigma = (log10_sigma_S_cm(_draws([D[ref]], [D_unc[ref]], n_draws, seed)[0], n_ref,
                                      reference_K, haven_ratio)
                     if D[ref] > 0 else np.full(n_draws, np.nan))
    # One-sided 97.7 % bound: what an unresolved D still says (it ranks as "at most").
    upper_log_sigma = log10_sigma_S_cm(max(D[ref], 0.0) + UPPER_BOUND_SIGMAS * D_unc[ref],
                                       n_ref, reference_K, haven_ratio)
    densities = [g["density_g_cm3"] for g in glasses]
    return {
        "species": first["species"],
        "n_atoms": glasses[0]["n_atoms"],
        "formula_md": glasses[0]["formula_md"],
        "replicas": len(glasses),
        "density_g_cm3": float(np.mean(densities)),
        "density_unc_g_cm3": float(np.std(densities, ddof=1)) if len(densities) > 1 else 0.0,
        "temperatures_K": temperatures,
        "density_g_cm3_T": [float(np.mean([s["density_g_cm3"] for s in at[t]]))
                            for t in temperatures],
        "D_cm2_s": list(D),
        "D_unc_cm2_s": list(D_unc),
        "production_ps_T": [float(np.mean([s.get("production_ps", np.nan) for s in at[t]]))
                            for t in temperatures],
        "converged_T": [all(s.get("converged", False) for s in at[t]) for t in temperatures],
        "reference_K": reference_K,
        "D_ref_cm2_s": D[ref],
        "D_ref_unc_cm2_s": D_unc[ref],
        "sigma_log10_S_cm_ref": float(np.mean(ref_log_sigma)),
        "sigma_log10_unc_ref": float(np.std(ref_log_sigma)),
        "sigma_log10_S_cm_ref_upper": float(upper_log_sigma),
        "ea_eV": ea_eV,
        "ea_unc_eV": ea_unc_eV,
        "log10_D0_cm2_s": float(np.mean(ln_d0) / np.log(10.0)),
        "temperature_K": target_K,
        "status": status,
        "sigma_log10_S_cm_md": sigma_md,
        "sigma_log10_unc_md": sigma_unc_md,
        "haven_ratio": haven_ratio,
        "tg_K": tg_K,
        "extrapolation_crosses_tg": extrapolation_crosses_tg(tg_K, target_K, temperatures),
        "ps_simulated": sum(g["ps"] for g in glasses) + sum(s["ps"] for s in productions),
        "wall_s": sum(g["wall_s"] for g in glasses) + sum(s["wall_s"] for s in productions),
    }
