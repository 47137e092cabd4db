"""On-disk cache of fitted models, keyed by a hash of the training data and the model config.

The directory is ``$VIGLAS_CACHE`` when set, else ``~/.cache/viglas-screen``. A key that changes
(new data, new config, new feature code) simply misses; stale files are never read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import joblib

from screening.atomic import atomic_write

T = TypeVar("T")


def cache_dir() -> Path:
    """Root of the model cache (created on demand)."""
    root = os.environ.get("VIGLAS_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "viglas-screen"


def cache_key(*parts: str) -> str:
    """Hex digest of the given parts (data digests, config reprs, versions)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def files_digest(roots: Iterable[Path]) -> str:
    """Hex digest of the files ``roots`` and of every file under the directories among them:
    each one's path from its root's parent and its contents, in a fixed order (byte-compiled
    caches left out)."""
    digest = hashlib.sha256()
    for root in roots:
        paths = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in paths:
            if "__pycache__" in path.parts:
                continue
            digest.update(f"{path.relative_to(root.parent).as_posix()}\x1f".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load_or_build(name: str, key: str, build: Callable[[], T]) -> T:
    """Load ``<cache>/models/<name>-<key>.joblib`` or build, store and return it."""
    path = cache_dir() / "models" / f"{name}-{key}.joblib"
    if path.exists():
        return joblib.load(path)
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:  # concurrent workers never read a half-written file
        joblib.dump(value, tmp)
    return value
