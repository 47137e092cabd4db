"""The results store: one directory per run holding Parquet files, written atomically.

Layout of ``results/<run-name>/``::

    spec.toml            resolved spec, package versions, content hash (written first)
    candidates.parquet   enumerated compositions with their generation parameters
    features.parquet/    formula + one column per feature: a Parquet dataset, one
                         part-NNNNNN.parquet per partition in candidate order
    scores.parquet       formula + one column per scorer output
    ranked.parquet       candidates that pass the filters, scored and ranked, best first
    verified.parquet     MD (viglas verify) of chosen candidates: D per temperature, Ea, sigma
    ranked_verified.parquet  ranked, re-scored with the MD conductivity where there is one
    md/                  MD checkpoints and trajectories, md/<protocol>/<candidate>/<stage>/
    .parts/              per-partition results of an unfinished run (removed when it completes)

Every file appears under its final name only once complete (write to a temporary name in the
same directory, then ``os.replace``), so a reader never sees half a file and a killed run leaves
only whole partitions behind. The feature table stays a dataset because it is by far the
largest (a million rows is over a gigabyte): concatenating it would be a serial copy at the end
of every run, while pandas, DuckDB, Polars and Spark all read a directory of parts as one table.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import tomli_w

RESULT_TABLES = ("candidates", "features", "scores", "ranked", "verified", "ranked_verified")
PARTS_DIR = ".parts"
FEATURES_PARTS = "features"
_TMP_MARK = ".tmp-"


class RunNotFoundError(ValueError):
    """A run name or directory that holds no viglas run."""


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}")


def write_parquet(frame: pd.DataFrame, path: Path, use_dictionary: bool = True) -> None:
    """Write ``frame`` to ``path`` atomically (no index).

    ``use_dictionary=False`` suits tables of distinct floats (features): dictionary encoding them
    costs a third of the write time and saves little space.
    """
    tmp = _tmp_path(path)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp,
                   use_dictionary=use_dictionary)
    os.replace(tmp, path)


def write_toml(data: dict[str, Any], path: Path) -> None:
    """Write ``data`` as TOML to ``path`` atomically."""
    tmp = _tmp_path(path)
    tmp.write_text(tomli_w.dumps(data))
    os.replace(tmp, path)


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file written by :func:`write_toml`."""
    return tomllib.loads(path.read_text())


def part_paths(run_dir: Path, index: int) -> tuple[Path, Path]:
    """The feature and score part files of partition ``index`` of an unfinished run."""
    parts = run_dir / PARTS_DIR
    return (parts / FEATURES_PARTS / f"part-{index:06d}.parquet",
            parts / f"scores-{index:06d}.parquet")


def concat_parquet(parts: Sequence[Path], path: Path) -> pa.Table:
    """Concatenate ``parts`` (same columns) into one Parquet file at ``path``, atomically, and
    return the table. Column types are unified across parts (a column that is all-null in one
    part is promoted). Every part is held in memory at once: this is for the score table, which
    ranking needs whole anyway, not for features."""
    table = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="permissive")
    table = table.replace_schema_metadata(None)
    tmp = _tmp_path(path)
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return table


def publish_features(run_dir: Path) -> None:
    """Move the run's feature parts to ``features.parquet/`` in one rename, the last step of a run
    (so a run whose ``features.parquet`` and ``ranked.parquet`` exist is complete). A stale table
    left by an earlier, recomputed run is replaced."""
    target = run_dir / "features.parquet"
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    os.replace(run_dir / PARTS_DIR / FEATURES_PARTS, target)


def parquet_glob(path: Path) -> str:
    """What DuckDB's ``read_parquet`` needs to read ``path``: the file, or a dataset's parts."""
    return str(path / "*.parquet") if path.is_dir() else str(path)


def remove_stale_temporaries(run_dir: Path) -> int:
    """Delete temporary files a killed run left behind; returns how many."""
    stale = [p for p in run_dir.rglob(f"*{_TMP_MARK}*") if p.is_file()]
    for path in stale:
        path.unlink()
    return len(stale)


def remove_parts(run_dir: Path) -> None:
    """Drop the per-partition files once the run's combined tables are written."""
    shutil.rmtree(run_dir / PARTS_DIR, ignore_errors=True)


def resolve_run(ref: str, results_root: Path) -> Path:
    """A run given by name (under ``results_root``) or by directory path."""
    for candidate in (Path(ref), results_root / ref):
        if (candidate / "spec.toml").is_file():
            return candidate
    runs = ", ".join(r.name for r in iter_runs(results_root)) or "none yet"
    raise RunNotFoundError(f"no run {ref!r} (looked in {ref} and {results_root / ref}); "
                           f"runs in {results_root}: {runs}")


def iter_runs(results_root: Path) -> list[Path]:
    """Run directories under ``results_root``, sorted by name."""
    if not results_root.is_dir():
        return []
    return sorted(p for p in results_root.iterdir() if (p / "spec.toml").is_file())


def run_summary(run_dir: Path) -> dict[str, Any]:
    """Name, candidate count, status, date and spec hash of one run, for ``viglas runs``."""
    meta = read_toml(run_dir / "spec.toml").get("meta", {})
    candidates = run_dir / "candidates.parquet"
    ranked = run_dir / "ranked.parquet"
    return {
        "name": run_dir.name,
        "candidates": pq.read_metadata(candidates).num_rows if candidates.exists() else 0,
        "ranked": pq.read_metadata(ranked).num_rows if ranked.exists() else 0,
        "status": "complete" if ranked.exists() else "incomplete",
        "created_utc": meta.get("created_utc", ""),
        "spec_hash": meta.get("content_hash", ""),
    }
