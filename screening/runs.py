"""The runs under a results directory: find one by name or path, list them with their status.

``viglas query``, ``plot`` and ``verify`` name a run by its name under ``results/`` (or
``$VIGLAS_RESULTS``) or by its directory; ``viglas runs`` lists every run there with its
candidate count, date, spec hash and whether it is complete, incomplete or corrupt.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from screening.errors import UserError, one_line
from screening.store import is_complete, read_manifest, read_meta


class RunNotFoundError(UserError):
    """A run name or directory that holds no viglas run."""


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
    """Name, candidate count, status, date and spec hash of one run, for ``viglas runs``.

    A run whose files cannot be read is listed with status ``corrupt: <why>`` (``viglas run`` on
    its spec repairs the data files), so one damaged directory does not hide the others.
    """
    row: dict[str, Any] = {"name": run_dir.name, "candidates": 0, "ranked": 0,
                           "status": "incomplete", "created_utc": "", "spec_hash": ""}
    try:
        meta = read_meta(run_dir)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        row["status"] = f"corrupt: spec.toml unreadable ({one_line(exc)[:60]})"
        return row
    row["created_utc"] = meta.get("created_utc", "")
    row["spec_hash"] = meta.get("content_hash", "")
    for table in ("candidates", "ranked"):
        path = run_dir / f"{table}.parquet"
        try:
            row[table] = pq.read_metadata(path).num_rows if path.exists() else 0
        except (OSError, pa.ArrowException):
            row["status"] = f"corrupt: {path.name} unreadable"
            return row
    if (read_manifest(run_dir) or (False, {}))[0]:
        row["status"] = ("complete" if is_complete(run_dir)
                         else "corrupt: its files differ from manifest.json")
    return row
