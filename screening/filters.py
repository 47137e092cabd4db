"""The filter language of ``[rank] filters``: ``column op value`` conditions, read, type-checked and
applied.

A filter is a column name, one of ``< <= > >= == != =`` and a value: a number (``tg_K < 298``),
quoted text (``alkali = 'Na'``) or ``true``/``false`` (``glass_forming = true``). A filter is
checked against the kind of value its column holds (numbers, text, true/false) before any work,
so ``tg_K < 'abc'`` is refused when the spec is read, not when the table is ranked. A row whose
value is missing fails the filter.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.errors import UserError, did_you_mean

_FILTER = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<=|>=|==|!=|<|>|=)\s*(\S.*?)\s*$")
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "==": operator.eq, "!=": operator.ne}
_KIND_NAMES = {bool: "true/false", float: "numbers", str: "text"}


class FilterError(UserError):
    """A filter that cannot be read or that compares its column with the wrong kind of value."""


@dataclass(frozen=True)
class Filter:
    """A hard filter ``column op value`` applied before ranking."""

    column: str
    op: str
    value: float | str | bool

    def __str__(self) -> str:
        return f"{self.column} {self.op} {self.value!r}"


def parse_filter(text: str, kinds: Mapping[str, type | None]) -> Filter:
    """The filter written as ``text``; ``kinds`` maps each column a filter may name to the kind of
    its values (bool, float, str, or None when unknown). Raises :class:`FilterError`."""
    match = _FILTER.match(text)
    if not match:
        raise FilterError(f"cannot read {text!r}; write e.g. 'tg_K < 298'")
    column, op, literal = match.groups()
    if column not in kinds:
        raise FilterError(f"unknown column {column!r} in {text!r}{did_you_mean(column, kinds)}")
    flt = Filter(column, "==" if op == "=" else op, _literal(literal, text))
    problem = kind_error(flt, kinds[column])
    if problem:
        raise FilterError(problem)
    return flt


def _literal(literal: str, text: str) -> float | str | bool:
    if literal.lower() in ("true", "false"):
        return literal.lower() == "true"
    if len(literal) > 1 and literal[0] in "'\"" and literal[-1] == literal[0]:
        return literal[1:-1]
    try:
        value = float(literal)
    except ValueError as exc:
        raise FilterError(f"cannot read the value {literal!r} in {text!r}; quote text ('Na'), "
                          f"write numbers plainly") from exc
    if not math.isfinite(value):
        raise FilterError(f"{literal!r} in {text!r} is not a finite number")
    return value


def kind_error(flt: Filter, kind: type | None) -> str | None:
    """Why ``flt`` cannot compare its column, which holds ``kind`` values (None: unknown), or
    None when it can."""
    if kind is bool and flt.op not in ("==", "!="):
        return f"{flt.column} holds true/false: compare it with == or !="
    given = type(flt.value)
    if kind is None or given is kind:
        return None
    return (f"{flt.column} holds {_KIND_NAMES[kind]}, but {flt} compares it with "
            f"{_KIND_NAMES[given]}; write e.g. {_example(flt.column, kind)}")


def _example(column: str, kind: type) -> str:
    return {bool: f"'{column} = true'", float: f"'{column} < 300'",
            str: f"\"{column} = 'Na'\""}[kind]


def passes_filters(frame: pd.DataFrame, filters: Sequence[Filter]) -> np.ndarray:
    """Boolean mask of rows meeting every filter; a missing value fails its filter."""
    mask = np.ones(len(frame), dtype=bool)
    for flt in filters:
        column = frame[flt.column]
        mask &= (_OPS[flt.op](column, flt.value) & column.notna()).to_numpy(dtype=bool)
    return mask
