"""Benchmark what checking a run's checksums costs its readers (``viglas runs``, ``query``,
``plot``, ``report``): every table file is hashed once per open and compared with manifest.json.

    python bench/bench_verify.py --run results/wide --repeat 5   # after viglas run runs/wide.toml

Prints, for each set of tables a reader checks, the bytes hashed and the median and worst wall
time of :func:`screening.store.check_tables`, then the same for a whole ``--top 10`` query.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from screening.query import run_query
from screening.store import check_tables


def _timed(call: Callable[[], object], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("results/wide"), help="a finished run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    readers = {"every table (viglas runs)": None,
               "candidates, scores, ranked (plot, report)": ("candidates", "scores", "ranked"),
               "ranked (query --where/--top)": ("ranked",)}
    print(f"run {args.run}, {args.repeat} repeats (median, worst)")
    for label, tables in readers.items():
        files = [f for found in check_tables(args.run, tables).values() for f in found]
        megabytes = sum(Path(f).stat().st_size for f in files) / 1e6
        seconds = _timed(lambda tables=tables: check_tables(args.run, tables), args.repeat)
        print(f"  check {label:42s} {len(files):4d} files {megabytes:8.1f} MB  "
              f"{statistics.median(seconds):6.3f} s  {max(seconds):6.3f} s")
    seconds = _timed(lambda: run_query(args.run, top=10), args.repeat)
    print(f"  run_query(top=10), check included{'':27s}"
          f"{statistics.median(seconds):6.3f} s  {max(seconds):6.3f} s")


if __name__ == "__main__":
    main()
