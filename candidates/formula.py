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

_PLAIN = re.compile(r"(?:[A-Z][a-z]?(?:\d+(?:\.\d+)?|\.\d+)?)+")
_TOKEN = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d+)?|\.\d+)?")

#: Significant digits kept when an amount is written into a formula string.
AMOUNT_DIGITS = 6


class FormulaError(ValueError):
    """A formula string that is not a plain ``ElementAmount...`` formula of known elements."""


@lru_cache(maxsize=None)
def is_element(symbol: str) -> bool:
    """True when ``symbol`` is a chemical element known to pymatgen."""
    return Element.is_valid_symbol(symbol)


def format_amount(amount: float) -> str:
    """Write an amount the way formulas do: ``1`` is omitted, ``2.5`` stays, ``0.333333``."""
    if abs(amount - 1.0) < 10 ** -AMOUNT_DIGITS:
        return ""
    return f"{amount:.{AMOUNT_DIGITS}g}"


def format_formula(amounts: Mapping[str, float] | Sequence[tuple[str, float]]) -> str:
    """Join ``{symbol: amount}`` (in the given order) into a plain formula, dropping zero amounts."""
    pairs = amounts.items() if isinstance(amounts, Mapping) else amounts
    return "".join(f"{el}{format_amount(n)}" for el, n in pairs if n > 10 ** -AMOUNT_DIGITS)


@lru_cache(maxsize=1 << 20)
def parse_plain(formula: str) -> tuple[tuple[str, float], ...]:
    """Parse a plain formula (``LiAlCl2.5O0.75``) into ``((symbol, amount), ...)``.

    Repeated symbols are summed; order of first appearance is kept. Raises :class:`FormulaError`
    naming the formula and the offending symbol when it is not plain or names an unknown element.
    """
    text = formula.strip()
    if not _PLAIN.fullmatch(text):
        raise FormulaError(f"not a plain formula: {formula!r}")
    amounts: dict[str, float] = {}
    for symbol, number in _TOKEN.findall(text):
        if not is_element(symbol):
            raise FormulaError(f"unknown element {symbol!r} in formula {formula!r}")
        amounts[symbol] = amounts.get(symbol, 0.0) + (float(number) if number else 1.0)
    return tuple(amounts.items())
