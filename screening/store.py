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
``manifest.json``), and a resumed run recomputes what no longer matches. Readers trust the same
records: ``viglas runs``, ``query``, ``plot`` and ``report`` serve a table only while each of its
files matches the checksum the manifest records (:func:`check_tables`), and say which file is
corrupt or unverified otherwise. A run reads nothing outside its directory: a recorded name that
leaves the run, a symlink, or a device, pipe or other special file where a file should be is
refused in one line, never opened. The feature table stays a
dataset because it is by far the largest (a million rows is over a gigabyte): concatenating it
would be a serial copy at the end of every run, while pandas, DuckDB, Polars and Spark all read a
directory of parts as one table.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
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


def _not_regular(path: Path, mode: int) -> StoreError:
    kind = ("a symbolic link" if stat.S_ISLNK(mode)
            else "not a regular file (a device, pipe or directory)")
    return StoreError(f"{path} is {kind}, not a regular file inside the run; viglas reads no "
                      f"link or special file: remove it (`viglas run` on the spec recomputes it)")


def _open_regular(path: Path) -> int:
    """A read-only descriptor of the plain file at ``path``, opened without following a symlink
    and without blocking on a pipe; :class:`StoreError` for anything but a plain file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise _not_regular(path, stat.S_IFLNK) from exc
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _not_regular(path, mode)
    return fd


def file_digest(path: Path) -> Digest:
    """Size and SHA-256 of the plain file at ``path`` (a symlink or special file raises
    :class:`StoreError`)."""
    with os.fdopen(_open_regular(path), "rb") as handle:
        sha = hashlib.file_digest(handle, "sha256").hexdigest()
        return {"bytes": os.fstat(handle.fileno()).st_size, "sha256": sha}


def read_text(path: Path) -> str:
    """The UTF-8 text of the plain file at ``path`` (a symlink or special file raises
    :class:`StoreError`, so ``/dev/zero`` or a pipe is never read)."""
    with os.fdopen(_open_regular(path), "rb") as handle:
        return handle.read().decode("utf-8")


def damage(path: Path, digest: object) -> str | None:
    """What is wrong with the file at ``path`` given its recorded ``digest`` (missing, wrong
    size, wrong checksum), or None when it matches. A symlink or a special file at ``path``
    raises :class:`StoreError`: it is refused, not hashed."""
    if not isinstance(digest, Mapping) or not {"bytes", "sha256"} <= set(digest):
        return "no valid checksum record"
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(path, info.st_mode)
    if info.st_size != digest["bytes"]:
        return f"{info.st_size} bytes, expected {digest['bytes']}"
    if file_digest(path)["sha256"] != digest["sha256"]:
        return "checksum mismatch"
    return None


def run_file(run_dir: Path, name: str, listed_in: str = MANIFEST) -> Path:
    """``run_dir / name`` for a file the run records by ``name`` (relative, e.g.
    ``scores.parquet`` or ``features.parquet/part-000000.parquet``). Raises :class:`StoreError`
    when ``name`` leads out of the run (absolute, ``..``) or a directory on the way is a
    symlink, so nothing outside the run is read through a record."""
    relative = PurePosixPath(name)
    if (not name or "\\" in name or "\0" in name or relative.is_absolute()
            or any(part in ("", ".", "..") for part in name.split("/"))):
        raise StoreError(f"{run_dir / listed_in} lists {name!r}, which is not a file inside the "
                         f"run; a run reads nothing outside its directory (delete {listed_in}: "
                         f"`viglas run` on the spec then recomputes what it recorded)")
    path = run_dir
    for part in relative.parts[:-1]:
        path = path / part
        if path.is_symlink():
            raise _not_regular(path, stat.S_IFLNK)
    return run_dir / relative


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
    """Read a TOML file written by :func:`write_toml` (a plain file: see :func:`read_text`)."""
    return tomllib.loads(read_text(path))


def read_meta(run_dir: Path) -> dict[str, Any]:
    """The ``[meta]`` table of the run's ``spec.toml`` (content hash, creation time, versions);
    raises OSError, UnicodeDecodeError or TOMLDecodeError when the file cannot be read, and
    :class:`StoreError` when it is a symlink or a special file."""
    meta = read_toml(run_dir / "spec.toml").get("meta")
    return meta if isinstance(meta, dict) else {}


def _read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object at ``path``; None when it is missing, unreadable or not an object
    (:class:`StoreError` when it is a symlink or a special file)."""
    try:
        data = json.loads(read_text(path))
    except StoreError:
        raise
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
        reason = damage(run_file(run_dir, path.relative_to(run_dir).as_posix(),
                                 marker_path.name), marker.get(key))
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
    or it cannot be read. A manifest that names a file outside the run (``/dev/zero``,
    ``../x``) raises :class:`StoreError` (see :func:`run_file`)."""
    manifest = _read_json(run_dir / MANIFEST)
    if manifest is None or not isinstance(manifest.get("files"), dict):
        return None
    for name in manifest["files"]:
        run_file(run_dir, name)
    return bool(manifest.get("complete")), manifest["files"]


def write_manifest(run_dir: Path, files: Mapping[str, Digest], complete: bool) -> None:
    """Record the digests of the run's final files; ``complete`` marks the run finished."""
    write_text(run_dir / MANIFEST, json.dumps({"complete": complete, "files": dict(files)},
                                              indent=1))


def verify_manifest(run_dir: Path, files: Mapping[str, Digest]) -> dict[str, str]:
    """``{relative path: what is wrong}`` for every manifest file that is missing or damaged
    (see :func:`damage`)."""
    found = {name: damage(run_file(run_dir, name), digest) for name, digest in files.items()}
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
    parts in order); [] when it is absent. Raises :class:`StoreError` for a file (or dataset
    directory) that is a symlink or a special file rather than a plain file inside the run."""
    path = run_file(run_dir.resolve(), f"{table}.parquet")
    if path.is_symlink():
        raise _not_regular(path, stat.S_IFLNK)
    listed = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    files = [file for file in listed if file.exists() or file.is_symlink()]
    for file in files:
        mode = file.lstat().st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(file, mode)
    return [str(file) for file in files]


def remove_parts(run_dir: Path) -> None:
    """Drop the per-partition files once the run's combined tables are written."""
    shutil.rmtree(run_dir / PARTS_DIR, ignore_errors=True)


def record_table(run_dir: Path, table: str, data: pd.DataFrame | pa.Table) -> None:
    """Write ``table`` (one of :data:`VERIFIED_TABLES`) into the finished run ``run_dir`` and
    record its digest in the manifest, so readers trust it as they trust the screen's tables."""
    manifest = read_manifest(run_dir)
    if manifest is None or not manifest[0]:
        raise StoreError(f"{run_dir} is not a finished run (no complete {MANIFEST})")
    name = f"{table}.parquet"
    digest = write_parquet(data, run_dir / name)
    write_manifest(run_dir, {**manifest[1], name: digest}, complete=True)


def _table_of(name: str) -> str:
    """The table a recorded file belongs to (``features.parquet/part-000001.parquet`` ->
    ``features``)."""
    return name.split("/", 1)[0].removesuffix(".parquet")


def _repair_hint(table: str) -> str:
    if table in VERIFIED_TABLES:
        return "`viglas verify` on the run writes it again"
    return "`viglas run` on its spec repairs it"


def check_tables(run_dir: Path, tables: Iterable[str] | None = None) -> dict[str, list[str]]:
    """``{table: [its files, absolute]}`` for ``tables`` of the finished run ``run_dir`` (default:
    every table), once each file has been checked against its manifest record, each hashed once.

    Raises :class:`StoreError` in one line unless the run finished, the screen's tables
    (:data:`RESULT_TABLES`) are recorded, and every file of ``tables`` on disk (a dataset's parts
    included) is recorded with a size and SHA-256 it still has: a file that differs is corrupt,
    one without a record (a part added to ``features.parquet/``, a table of an older
    ``viglas verify``) unverified. A table that is neither on disk nor recorded is left out.
    """
    manifest = read_manifest(run_dir)
    if manifest is None or not manifest[0]:
        raise StoreError(f"{run_dir} is not a finished run (no complete {MANIFEST}); "
                         f"`viglas run` on its spec finishes it")
    records = manifest[1]
    wanted = (*RESULT_TABLES, *VERIFIED_TABLES) if tables is None else tuple(tables)
    found: dict[str, list[str]] = {}
    for table in wanted:
        on_disk = parquet_files(run_dir, table)
        names = {Path(file).relative_to(run_dir.resolve()).as_posix() for file in on_disk}
        names |= {name for name in records if _table_of(name) == table}
        if not names and table in RESULT_TABLES:
            raise StoreError(f"{run_dir} is corrupt: {table}.parquet is missing and not in "
                             f"{MANIFEST}; {_repair_hint(table)}")
        for name in sorted(names):
            if name not in records:
                raise StoreError(f"{run_dir}: {name} is unverified ({MANIFEST} records no "
                                 f"checksum for it), so it is not served; "
                                 f"{_repair_hint(table)}")
            reason = damage(run_file(run_dir, name), records[name])
            if reason:
                raise StoreError(f"{run_dir} is corrupt: {name} {reason}; "
                                 f"{_repair_hint(table)}")
        if names:
            found[table] = on_disk
    return found


def is_complete(run_dir: Path) -> bool:
    """Whether the run finished and every table file still matches its manifest record
    (sizes and checksums; see :func:`check_tables`)."""
    try:
        check_tables(run_dir)
    except StoreError:
        return False
    return True
