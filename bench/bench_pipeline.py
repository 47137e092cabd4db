"""Benchmark whole screening runs: throughput, peak memory and Dask scaling on this machine.

    python bench/bench_pipeline.py --spec runs/wide.toml              # every proxy, end to end
    python bench/bench_pipeline.py --tier composition --n 1000000     # enumerate + featurize + cost
    python bench/bench_pipeline.py --tier composition --n 200000 --scaling   # 1 worker vs 2

Prints candidates per second and the peak resident memory of the whole process tree (client,
scheduler and workers, sampled every 0.2 s). Results go to a temporary directory.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import threading
import time
from pathlib import Path

import psutil

from screening.pipeline import run_screen
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


class PeakRss:
    """Peak summed RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s, self.peak_bytes = interval_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def composition_spec(n: int, directory: Path) -> Path:
    """A composition-tier spec with at least ``n`` grid points (the O step shrinks to fit)."""
    a_values = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    points_per_o = _CLASSES * len(a_values)
    n_o = max(2, math.ceil(n / points_per_o))
    step = 1.5 / (n_o - 1)
    path = directory / "composition.toml"
    path.write_text(COMPOSITION_TIER.format(step=f"{step:.9f}", a_per_m=a_values))
    return path


def timed_run(spec_path: Path, out: Path, workers: int | None) -> tuple[int, float, float]:
    """Run once; returns (candidates, seconds, peak RSS in GB)."""
    spec = load_spec(spec_path)
    with PeakRss() as rss:
        start = time.perf_counter()
        result = run_screen(spec, out, workers=workers, progress=False)
        seconds = time.perf_counter() - start
    return result.n_candidates, seconds, rss.peak_bytes / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, help="Run this spec end to end.")
    parser.add_argument("--tier", choices=["composition"], help="Generate a composition-tier spec.")
    parser.add_argument("--n", type=int, default=100_000, help="Candidates for --tier.")
    parser.add_argument("--workers", type=int, default=None, help="LocalCluster workers.")
    parser.add_argument("--scaling", action="store_true", help="Time 1 worker, then 2.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viglas-bench-") as tmp:
        spec_path = args.spec or composition_spec(args.n, Path(tmp))
        for workers in ([1, 2] if args.scaling else [args.workers]):
            n, seconds, peak_gb = timed_run(spec_path, Path(tmp) / f"run-{workers}", workers)
            print(f"{spec_path.name}: {n:,} candidates, workers={workers or 'auto'}: "
                  f"{seconds:.1f} s, {n / seconds:,.0f} candidates/s, peak RSS {peak_gb:.2f} GB")


if __name__ == "__main__":
    main()
