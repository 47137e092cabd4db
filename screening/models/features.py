"""Descriptors of the conductivity model: magpie element statistics plus glass-physics terms.

The physics block is what a composition-only baseline lacks: temperature (``1000/T``), the mobile
ion and anion chemistry, the glass network of :mod:`screening.models.network` (bridging O per
centre, the percolation term ``max(p - p_c, 0)`` of the bridging fraction p) and ``Tg/T`` from the
Tg model, which tells the learner whether the network is frozen (Arrhenius) or mobile
(Vogel-Fulcher-Tammann, the VIGLAS regime).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from candidates.formula import FormulaError, parse_plain
from screening.models.network import CHALCOGENS, HALOGENS, Network, network
from screening.models.tg_model import TgModel, rigidity

#: Elements whose atomic fraction is a descriptor of its own (mobile ions and anions).
FRACTION_ELEMENTS = ("Li", "Na", "K", "O", "S", "Se", "F", "Cl", "Br", "I", "N", "H")
#: Percolation threshold of the bridging-anion fraction (domain brief: p_c about 0.2).
PERCOLATION_THRESHOLD = 0.2
COMPOSITION_LABELS = (
    *(f"frac_{el}" for el in FRACTION_ELEMENTS),
    "frac_halide", "frac_chalcogen", "mixed_anion", "percolation", "rigidity",
    *Network.labels(),
)
PHYSICS_LABELS = ("inv_T_1000_per_K", "tg_over_T", *COMPOSITION_LABELS)


def parse_amounts(formulas: Sequence[str]) -> list[tuple[tuple[str, float], ...] | None]:
    """Plain formulas as ``((symbol, amount), ...)``; None where a formula does not parse."""
    out: list[tuple[tuple[str, float], ...] | None] = []
    for formula in formulas:
        try:
            pairs = parse_plain(formula)
        except (FormulaError, TypeError, AttributeError):
            pairs = None
        out.append(pairs if pairs and all(n >= 0 for _, n in pairs) else None)
    return out


@lru_cache(maxsize=1 << 18)
def _composition_row(amounts: tuple[tuple[str, float], ...]) -> tuple[float, ...]:
    comp = dict(amounts)
    total = sum(comp.values())
    frac = {el: comp.get(el, 0.0) / total for el in FRACTION_ELEMENTS}
    halide = sum(comp.get(el, 0.0) for el in HALOGENS) / total
    chalcogen = sum(comp.get(el, 0.0) for el in CHALCOGENS) / total
    net = network(amounts)
    return (
        *frac.values(), halide, chalcogen, 4.0 * halide * chalcogen,
        max(net.bridging_frac - PERCOLATION_THRESHOLD, 0.0), rigidity(net), *net.values(),
    )


def physics_features(
    amounts: Sequence[tuple[tuple[str, float], ...] | None],
    temperature_K: np.ndarray,
    tg_model: TgModel,
) -> pd.DataFrame:
    """The :data:`PHYSICS_LABELS` block; rows whose amounts are None are NaN."""
    nan_row = (np.nan,) * len(COMPOSITION_LABELS)
    comp = np.array([nan_row if a is None else _composition_row(a) for a in amounts], dtype=float)
    temperature_K = np.broadcast_to(np.asarray(temperature_K, dtype=float), (len(amounts),))
    tg_K = tg_model.predict(comp[:, COMPOSITION_LABELS.index("rigidity")])
    block = np.column_stack([1000.0 / temperature_K, tg_K / temperature_K, comp])
    return pd.DataFrame(block, columns=list(PHYSICS_LABELS))


def magpie_features(formulas: Sequence[str]) -> pd.DataFrame:
    """matminer's magpie ``ElementProperty`` statistics (132 columns), NaN for unparsable rows."""
    from featurizers.registry import featurize_formulas, load_featurizer

    block = featurize_formulas([("magpie", load_featurizer("magpie"))], list(formulas))
    return block.add_prefix("magpie ")
