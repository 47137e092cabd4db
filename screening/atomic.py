"""Atomic file writes: a file appears under its final name only once it is complete.

The data is written to a temporary name in the same directory (``.<name>.tmp-<pid>``) and renamed
onto the final name with ``os.replace``, which is atomic on one filesystem, so a reader (or a run
resumed after a crash) never sees half a file. A write that fails leaves no temporary behind; one
cut short by ``kill -9`` does, and :func:`remove_stale_temporaries` clears those.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: What marks a temporary name (``.<name>.tmp-<pid>``).
TMP_MARK = ".tmp-"


@contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for the body to write; renamed onto ``path`` when the body
    succeeds, removed when it raises.

    ``with atomic_write(path) as tmp: table.to_parquet(tmp)`` works with any writer that takes a
    path (pyarrow, joblib, ASE trajectories, ``Path.write_text``).
    """
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def remove_stale_temporaries(root: Path) -> int:
    """Delete the temporaries that killed writers left under ``root``; returns how many."""
    stale = [p for p in root.rglob(f"*{TMP_MARK}*") if p.is_file()]
    for path in stale:
        path.unlink()
    return len(stale)
