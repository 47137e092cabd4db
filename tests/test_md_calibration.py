"""The physics tier as an instrument: replicas, resolved or not, convergence, the ladder.

Tiny cells and the Lennard-Jones plug-in only; the calibration runs themselves live in
docs/md_calibration.md, not here.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from screening.cli import _MD_PROTOCOLS, main
from screening.md import analysis, calibration, calibration_report, protocol
from screening.md.cell import (
    CellError,
    density_estimate_g_cm3,
    density_g_cm3,
    pack,
    random_packing,
    whole_atoms,
)
from screening.md.runner import Job, read_summary, run_jobs

LJ = "tests.plugin_potential:LennardJonesPotential"

TINY = dataclasses.replace(
    protocol.QUICK, name="tiny", target_atoms=24, relax_steps=5, melt_ps=0.1, quench_ps=0.1,
    temperatures_K=(800.0,), npt_ps=0.0, production_ps=0.2, segment_steps=25, record_every=5,
    diffusive_from=0.2, posterior_samples=100, production_cap_ps=0.4, check_ps=0.1)


def _production(samples: list[np.ndarray], temperature_K: float = 600.0) -> list[dict]:
    return [{"temperature_K": temperature_K, "D_samples_cm2_s": s, "n_mobile_per_A3": 0.02,
             "density_g_cm3": 2.0, "species": "Li", "ps": 1.0, "wall_s": 1.0,
             "production_ps": 1.0, "converged": True} for s in samples]


GLASS = {"density_g_cm3": 2.0, "n_atoms": 64, "formula_md": "Li", "ps": 1.0, "wall_s": 1.0}


def test_replica_spread_is_propagated_into_the_uncertainty_of_D():
    rng = np.random.default_rng(0)
    tight = [1e-5 + 1e-7 * rng.standard_normal(4000) for _ in range(3)]
    mean, unc = analysis.replica_mean(tight)
    assert mean == pytest.approx(1e-5, rel=1e-3)
    assert unc == pytest.approx(1e-7 / np.sqrt(3), rel=0.05)  # the posteriors alone
    # The same posteriors about glasses at 0.5, 1 and 1.5e-5: the between-glass spread
    # (standard deviation 0.5e-5) dominates, divided by sqrt(3) replicas.
    spread = [s + shift for s, shift in zip(tight, (-0.5e-5, 0.0, 0.5e-5), strict=True)]
    mean, unc = analysis.replica_mean(spread)
    assert mean == pytest.approx(1e-5, rel=1e-3)
    assert unc == pytest.approx(np.sqrt((0.5e-5 ** 2 + 1e-14) / 3), rel=0.02)


def test_one_temperature_is_unresolved_and_gives_no_conductivity_but_D_at_the_reference():
    rng = np.random.default_rng(1)
    row = analysis.candidate_row(_production([2e-5 + 1e-6 * rng.standard_normal(500)] * 3),
                                 [GLASS] * 3, 1.0, 298.15, 600.0, None)
    assert row["status"].startswith("unresolved: one temperature")
    assert np.isnan(row["sigma_log10_S_cm_md"]) and np.isnan(row["sigma_log10_unc_md"])
    assert row["D_ref_cm2_s"] == pytest.approx(2e-5, rel=0.01) and row["replicas"] == 3
    assert np.isfinite(row["sigma_log10_S_cm_ref"])


def test_a_clean_arrhenius_series_is_resolved_and_a_flat_one_is_not():
    rng = np.random.default_rng(2)
    temperatures = (500.0, 600.0, 700.0, 800.0)

    def series(ea_eV: float) -> list[dict]:
        out = []
        for t in temperatures:
            d = 1e-2 * np.exp(-ea_eV / (analysis.K_B_EV * t))
            out += _production([d * (1 + 0.03 * rng.standard_normal(1000))] * 2, t)
        return out

    resolved = analysis.candidate_row(series(0.3), [GLASS] * 2, 1.0, 298.15, 600.0, None)
    assert resolved["status"] == "resolved"
    assert resolved["ea_eV"] == pytest.approx(0.3, abs=0.02)
    assert np.isfinite(resolved["sigma_log10_S_cm_md"])
    flat = analysis.candidate_row(series(0.0), [GLASS] * 2, 1.0, 298.15, 600.0, None)
    assert flat["status"].startswith("unresolved: Ea") and np.isnan(flat["sigma_log10_S_cm_md"])


def test_production_stops_at_the_cap_and_says_so_or_ends_early_once_converged(tmp_path):
    for name, target, expected_ps in (("strict", 1e-6, 0.4), ("loose", 10.0, 0.2)):
        proto = dataclasses.replace(TINY, target_rel_unc=target)
        run_jobs([Job("LiAlCl4", tmp_path / name)], proto, LJ)
        job = Job("LiAlCl4", tmp_path / name, 800.0)
        run_jobs([job], proto, LJ)
        summary = read_summary(job)
        assert summary["production_ps"] == pytest.approx(expected_ps)
        assert summary["stopped_at_cap"] is (name == "strict")
        assert summary["converged"] is (name == "loose")


def test_loo_offset_and_mae_by_hand_on_a_small_ladder():
    md = np.array([0.0, -1.0, -3.0])
    measured = np.array([-3.0, -5.0, -6.0])  # differences -3, -4, -3
    offset, predicted = calibration.loo_offsets(md, measured)
    assert offset == pytest.approx(-10 / 3)
    # Row 0 predicted with the mean of the others' differences (-3.5), and so on.
    np.testing.assert_allclose(predicted, [-3.5, -4.0, -6.5])
    with pytest.raises(calibration.CalibrationError, match="at least two"):
        calibration.loo_offsets(md[:1], measured[:1])


def test_unresolved_rows_are_bounds_never_fitted_but_still_ranked():
    # Rows 0-2 resolved (differences -3, -4, -3 as above); row 3's D is 1e-8 +- 1e-8, a bound.
    rows = pd.DataFrame({"sigma_log10_S_cm_ref": [0.0, -1.0, -3.0, -2.0],
                         "sigma_log10_S_cm_ref_upper": [0.1, -0.9, -2.9, -2.5],
                         "log10_sigma_measured": [-3.0, -5.0, -6.0, -9.0],
                         "status": ["resolved"] + ["unresolved: x"] * 3,
                         "ea_eV": [0.25, np.nan, np.nan, np.nan],
                         "ea_measured_eV": [0.33, 0.5, np.nan, np.nan],
                         "D_ref_cm2_s": [1e-5, 1e-6, 1e-7, 1e-8],
                         "D_ref_unc_cm2_s": [1e-6, 1e-7, 1e-8, 1e-8]})
    m = calibration_report.metrics(rows, "rank", "chgnet")
    assert m.n_resolved_D == 3 and m.offset == pytest.approx(-10 / 3)
    assert m.mae_loo == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert m.spread == pytest.approx(np.sqrt((0.25 + 1.0 + 0.25) / 3))
    np.testing.assert_allclose(rows["loo_log10_sigma"][:3], [-3.5, -4.0, -6.5])
    assert np.isnan(rows.loc[3, "loo_log10_sigma"])
    # The bound -2.5 - 10/3 = -5.83 lies above the measured -9: consistent.
    assert rows.loc[3, "calibrated_upper"] == pytest.approx(-2.5 - 10 / 3)
    assert m.n_bounds_consistent == 1
    # Ranked at its bound (-2.5) the slow glass sorts between rows 1 and 2, not last.
    assert m.spearman == pytest.approx(0.8) and m.spearman_resolved == pytest.approx(1.0)
    assert m.ea_mae_eV == pytest.approx(0.08) and m.n_ea == 1
    text = calibration_report._verdict(m)
    assert "1 of 1 unresolved rows" in text and "over the 3 rows with D resolved" in text


def test_the_pair_sentence_takes_an_unresolved_slow_d_at_its_bound():
    rows = pd.DataFrame({"formula": ["LiAlCl2.5O0.75", "LiPO3"], "D_ref_cm2_s": [5e-5, -1e-8],
                         "D_ref_unc_cm2_s": [1e-5, 2e-7], "reference_K": [600.0, 600.0],
                         "wall_s": [600.0, 1200.0]})
    text = calibration_report.pair_separation(rows, "LiAlCl2.5O0.75", "LiPO3")
    # Bound 0 + 2 x 2e-7 = 4e-7: log10(5e-5 / 4e-7) = 2.10 decades at least.
    assert "2.10 decades apart at least" in text and "separate" in text


def test_calibrated_sigma_adds_the_offset_and_its_uncertainties_or_says_unresolved():
    table = {"rank/chgnet": {"offset": -4.0, "spread": 0.6}}
    row = {"protocol": "rank", "potential": "chgnet", "D_ref_cm2_s": 2e-5,
           "D_ref_unc_cm2_s": 2e-6, "sigma_log10_S_cm_ref": 0.5, "sigma_log10_unc_ref": 0.3,
           "potential_spread_log10": 0.2}
    mean, sigma, resolved = calibration.calibrated_log10_sigma(row, table)
    assert resolved and mean == pytest.approx(-3.5)
    assert sigma == pytest.approx(np.sqrt(0.3 ** 2 + 0.6 ** 2 + 0.2 ** 2))
    for changed in ({"D_ref_unc_cm2_s": 1e-5}, {"potential": "sevennet"}):
        mean, sigma, resolved = calibration.calibrated_log10_sigma(row | changed, table)
        assert not resolved and np.isnan(mean) and np.isnan(sigma)


def test_two_potentials_that_disagree_widen_each_others_calibrated_uncertainty():
    rows = pd.DataFrame({"formula": ["A", "A", "B"], "protocol": ["rank"] * 3,
                         "potential": ["chgnet", "sevennet", "chgnet"],
                         "D_ref_cm2_s": [2e-5] * 3, "D_ref_unc_cm2_s": [1e-6] * 3,
                         "sigma_log10_S_cm_ref": [0.0, 1.0, 0.5],
                         "sigma_log10_unc_ref": [0.1] * 3})
    table = {"rank/chgnet": {"offset": -4.0, "spread": 0.5},
             "rank/sevennet": {"offset": -5.0, "spread": 0.5}}
    out = calibration.calibrate_rows(rows, table)
    assert list(out["potential_spread_log10"]) == [0.5, 0.5, 0.0]
    assert out.loc[0, "sigma_log10_unc_cal"] == pytest.approx(np.sqrt(0.01 + 0.25 + 0.25))
    assert out.loc[2, "sigma_log10_unc_cal"] == pytest.approx(np.sqrt(0.01 + 0.25))


def test_the_shipped_ladder_is_sourced_and_spans_six_decades():
    ladder = calibration.load_ladder()
    assert len(ladder) >= 10 and set(ladder["alkali"]) == {"Li", "Na"}
    assert np.ptp(ladder["log10_sigma_S_cm"]) >= 6.0
    assert ladder["source"].notna().all() and ladder["formula"].is_unique


def test_a_bad_ladder_row_is_one_line(tmp_path):
    path = tmp_path / "ladder.csv"
    path.write_text("name,formula,alkali,sigma_S_cm,temperature_C,source\n"
                    "x,LiPO3,Li,-1e-9,25,somewhere\n")
    with pytest.raises(calibration.CalibrationError, match=r"row 2 \(x\): needs a positive"):
        calibration.load_ladder(path)


def test_dense_oxides_pack_loose_then_compress_to_the_given_density():
    counts = whole_atoms("LiPO3", 40, 60)
    with pytest.raises(CellError):  # what the fallback avoids
        random_packing(counts, density_estimate_g_cm3(counts, 0.7), np.random.default_rng(0))
    atoms, fraction = pack(counts, 0.7, np.random.default_rng(0), 2.3)
    assert 0.3 <= fraction < 0.7 and density_g_cm3(atoms) == pytest.approx(2.3)


def test_the_cli_offers_every_protocol():
    assert sorted(_MD_PROTOCOLS) == sorted(protocol.PROTOCOLS)


def test_calibrate_report_only_on_nothing_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(calibration, "CALIBRATION_PATH", tmp_path / "cal.csv")
    report = tmp_path / "md_calibration.md"
    result = CliRunner().invoke(main, ["calibrate", "--report-only", "--out", str(tmp_path),
                                       "--report", str(report), "--potential", LJ])
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert "0 ladder rows finished, 0 with D resolved: too few for an offset yet" in text
    assert not (tmp_path / "cal.csv").exists()


def test_sevennet_batches_cells_in_one_pass_and_matches_its_ase_calculator():
    from sevenn.calculator import SevenNetCalculator

    from screening.md.potentials import load_potential

    potential = load_potential("sevennet")
    cells = [random_packing(whole_atoms(f, 12, 24), 1.8, np.random.default_rng(i))
             for i, f in enumerate(["LiAlCl4", "LiPO3"])]
    calculator = SevenNetCalculator("7net-0", device="cpu")
    for atoms, batched in zip(cells, potential.evaluate(cells, stress=True), strict=True):
        atoms.calc = calculator
        assert batched.energy_eV == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
        np.testing.assert_allclose(batched.forces_eV_A, atoms.get_forces(), atol=1e-5)
        np.testing.assert_allclose(batched.stress_eV_A3, atoms.get_stress(voigt=False),
                                   atol=1e-7)


def test_a_partly_finished_candidate_counts_only_in_the_ladder_report(tmp_path):
    from screening.md.verify import candidate_jobs, candidate_result, claim

    proto = dataclasses.replace(TINY, replicas=2, production_cap_ps=0.0)
    claim(tmp_path, "LiAlCl4", proto, LJ)
    glass, production = candidate_jobs("LiAlCl4", tmp_path, proto)
    run_jobs([glass[0]], proto, LJ)
    run_jobs([production[0]], proto, LJ)  # replica 0 only
    assert candidate_result(tmp_path, proto, 298.15, None) is None
    row = candidate_result(tmp_path, proto, 298.15, None, partial=True)
    assert row["replicas"] == 1 and row["D_ref_cm2_s"] > 0


def test_md_jobs_are_submitted_lead_pair_first_then_replica_by_replica(tmp_path):
    from screening.md import verify

    lead = verify.plan(lambda f: tmp_path / f, ["LiPO3"], protocol.RANK, "chgnet", priority=100)
    rest = verify.plan(lambda f: tmp_path / f, ["LiCl", "NaCl"], protocol.RANK, "chgnet")
    glass = [(g[0].formula, g[0].replica, priority)
             for _, g, priority in verify._by_priority([rest, lead], "glass", lambda p: 1)]
    assert glass[:3] == [("LiPO3", 0, 100), ("LiPO3", 1, 90), ("LiPO3", 2, 80)]
    assert [g[:2] for g in glass[3:]] == [("LiCl", 0), ("NaCl", 0), ("LiCl", 1), ("NaCl", 1),
                                          ("LiCl", 2), ("NaCl", 2)]
    production = verify._by_priority([rest, lead], "production", lambda p: 1)
    assert [(g[0].formula, priority) for _, g, priority in production][:2] == [("LiPO3", 101),
                                                                               ("LiPO3", 91)]
