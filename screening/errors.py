"""The errors a user causes, and the wording of their one-line messages.

:class:`UserError` is the base of every such error (defined in ``candidates``, the lowest layer, so
that every package can subclass it); the ``viglas`` command turns one into a single line and exit
status 2. The error classes several modules raise live here (a bad spec, an unusable run
directory, an unreachable cluster); a module's own error class lives with it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from candidates.errors import UserError

__all__ = ["ClusterError", "SpecError", "StoreError", "UserError", "did_you_mean", "one_line"]


def one_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its type's name when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or "" when none is close."""
    hint = difflib.get_close_matches(name, sorted(choices), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


class SpecError(UserError):
    """A run spec that cannot be used; the message names the file and the key."""


class ClusterError(UserError):
    """A Dask scheduler that does not answer, or a local cluster that cannot be built."""


class StoreError(UserError):
    """A run directory that cannot be used: locked by another run, not writable, or holding files
    that cannot be read."""
