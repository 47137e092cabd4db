"""Turning exceptions into the one-line messages the command line shows."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its type's name when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class ClusterError(ValueError):
    """A Dask scheduler that does not answer, or a local cluster that cannot be built."""
