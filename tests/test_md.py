"""The physics tier: cells, dynamics, checkpoints and resume, MSD -> D, Arrhenius, verify on Dask.

MD runs on tiny cells with few steps; the Lennard-Jones plug-in (``tests/plugin_potential.py``)
drives the plumbing in seconds and CHGNet, the default, runs a few steps of its own.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from click.testing import CliRunner

from screening import ranking
from screening.cli import main
from screening.md import analysis, protocol, verify
from screening.md.cell import (
    charges,
    density_estimate_g_cm3,
    density_g_cm3,
    random_packing,
    whole_atoms,
)
from screening.md.dynamics import CellState, fire, maxwell_boltzmann, run_md
from screening.md.potentials import PotentialError, load_potential
from screening.md.runner import Job, read_summary, run_jobs

LJ = "tests.plugin_potential:LennardJonesPotential"
ROOT = Path(__file__).resolve().parent.parent

TINY = dataclasses.replace(
    protocol.QUICK, name="tiny", target_atoms=24, relax_steps=5, melt_ps=0.1, quench_ps=0.1,
    temperatures_K=(600.0, 800.0, 1000.0), npt_ps=0.04, production_ps=0.4, segment_steps=20,
    record_every=5, diffusive_from=0.2, posterior_samples=200)


@pytest.fixture()
def tiny_protocol(monkeypatch: pytest.MonkeyPatch) -> protocol.Protocol:
    monkeypatch.setitem(protocol.PROTOCOLS, "tiny", TINY)
    return TINY


def test_whole_atoms_scale_the_formula_to_about_100_atoms_and_keep_charge_balance():
    assert whole_atoms("LiAlCl2.5O0.75", 100, 160) == {"Li": 20, "Al": 20, "Cl": 50, "O": 15}
    assert whole_atoms("LiAlCl4", 100, 160) == {"Li": 17, "Al": 17, "Cl": 68}
    # One integral unit of 0.123 steps is 1000s of atoms: rounded, then the halogen balances.
    counts = whole_atoms("LiAlCl3.754O0.123", 100, 160)
    q = charges(list(counts), list(counts.values()))
    assert sum(q[s] * n for s, n in counts.items()) == 0 and 90 <= sum(counts.values()) <= 110


def test_random_packing_keeps_the_density_and_minimum_distances():
    counts = whole_atoms("LiAlCl2.5O0.75", 100, 160)
    density = density_estimate_g_cm3(counts, 0.5)
    atoms = random_packing(counts, density, np.random.default_rng(3))
    assert len(atoms) == 105 and density_g_cm3(atoms) == pytest.approx(density)
    assert 1.6 < density < 2.2  # LiAlCl4 crystal: 2.0 g/cm3
    distances = atoms.get_all_distances(mic=True)[np.triu_indices(len(atoms), 1)]
    assert distances.min() >= 1.5


def test_diffusion_of_a_synthetic_random_walk_matches_its_known_D():
    rng = np.random.default_rng(7)
    n_ions, edge_A, interval_ps = 48, 14.0, 0.02
    D_cm2_s = 2e-5  # 0.2 A^2/ps
    atoms = Atoms(f"Li{n_ions}Cl{n_ions}", positions=rng.random((2 * n_ions, 3)) * edge_A,
                  cell=[edge_A] * 3, pbc=True)
    hops = rng.normal(0.0, np.sqrt(2 * D_cm2_s * 1e4 * interval_ps), size=(200, n_ions, 3))
    walk = atoms.positions[:n_ions] + np.cumsum(hops, axis=0)
    frames = [(np.vstack([p, atoms.positions[n_ions:]]), atoms.cell.array) for p in walk]
    samples = analysis.diffusion_samples(atoms, frames, interval_ps, 0.2, seed=1)
    assert abs(samples.mean() - D_cm2_s) < 3 * samples.std()
    assert samples.mean() == pytest.approx(D_cm2_s, rel=0.2)
    assert samples.std() / samples.mean() < 0.2


def test_arrhenius_fit_recovers_the_activation_energy_and_carries_the_spread():
    temperatures = [500.0, 600.0, 700.0, 800.0]
    exact = [1e-2 * np.exp(-0.3 / (analysis.K_B_EV * t)) for t in temperatures]
    rng = np.random.default_rng(0)
    samples = [d * np.exp(rng.normal(0, 0.05, 4000)) for d in exact]
    ea, ln_d0 = analysis.arrhenius_samples(temperatures, samples)
    assert ea.mean() == pytest.approx(0.3, abs=0.005) and 0.005 < ea.std() < 0.03
    assert np.exp(ln_d0.mean()) == pytest.approx(1e-2, rel=0.1)


def test_nernst_einstein_by_hand():
    # 1e-2 Li per A^3 with D = 1e-5 cm2/s at 300 K: n e^2 D / kT = 61.9 S/m = 0.619 S/cm.
    assert analysis.log10_sigma_S_cm(1e-5, 1e-2, 300.0, 1.0) == pytest.approx(
        np.log10(0.6193), abs=1e-3)
    assert analysis.log10_sigma_S_cm(1e-5, 1e-2, 300.0, 0.5) == pytest.approx(
        np.log10(2 * 0.6193), abs=1e-3)


@pytest.mark.parametrize("tg_K, expected", [(250.0, False), (400.0, True), (None, None),
                                            (float("nan"), None)])
def test_extrapolation_flags_a_crossing_of_tg(tg_K, expected):
    assert analysis.extrapolation_crosses_tg(tg_K, 298.15, [600.0, 700.0]) is expected


def test_bussi_thermostat_holds_the_target_temperature():
    atoms = random_packing(whole_atoms("LiAlCl4", 24, 48), 1.8, np.random.default_rng(0))
    state = CellState(atoms.numbers, atoms.positions, np.array(atoms.cell),
                      np.zeros_like(atoms.positions), np.random.default_rng(1))
    potential = load_potential(LJ)
    fire([state], potential, 30)
    maxwell_boltzmann(state, 300.0)
    phase = protocol.Phase("nvt", "nvt", 600, 600.0, 600.0)
    run_md([state], [phase], potential, TINY, 0, 150)
    temperatures = []
    for step in range(150, 600, 10):
        run_md([state], [phase], potential, TINY, step, 10)
        temperatures.append(state.temperature_K())
    # 24 atoms fluctuate by sqrt(2 / 69) * 600 K = 100 K about the target; a wrong thermostat
    # (a factor 2 in the degrees of freedom, say) would sit 300 K away.
    assert np.mean(temperatures) == pytest.approx(600.0, abs=100.0)


def test_potentials_resolve_by_name_and_module_and_fail_in_one_line():
    assert load_potential(LJ).version.startswith("ase ")
    with pytest.raises(PotentialError, match="unknown; use one of"):
        load_potential("no-such-potential")
    with pytest.raises(PotentialError, match="cannot import"):
        load_potential("no_such_module:Potential")
    with pytest.raises(PotentialError, match="not a screening.md.potentials.Potential"):
        load_potential("os:abort")  # refused before it is called


def test_chgnet_runs_a_tiny_glass_stage_from_its_wheel(tmp_path):
    small = dataclasses.replace(TINY, target_atoms=12, relax_steps=3, melt_ps=0.02,
                                quench_ps=0.02, segment_steps=10)
    job = Job("LiAlCl4", tmp_path / "LiAlCl4")
    run_jobs([job], small, "chgnet", torch_threads=1)
    summary = read_summary(job)
    assert summary["potential_version"].startswith("chgnet ") and summary["n_atoms"] == 12
    assert summary["ps"] == pytest.approx(0.04) and 1.0 < summary["density_g_cm3"] < 3.0
    assert (job.directory / "trajectory.traj").exists()


def test_chgnet_gives_a_batch_of_cells_what_it_gives_each_alone():
    potential = load_potential("chgnet")
    cells = [random_packing(whole_atoms(f, 12, 24), 1.8, np.random.default_rng(i))
             for i, f in enumerate(["LiAlCl4", "NaAlCl4"])]
    together = potential.evaluate(cells, stress=True)
    for atoms, batched in zip(cells, together, strict=True):
        [alone] = potential.evaluate([atoms], stress=True)
        assert batched.energy_eV == pytest.approx(alone.energy_eV, rel=1e-5)
        np.testing.assert_allclose(batched.forces_eV_A, alone.forces_eV_A, atol=1e-4)
        np.testing.assert_allclose(batched.stress_eV_A3, alone.stress_eV_A3, atol=1e-5)


def _resume_in_subprocess(job: Job) -> subprocess.Popen:
    fields = {k: v for k, v in dataclasses.asdict(TINY).items() if k != "temperatures_K"}
    script = textwrap.dedent(f"""
        import dataclasses
        from pathlib import Path
        from screening.md import protocol
        from screening.md.runner import Job, run_jobs
        tiny = dataclasses.replace(protocol.QUICK, temperatures_K={TINY.temperatures_K!r},
                                   **{fields!r})
        run_jobs([Job("LiAlCl4", Path({str(job.candidate_dir)!r}), {job.temperature_K!r})],
                 tiny, {LJ!r})
    """)
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_run_killed_with_sigkill_resumes_to_the_same_result(tmp_path):
    jobs = {}
    for name in ("reference", "killed"):
        run_jobs([Job("LiAlCl4", tmp_path / name)], TINY, LJ)
        jobs[name] = Job("LiAlCl4", tmp_path / name, 800.0)
    run_jobs([jobs["reference"]], TINY, LJ)
    killed = jobs["killed"]
    process = _resume_in_subprocess(killed)
    checkpoint = killed.directory / "checkpoint.npz"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists():
            with np.load(checkpoint) as data:
                if tuple(data["where"]) >= (1, 60):  # inside production, frames on disk
                    break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not killed.is_done() and list(killed.directory.glob("frames-*.npz"))
    run_jobs([killed], TINY, LJ)
    with np.load(killed.directory / "final.npz") as a, \
            np.load(jobs["reference"].directory / "final.npz") as b:
        np.testing.assert_array_equal(a["positions"], b["positions"])
    summaries = [{k: v for k, v in read_summary(job).items() if k != "wall_s"}
                 for job in jobs.values()]
    assert summaries[0] == summaries[1]


def test_batched_cells_match_cells_run_alone(tmp_path):
    alone = [Job("LiAlCl4", tmp_path / "alone", t) for t in TINY.temperatures_K[:2]]
    together = [Job("LiAlCl4", tmp_path / "together", t) for t in TINY.temperatures_K[:2]]
    for directory in ("alone", "together"):
        run_jobs([Job("LiAlCl4", tmp_path / directory)], TINY, LJ)
    for job in alone:
        run_jobs([job], TINY, LJ)
    run_jobs(together, TINY, LJ)
    for a, b in zip(alone, together, strict=True):
        assert read_summary(a)["D_samples_cm2_s"] == read_summary(b)["D_samples_cm2_s"]


@pytest.fixture(scope="module")
def verified_run(finished_run: Path, tmp_path_factory) -> Path:
    """The tiny screen with two candidates verified by the tiny protocol on a Dask cluster."""
    run_dir = tmp_path_factory.mktemp("verify") / "tiny"
    import shutil

    shutil.copytree(finished_run, run_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(protocol.PROTOCOLS, "tiny", TINY)
        result = verify.verify(run_dir, "tiny", formulas=["LiAlCl4", "LiAlCl4-75%O"],
                               potential_ref=LJ, device="cpu", workers=2, progress=False)
    assert result.failed == {} and result.n_candidates == 2
    return run_dir


def test_verify_writes_one_row_per_candidate_with_its_flag(verified_run):
    table = pd.read_parquet(verified_run / "verified.parquet")
    assert sorted(table["formula"]) == ["LiAlCl2.5O0.75", "LiAlCl4"]
    assert set(table["protocol"]) == {"tiny"} and set(table["potential"]) == {"lennard-jones"}
    for column in ("ea_eV", "ea_unc_eV", "D_ref_cm2_s", "D_ref_unc_cm2_s"):
        assert np.isfinite(table[column]).all()
    # A conductivity at 25 C only beside a resolved fit; every other row says why not.
    resolved = table["status"] == "resolved"
    assert table.loc[resolved, "sigma_log10_S_cm_md"].notna().all()
    assert table.loc[~resolved, "sigma_log10_S_cm_md"].isna().all()
    assert table.loc[~resolved, "status"].str.startswith("unresolved: ").all()
    row = table.set_index("formula").loc["LiAlCl2.5O0.75"]
    assert list(row["temperatures_K"]) == [600.0, 800.0, 1000.0] and row["n_atoms"] == 21
    assert all(d > 0 for d in row["D_cm2_s"]) and row["temperature_K"] == 298.15
    scores = pd.read_parquet(verified_run / "scores.parquet").set_index("formula")
    assert row["tg_K"] == pytest.approx(scores.loc["LiAlCl2.5O0.75", "tg_K"])
    assert (verified_run / "md" / "tiny" / "LiAlCl4" / "r0" / "T600K" / "trajectory.traj").exists()


def test_verify_again_simulates_nothing_and_gives_the_same_table(verified_run, tiny_protocol):
    before = pd.read_parquet(verified_run / "verified.parquet")
    result = verify.verify(verified_run, "tiny", formulas=["LiAlCl4", "LiAlCl2.5O0.75"],
                           potential_ref=LJ, device="cpu", progress=False)
    assert result.ps_simulated == 0 and result.n_resumed == 2
    pd.testing.assert_frame_equal(result.verified.drop(columns="wall_s"),
                                  before.drop(columns="wall_s"))


def test_query_sees_the_verified_view_and_plot_draws_arrhenius(verified_run, monkeypatch):
    monkeypatch.setenv("VIGLAS_RESULTS", str(verified_run.parent))
    runner = CliRunner()
    result = runner.invoke(main, ["query", "tiny", "--format", "csv", "--sql",
                                  "SELECT formula, protocol FROM verified ORDER BY formula"])
    assert result.output.splitlines() == ["formula,protocol", "LiAlCl2.5O0.75,tiny",
                                          "LiAlCl4,tiny"]
    result = runner.invoke(main, ["plot", "tiny"])
    assert "arrhenius_LiAlCl2.5O0.75_tiny.png" in result.output


def test_ranked_verified_uses_the_md_sigma_where_present(verified_run):
    ranked = pd.read_parquet(verified_run / "ranked.parquet").set_index("formula")
    rescored = pd.read_parquet(verified_run / "ranked_verified.parquet").set_index("formula")
    verified = pd.read_parquet(verified_run / "verified.parquet").set_index("formula")
    simulated = [f for f in rescored.index if f in verified.index]
    resolved = verified["sigma_log10_S_cm_md"].notna()
    md = [f for f in simulated if resolved[f]]
    assert simulated and (rescored.loc[md, "sigma_source"] == "md").all()
    assert (rescored.loc[[f for f in simulated if f not in md], "sigma_source"]
            == "proxy (MD Ea unresolved)").all()
    assert (rescored.drop(index=simulated)["sigma_source"] == "proxy").all()
    if not md:
        return
    formula = md[0]
    assert rescored.loc[formula, "sigma_log10_S_cm"] == verified.loc[formula,
                                                                     "sigma_log10_S_cm_md"]
    change = rescored.loc[formula, "contrib_sigma_log10_S_cm"] - ranked.loc[
        formula, "contrib_sigma_log10_S_cm"]
    assert rescored.loc[formula, "score"] == pytest.approx(ranked.loc[formula, "score"] + change)
    assert list(rescored.sort_values("rank")["score"]) == sorted(rescored["score"], reverse=True)


def test_prefer_verified_rescores_with_the_objective_bounds():
    ranked = pd.DataFrame({"formula": ["A", "B"], "sigma_log10_S_cm": [-3.0, -4.0],
                           "sigma_log10_unc": [1.0, 1.0], "contrib_sigma_log10_S_cm": [0.5, 0.25],
                           "score": [0.8, 0.7], "rank": [1, 2], "pareto": [True, False]})
    verified = pd.DataFrame({"formula": ["A"], "sigma_log10_S_cm_md": [-5.0],
                             "sigma_log10_unc_md": [0.5], "ps_simulated": [10.0],
                             "ea_eV": [0.3], "ea_unc_eV": [0.05]})
    rank_spec = {"objectives": {"sigma_log10_S_cm": {"goal": "max", "weight": 1.0, "low": -6.0,
                                                     "high": -2.0}}}
    out = ranking.prefer_verified(ranked, verified, rank_spec).set_index("formula")
    # -5 is a quarter of the way from -6 to -2: contribution 0.25, score 0.8 - 0.5 + 0.25.
    assert out.loc["A", "contrib_sigma_log10_S_cm"] == pytest.approx(0.25)
    assert out.loc["A", "score"] == pytest.approx(0.55) and out.loc["A", "rank"] == 2
    assert out.loc["B", "rank"] == 1 and out.loc["B", "sigma_source"] == "proxy"


def test_prefer_verified_keeps_the_proxy_where_the_md_activation_energy_is_unresolved():
    ranked = pd.DataFrame({"formula": ["A"], "sigma_log10_S_cm": [-3.0],
                           "sigma_log10_unc": [1.0], "contrib_sigma_log10_S_cm": [0.5],
                           "score": [0.8], "rank": [1], "pareto": [True]})
    verified = pd.DataFrame({"formula": ["A"], "sigma_log10_S_cm_md": [0.8],
                             "sigma_log10_unc_md": [1.0], "ps_simulated": [10.0],
                             "ea_eV": [-0.05], "ea_unc_eV": [0.1]})
    out = ranking.prefer_verified(ranked, verified, {"objectives": {}}).set_index("formula")
    assert out.loc["A", "sigma_log10_S_cm"] == -3.0
    assert out.loc["A", "sigma_source"] == "proxy (MD Ea unresolved)"


@pytest.mark.parametrize("args, message", [
    (["verify", "tiny", "LiAlCl4"], "name formulas after --formulas"),
    (["verify", "tiny", "--formulas"], "name formulas after --formulas"),
    (["verify", "tiny", "--top", "2", "--formulas", "LiAlCl4"], "--top and --formulas"),
    (["verify", "tiny", "--formulas", "LiGaBr4"], "LiGaBr4 is not a candidate"),
    (["verify", "tiny", "--top", "1", "--density", "LiPO3=dense"], "write FORMULA=G_CM3"),
    (["verify", "tiny", "--top", "1", "--density", "LiPO3=-2"], "write FORMULA=G_CM3"),
    (["verify", "tiny", "--protocol", "slow"], "'slow' is not one of"),
    (["calibrate", "--potential", "no-such-potential"], "unknown; use one of"),
    (["calibrate", "--protocol", "slow"], "'slow' is not one of"),
    (["calibrate", "--workers", "0"], "0 is not in the range"),
    (["calibrate", "--report", "no/such/dir/report.md"], "no directory no/such/dir"),
])
def test_bad_md_requests_fail_in_one_line(finished_run, monkeypatch, args, message):
    monkeypatch.setenv("VIGLAS_RESULTS", str(finished_run.parent))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_verify_without_the_md_extra_says_how_to_install(finished_run, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "chgnet" else real(name, *a))
    monkeypatch.setenv("VIGLAS_RESULTS", str(finished_run.parent))
    result = CliRunner().invoke(main, ["verify", "tiny", "--top", "1"])
    assert result.exit_code == 2 and "pip install" in result.output and ".[md]" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_changed_protocol_is_refused_in_its_old_directory(verified_run, monkeypatch):
    monkeypatch.setitem(protocol.PROTOCOLS, "tiny", dataclasses.replace(TINY, seed=1))
    with pytest.raises(verify.VerifyError, match="delete it to start again"):
        verify.verify(verified_run, "tiny", formulas=["LiAlCl4"], potential_ref=LJ,
                      progress=False)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_a_gpu_fails_before_starting_workers(verified_run):
    with pytest.raises(verify.VerifyError, match="no CUDA device"):
        verify.verify(verified_run, "quick", formulas=["LiAlCl4"], device="cuda",
                      progress=False)
