"""Typed, strict access to the tables of a TOML file, with errors that name ``file: key``.

A :class:`TableReader` wraps one table: it refuses unknown keys (suggesting the closest known one)
and hands out values checked for their type, finiteness and sign. A value that does not fit is a
:class:`SpecError` naming the file and the dotted key, e.g.
``runs/wide.toml: space.o_per_m: negative amount -0.5``. :func:`fits_annotation` checks a TOML
value against a Python annotation (a scorer option against its ``__init__`` hint).
"""

from __future__ import annotations

import math
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from screening.errors import SpecError, did_you_mean

_PLAIN_KEY = re.compile(r"[\w.\[\]-]+")
_LONG_NUMBER = re.compile(r"\d{21,}")
#: Longest message part a value may make: a spec can hold a 400-digit integer or a list of
#: thousands of entries, and an error repeats what it got.
MAX_MESSAGE = 240


def capped(message: str) -> str:
    """``message`` with digit runs over 20 long written as ``1234567890...(400 digits)`` and,
    when still over :data:`MAX_MESSAGE` characters, its middle cut out."""
    message = _LONG_NUMBER.sub(lambda m: f"{m.group()[:10]}...({len(m.group())} digits)", message)
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE - 80]} ... {message[-70:]}"


class TableReader:
    """Typed access to one TOML table with errors that name ``file: key``."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str, allowed: set[str]) -> None:
        self.path, self.table, self.prefix = path, table, prefix
        for key in table:
            if key not in allowed:
                also = did_you_mean(key, allowed) or f"; allowed: {sorted(allowed)}"
                raise self.error(key, f"unknown key{also}")

    def error(self, key: str, message: str) -> SpecError:
        """The error to raise for ``key`` of this table."""
        shown = key if _PLAIN_KEY.fullmatch(key) else repr(key)  # a key may hold a line break
        return SpecError(f"{self.path}: {self.prefix}{shown}: {capped(message)}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        """The value of ``key`` (``default`` when absent), which must be a ``kind``."""
        value = self.table.get(key, default)
        numeric = kind in (int, float, (int, float))
        wrong = not isinstance(value, kind) or numeric and isinstance(value, bool)
        if value is not None and wrong:
            raise self.error(key, f"expected {getattr(kind, '__name__', kind)}, got {value!r}")
        return value

    def number(self, key: str, default: float) -> float:
        """A finite number."""
        value = float(self.get(key, (int, float), default))
        if not math.isfinite(value):
            raise self.error(key, f"must be a finite number, got {value}")
        return value

    def symbols(self, key: str, default: tuple[str, ...], distinct: bool = False
                ) -> tuple[str, ...]:
        """A list of strings, each listed once when ``distinct``."""
        value = self.get(key, list, list(default))
        if not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of strings, got {value!r}")
        twice = [v for i, v in enumerate(value) if v in value[:i]]
        if distinct and twice:
            raise self.error(key, f"{twice[0]!r} is listed twice; list it once")
        return tuple(value)

    def _grid(self, key: str, value: dict[str, Any]) -> tuple[float, float, float]:
        grid = TableReader(self.path, value, f"{self.prefix}{key}.", {"start", "stop", "step"})
        start, stop = grid.number("start", 0.0), grid.number("stop", 1.0)
        step = grid.number("step", 0.1)
        if step <= 0 or stop < start:
            raise self.error(key, "need step > 0 and stop >= start")
        return start, stop, step

    def count(self, key: str, default: tuple[float, ...]) -> int:
        """How many values :meth:`numbers` will give for ``key``, computed without building
        them (as ``np.arange`` counts a ``{start, stop, step}`` grid)."""
        value = self.get(key, (list, dict), list(default))
        if isinstance(value, list):
            return len(value)
        start, stop, step = self._grid(key, value)
        points = (stop + step / 2 - start) / step
        return math.ceil(points) if math.isfinite(points) else sys.maxsize

    def numbers(self, key: str, default: tuple[float, ...]) -> tuple[float, ...]:
        """Finite, non-negative numbers: a list, or a ``{start, stop, step}`` grid."""
        value = self.get(key, (list, dict), list(default))
        if isinstance(value, dict):
            start, stop, step = self._grid(key, value)
            value = np.arange(start, stop + step / 2, step).tolist()
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise self.error(key, f"expected numbers, got {value!r}")
        if not all(math.isfinite(v) for v in value):
            raise self.error(key, f"expected finite numbers, got {value!r}")
        if any(v < 0 for v in value):
            raise self.error(key, f"negative amount {min(value)}")
        return tuple(round(float(v), 9) for v in value)

    def pairs(self, key: str) -> tuple[tuple[str, str], ...]:
        """A list of ``[element, element]`` pairs."""
        value = self.get(key, list, [])
        if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
                   for p in value):
            raise self.error(key, f"expected a list of [element, element] pairs, got {value!r}")
        return tuple((a, b) for a, b in value)


def fits_annotation(value: Any, hint: Any) -> bool:
    """Whether ``value`` (from TOML) fits the annotation ``hint``; hints this cannot judge
    (generics, protocols) accept anything and leave the check to the code that takes it."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(fits_annotation(value, arg) for arg in typing.get_args(hint))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint) or hint
    return not isinstance(origin, type) or isinstance(value, origin)


def type_name(hint: Any) -> str:
    """``hint`` as a user reads it (``int``, ``float | None``)."""
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
