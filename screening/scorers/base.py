"""The scorer contract: one object per proxy, scoring whole partitions of candidates at once.

A scorer is configured in ``__init__`` (plain keyword arguments, stored as given), holds any fitted
or cached state in attributes ending in ``_`` (built lazily on first use, so a scorer pickles small
and can be shipped to Dask workers), and answers in :meth:`Scorer.score`.

A scorer does not compute descriptors itself: it names the featurizers whose columns it reads in
``features``, and the pipeline computes every featurizer once per partition and hands each scorer
the same frame (the ``formula`` column plus every featurizer's columns).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import pandas as pd

from screening.models.features import descriptor_frame

#: The kinds of value a score column may hold (what a filter may compare it with).
OUTPUT_KINDS = (float, bool, str)


class Scorer(ABC):
    """Base class of every proxy scorer (conductivity, Tg, stability, cost, plug-ins).

    Subclasses set the class attributes and implement :meth:`score`:

    - ``name``: the registry name used in run specs (``scorers = ["conductivity", ...]``).
    - ``outputs``: output column -> ``(kind, description with its unit)``, ``kind`` one of
      ``float``, ``bool`` or ``str``. ``score`` returns exactly these columns, in this order; a
      bool or str column may hold None where the answer is unknown.
    - ``features``: references of the featurizers whose columns ``score`` reads (a built-in name,
      an entry point, ``package.module:Class`` or ``path/to/file.py:Class``, as in a run spec).
      The pipeline adds any the run spec does not list.
    - ``citations``: references (DOIs or bibliographic strings) for the method and data.
    """

    name: ClassVar[str]
    outputs: ClassVar[dict[str, tuple[type, str]]]
    features: ClassVar[tuple[str, ...]] = ()
    citations: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def score(self, frame: pd.DataFrame, temperature_K: float) -> pd.DataFrame:
        """Score the candidates of ``frame``: a ``formula`` column (plain formulas) and the
        columns of every featurizer of the run, those of ``features`` among them.

        Returns a DataFrame with one row per row of ``frame``, in order, on a fresh RangeIndex,
        whose columns are exactly ``outputs``. A formula the scorer cannot handle gets NaN
        (or None for bool and str columns) rather than raising, so one bad row never kills a
        partition.
        """

    def score_formulas(self, formulas: Sequence[str], temperature_K: float) -> pd.DataFrame:
        """:meth:`score` for plain formulas alone: computes the features this scorer reads first,
        as the pipeline does for a partition (for notebooks and tests)."""
        return self.score(descriptor_frame(formulas, self.features), temperature_K)

    @classmethod
    def output_kinds(cls) -> dict[str, type]:
        """Output column -> the kind of value it holds (``float``, ``bool`` or ``str``)."""
        return {column: kind for column, (kind, _) in cls.outputs.items()}

    def describe(self) -> dict[str, object]:
        """Name, outputs (with their kinds), features and citations, for ``viglas scorers`` and
        the resolved spec."""
        return {
            "name": self.name,
            "outputs": {column: text for column, (_, text) in self.outputs.items()},
            "kinds": {column: kind.__name__ for column, kind in self.output_kinds().items()},
            "features": list(self.features),
            "citations": list(self.citations),
        }
