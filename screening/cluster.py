"""Dask clusters for the screen and the physics tier: one way to start, probe and close them.

``viglas run`` and ``viglas verify`` (and everything built on them) get their client here. A
scheduler address means an existing cluster, probed first so that a wrong address is one line
and not a 20 s wait and a traceback; no address means a :class:`LocalCluster` of
single-threaded worker processes that ignore Ctrl-C (the client answers it and closes them).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

import dask
from dask.distributed import Client, LocalCluster
from distributed.comm import connect
from distributed.security import Security
from distributed.utils import get_mp_context

from screening.errors import ClusterError, one_line

#: How long ``--scheduler`` gets to answer before the command is refused.
SCHEDULER_TIMEOUT_S = 3.0
#: glibc's mallopt parameters.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def check_scheduler(address: str, timeout_s: float = SCHEDULER_TIMEOUT_S) -> None:
    """Raise :class:`ClusterError` unless a Dask scheduler answers at ``address`` within
    ``timeout_s`` (a Client would wait 20 s or more, then fail with a traceback)."""

    async def identity() -> dict:
        comm = await connect(address, timeout=timeout_s,
                             **Security().get_connection_args("client"))
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()

    try:
        answer = asyncio.run(asyncio.wait_for(identity(), timeout_s))
    except Exception as exc:  # whatever went wrong, the user's answer is the same
        raise ClusterError(f"no Dask scheduler answers at {address!r} within {timeout_s:g} s "
                           f"({one_line(exc)}); start one there or leave out --scheduler") from exc
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise ClusterError(f"{address!r} answers, but not as a Dask scheduler")


def local_cluster(n_workers: int, preload_modules: Sequence[str] = (),
                  resources: dict[str, float] | None = None) -> LocalCluster:
    """A LocalCluster of ``n_workers`` single-threaded worker processes that ignore SIGINT.

    With ``preload_modules`` the workers fork from a forkserver that imports those modules once:
    spawned workers each import pymatgen, matminer and scikit-learn afresh (2 s apiece, competing
    on a small machine with the client's own work). A forked worker would see the environment the
    server started with, so it is given the client's current one, except the variables Dask pins
    per worker (thread counts, malloc settings). The scheduler's HTTP server (health and metrics
    routes, no dashboard) takes a free port instead of 8787, which another cluster on the machine
    may hold (a warning on every run).
    """
    forkserver = bool(preload_modules) and "forkserver" in multiprocessing.get_all_start_methods()
    method = "forkserver" if forkserver else "spawn"
    # No dashboard reads the workers' statistical profiler, which samples every thread's stack
    # every 10 ms: off, it leaves about 6% of a wide run's CPU to the work.
    with dask.config.set({"distributed.worker.multiprocessing-method": method,
                          "distributed.worker.profile.enabled": False}):
        if forkserver:
            get_mp_context().set_forkserver_preload(["distributed", *preload_modules])
        pinned = dask.config.get("distributed.nanny.pre-spawn-environ")
        env = {name: value for name, value in os.environ.items() if name not in pinned}
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.ERROR, env=env,
                            scheduler_kwargs={"dashboard_address": ":0"},
                            resources=resources, preload=["screening.cluster"])


class QuietTaskFailures(logging.Filter):
    """Drops a worker's "Compute Failed" dump (task, exception, traceback as one long text).

    The client re-raises the task's exception, as one line when the user caused it and with its
    traceback when it is a bug, so the dump only printed the same failure first, on stderr,
    above that line. Every other worker message passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Compute Failed")


def dask_setup(worker: object) -> None:
    """Dask's preload hook, run in each local worker process: ignore SIGINT, and leave a task's
    failure for the client to report (:class:`QuietTaskFailures`).

    Ctrl-C reaches the whole process group. The client answers it (one line; finished work is
    kept) and closes its cluster, so a worker has nothing to do with it but print a
    KeyboardInterrupt traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("distributed.worker").addFilter(QuietTaskFailures())


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Let this worker process keep the memory a task frees, for the next task (glibc only).

    Dask's nanny starts every worker with MALLOC_TRIM_THRESHOLD_=65536, which also turns off
    glibc's adaptive mmap threshold: every array over 128 kB is then mapped and unmapped afresh,
    and the page faults run in the kernel. A screening partition allocates hundreds of such
    arrays (feature frames, tree and distance matrices): about 0.47 s of CPU per wide-run
    partition became 0.65 s. An MD worker's model passes fared worse: sys 3.5 s against 1.2 s
    for the same CHGNet passes, more than half its CPU. Returns whether the settings were
    applied.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 256 * 2 ** 20) and mallopt(_M_TRIM_THRESHOLD, 2 ** 30))


def start_client(scheduler: str | None, workers: int | None,
                 preload_modules: Sequence[str] = (),
                 resources: dict[str, float] | None = None) -> Client:
    """A client on ``scheduler`` if given, else on a new :func:`local_cluster` of ``workers``
    processes (default: one per core)."""
    if scheduler:
        return Client(scheduler, timeout="20s", set_as_default=False)
    cluster = local_cluster(workers or os.cpu_count() or 1, preload_modules, resources)
    return Client(cluster, set_as_default=False)


def close_client(client: Client, own_cluster: bool) -> None:
    """Close ``client``, and its cluster if the caller started it."""
    cluster = client.cluster if own_cluster else None
    client.close()
    if cluster is not None:
        cluster.close()


@contextmanager
def dask_client(scheduler: str | None, workers: int | None,
                preload_modules: Sequence[str] = (),
                resources: dict[str, float] | None = None) -> Iterator[Client]:
    """:func:`start_client` as a context manager that closes what it started."""
    client = start_client(scheduler, workers, preload_modules, resources)
    try:
        yield client
    finally:
        close_client(client, own_cluster=scheduler is None)


class LazyClient:
    """A client started in the background when first wanted and closed once.

    Starting a LocalCluster is seconds of waiting for worker processes, so a caller starts it
    early and goes on with its own work; closing it also runs in the background.
    """

    def __init__(self, background: ThreadPoolExecutor, scheduler: str | None,
                 workers: int | None, preload_modules: Sequence[str] = ()) -> None:
        self.background, self.scheduler, self.workers = background, scheduler, workers
        self.preload_modules = tuple(preload_modules)
        self.starting: Future | None = None

    def start(self) -> None:
        """Begin starting the client, unless that has begun already."""
        if self.starting is None:
            self.starting = self.background.submit(start_client, self.scheduler, self.workers,
                                                   self.preload_modules)

    def client(self) -> Client:
        """The client, waiting for it to start if need be."""
        self.start()
        return self.starting.result()

    def close(self) -> None:
        """Close the client (and its cluster, if started here) in the background."""
        if self.starting is not None:
            self.background.submit(_close_started, self.starting, self.scheduler is None)
            self.starting = None


def _close_started(starting: Future, own_cluster: bool) -> None:
    # A client that failed to start is left alone: its exception was already raised.
    if starting.exception() is None:
        close_client(starting.result(), own_cluster)
