"""The results store: one directory per run holding Parquet files, written atomically.

Layout of ``results/<run-name>/``::

    spec.toml            resolved spec, package versions, content hash (written first)
    candidates.parquet   enumerated compositions with their generation parameters
    features.parquet     formula + one column per feature
    scores.parquet       formula + one column per scorer output
    ranked.parquet       candidates that pass the filters, scored and ranked, best first
    .parts/              per-partition results of an unfinished run (removed when it completes)

Every file appears under its final name only once complete (write to a temporary name in the
same directory, then ``os.replace``), so a reader never sees half a file and a killed run leaves
only whole partitions behind.
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

RESULT_TABLES = ("candidates", "features", "scores", "ranked")
PARTS_DIR = ".parts"
_TMP_MARK = ".tmp-"


class RunNotFoundError(ValueError):
    """A run name or directory that holds no viglas run."""


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}")


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically (no index)."""
    tmp = _tmp_path(path)
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def write_toml(data: dict[str, Any], path: Path) -> None:
    """Write ``data`` as TOML to ``path`` atomically."""
    tmp = _tmp_path(path)
    tmp.write_text(tomli_w.dumps(data))
    os.replace(tmp, path)


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file written by :func:`write_toml`."""
    return tomllib.loads(path.read_text())


def concat_parquet(parts: Sequence[Path], path: Path) -> None:
    """Stream ``parts`` (same columns) into one Parquet file at ``path``, atomically.

    One part at a time is held in memory, so memory stays flat however many parts there are.
    Column types are unified across parts (a column that is all-null in one part is promoted).
    """
    schema = pa.unify_schemas([pq.read_schema(p) for p in parts], promote_options="permissive")
    schema = schema.remove_metadata()
    tmp = _tmp_path(path)
    with pq.ParquetWriter(tmp, schema) as writer:
        for part in parts:
            writer.write_table(pq.read_table(part).select(schema.names).cast(schema))
    os.replace(tmp, path)


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
