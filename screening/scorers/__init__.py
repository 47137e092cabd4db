"""Scorer registry: built-ins by name, plug-ins by entry point (``viglas.scorers``),
``module:Class`` or ``file.py:Class``, found by :mod:`featurizers.plugins`."""

from __future__ import annotations

from typing import Any

from featurizers.plugins import PluginKind
from screening.errors import UserError, one_line
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


SCORERS = PluginKind("scorer", ENTRY_POINT_GROUP, BUILTIN_SCORERS, ScorerError)


def scorer_class(ref: str) -> type[Scorer]:
    """The :class:`Scorer` subclass ``ref`` names: a built-in or entry-point name,
    ``package.module:Class`` or ``path/to/file.py:Class`` (see :mod:`featurizers.plugins`)."""
    cls = SCORERS.resolve(ref)
    if not (isinstance(cls, type) and issubclass(cls, Scorer)):
        raise ScorerError(f"scorer {ref!r} is not a subclass of screening.scorers.base.Scorer")
    return cls


def load_scorer(ref: str, options: dict[str, Any] | None = None) -> Scorer:
    """Instantiate the scorer ``ref`` with keyword ``options`` from the run spec."""
    cls = scorer_class(ref)
    try:
        return cls(**(options or {}))
    except (TypeError, ValueError) as exc:  # an unknown option, or a value the scorer refuses
        raise ScorerError(f"scorer {ref!r}: bad options {options} ({one_line(exc)})") from exc


def known_scorers() -> list[str]:
    """Names of the built-in and entry-point scorers."""
    return sorted(SCORERS.names())
