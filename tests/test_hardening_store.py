"""Issue 22, the store and query cases: every reader trusts a table file only while it matches the
checksum its run recorded (case 2), nothing outside the run directory is read through a record or
a link (case 9), a query is capped in time and memory and spills only into a directory of its own
(case 13), ``--format json`` loses nothing (case 18), and two tracebacks become one line (case 10).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from screening import query, store
from screening.cli import main
from screening.runs import run_summary
from tests.conftest import one_line_error, write_spec
from tests.test_resume_integrity import _flip, unfinished  # noqa: F401 (a fixture)


def _copy(finished_run: Path, tmp_path: Path, name: str = "copy") -> Path:
    run = tmp_path / "results" / name
    shutil.copytree(finished_run, run)
    return run


def _status(run: Path) -> str:
    """The status ``viglas runs`` lists for ``run``."""
    return run_summary(run)["status"]


def _viglas_process(*args: str, results: Path | None = None) -> subprocess.CompletedProcess:
    """``viglas ARGS`` in a child process (with ``$VIGLAS_RESULTS`` at ``results``), so that a
    regression that reads ``/dev/zero`` or a pipe forever fails the test instead of hanging the
    suite."""
    env = os.environ | ({"VIGLAS_RESULTS": str(results)} if results else {})
    return subprocess.run([sys.executable, "-c", "from screening.cli import main; main()",
                           *args], capture_output=True, text=True, timeout=300, env=env)


def _one_line(process: subprocess.CompletedProcess) -> str:
    lines = (process.stdout + process.stderr).strip().splitlines()
    assert process.returncode == 2, process.stdout + process.stderr
    assert len(lines) == 1 and lines[0].startswith("viglas: error: "), lines
    return lines[0]


def _edit_manifest(run: Path, **files: dict) -> None:
    manifest = json.loads((run / store.MANIFEST).read_text())
    manifest["files"].update(files)
    (run / store.MANIFEST).write_text(json.dumps(manifest))


# --- case 2: a byte flipped, keeping the size, is caught by every reader -----------------------

def test_a_flipped_byte_is_corrupt_for_runs_query_plot_and_report(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path, "flipped")
    size = (run / "scores.parquet").stat().st_size
    _flip(run / "scores.parquet")
    assert (run / "scores.parquet").stat().st_size == size  # was listed as complete
    assert _status(run) == "corrupt: scores.parquet checksum mismatch"
    runner = CliRunner()
    for args in (["query", str(run), "--sql", "SELECT sigma_log10_S_cm FROM scores"],
                 ["query", str(run), "--sql", "SELECT * FROM ranked JOIN scores USING (formula)"],
                 ["plot", str(run), "--out", str(tmp_path / "plots")],
                 ["report", str(run), "--out", str(tmp_path / "page.html")]):
        error = one_line_error(runner.invoke(main, args))
        assert f"{run} is corrupt: scores.parquet checksum mismatch" in error, args
    assert not (tmp_path / "plots").exists() and not (tmp_path / "page.html").exists()
    # The intact ranked table is still served: a query checks only the tables it names.
    result = runner.invoke(main, ["query", str(run), "--top", "1", "--columns", "rank",
                                  "--format", "csv"])
    assert result.output == "rank\n1\n"


def test_a_file_without_a_recorded_checksum_is_unverified_and_not_served(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path, "extra")
    parts = run / "features.parquet"
    shutil.copy(parts / "part-000000.parquet", parts / "part-000099.parquet")
    assert _status(run).startswith(
        "corrupt: features.parquet/part-000099.parquet is unverified")
    error = one_line_error(CliRunner().invoke(main, ["query", str(run), "--sql",
                                                     "SELECT count(*) FROM features"]))
    assert "part-000099.parquet is unverified (manifest.json records no checksum" in error


def test_verified_tables_are_served_only_once_recorded(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path)
    rows = pd.DataFrame({"formula": ["LiAlCl2.5O0.75"], "sigma_md_log10_S_cm": [-3.1]})
    rows.to_parquet(run / "verified.parquet")  # as an older viglas verify wrote it
    with pytest.raises(store.StoreError, match="verified.parquet is unverified.*viglas verify"):
        query.run_query(run, sql="SELECT * FROM verified")
    store.record_table(run, "verified", rows)
    table = query.run_query(run, sql="SELECT sigma_md_log10_S_cm FROM verified")
    assert table.column(0).to_pylist() == [-3.1]
    _flip(run / "verified.parquet")
    with pytest.raises(store.StoreError, match="verified.parquet checksum mismatch"):
        query.run_query(run, sql="SELECT * FROM verified")


# --- case 9: records and links never lead out of the run ---------------------------------------

@pytest.mark.parametrize("name", ["/dev/zero", "../secret.txt"])
def test_a_manifest_entry_outside_the_run_is_refused_unread(finished_run, tmp_path, name):
    run = _copy(finished_run, tmp_path)
    os.mkfifo(tmp_path / "results" / "secret.txt")  # opening it to read would block
    _edit_manifest(run, **{name: {"bytes": 0, "sha256": "0" * 64}})
    expected = f"lists {name!r}, which is not a file inside the run"
    listing = _viglas_process("runs", results=run.parent)
    assert listing.returncode == 0, listing.stderr
    assert f"corrupt: manifest.json lists {name!r}" in listing.stdout
    for args in (["query", str(run), "--top", "1"],
                 ["run", str(write_spec(tmp_path)), "--out", str(run), "--quiet"]):
        assert expected in _one_line(_viglas_process(*args)), args


def test_a_symlinked_part_is_refused_even_with_the_right_contents(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path, "linked")
    part = run / "features.parquet" / "part-000001.parquet"
    outside = tmp_path / "elsewhere.parquet"
    shutil.copy(part, outside)  # same bytes: its size and checksum match the manifest
    part.unlink()
    part.symlink_to(outside)
    assert "part-000001.parquet is a symbolic link" in _status(run)
    error = one_line_error(CliRunner().invoke(main, ["query", str(run), "--sql",
                                                     "SELECT count(*) FROM features"]))
    assert "part-000001.parquet" in error
    error = one_line_error(CliRunner().invoke(main, ["run", str(write_spec(tmp_path)), "--out",
                                                     str(run), "--quiet"]))
    assert f"{part} is a symbolic link" in error
    assert part.is_symlink() and outside.read_bytes() == (
        finished_run / "features.parquet" / "part-000001.parquet").read_bytes()


@pytest.mark.slow  # a screen stopped before it finished
def test_a_part_symlinked_to_dev_zero_is_refused_not_hashed(unfinished, tmp_path):  # noqa: F811
    run = tmp_path / "run"
    shutil.copytree(unfinished, run)
    part = run / ".parts" / "features" / "part-000001.parquet"
    part.unlink()
    part.symlink_to("/dev/zero")
    marker = run / ".parts" / "done-000001.json"
    record = json.loads(marker.read_text())
    record["features"]["bytes"] = 0  # /dev/zero's size: a check by size alone would hash it
    marker.write_text(json.dumps(record))
    error = _one_line(_viglas_process("run", str(write_spec(tmp_path)), "--out", str(run),
                                      "--quiet"))
    assert f"{part} is a symbolic link" in error
    assert part.is_symlink() and not (run / "ranked.parquet").exists()


@pytest.mark.parametrize("target", ["manifest.json", "spec.toml"])
def test_a_run_file_linked_to_a_device_is_not_read(finished_run, tmp_path, target):
    run = _copy(finished_run, tmp_path, "device")
    (run / target).unlink()
    (run / target).symlink_to("/dev/zero")
    listing = _viglas_process("runs", results=run.parent)
    assert listing.returncode == 0, listing.stderr
    assert f"{target} is a symbolic link" in listing.stdout.splitlines()[1]


# --- case 13: time and memory caps, spills, --top as a LIMIT -----------------------------------

def test_top_is_a_limit_inside_the_query(viglas, finished_run):
    # was a MemoryError: 400 million rows loaded before the first was kept
    result = viglas("query", "tiny", "--sql", "SELECT * FROM range(400000000)", "--top", "1",
                    "--format", "csv")
    assert result.exit_code == 0 and result.output == "range\n0\n"
    result = viglas("query", "tiny", "--sql", "SELECT formula FROM ranked ORDER BY rank DESC",
                    "--top", "2", "--format", "json")
    expected = query.run_query(finished_run, sql="SELECT formula FROM ranked ORDER BY rank DESC")
    assert [row["formula"] for row in json.loads(result.output)] == expected.column(
        "formula").to_pylist()[:2]


def test_a_query_over_its_time_is_stopped_in_one_line(viglas):
    error = one_line_error(viglas("query", "tiny", "--sql",
                                  "SELECT count(*) FROM range(1000000000000)", "--timeout", "1"))
    assert "the query ran for 1 s (--timeout) and was stopped" in error


def test_a_query_over_its_memory_is_stopped_in_one_line(viglas):
    error = one_line_error(viglas("query", "tiny", "--sql", "SELECT list(range) FROM "
                                  "range(20000000)", "--memory-limit", "16MB"))
    assert "needs more memory than --memory-limit 16MB; raise it" in error
    for value, message in (("lots", "give an amount such as 512MB"),
                           ("-1", "give an amount such as 512MB")):
        assert message in one_line_error(viglas("query", "tiny", "--memory-limit", value))
    for value in ("0", "nan", "inf", "-5"):
        assert "give seconds above 0" in one_line_error(viglas("query", "tiny", "--timeout",
                                                               value))


def test_memory_is_capped_and_spills_go_to_a_directory_of_the_query(finished_run, tmp_path,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = query.run_query(finished_run, sql="SELECT current_setting('memory_limit') AS m, "
                               "current_setting('temp_directory') AS t").to_pylist()[0]
    assert settings["m"] == "1.8 GiB"  # DEFAULT_MEMORY_LIMIT, 2 GB, not 80 % of the machine
    spill = Path(settings["t"])
    assert spill.parent == Path(tempfile.gettempdir()) and spill.name.startswith("viglas-query-")
    assert not spill.exists()  # removed with the query
    # a sort over 64 MB must spill; it ends right, and nothing lands in the caller's ./.tmp
    table = query.run_query(finished_run, sql="SELECT max(x) AS top, count(*) AS n FROM (SELECT "
                            "x FROM range(5000000) t(x) ORDER BY hash(x) OFFSET 1)",
                            memory_limit="64MB")
    assert table.to_pylist() == [{"top": 4999999, "n": 4999999}]
    assert list(tmp_path.iterdir()) == []


# --- case 18: --format json keeps NaN, infinities, BLOBs and big integers ----------------------

def test_json_keeps_non_finite_numbers_blobs_and_hugeints(viglas):
    result = viglas("query", "tiny", "--format", "json", "--sql",
                    "SELECT 'nan'::DOUBLE AS nan, 'inf'::DOUBLE AS pinf, '-inf'::DOUBLE AS ninf, "
                    "NULL::DOUBLE AS missing, '\\x00\\xFFab'::BLOB AS blob, "
                    "170141183460469231731687303715884105727::HUGEINT AS huge, "
                    "sum(9007199254740993) AS total, 0.5::DECIMAL(4, 2) AS half "
                    "FROM range(2)")
    assert result.exit_code == 0, result.output
    row = json.loads(result.output, parse_constant=pytest.fail)[0]  # strict JSON: no NaN token
    assert row == {"nan": "NaN", "pinf": "Infinity", "ninf": "-Infinity", "missing": None,
                   "blob": base64.b64encode(b"\x00\xffab").decode(),
                   "huge": 170141183460469231731687303715884105727,
                   "total": 18014398509481986, "half": 0.5}
    assert [float(row[k]) for k in ("pinf", "ninf")] == [float("inf"), float("-inf")]


def test_json_of_real_rows_keeps_nulls_apart_from_numbers(viglas, finished_run):
    result = viglas("query", "tiny", "--format", "json", "--sql",
                    "SELECT formula, tg_K FROM scores ORDER BY formula")
    rows = json.loads(result.output)
    expected = pd.read_parquet(finished_run / "scores.parquet").sort_values("formula")
    assert [r["formula"] for r in rows] == expected["formula"].tolist()
    assert [r["tg_K"] for r in rows] == [None if pd.isna(v) else v for v in expected["tg_K"]]
    assert None in [r["tg_K"] for r in rows]  # a crystal has no Tg: null, not "NaN"


def test_json_refuses_repeated_column_names(viglas):
    error = one_line_error(viglas("query", "tiny", "--format", "json", "--sql",
                                  "SELECT 1 AS a, 2 AS a"))
    assert "'a' repeats" in error


# --- case 10: two tracebacks that become one line -----------------------------------------------

@pytest.mark.parametrize("under", [False, True], ids=["a-file", "under-a-file"])
def test_validate_into_a_file_is_one_line(tmp_path, under):
    target = tmp_path / "report.md"
    target.write_text("mine")
    out = target / "sub" if under else target
    error = one_line_error(CliRunner().invoke(main, ["validate", "--out", str(out)]))
    assert f"--out {out}: cannot write the validation report there" in error
    assert target.read_text() == "mine"
