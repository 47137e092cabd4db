"""The run lock: one process at a time works in a run directory.

``RUN/.lock`` is held with an operating-system lock (``flock`` on Unix, ``LockFileEx`` on Windows,
through the ``filelock`` package), which the system drops when its process dies, however it dies.
The holder writes its pid and host into the file, so that a second run is refused naming the run
that holds the directory, and a run that finds the file of a dead holder takes it over with a
notice. The lock file is opened without following a symlink: a ``.lock`` that points elsewhere is
refused, never written through.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from filelock import FileLock, Timeout

from screening.errors import StoreError

#: The lock file's name inside the run directory.
LOCK = ".lock"

log = logging.getLogger(__name__)


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir/.lock`` (creating the directory) while the body runs.

    Raises :class:`StoreError` when another live process holds it (naming its pid), when
    ``run_dir`` is a file or cannot be written, or when ``.lock`` is a symlink. Directories
    created here are removed again on the way out if nothing but the lock was put in them.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise StoreError(f"{run_dir} is a file, not a directory; give --out a directory")
    lock_path = run_dir / LOCK
    created = _created_dirs(run_dir)
    lock = FileLock(lock_path, blocking=False, on_acquired=partial(_claim, run_dir))
    try:
        _acquire(lock, run_dir)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)  # while still held, so no other run holds this name
        lock.release()
        _remove_empty(created)


def _acquire(lock: FileLock, run_dir: Path) -> None:
    """Create ``run_dir`` and take ``lock``, or raise :class:`StoreError` saying why not."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise StoreError(f"{run_dir} is in use by another viglas run "
                         f"({_holder(Path(lock.lock_file))}); wait for it to end or stop it"
                         ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{lock.lock_file} is a symlink; a run's lock file must be a plain "
                             f"file, not a link to another (remove it)") from exc
        raise StoreError(f"cannot write to {run_dir} ({exc.strerror}); give --out a "
                         f"writable directory") from exc


def _claim(run_dir: Path, fd: int) -> None:
    """Write this process into the just-locked file ``fd``, after a notice naming the dead run
    whose pid is still in it (filelock calls this once it holds the lock)."""
    os.lseek(fd, 0, os.SEEK_SET)
    pid, host = _parse(os.read(fd, 256))
    if pid is not None:
        log.warning(f"{run_dir}: taking over the lock of pid {pid} on {host or 'this machine'}, "
                    f"which no longer runs (it was killed or crashed)")
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())


def _parse(text: bytes) -> tuple[int | None, str]:
    """The pid and host written in a lock file (None when there is none)."""
    pid, _, host = text.decode(errors="replace").partition(" ")
    try:
        return int(pid), host.strip()
    except ValueError:
        return None, ""


def _holder(lock_path: Path) -> str:
    """Who holds ``lock_path``, for the message that refuses a second run."""
    try:
        pid, host = _parse(lock_path.read_bytes())
    except OSError:
        pid, host = None, ""
    return f"pid {pid} on {host or 'this machine'}" if pid is not None else "starting"


def _created_dirs(path: Path) -> list[Path]:
    """The directories ``mkdir(parents=True)`` of ``path`` would create, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _remove_empty(directories: list[Path]) -> None:
    """Remove ``directories`` (deepest first) that are empty; stop at the first that is not."""
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:
            return
