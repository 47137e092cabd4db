"""Descriptors of the composition models: magpie element statistics, glass and transport physics.

The physics block is what a composition-only baseline lacks: the atomic fractions of the mobile
ions and anions, the glass network of :mod:`screening.models.network` (formers, bridging anions,
connectivity, field strength, Stanworth's electronegativity difference, the percolation term
``max(p - p_c, 0)`` of the bridging fraction p, the Phillips-Thorpe rigidity) and the transport
descriptors of :mod:`screening.models.transport` (anion polarisability, radius and softness,
mobile-ion-anion ionicity, carrier density). The glass-forming, Tg and conductivity models all
draw their inputs from :func:`composition_descriptors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from candidates.formula import FormulaError, parse_plain
from screening.models.network import CHALCOGENS, HALOGENS, Network, network, rigidity
from screening.models.transport import Transport, transport

Amounts = tuple[tuple[str, float], ...]
#: Elements whose atomic fraction is a descriptor of its own (mobile ions and anions).
FRACTION_ELEMENTS = ("Li", "Na", "K", "O", "S", "Se", "F", "Cl", "Br", "I", "N", "H")
#: Percolation threshold of the bridging-anion fraction (domain brief: p_c about 0.2).
PERCOLATION_THRESHOLD = 0.2
COMPOSITION_LABELS = (
    *(f"frac_{el}" for el in FRACTION_ELEMENTS),
    "frac_halide", "frac_chalcogen", "mixed_anion", "percolation", "rigidity",
    *Network.labels(), *Transport.labels(),
)


def parse_amounts(formulas: Sequence[str]) -> list[Amounts | None]:
    """Plain formulas as ``((symbol, amount), ...)``; None where a formula does not parse."""
    out: list[Amounts | None] = []
    for formula in formulas:
        try:
            pairs = parse_plain(formula)
        except (FormulaError, TypeError, AttributeError):
            pairs = None
        valid = pairs and all(n >= 0 for _, n in pairs) and sum(n for _, n in pairs) > 0
        out.append(pairs if valid else None)
    return out


@lru_cache(maxsize=1 << 18)
def _composition_row(amounts: Amounts) -> tuple[float, ...]:
    comp = dict(amounts)
    total = sum(comp.values())
    frac = {el: comp.get(el, 0.0) / total for el in FRACTION_ELEMENTS}
    halide = sum(comp.get(el, 0.0) for el in HALOGENS) / total
    chalcogen = sum(comp.get(el, 0.0) for el in CHALCOGENS) / total
    net = network(amounts)
    return (
        *frac.values(), halide, chalcogen, 4.0 * halide * chalcogen,
        max(net.bridging_frac - PERCOLATION_THRESHOLD, 0.0), rigidity(net), *net.values(),
        *transport(amounts).values(),
    )


def composition_descriptors(amounts: Sequence[Amounts | None]) -> pd.DataFrame:
    """The :data:`COMPOSITION_LABELS` block, one row per composition (None gives a NaN row)."""
    nan_row = (np.nan,) * len(COMPOSITION_LABELS)
    rows = [nan_row if a is None else _composition_row(a) for a in amounts]
    block = np.array(rows, dtype=float).reshape(len(rows), len(COMPOSITION_LABELS))
    return pd.DataFrame(block, columns=list(COMPOSITION_LABELS))


def magpie_features(formulas: Sequence[str]) -> pd.DataFrame:
    """matminer's magpie ``ElementProperty`` statistics (132 columns), NaN for unparsable rows."""
    from featurizers.registry import featurize_formulas, load_featurizer

    block = featurize_formulas([("magpie", load_featurizer("magpie"))], list(formulas))
    return block.add_prefix("magpie ")
