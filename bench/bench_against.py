"""Alternate whole runs of this checkout and another one (the code before a change) for a
before/after ratio that drift on a shared machine hits alike.

    python bench/bench_against.py /tmp/base-6313 --spec runs/wide.toml --repeat 3

Each run is ``bench/bench_pipeline.py --spec SPEC --workers N --matminer-sample 0`` (this
checkout's script) in a process of its own, with the working directory and ``PYTHONPATH`` set to
the side's checkout, so ``SPEC`` is read from each side's tree and each side runs its own code.
Both share the environment, ``VIGLAS_CACHE`` included: each side finds its own fitted models
there by their keys. One untimed warm-up per side (it fits what the cache lacks), then base, new,
new, base, base, new, ... Prints every run (wall and the CPU seconds of its process tree) and the
medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE / "bench_pipeline.py"
_RUN = re.compile(r"workers=\S+: ([\d.]+) s, .*CPU ([\d.]+) s .*load ([\d.]+)")


def one_run(checkout: Path, spec: str, workers: int) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds of the process tree and the load average after the run."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    done = subprocess.run(
        [sys.executable, str(BENCH), "--spec", spec, "--workers", str(workers),
         "--matminer-sample", "0"], cwd=checkout, env=env, capture_output=True, text=True)
    match = _RUN.search(done.stdout)
    if done.returncode or match is None:
        raise SystemExit(f"{checkout}: bench failed (exit {done.returncode}):\n"
                         f"{done.stdout}{done.stderr[-3000:]}")
    wall, cpu, load = (float(v) for v in match.groups())
    return wall, cpu, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="The other checkout (the code before).")
    parser.add_argument("--spec", default="runs/wide.toml", help="Spec, relative to each tree.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs per side.")
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "new": HERE.parent}
    for name, checkout in sides.items():
        wall, cpu, load = one_run(checkout, args.spec, args.workers)
        print(f"warm-up {name}: {wall:.1f} s (untimed)", flush=True)
    runs: dict[str, list[tuple[float, float]]] = {"base": [], "new": []}
    for i in range(args.repeat):
        for name in ("base", "new") if i % 2 == 0 else ("new", "base"):
            wall, cpu, load = one_run(sides[name], args.spec, args.workers)
            runs[name].append((wall, cpu))
            print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, load {load:.1f}", flush=True)
    wall = {name: statistics.median(w for w, _ in r) for name, r in runs.items()}
    cpu = {name: statistics.median(c for _, c in r) for name, r in runs.items()}
    print(f"median of {args.repeat}: base {wall['base']:.1f} s, new {wall['new']:.1f} s wall "
          f"({wall['base'] / wall['new']:.2f}x); CPU base {cpu['base']:.1f} s, new "
          f"{cpu['new']:.1f} s ({cpu['base'] / cpu['new']:.2f}x)")


if __name__ == "__main__":
    main()
