"""A run directory made ready for a screen: the right spec, nothing half-written, damage repaired.

A run resumes in the directory of an earlier, unfinished or damaged run of the same spec. Before
any partition is computed, :func:`prepare_run_dir` refuses a directory of another spec (or of
other files), clears the temporaries of killed writers, checks every file the manifest and the
partition markers vouch for, turns a finished run whose final files were damaged back into an
unfinished one, and says which partitions remain to compute, with a notice for each kind of
damage found. :func:`write_spec` records the spec the directory belongs to.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pyarrow.parquet as pq

from screening import store
from screening.atomic import remove_stale_temporaries
from screening.errors import UserError, one_line
from screening.runlock import LOCK
from screening.spec import RunSpec

log = logging.getLogger(__name__)

#: Packages whose versions ``spec.toml`` records.
VERSIONED = ("viglas-screen", "pymatgen", "matminer", "smact", "dask", "distributed", "pandas",
             "scikit-learn", "pyarrow", "duckdb")


class RunError(UserError):
    """A run that cannot start or continue (e.g. its directory holds a different spec)."""


@dataclass(frozen=True)
class RunDirState:
    """What a prepared run directory holds: ``finished`` when the run is complete and intact,
    ``intact`` the manifest's files that still match it, ``todo`` the partitions to compute."""

    finished: bool
    intact: dict[str, store.Digest]
    todo: list[int]


def prepare_run_dir(spec: RunSpec, out_dir: Path, n_parts: int) -> RunDirState:
    """Check and repair ``out_dir`` for a run of ``spec`` in ``n_parts`` partitions (see the
    module docstring); the caller holds the run's lock."""
    _check_run_dir(spec, out_dir)
    remove_stale_temporaries(out_dir)
    manifest = store.read_manifest(out_dir)
    if manifest is None and (out_dir / store.MANIFEST).exists():
        log.warning(f"{out_dir}: {store.MANIFEST} is unreadable; recomputing what it vouched for")
    complete, files = manifest or (False, {})
    damaged = store.verify_manifest(out_dir, files)
    intact = {name: digest for name, digest in files.items() if name not in damaged}
    if complete and not damaged:
        store.remove_parts(out_dir)  # left behind if a run was killed while cleaning up
        return RunDirState(True, intact, [])
    if damaged:
        found = "; ".join(f"{name} {reason}" for name, reason in damaged.items())
        log.warning(f"{out_dir}: damaged or missing: {found}; rebuilding from the intact files")
    if complete:
        _reopen(out_dir, intact, n_parts, spec.partition_size)
    states = {index: store.check_partition(out_dir, index) for index in range(n_parts)}
    broken = [f"partition {index}: {state}" for index, state in states.items()
              if state not in (None, store.NOT_FINISHED)]
    if broken:
        more = f" and {len(broken) - 3} more" if len(broken) > 3 else ""
        log.warning(f"{out_dir}: recomputing {len(broken)} damaged partition(s) "
                    f"({'; '.join(broken[:3])}{more})")
    return RunDirState(False, intact, [index for index, state in states.items()
                                       if state is not None])


def _check_run_dir(spec: RunSpec, out_dir: Path) -> None:
    """Refuse a directory that holds another spec's run, or other files and no run at all."""
    spec_file = out_dir / "spec.toml"
    if not spec_file.exists():
        strays = sorted(p.name for p in out_dir.iterdir() if p.name != LOCK)
        if strays:
            raise RunError(f"{out_dir} holds {strays[0]!r} and no viglas run (no spec.toml); "
                           f"give --out a new or empty directory")
        return
    try:
        old_hash = store.read_meta(out_dir).get("content_hash")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunError(f"{spec_file} is unreadable ({one_line(exc)}); delete {out_dir} or "
                       f"use --out DIR") from exc
    if old_hash != spec.content_hash:
        raise RunError(f"{out_dir} holds a run of a different spec (hash {old_hash}, this "
                       f"spec {spec.content_hash}); use --out DIR or delete {out_dir}")


def _reopen(out_dir: Path, intact: dict[str, store.Digest], n_parts: int, size: int) -> None:
    """Turn a finished run whose final files are damaged back into an unfinished one.

    Every partition whose feature part and score rows are ``intact`` goes back to ``.parts`` as
    a finished partition; the resume then recomputes the others. The complete manifest is
    replaced last, so a run killed here reopens again from where it was.
    """
    scores = None
    if "scores.parquet" in intact:
        scores = pq.read_table(out_dir / "scores.parquet")
    for index in range(n_parts):
        name = store.features_part(index)
        if scores is None or name not in intact or store.check_partition(out_dir, index) is None:
            continue
        store.restore_partition(out_dir, index, intact[name], scores.slice(index * size, size))
    for name in ("ranked.parquet", "scores.parquet"):
        (out_dir / name).unlink(missing_ok=True)
    shutil.rmtree(out_dir / "features.parquet", ignore_errors=True)
    kept = {name: digest for name, digest in intact.items() if name == "candidates.parquet"}
    store.write_manifest(out_dir, kept, complete=False)


def write_spec(spec: RunSpec, out_dir: Path) -> None:
    """Record ``spec`` (resolved, with its content hash, source, date and the versions of
    :data:`VERSIONED`) as ``out_dir/spec.toml``, unless the directory has one already."""
    spec_file = out_dir / "spec.toml"
    if spec_file.exists():
        return
    meta = {"content_hash": spec.content_hash, "source": str(spec.source),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "versions": {name: version(name) for name in VERSIONED}}
    store.write_toml({**spec.resolved, "meta": meta}, spec_file)
