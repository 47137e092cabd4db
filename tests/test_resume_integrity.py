"""A resumed run trusts only files that still match their checksums, and one run at a time holds
a run directory: damaged parts and final files are recomputed with a notice and the tables end
equal to an uninterrupted run's; a second run is refused; a killed run's lock is taken over."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from screening import pipeline, store
from screening.cli import main
from screening.pipeline import run_screen
from screening.runlock import LOCK, run_lock
from screening.spec import load_spec
from tests.conftest import one_line_error, write_spec

TABLES = ("candidates", "features", "scores", "ranked")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip(path: Path) -> None:
    """Change bytes in the middle of the file, keeping its size (bit rot, a bad copy)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4] = bytes(b ^ 0xFF for b in data[middle:middle + 4])
    path.write_bytes(bytes(data))


def _garble(path: Path) -> None:
    path.write_text("{not json")


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny spec with every partition computed, stopped just before it finished."""
    root = tmp_path_factory.mktemp("unfinished")
    spec = load_spec(write_spec(root))

    def stopped(*args: object) -> int:
        raise KeyboardInterrupt("stopped before finishing")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "_finish", stopped)
        with pytest.raises(KeyboardInterrupt):
            run_screen(spec, root / "run", workers=1, progress=False)
    return root / "run"


def _resume_copy(source: Path, tmp_path: Path, damage: Callable[[Path], None],
                 notices: list[str]) -> tuple[pipeline.RunResult, Path, str]:
    """Copy ``source``, damage the copy, resume it; returns the result, the copy and the
    notices logged meanwhile, one per line."""
    run = tmp_path / "run"
    shutil.copytree(source, run)
    damage(run)
    notices.clear()
    result = run_screen(load_spec(write_spec(tmp_path)), run, workers=1, progress=False)
    return result, run, "\n".join(notices)


def _assert_same_tables(run: Path, reference: Path) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(run / f"{table}.parquet"),
                                      pd.read_parquet(reference / f"{table}.parquet"))
    assert not (run / store.PARTS_DIR).exists() and not (run / LOCK).exists()
    assert store.is_complete(run)


@pytest.mark.slow  # a screen stopped before it finished
def test_damaged_parts_of_an_unfinished_run_are_recomputed(unfinished, finished_run, tmp_path,
                                                           notices):
    def damage(run: Path) -> None:
        _truncate(run / ".parts" / "scores-000002.parquet")
        _flip(run / ".parts" / "features" / "part-000001.parquet")
        _garble(run / ".parts" / "done-000003.json")
        _truncate(run / "candidates.parquet")

    result, run, notices = _resume_copy(unfinished, tmp_path, damage, notices)
    assert result.n_resumed == 2  # partitions 0 and 4
    assert "recomputing 3 damaged partition(s)" in notices
    for words in ("partition 1: part-000001.parquet checksum mismatch",
                  "partition 2: scores-000002.parquet", "partition 3: done-000003.json unreadable",
                  "candidates.parquet"):
        assert words in notices
    _assert_same_tables(run, finished_run)


@pytest.mark.parametrize("damage, resumed, notice", [
    (lambda run: (_truncate(run / "features.parquet" / "part-000003.parquet"),
                  _flip(run / "ranked.parquet")),
     4, "features.parquet/part-000003.parquet"),
    (lambda run: _truncate(run / "scores.parquet"), 0, "scores.parquet"),
    (lambda run: (run / "candidates.parquet").unlink(), 5, "candidates.parquet missing"),
    (lambda run: _garble(run / "manifest.json"), 0, "manifest.json is unreadable"),
], ids=["feature-part-and-ranked", "scores", "candidates", "manifest"])
def test_damaged_final_files_of_a_finished_run_are_rebuilt(finished_run, tmp_path, notices, damage,
                                                           resumed, notice):
    result, run, notices = _resume_copy(finished_run, tmp_path, damage, notices)
    assert result.n_resumed == resumed
    assert notice in notices and len(notices.strip().splitlines()) == 1
    _assert_same_tables(run, finished_run)


def test_a_locked_run_directory_is_refused_in_one_line_and_left_as_it_was(tmp_path):
    spec = write_spec(tmp_path)
    out = tmp_path / "busy"
    with run_lock(out):
        result = CliRunner().invoke(main, ["run", str(spec), "--out", str(out), "--quiet"])
        assert f"in use by another viglas run (pid {os.getpid()}" in one_line_error(result)
        assert [p.name for p in out.iterdir()] == [LOCK]
    assert not out.exists()  # the lock made the directory and took it away again


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_notice(finished_run, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    (run / LOCK).write_text(f"{pid} elsewhere\n")
    result = CliRunner().invoke(main, ["run", str(write_spec(tmp_path)), "--out", str(run),
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"viglas: {run.resolve()}: taking over the lock of pid {pid} on elsewhere, which no "
        f"longer runs (it was killed or crashed)"]
    assert ", 5 resumed;" in result.stdout
    _assert_same_tables(run, finished_run)


def test_a_lock_file_that_is_a_symlink_is_refused_and_its_target_left_alone(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK).symlink_to(victim)
    result = CliRunner().invoke(main, ["run", str(write_spec(tmp_path)), "--out", str(out),
                                       "--quiet"])
    assert f"{out / LOCK} is a symlink" in one_line_error(result)
    assert victim.read_text() == "precious" and (out / LOCK).is_symlink()
    assert [p.name for p in out.iterdir()] == [LOCK]


def _a_file(root: Path) -> Path:
    (root / "out").write_text("a file")
    return root / "out"


def _below_a_file(root: Path) -> Path:
    (root / "file").write_text("a file")
    return root / "file" / "run"


def _a_folder_of_other_files(root: Path) -> Path:
    (root / "out").mkdir()
    (root / "out" / "notes.txt").write_text("mine")
    return root / "out"


@pytest.mark.parametrize("make_out, message", [
    (_a_file, "is a file, not a directory"),
    (_below_a_file, "cannot write to"),
    (_a_folder_of_other_files, "holds 'notes.txt' and no viglas run"),
])
def test_an_unusable_out_directory_is_refused_and_left_as_it_was(tmp_path, make_out, message):
    spec = write_spec(tmp_path)
    out = make_out(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["run", str(spec), "--out", str(out), "--quiet"])
    assert message in one_line_error(result)
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_out_directory_is_refused(tmp_path):
    parent = tmp_path / "read-only"
    parent.mkdir(mode=0o555)
    spec = write_spec(tmp_path)
    result = CliRunner().invoke(main, ["run", str(spec), "--out", str(parent / "run")])
    assert "cannot write to" in one_line_error(result)
    assert list(parent.iterdir()) == []


def test_markers_and_manifest_record_sizes_and_checksums(finished_run):
    manifest = json.loads((finished_run / store.MANIFEST).read_text())
    assert manifest["complete"] is True
    assert set(manifest["files"]) == {"candidates.parquet", "scores.parquet", "ranked.parquet",
                                      *(store.features_part(i) for i in range(5))}
    for name, digest in manifest["files"].items():
        assert digest == store.file_digest(finished_run / name)


def test_an_atomic_write_appears_whole_or_not_at_all(tmp_path):
    from screening.atomic import atomic_write, write_text

    target = tmp_path / "table.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("the writer died")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with atomic_write(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not yet visible under its name
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]
