"""Magpie featurization throughput: the vectorised fraction path against matminer's own path.

    .venv/bin/python bench/bench_featurize.py 100000 --sample 1000

Generates N distinct generator-style formulas ``A(a) M X(a+v-2x) O(x)``, featurizes all of them
with ``featurize_formulas`` (formula parsing included, parse cache cleared first), featurizes a
sample with matminer's ``ElementProperty.from_preset("magpie").featurize_many`` on pymatgen
Compositions (Composition construction included), checks the two agree on the sample, and prints
compositions per second for each and their ratio.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from matminer.featurizers.composition import ElementProperty
from pymatgen.core import Composition

from candidates.chemistry import HALOGENS
from candidates.formula import format_formula, parse_plain
from featurizers.registry import featurize_formulas, load_featurizer

ALKALI = ("Li", "Na", "K")
CENTRES = {"Al": 3, "Ga": 3, "In": 3, "B": 3, "Sc": 3, "Y": 3, "Zr": 4, "Hf": 4, "Nb": 5, "Ta": 5}


def generator_formulas(n: int) -> list[str]:
    """``n`` distinct charge-neutral formulas over alkali, centre, halogen, O content and A:M."""
    formulas = []
    steps = itertools.count()
    while len(formulas) < n:
        step = next(steps)
        ratio = 0.5 + 0.01 * (step % 151)
        x = 0.001 * (step // 151 % 1000)
        for a, (m, v), h in itertools.product(ALKALI, CENTRES.items(), HALOGENS):
            amounts = {a: ratio, m: 1.0, h: ratio + v - 2 * x, "O": x}
            formulas.append(format_formula(amounts))
    return formulas[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="compositions for the fast path")
    parser.add_argument("--sample", type=int, default=500, help="compositions for matminer")
    args = parser.parse_args()

    formulas = generator_formulas(args.n)
    fast = load_featurizer("magpie")
    featurize_formulas([("magpie", fast)], formulas[:10])  # build the element tables once
    parse_plain.cache_clear()
    start = time.perf_counter()
    features = featurize_formulas([("magpie", fast)], formulas)
    fast_s = time.perf_counter() - start

    sample = formulas[:: max(1, len(formulas) // args.sample)][: args.sample]
    matminer = ElementProperty.from_preset("magpie")
    matminer.set_n_jobs(1)
    start = time.perf_counter()
    reference = matminer.featurize_many([Composition(f) for f in sample], pbar=False)
    slow_s = time.perf_counter() - start

    rows = [formulas.index(f) for f in sample[:50]]
    np.testing.assert_allclose(
        features.to_numpy()[rows], np.array(reference[:50]), rtol=1e-9, atol=1e-12
    )
    fast_rate, slow_rate = len(formulas) / fast_s, len(sample) / slow_s
    print(f"fast path : {len(formulas):>9} compositions in {fast_s:8.3f} s = {fast_rate:12,.0f}/s")
    print(f"matminer  : {len(sample):>9} compositions in {slow_s:8.3f} s = {slow_rate:12,.0f}/s")
    print(f"speed-up  : {fast_rate / slow_rate:,.0f}x  ({features.shape[1]} magpie features)")


if __name__ == "__main__":
    main()
