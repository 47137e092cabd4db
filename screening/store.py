"""The results store: the layout of a run directory, its partitions and its checksummed manifest.

Files are written with :mod:`screening.atomic`; the directory's lock is :mod:`screening.runlock`
and the listing of runs :mod:`screening.runs`.

Layout of ``results/<run-name>/``::

    spec.toml            resolved spec, package versions, content hash (written first)
    candidates.parquet   enumerated compositions with their generation parameters
    features.parquet/    formula + one column per feature: a Parquet dataset, one
                         part-NNNNNN.parquet per partition in candidate order
    scores.parquet       formula + one column per scorer output
    ranked.parquet       candidates that pass the filters, scored and ranked, best first
    manifest.json        size and SHA-256 of every file above; ``complete`` once the run is done
    .parts/              per-partition results of an unfinished run (removed when it completes):
                         features/part-NNNNNN.parquet, scores-NNNNNN.parquet and done-NNNNNN.json,
                         the sizes and checksums of the two, written last
    .lock                held by the process running the screen (or ``viglas verify``)
    verified.parquet     MD (viglas verify) of chosen candidates: D per temperature, Ea, sigma
    ranked_verified.parquet  ranked, re-scored with the MD conductivity where there is one
    md/                  MD checkpoints and trajectories, md/<protocol>/<candidate>/<stage>/

Every file appears under its final name only once complete, so a reader never sees half a file.
That is not enough on its own: a crash of the machine, a full disk or a copy cut short can still
leave a truncated or damaged file under its final name. So every file the run will trust again is
recorded with its size and checksum (a partition in its ``done`` marker, the final files in
``manifest.json``), and a resumed run recomputes what no longer matches. The feature table stays a
dataset because it is by far the largest (a million rows is over a gigabyte): concatenating it
would be a serial copy at the end of every run, while pandas, DuckDB, Polars and Spark all read a
directory of parts as one table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import tomli_w

from screening.atomic import atomic_write, write_text
from screening.errors import StoreError

RESULT_TABLES = ("candidates", "features", "scores", "ranked")
#: Tables ``viglas verify`` adds to a finished run (not part of the screen's manifest).
VERIFIED_TABLES = ("verified", "ranked_verified")
PARTS_DIR = ".parts"
FEATURES_PARTS = "features"
MANIFEST = "manifest.json"
#: What :func:`check_partition` answers for a partition that never finished (not damage).
NOT_FINISHED = "not finished"

#: ``{"bytes": size, "sha256": hex digest}`` of one file.
Digest = dict[str, Any]


def file_digest(path: Path) -> Digest:
    """Size and SHA-256 of the file at ``path``."""
    with path.open("rb") as handle:
        sha = hashlib.file_digest(handle, "sha256").hexdigest()
    return {"bytes": path.stat().st_size, "sha256": sha}


def damage(path: Path, digest: object) -> str | None:
    """What is wrong with the file at ``path`` given its recorded ``digest`` (missing, wrong
    size, wrong checksum), or None when it matches."""
    if not isinstance(digest, Mapping) or not {"bytes", "sha256"} <= set(digest):
        return "no valid checksum record"
    try:
        size = path.stat().st_size
    except OSError:
        return "missing"
    if size != digest["bytes"]:
        return f"{size} bytes, expected {digest['bytes']}"
    if file_digest(path)["sha256"] != digest["sha256"]:
        return "checksum mismatch"
    return None


def write_parquet(data: pd.DataFrame | pa.Table, path: Path, use_dictionary: bool = True) -> Digest:
    """Write ``data`` to ``path`` atomically (no index); returns the file's digest.

    ``use_dictionary=False`` suits tables of distinct floats (features): dictionary encoding them
    costs a third of the write time and saves little space.
    """
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data,
                                                                         preserve_index=False)
    with atomic_write(path) as tmp:
        pq.write_table(table, tmp, use_dictionary=use_dictionary)
        return file_digest(tmp)  # read back from the page cache: milliseconds per part


def write_toml(data: dict[str, Any], path: Path) -> None:
    """Write ``data`` as TOML to ``path`` atomically."""
    write_text(path, tomli_w.dumps(data))


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file written by :func:`write_toml`."""
    return tomllib.loads(path.read_text())


def read_meta(run_dir: Path) -> dict[str, Any]:
    """The ``[meta]`` table of the run's ``spec.toml`` (content hash, creation time, versions);
    raises OSError, UnicodeDecodeError or TOMLDecodeError when the file cannot be read."""
    meta = read_toml(run_dir / "spec.toml").get("meta")
    return meta if isinstance(meta, dict) else {}


def _read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object at ``path``; None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def part_paths(run_dir: Path, index: int) -> tuple[Path, Path]:
    """The feature and score part files of partition ``index`` of an unfinished run."""
    parts = run_dir / PARTS_DIR
    return (parts / FEATURES_PARTS / f"part-{index:06d}.parquet",
            parts / f"scores-{index:06d}.parquet")


def _marker_path(run_dir: Path, index: int) -> Path:
    return run_dir / PARTS_DIR / f"done-{index:06d}.json"


def write_partition(run_dir: Path, index: int, features: pd.DataFrame | pa.Table,
                    scores: pd.DataFrame | pa.Table) -> None:
    """Write partition ``index``'s part files, then its ``done`` marker with their digests: the
    marker, written last, is what makes the partition count as finished."""
    features_path, scores_path = part_paths(run_dir, index)
    features_path.parent.mkdir(parents=True, exist_ok=True)
    _mark_done(run_dir, index, write_parquet(features, features_path, use_dictionary=False),
               write_parquet(scores, scores_path))


def restore_partition(run_dir: Path, index: int, features_digest: Digest,
                      scores: pa.Table) -> None:
    """Put partition ``index`` of a finished run back among the parts: its intact feature part
    moves back from ``features.parquet/`` and ``scores``, its rows of the score table, becomes
    its score part."""
    features_path, scores_path = part_paths(run_dir, index)
    features_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(run_dir / features_part(index), features_path)
    _mark_done(run_dir, index, features_digest, write_parquet(scores, scores_path))


def _mark_done(run_dir: Path, index: int, features: Digest, scores: Digest) -> None:
    write_text(_marker_path(run_dir, index), json.dumps({"features": features, "scores": scores}))


def check_partition(run_dir: Path, index: int) -> str | None:
    """None when partition ``index`` finished and both its part files are intact;
    :data:`NOT_FINISHED` when it never finished; else what is damaged."""
    marker_path = _marker_path(run_dir, index)
    if not marker_path.exists():
        return NOT_FINISHED
    marker = _read_json(marker_path)
    if marker is None:
        return f"{marker_path.name} unreadable"
    for path, key in zip(part_paths(run_dir, index), ("features", "scores"), strict=True):
        reason = damage(path, marker.get(key))
        if reason:
            return f"{path.name} {reason}"
    return None


def partition_digest(run_dir: Path, index: int) -> Digest:
    """The digest of partition ``index``'s feature part, as its ``done`` marker records it."""
    marker = _read_json(_marker_path(run_dir, index))
    if marker is None:
        raise StoreError(f"partition {index} of {run_dir} has no readable done marker")
    return marker["features"]


def features_part(index: int) -> str:
    """The path of partition ``index``'s feature part in a finished run, relative to the run."""
    return f"features.parquet/part-{index:06d}.parquet"


def read_manifest(run_dir: Path) -> tuple[bool, dict[str, Digest]] | None:
    """``(complete, {relative path: digest})`` from the run's manifest; None when it has none
    or it cannot be read."""
    manifest = _read_json(run_dir / MANIFEST)
    if manifest is None or not isinstance(manifest.get("files"), dict):
        return None
    return bool(manifest.get("complete")), manifest["files"]


def write_manifest(run_dir: Path, files: Mapping[str, Digest], complete: bool) -> None:
    """Record the digests of the run's final files; ``complete`` marks the run finished."""
    write_text(run_dir / MANIFEST, json.dumps({"complete": complete, "files": dict(files)},
                                              indent=1))


def verify_manifest(run_dir: Path, files: Mapping[str, Digest]) -> dict[str, str]:
    """``{relative path: what is wrong}`` for every manifest file that is missing or damaged
    (see :func:`damage`)."""
    found = {name: damage(run_dir / name, digest) for name, digest in files.items()}
    return {name: reason for name, reason in found.items() if reason}


def concat_parts(parts: Sequence[Path]) -> pa.Table:
    """Concatenate ``parts`` (same columns) into one table. Column types are unified across
    parts (a column that is all-null in one part is promoted). Every part is held in memory at
    once: this is for the score table, which ranking needs whole anyway, not for features."""
    table = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="permissive")
    return table.replace_schema_metadata(None)


def publish_features(run_dir: Path) -> None:
    """Move the run's feature parts to ``features.parquet/`` in one rename. A stale table left by
    an earlier, recomputed run is replaced."""
    target = run_dir / "features.parquet"
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    os.replace(run_dir / PARTS_DIR / FEATURES_PARTS, target)


def parquet_files(run_dir: Path, table: str) -> list[str]:
    """The Parquet files of ``table`` in ``run_dir`` as absolute paths (the file, or a dataset's
    parts in order); [] when it is absent. Raises :class:`StoreError` for a file that is not a
    regular file inside the run directory (a symlink pointing elsewhere)."""
    root = run_dir.resolve()
    path = root / f"{table}.parquet"
    listed = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    files = [file for file in listed if file.exists() or file.is_symlink()]
    for file in files:
        if file.is_symlink() or not file.is_file() or root not in file.resolve().parents:
            raise StoreError(f"{file} is not a regular file inside the run {root}")
    return [str(file) for file in files]


def remove_parts(run_dir: Path) -> None:
    """Drop the per-partition files once the run's combined tables are written."""
    shutil.rmtree(run_dir / PARTS_DIR, ignore_errors=True)


def is_complete(run_dir: Path) -> bool:
    """Whether the run finished and its final files still have the sizes its manifest records
    (a quick test; a resumed run also compares checksums)."""
    manifest = read_manifest(run_dir)
    if manifest is None or not manifest[0]:
        return False
    for name, digest in manifest[1].items():
        path = run_dir / name
        if not (isinstance(digest, Mapping) and path.is_file()
                and path.stat().st_size == digest.get("bytes")):
            return False
    return True
