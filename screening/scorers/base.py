"""The scorer contract: one object per proxy, scoring whole partitions of formulas at once.

A scorer is configured in ``__init__`` (plain keyword arguments, stored as given), holds any fitted
or cached state in attributes ending in ``_`` (built lazily on first use, so a scorer pickles small
and can be shipped to Dask workers), and answers in :meth:`Scorer.score`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import pandas as pd


class Scorer(ABC):
    """Base class of every proxy scorer (conductivity, Tg, stability, cost, plug-ins).

    Subclasses set the class attributes and implement :meth:`score`:

    - ``name``: the registry name used in run specs (``scorers = ["conductivity", ...]``).
    - ``outputs``: output column -> one-line description with its unit. ``score`` returns exactly
      these columns, in this order.
    - ``citations``: references (DOIs or bibliographic strings) for the method and data.
    """

    name: ClassVar[str]
    outputs: ClassVar[dict[str, str]]
    citations: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def score(self, formulas: Sequence[str], temperature_K: float) -> pd.DataFrame:
        """Score compositions given as plain formula strings (pymatgen-parseable).

        Returns a DataFrame with one row per formula, in input order, on a fresh RangeIndex,
        whose columns are exactly ``outputs``. A formula the scorer cannot handle gets NaN
        (or None for object columns) rather than raising, so one bad row never kills a partition.
        """

    def describe(self) -> dict[str, object]:
        """Name, outputs and citations, for ``viglas scorers`` and the resolved spec."""
        return {"name": self.name, "outputs": dict(self.outputs), "citations": list(self.citations)}
