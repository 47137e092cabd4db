"""The runs under a results directory: find one by name or path, list them with their status.

``viglas query``, ``plot`` and ``verify`` name a run by its name under ``results/`` (or
``$VIGLAS_RESULTS``) or by its directory; ``viglas runs`` lists every run there with its
candidate count, date, spec hash and whether it is complete (every table file matches the
checksum its manifest records), incomplete or corrupt.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from screening.errors import StoreError, UserError, one_line
from screening.store import check_tables, read_manifest, read_meta


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
    # is_symlink too: a run whose spec.toml is a link is listed (as corrupt), not hidden
    return sorted(p for p in results_root.iterdir()
                  if (p / "spec.toml").is_file() or (p / "spec.toml").is_symlink())


def run_summary(run_dir: Path) -> dict[str, Any]:
    """Name, candidate count, status, date and spec hash of one run, for ``viglas runs``.

    A finished run is ``complete`` only while every table file matches the size and SHA-256 its
    manifest records; otherwise, or when its files cannot be read, it is listed with status
    ``corrupt: <why>`` (``viglas run`` on its spec repairs the data files), so one damaged
    directory does not hide the others. Row counts are read only from files so verified (or,
    for an unfinished run, from plain files).
    """
    row: dict[str, Any] = {"name": run_dir.name, "candidates": 0, "ranked": 0,
                           "status": "incomplete", "created_utc": "", "spec_hash": ""}
    try:
        meta = read_meta(run_dir)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, StoreError) as exc:
        row["status"] = f"corrupt: spec.toml unreadable ({_short(run_dir, exc)[:60]})"
        return row
    row["created_utc"] = meta.get("created_utc", "")
    row["spec_hash"] = meta.get("content_hash", "")
    try:
        if (read_manifest(run_dir) or (False, {}))[0]:
            check_tables(run_dir)
            row["status"] = "complete"
    except (OSError, StoreError) as exc:
        row["status"] = f"corrupt: {_short(run_dir, exc)}"
        return row
    for table in ("candidates", "ranked"):
        path = run_dir / f"{table}.parquet"
        try:
            if path.is_file() and not path.is_symlink():
                row[table] = pq.read_metadata(path).num_rows
        except (OSError, pa.ArrowException):
            row["status"] = f"corrupt: {path.name} unreadable"
            return row
    return row


def _short(run_dir: Path, exc: BaseException) -> str:
    """What went wrong, without the run's path and the repair hint the listing already gives."""
    text = one_line(exc).replace(f"{run_dir} is corrupt: ", "").replace(f"{run_dir}: ", "")
    text = text.replace(f"{run_dir.resolve()}/", "").replace(f"{run_dir}/", "")
    return text.split("; ")[0][:80]
