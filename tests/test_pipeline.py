"""End-to-end runs on real Dask clusters: local, remote on loopback, killed and resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from screening.cli import main
from screening.pipeline import RunError, run_screen
from screening.spec import load_spec
from tests.conftest import TINY_SPEC, write_spec

pytestmark = pytest.mark.slow

RANKED_COLUMNS = {"formula", "alkali", "metal", "halogen", "o_per_m", "sigma_log10_S_cm", "tg_K",
                  "ox_limit_V", "red_limit_V", "e_above_hull_eV_atom", "cost_usd_kg", "score",
                  "rank", "pareto", "p_glass", "glass_forming", "hull_excess_eV_atom",
                  "sigma_ea_eV", "window_note"}
REPO = Path(__file__).resolve().parents[1]


def test_run_writes_every_table_with_the_promised_columns(finished_run: Path):
    for table in ("candidates", "scores", "ranked"):
        assert (finished_run / f"{table}.parquet").is_file()
    assert (finished_run / "spec.toml").is_file()
    assert not (finished_run / ".parts").exists()
    candidates = pd.read_parquet(finished_run / "candidates.parquet")
    ranked = pd.read_parquet(finished_run / "ranked.parquet")
    # 2 alkali x 2 centres x 4 O contents; LiAlCl4-75%O is a grid point; LiCl is new
    assert len(candidates) == 17
    scores = pd.read_parquet(finished_run / "scores.parquet")
    passing = scores.loc[scores["ox_limit_V"] >= 1.0, "formula"]
    assert len(passing) > 0
    assert sorted(ranked["formula"]) == sorted(passing)  # exactly the rows that pass, not none
    assert set(ranked.columns) >= RANKED_COLUMNS
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert ranked["score"].is_monotonic_decreasing and ranked["score"].nunique() > 1
    features = pd.read_parquet(finished_run / "features.parquet")
    assert len(features) == 17 and "MagpieData mean Number" in features.columns


def test_features_are_a_dataset_of_one_part_per_partition_in_candidate_order(
        finished_run: Path):
    parts = sorted(p.name for p in (finished_run / "features.parquet").iterdir())
    assert parts == [f"part-{i:06d}.parquet" for i in range(5)]  # 17 rows, 4 per partition
    features = pd.read_parquet(finished_run / "features.parquet")
    candidates = pd.read_parquet(finished_run / "candidates.parquet")
    assert features["formula"].tolist() == candidates["formula"].tolist()
    laco = features.set_index("formula").loc["LiAlCl2.5O0.75"]
    assert laco["MagpieData mean Number"] == pytest.approx((3 + 13 + 2.5 * 17 + 0.75 * 8) / 5.25)


def test_scores_come_from_the_composition(finished_run: Path):
    scores = pd.read_parquet(finished_run / "scores.parquet").set_index("formula")
    assert scores["sigma_log10_S_cm"].nunique() > 10
    laco, parent = scores.loc["LiAlCl2.5O0.75"], scores.loc["LiAlCl4"]
    assert laco["sigma_log10_S_cm"] > parent["sigma_log10_S_cm"]
    assert scores["cost_usd_kg"].gt(0).all() and scores["cost_usd_kg"].nunique() > 4


def test_rerun_of_a_finished_run_recomputes_nothing(finished_run: Path):
    before = (finished_run / "ranked.parquet").stat().st_mtime_ns
    result = run_screen(load_spec(write_spec(finished_run.parent, name="again.toml")),
                        finished_run, progress=False)
    assert result.n_resumed == result.n_partitions
    assert (finished_run / "ranked.parquet").stat().st_mtime_ns == before


def test_a_different_spec_does_not_overwrite_a_run(finished_run: Path, tmp_path: Path):
    other = load_spec(write_spec(tmp_path, TINY_SPEC.replace("25.0", "60.0")))
    with pytest.raises(RunError, match="different spec"):
        run_screen(other, finished_run, progress=False)


def _start(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, **kwargs)


def test_same_spec_on_a_remote_scheduler_gives_the_same_table(finished_run: Path,
                                                              tmp_path: Path):
    scheduler_file = tmp_path / "scheduler.json"
    bin_dir = Path(sys.executable).parent
    scheduler = _start([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                        "--no-dashboard", "--scheduler-file", str(scheduler_file)])
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = pd.read_json(scheduler_file, typ="series")["address"]
        worker = _start([str(bin_dir / "dask"), "worker", address, "--nthreads", "1",
                         "--no-dashboard", "--host", "127.0.0.1"], cwd=tmp_path)
        spec = load_spec(write_spec(tmp_path))
        run_screen(spec, tmp_path / "remote", scheduler=address, progress=False)
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "remote" / "ranked.parquet"),
                                  pd.read_parquet(finished_run / "ranked.parquet"))


SLOW_SPEC = TINY_SPEC.replace(
    'featurizers = ["magpie", "oxyhalide_network"]',
    f'featurizers = ["magpie", "{REPO / "tests" / "slow_featurizer.py"}:SlowAtomCount"]',
).replace("partition_size = 4", "partition_size = 1")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_resumes_to_the_same_ranked_table(tmp_path: Path, sig: signal.Signals,
                                                     notices: list[str]):
    spec_path = write_spec(tmp_path, SLOW_SPEC)
    out = tmp_path / "interrupted"
    viglas = Path(sys.executable).parent / "viglas"
    proc = _start([str(viglas), "run", str(spec_path), "--out", str(out), "--workers", "1",
                   "--quiet"])
    deadline = time.monotonic() + 120
    while len(list((out / ".parts").glob("done-*.json"))) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no partition finished in time"
        time.sleep(0.05)
    # a second run into the same directory, meanwhile, is refused by the first one's lock
    second = CliRunner().invoke(main, ["run", str(spec_path), "--out", str(out), "--quiet"])
    assert f"in use by another viglas run (pid {proc.pid}" in second.output
    assert second.exit_code == 2 and len(second.output.strip().splitlines()) == 1
    # the whole process group, client and workers, as kill -9 of a session or Ctrl-C does
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        stderr = proc.stderr.read().decode()
        assert "resume" in stderr and "Traceback" not in stderr  # workers ignore Ctrl-C
        assert not (out / ".lock").exists()
    else:
        assert (out / ".lock").read_text().split()[0] == str(proc.pid)  # left by the dead run
    assert not (out / "ranked.parquet").exists()
    done_before = len(list((out / ".parts").glob("done-*.json")))
    assert 3 <= done_before < 17

    notices.clear()
    resumed = run_screen(load_spec(spec_path), out, workers=1, progress=False)
    assert resumed.n_resumed == done_before
    took_over = any(f"taking over the lock of pid {proc.pid}" in n for n in notices)
    assert took_over == (sig == signal.SIGKILL)
    fresh = run_screen(load_spec(spec_path), tmp_path / "fresh", workers=2, progress=False)
    assert fresh.n_resumed == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "ranked.parquet"),
                                  pd.read_parquet(tmp_path / "fresh" / "ranked.parquet"))


@pytest.mark.parametrize("step", ["publish_features", "remove_parts"])
def test_run_killed_while_finishing_resumes_to_the_same_tables(
        finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str):
    from screening import store

    def killed(run_dir: Path) -> None:
        raise KeyboardInterrupt(f"killed at {step}")

    spec = load_spec(write_spec(tmp_path))
    out = tmp_path / "finishing"
    with monkeypatch.context() as patch:
        patch.setattr(store, step, killed)
        with pytest.raises(KeyboardInterrupt):
            run_screen(spec, out, workers=1, progress=False)
    assert (out / ".parts").is_dir()
    resumed = run_screen(spec, out, workers=1, progress=False)
    assert resumed.n_resumed == resumed.n_partitions == 5  # nothing recomputed
    assert not (out / ".parts").exists()
    for table in ("ranked", "features"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{table}.parquet"),
                                      pd.read_parquet(finished_run / f"{table}.parquet"))


JOIN_SPEC = """
name = "join"
partition_size = 10
[[joins]]
end_members = ["LiCl", "AlCl3", "Al2O3"]
step = 0.125
[rank]
filters = ["charge_balanced = true", "glass_forming = true"]
"""


def test_join_spec_runs_end_to_end_and_plots_a_ternary_map(tmp_path: Path):
    from screening.plots import plot_run

    spec = load_spec(write_spec(tmp_path, JOIN_SPEC))
    result = run_screen(spec, tmp_path / "join", workers=1, progress=False)
    assert result.n_candidates == 45  # C(8 + 2, 2) mixtures on the simplex
    ranked = pd.read_parquet(tmp_path / "join" / "ranked.parquet")
    assert len(ranked) == result.n_ranked > 0
    scores = pd.read_parquet(tmp_path / "join" / "scores.parquet")
    candidates = pd.read_parquet(tmp_path / "join" / "candidates.parquet")
    balanced = candidates.loc[candidates["charge_balanced"], "formula"]
    passing = scores.loc[scores["glass_forming"].astype(bool)
                         & scores["formula"].isin(balanced), "formula"]
    # The filters drop rows here (the tiny run's pass them all), so an ignored filter shows.
    assert 0 < len(passing) < len(scores)
    assert sorted(ranked["formula"]) == sorted(passing)
    assert {"frac_LiCl", "frac_AlCl3", "frac_Al2O3"} <= set(ranked.columns)
    assert ranked[["frac_LiCl", "frac_AlCl3", "frac_Al2O3"]].sum(axis=1).round(9).eq(1).all()
    written = {p.name for p in plot_run(tmp_path / "join")}
    assert "join_LiCl-AlCl3-Al2O3.png" in written and "pareto.png" in written
    for name in written:
        assert (tmp_path / "join" / "plots" / name).stat().st_size > 10_000


def test_demo_style_plots_are_written(finished_run: Path, tmp_path: Path):
    from screening.plots import plot_run

    written = plot_run(finished_run, tmp_path)
    assert sorted(p.name for p in written) == ["conductivity_vs_o.png", "glass_vs_o.png",
                                               "pareto.png", "tg_vs_o.png"]
    for path in written:
        data = (tmp_path / path.name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000  # a drawn figure, not a stub
    assert len({(tmp_path / p.name).read_bytes() for p in written}) == 4  # four different plots
