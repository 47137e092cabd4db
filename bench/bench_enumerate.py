"""Benchmark candidate enumeration alone, on the composition-tier space of bench_pipeline.py.

    python bench/bench_enumerate.py                       # >= 1,000,000 grid points, 5 runs
    python bench/bench_enumerate.py --n 300000 --repeat 7

Prints the number of candidates, the best and median wall time of ``enumerate_space`` and
candidates per second (from the best run).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_pipeline import composition_spec

from candidates.space import enumerate_space
from screening.spec import load_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="Grid points (at least).")
    parser.add_argument("--repeat", type=int, default=5, help="Timed runs.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viglas-bench-") as tmp:
        space = load_spec(composition_spec(args.n, Path(tmp))).space
    seconds = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        n = len(enumerate_space(space))
        seconds.append(time.perf_counter() - start)
    best = min(seconds)
    print(f"{n:,} candidates: best {best:.3f} s, median {statistics.median(seconds):.3f} s "
          f"over {args.repeat} runs, {n / best:,.0f} candidates/s")


if __name__ == "__main__":
    main()
