"""The descriptors the composition models read: magpie, the glass network and ion transport.

Every descriptor is a featurizer's column (:mod:`featurizers.network`, :mod:`featurizers.transport`
and matminer's magpie preset), computed once per partition by the pipeline and handed to the
scorers as a frame. The functions here compute the same columns for tables that are not screened
(the training data, a validation set): :func:`composition_descriptors` for the glass-forming, Tg
and conductivity physics, :func:`descriptor_frame` for any set of featurizers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

import numpy as np
import pandas as pd
from matminer.featurizers.base import BaseFeaturizer

from candidates.formula import FormulaError, parse_plain
from featurizers import network, transport
from featurizers.fractions import amounts_matrix
from featurizers.registry import featurize_formulas, load_featurizer

Amounts = tuple[tuple[str, float], ...]
MAGPIE = "magpie"
#: The featurizers of the glass-forming, Tg and conductivity physics, in column order.
PHYSICS = ("glass_network", "ion_transport")
COMPOSITION_LABELS = (*network.LABELS, *transport.LABELS)


def parse_amounts(formulas: Sequence[str]) -> list[Amounts | None]:
    """Plain formulas as ``((symbol, amount), ...)``; None where a formula does not parse.

    The last two formula lists are remembered: a partition's scorers and models each ask.
    """
    return list(_parse_amounts(tuple(formulas)))


@lru_cache(maxsize=2)
def _parse_amounts(formulas: tuple[str, ...]) -> tuple[Amounts | None, ...]:
    out: list[Amounts | None] = []
    for formula in formulas:
        try:
            pairs = parse_plain(formula)
        except (FormulaError, TypeError, AttributeError):
            pairs = None
        valid = pairs and all(n >= 0 for _, n in pairs) and sum(n for _, n in pairs) > 0
        out.append(pairs if valid else None)
    return tuple(out)


@cache
def _featurizer(ref: str) -> BaseFeaturizer:
    return load_featurizer(ref)


def descriptor_frame(formulas: Sequence[str], featurizers: Sequence[str]) -> pd.DataFrame:
    """The columns of the named featurizers for plain formulas, after a ``formula`` column: the
    frame the pipeline hands a scorer that reads ``featurizers``."""
    formulas = list(formulas)
    frame = featurize_formulas([(ref, _featurizer(ref)) for ref in featurizers], formulas)
    frame.insert(0, "formula", formulas)
    return frame


def composition_descriptors(amounts: Sequence[Amounts | None]) -> pd.DataFrame:
    """The :data:`COMPOSITION_LABELS` columns of parsed compositions (None gives a NaN row)."""
    matrix = amounts_matrix(amounts)
    block = np.hstack([_featurizer(ref).featurize_fractions(matrix.fractions, matrix.elements)
                       for ref in PHYSICS]).reshape(len(amounts), len(COMPOSITION_LABELS))
    return pd.DataFrame(block, columns=list(COMPOSITION_LABELS))


def columns_of(frame: pd.DataFrame, ref: str) -> pd.DataFrame:
    """The columns of the featurizer ``ref`` in ``frame``, in the featurizer's label order."""
    return frame[_featurizer(ref).feature_labels()]


def magpie_block(frame: pd.DataFrame) -> pd.DataFrame:
    """The magpie columns of a frame, each label prefixed ``magpie `` as the models name them."""
    return columns_of(frame, MAGPIE).add_prefix("magpie ")


def magpie_features(formulas: Sequence[str]) -> pd.DataFrame:
    """:func:`magpie_block` of plain formulas (132 columns), NaN rows where one does not parse."""
    return magpie_block(descriptor_frame(formulas, (MAGPIE,)))
