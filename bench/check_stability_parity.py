"""Check that the stability scorer gives the same answers as a reference run of other code.

    python bench/check_stability_parity.py --spec runs/wide.toml --write /tmp/before.parquet
    python bench/check_stability_parity.py --spec runs/wide.toml --compare /tmp/before.parquet

``--write`` scores every candidate of the spec with the stability scorer (partition by partition,
as a run does) and stores the outputs; run it with the code before a change (a worktree of the old
commit on ``PYTHONPATH``). ``--compare`` scores them again with the code on the path and checks
every numeric column to ``--tol`` (NaN where, and only where, the reference has NaN) and every
text column exactly; it prints the largest difference and exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from screening.pipeline import build_candidates
from screening.scorers.stability import StabilityScorer
from screening.spec import load_spec


def stability_table(spec_path: Path) -> pd.DataFrame:
    """Formula and stability outputs of every candidate of the spec, scored per partition."""
    spec = load_spec(spec_path)
    formulas = build_candidates(spec)[0]["formula"].tolist()
    scorer = StabilityScorer(**spec.scorer_options.get("stability", {}))
    parts = []
    for start in range(0, len(formulas), spec.partition_size):
        part = formulas[start:start + spec.partition_size]
        scores = scorer.score_formulas(part, spec.temperature_K)
        scores.insert(0, "formula", part)
        parts.append(scores)
    return pd.concat(parts, ignore_index=True)


def mismatches(new: pd.DataFrame, old: pd.DataFrame, tol: float) -> list[str]:
    """One line per column that differs beyond ``tol`` (numbers) or at all (text)."""
    if list(new.columns) != list(old.columns) or len(new) != len(old):
        return [f"shape: {list(new.columns)} x {len(new)} against {list(old.columns)} x {len(old)}"]
    lines = []
    for column in new.columns:
        a, b = new[column], old[column]
        if pd.api.types.is_float_dtype(b):
            a, b = a.to_numpy(), b.to_numpy()
            nan_differs = np.isnan(a) != np.isnan(b)
            both = ~np.isnan(a) & ~np.isnan(b)
            worst = float(np.abs(a[both] - b[both]).max(initial=0.0))
            print(f"{column}: largest difference {worst:.3g}, NaN {int(np.isnan(b).sum())} rows")
            if nan_differs.any() or worst > tol:
                lines.append(f"{column}: {int(nan_differs.sum())} rows differ in NaN, largest "
                             f"difference {worst:.3g}")
        else:
            differs = (a.fillna("<None>") != b.fillna("<None>")).to_numpy()
            print(f"{column}: {int(differs.sum())} rows differ")
            if differs.any():
                i = int(np.flatnonzero(differs)[0])
                lines.append(f"{column}: {int(differs.sum())} rows differ, first {new.formula[i]}: "
                             f"{a.iloc[i]!r} against {b.iloc[i]!r}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, help="Store this code's outputs here.")
    action.add_argument("--compare", type=Path, help="Compare this code's outputs to this file.")
    parser.add_argument("--tol", type=float, default=1e-9, help="Largest numeric difference.")
    args = parser.parse_args()
    start = time.process_time()
    table = stability_table(args.spec)
    print(f"{len(table):,} candidates scored in {time.process_time() - start:.1f} CPU s")
    if args.write:
        table.to_parquet(args.write)
        return
    lines = mismatches(table, pd.read_parquet(args.compare), args.tol)
    print("\n".join(lines) if lines else f"identical to {args.compare} within {args.tol:g}")
    sys.exit(1 if lines else 0)


if __name__ == "__main__":
    main()
