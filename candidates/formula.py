"""Plain formula strings: the one text form every stage stores and passes (``LiAlCl2.5O0.75``).

Formatting and parsing here are the hot path of a screen (a million rows), so they avoid building
pymatgen ``Composition`` objects; anything richer than ``ElementAmount...`` goes through
:func:`candidates.notation.parse_composition` instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from pymatgen.core.periodic_table import Element

from candidates.errors import UserError

_TOKEN = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d+)?|\.\d+)?", re.ASCII)

#: Significant digits kept when an amount is written into a formula string.
AMOUNT_DIGITS = 6


class FormulaError(UserError):
    """A formula string that is not a plain ``ElementAmount...`` formula of known elements."""


_ELEMENTS = frozenset(el.symbol for el in Element)


def is_element(symbol: str) -> bool:
    """True when ``symbol`` is a chemical element known to pymatgen."""
    return symbol in _ELEMENTS


def format_amount(amount: float) -> str:
    """Write an amount the way formulas do: ``1`` is omitted, ``2.5`` stays, ``0.333333``."""
    rounded = float(f"{amount:.{AMOUNT_DIGITS}g}")
    if rounded == 1.0:  # after rounding, or 1.0000011 would be written "1"
        return ""
    # Positional notation always: "1e-05" would not parse back as an amount.
    return f"{rounded:.12f}".rstrip("0").rstrip(".")


def format_formula(amounts: Mapping[str, float] | Sequence[tuple[str, float]]) -> str:
    """Join ``{symbol: amount}`` (in the given order) into a plain formula; zeros are dropped."""
    pairs = amounts.items() if isinstance(amounts, Mapping) else amounts
    return "".join(f"{el}{format_amount(n)}" for el, n in pairs if n > 10 ** -AMOUNT_DIGITS)


# Featurizers and scorers parse the same partition one after another: the cache needs to hold a
# partition, not a run (a worker holding every formula it saw would grow with the space).
@lru_cache(maxsize=1 << 17)
def parse_plain(formula: str) -> tuple[tuple[str, float], ...]:
    """Parse a plain formula (``LiAlCl2.5O0.75``) into ``((symbol, amount), ...)``.

    Repeated symbols are summed; order of first appearance is kept. Raises :class:`FormulaError`
    naming the formula and the offending symbol when it is not plain or names an unknown element.
    """
    text = formula.strip()
    tokens = _TOKEN.findall(text)
    if sum(len(symbol) + len(number) for symbol, number in tokens) != len(text) or not tokens:
        raise FormulaError(f"not a plain formula: {formula!r}")
    amounts: dict[str, float] = {}
    for symbol, number in tokens:
        if symbol not in _ELEMENTS:
            raise FormulaError(f"unknown element {symbol!r} in formula {formula!r}")
        amounts[symbol] = amounts.get(symbol, 0.0) + (float(number) if number else 1.0)
    return tuple(amounts.items())
