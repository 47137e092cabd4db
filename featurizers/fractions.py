"""Compositions as an atomic-fraction matrix: the input of every fast (vectorised) featurizer.

A partition of plain formula strings is parsed once (``candidates.formula.parse_plain`` caches
each formula) into an ``n rows x k elements`` matrix of atomic fractions over the elements that
occur in the partition. Fast featurizers read this matrix instead of pymatgen ``Composition``
objects, which is what makes a million rows affordable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pymatgen.core import Composition

from candidates.formula import FormulaError, parse_plain


@dataclass(frozen=True)
class FractionMatrix:
    """Atomic fractions of ``n`` formulas over ``elements``.

    ``fractions[i, j]`` is the atomic fraction of ``elements[j]`` in formula ``i`` (rows sum to 1);
    rows whose formula did not parse are all zero and ``valid[i]`` is False.
    """

    elements: list[str]
    fractions: np.ndarray
    valid: np.ndarray


def fraction_matrix(formulas: Sequence[str]) -> FractionMatrix:
    """Parse plain formulas into a :class:`FractionMatrix`; unparsable or empty rows are invalid.

    The matrices of the last two formula lists are kept (their arrays are read-only): the
    featurizers and the scorers of a partition all read the same one.
    """
    return _fraction_matrix(tuple(formulas))


@lru_cache(maxsize=2)
def _fraction_matrix(formulas: tuple[str, ...]) -> FractionMatrix:
    parsed: list[Sequence[tuple[str, float]] | None] = []
    for formula in formulas:
        try:
            parsed.append(parse_plain(formula))
        except (FormulaError, TypeError, AttributeError):
            parsed.append(None)
    matrix = amounts_matrix(parsed)
    matrix.fractions.flags.writeable = matrix.valid.flags.writeable = False
    return matrix


def amounts_matrix(compositions: Sequence[Sequence[tuple[str, float]] | None]) -> FractionMatrix:
    """A :class:`FractionMatrix` of parsed compositions ``((symbol, amount), ...)``, each symbol
    once per composition as :func:`candidates.formula.parse_plain` gives them; None or empty rows
    are invalid."""
    pairs = [pair for composition in compositions for pair in composition or ()]
    rows = np.repeat(np.arange(len(compositions)),
                     [len(composition or ()) for composition in compositions])
    column = {symbol: j for j, symbol in enumerate(dict.fromkeys(s for s, _ in pairs))}
    matrix = np.zeros((len(compositions), len(column)))
    matrix[rows, [column[s] for s, _ in pairs]] = [amount for _, amount in pairs]
    totals = matrix.sum(axis=1)
    valid = totals > 0
    matrix[valid] /= totals[valid, None]
    return FractionMatrix(elements=list(column), fractions=matrix, valid=valid)


def composition_fractions(comp: Composition) -> tuple[np.ndarray, list[str]]:
    """One composition as a ``1 x k`` fraction matrix plus its element symbols."""
    pairs = comp.element_composition.fractional_composition.items()
    elements = [el.symbol for el, _ in pairs]
    fractions = np.array([[amount for _, amount in pairs]], dtype=float)
    return fractions, elements


def present_elements(fractions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compact each row to the columns it uses: ``(index, weight)``, both ``n x m``.

    ``m`` is the largest number of elements in any row (3-6 for glass formulas, while a partition
    can hold 20+ elements). Padding slots have weight 0 and repeat the row's first element, so a
    minimum or maximum over all ``m`` slots needs no mask.
    """
    present = fractions > 0
    width = max(int(present.sum(axis=1).max(initial=0)), 1)
    order = np.argsort(~present, axis=1, kind="stable")[:, :width]
    used = np.take_along_axis(present, order, axis=1)
    index = np.where(used, order, order[:, :1])
    return index, np.where(used, np.take_along_axis(fractions, order, axis=1), 0.0)
