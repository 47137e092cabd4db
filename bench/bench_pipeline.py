"""Benchmark whole screening runs: throughput, peak memory, Dask scaling and the matminer path.

    python bench/bench_pipeline.py --spec runs/wide.toml --workers 2  # every proxy, once
    python bench/bench_pipeline.py --tier composition --n 1000000     # enumerate, featurize, cost
    python bench/bench_pipeline.py --tier composition --n 1000000 --scaling --repeat 3
    python bench/bench_pipeline.py --spec runs/wide.toml --partition-cpu 3   # CPU per partition

Each run goes end to end (enumeration, cluster start, featurizing, scoring, ranking, writing) into
a temporary directory. Prints candidates per second, the peak resident memory of the whole process
tree (client, scheduler and workers, sampled every 0.2 s), the CPU seconds that tree used (less
sensitive to other jobs on the machine than the wall time) and the 1-minute load average at the
end of the run. ``--scaling`` alternates runs on 1 and 2 workers (1, 2, then 2, 1, ...) so drift
on a shared machine hits both alike, and reports the ratio of the median times. Last, the spec's
featurizers run through matminer's own per-composition path (``featurize_many`` on pymatgen
Compositions, construction included) on a sample of the run's candidates, for the
candidates-per-second ratio against the whole pipeline.

``--partition-cpu N`` instead scores N partitions of the spec in this process, spread over the
candidate table, after one partition that loads the models, and prints the CPU seconds of each
(``time.process_time``): on a shared machine CPU time moves far less with the load than wall time.
BLAS and OpenMP get one thread, as in a Dask worker (more threads only add spin-waiting to the
CPU time of this small work).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import cloudpickle
import pandas as pd
import psutil
from pymatgen.core import Composition
from threadpoolctl import threadpool_limits

from screening.pipeline import build_candidates, load_toolkit, run_screen, score_partition
from screening.spec import load_spec

COMPOSITION_TIER = """
name = "bench-composition"
partition_size = 20000
featurizers = ["magpie", "oxyhalide_network"]
scorers = ["cost"]

[space]
alkali = ["Li", "Na", "K"]
centres = ["Al", "Ga", "In", "B", "Sc", "Y", "Zr", "Hf", "Nb", "Ta"]
centre_mixes = [["Al", "Ga"], ["Al", "In"], ["Ga", "In"], ["Al", "B"]]
centre_mix_fractions = [0.25, 0.5, 0.75]
halogens = ["F", "Cl", "Br", "I"]
halogen_mixes = [["F", "Cl"], ["Cl", "Br"], ["Br", "I"], ["Cl", "I"]]
halogen_mix_fractions = [0.25, 0.5, 0.75]
chalcogens = ["O", "S"]
o_per_m = {{ start = 0.0, stop = 1.5, step = {step} }}
a_per_m = {a_per_m}
max_candidates = 10000000
"""
# Grid points per (O step, alkali grid): 22 centres x 16 halogens x 3 alkali x 2 chalcogens.
_CLASSES = 22 * 16 * 3 * 2


class ProcessTree:
    """Peak summed RSS, and CPU seconds, of this process and all its descendants, sampled in a
    thread. The CPU seconds are what every process of the tree used while sampled (a process's
    last interval before it exits is missed); on a shared machine they move far less with the
    load than the wall time."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s, self.peak_bytes = interval_s, 0
        self._start: dict[tuple[int, float], float] = {}
        self._last: dict[tuple[int, float], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample_once(self) -> None:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                with proc.oneshot():
                    total += proc.memory_info().rss
                    times = proc.cpu_times()
                    self._last[(proc.pid, proc.create_time())] = times.user + times.system
            except psutil.Error:
                continue
        self.peak_bytes = max(self.peak_bytes, total)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._sample_once()
            self._stop.wait(self.interval_s)

    @property
    def cpu_s(self) -> float:
        """CPU seconds used by the tree since entering (user and system)."""
        return sum(cpu - self._start.get(proc, 0.0) for proc, cpu in self._last.items())

    def __enter__(self) -> ProcessTree:
        self._sample_once()  # what processes alive now (this one, a forkserver) used before
        self._start = dict(self._last)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample_once()


def composition_spec(n: int, directory: Path) -> Path:
    """A composition-tier spec with at least ``n`` grid points (the O step shrinks to fit)."""
    a_values = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    points_per_o = _CLASSES * len(a_values)
    n_o = max(2, math.ceil(n / points_per_o))
    step = 1.5 / (n_o - 1)
    path = directory / "composition.toml"
    path.write_text(COMPOSITION_TIER.format(step=f"{step:.9f}", a_per_m=a_values))
    return path


def timed_run(spec_path: Path, out: Path, workers: int | None
              ) -> tuple[int, float, float, float]:
    """Run once into ``out``; returns (candidates, seconds, CPU seconds of the process tree, peak
    RSS in GB)."""
    spec = load_spec(spec_path)
    with ProcessTree() as tree:
        start = time.perf_counter()
        result = run_screen(spec, out, workers=workers, progress=False)
        seconds = time.perf_counter() - start
    return result.n_candidates, seconds, tree.cpu_s, tree.peak_bytes / 1e9


def matminer_rate(spec_path: Path, formulas: list[str]) -> float:
    """Candidates per second through each of the spec's featurizers' own ``featurize_many``
    (matminer's per-composition code; for the magpie preset, ``ElementProperty`` itself)."""
    featurizers = [f for _, f in load_toolkit(load_spec(spec_path)).featurizers]
    start = time.perf_counter()
    compositions = [Composition(f) for f in formulas]
    for featurizer in featurizers:
        featurizer.featurize_many(compositions, ignore_errors=True, pbar=False)
    return len(formulas) / (time.perf_counter() - start)


def partition_cpu_s(spec_path: Path, n_partitions: int) -> list[float]:
    """CPU seconds to featurize and score each of ``n_partitions`` partitions of the spec, spread
    over its candidates, after a first partition that loads the models (not counted)."""
    spec = load_spec(spec_path)
    formulas = build_candidates(spec)[0]["formula"].to_numpy()
    blob = cloudpickle.dumps(load_toolkit(spec))
    size = spec.partition_size
    starts = [i * len(formulas) // (n_partitions + 1) for i in range(n_partitions + 1)]
    seconds = []
    with threadpool_limits(1):
        for start in starts:
            before = time.process_time()
            score_partition(formulas[start:start + size], blob, spec.temperature_K)
            seconds.append(time.process_time() - before)
    return seconds[1:]


def worker_schedule(scaling: bool, repeat: int, workers: int | None) -> list[int | None]:
    """Worker counts in run order: 1, 2, 2, 1, 1, 2, ... for ``scaling``, else ``workers``."""
    if not scaling:
        return [workers] * repeat
    pairs = [[1, 2] if i % 2 == 0 else [2, 1] for i in range(repeat)]
    return [w for pair in pairs for w in pair]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, help="Run this spec end to end.")
    parser.add_argument("--tier", choices=["composition"], help="Generate a composition-tier spec.")
    parser.add_argument("--n", type=int, default=100_000, help="Candidates for --tier.")
    parser.add_argument("--workers", type=int, default=None, help="LocalCluster workers.")
    parser.add_argument("--scaling", action="store_true", help="Alternate 1 and 2 workers.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs (pairs with --scaling).")
    parser.add_argument("--matminer-sample", type=int, default=300,
                        help="Candidates for the matminer path (0: skip).")
    parser.add_argument("--partition-cpu", type=int, default=0, metavar="N",
                        help="Time N partitions' CPU seconds in-process instead of whole runs.")
    args = parser.parse_args()
    if args.spec is None and args.tier is None:
        parser.error("give --spec or --tier")
    if args.partition_cpu:
        if args.spec is None:
            parser.error("--partition-cpu needs --spec")
        seconds = partition_cpu_s(args.spec, args.partition_cpu)
        print(f"{args.spec.name}: CPU per partition: {', '.join(f'{s:.2f}' for s in seconds)} s, "
              f"median {statistics.median(seconds):.2f} s", flush=True)
        return
    with tempfile.TemporaryDirectory(prefix="viglas-bench-") as tmp:
        spec_path = args.spec or composition_spec(args.n, Path(tmp))
        seconds: dict[int | None, list[float]] = {}
        sample: list[str] = []
        for i, workers in enumerate(worker_schedule(args.scaling, args.repeat, args.workers)):
            out = Path(tmp) / f"run-{i}"
            n, run_s, cpu_s, peak_gb = timed_run(spec_path, out, workers)
            seconds.setdefault(workers, []).append(run_s)
            print(f"{spec_path.name}: {n:,} candidates, workers={workers or 'auto'}: "
                  f"{run_s:.1f} s, {n / run_s:,.0f} candidates/s, CPU {cpu_s:.1f} s (all "
                  f"processes), peak RSS {peak_gb:.2f} GB, load {os.getloadavg()[0]:.1f}",
                  flush=True)
            if not sample and args.matminer_sample:
                candidates = pd.read_parquet(out / "candidates.parquet", columns=["formula"])
                sample = candidates.sample(min(args.matminer_sample, n), random_state=0)[
                    "formula"].tolist()
            shutil.rmtree(out)  # a million-candidate run holds over a gigabyte of features
        medians = {w: statistics.median(s) for w, s in seconds.items()}
        if args.scaling:
            print(f"scaling: median of {args.repeat}: 1 worker {medians[1]:.1f} s, "
                  f"2 workers {medians[2]:.1f} s, speed-up {medians[1] / medians[2]:.2f}x")
        if sample:
            slow = matminer_rate(spec_path, sample)
            fast = n / min(medians.values())
            print(f"matminer path ({len(sample)} sampled candidates, featurizers only): "
                  f"{slow:,.0f} candidates/s; the whole fast pipeline: {fast:,.0f} "
                  f"candidates/s, {fast / slow:,.0f}x")


if __name__ == "__main__":
    main()
