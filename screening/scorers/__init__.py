"""Scorer registry: built-ins by name, plug-ins by entry point (``viglas.scorers``) or
``module:Class``."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from screening.errors import UserError
from screening.scorers.base import Scorer

#: Built-in proxies, imported only when used (they load models and data).
BUILTIN_SCORERS = {
    "conductivity": "screening.scorers.conductivity:ConductivityScorer",
    "tg": "screening.scorers.tg:TgScorer",
    "stability": "screening.scorers.stability:StabilityScorer",
    "cost": "screening.scorers.cost:CostScorer",
}
ENTRY_POINT_GROUP = "viglas.scorers"


class ScorerError(UserError):
    """A scorer reference that does not resolve to a :class:`Scorer` subclass."""


def _import(target: str, ref: str) -> type:
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ScorerError(f"scorer {ref!r}: cannot import {target!r} ({exc})") from exc


def scorer_class(ref: str) -> type[Scorer]:
    """Resolve a built-in name, an entry-point name or ``package.module:Class`` to a class."""
    plugins = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if ref in BUILTIN_SCORERS:
        cls = _import(BUILTIN_SCORERS[ref], ref)
    elif ref in plugins:
        cls = _import(plugins[ref], ref)
    elif ":" in ref:
        cls = _import(ref, ref)
    else:
        known = ", ".join(sorted({*BUILTIN_SCORERS, *plugins}))
        raise ScorerError(f"unknown scorer {ref!r}; known: {known}, or give package.module:Class")
    if not (isinstance(cls, type) and issubclass(cls, Scorer)):
        raise ScorerError(f"scorer {ref!r} is not a subclass of screening.scorers.base.Scorer")
    return cls


def load_scorer(ref: str, options: dict[str, Any] | None = None) -> Scorer:
    """Instantiate the scorer ``ref`` with keyword ``options`` from the run spec."""
    cls = scorer_class(ref)
    try:
        return cls(**(options or {}))
    except TypeError as exc:
        raise ScorerError(f"scorer {ref!r}: bad options {options} ({exc})") from exc


def known_scorers() -> list[str]:
    """Names of the built-in and entry-point scorers."""
    return sorted({*BUILTIN_SCORERS, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})
