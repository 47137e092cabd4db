"""The fast-path contract: a ``BaseFeaturizer`` that also featurizes a fraction matrix in bulk."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np
from matminer.featurizers.base import BaseFeaturizer
from pymatgen.core import Composition

from featurizers.fractions import composition_fractions


class FractionFeaturizer(ABC):
    """Mixin for featurizers with a vectorised path over atomic fractions.

    Callers use :meth:`featurize_fractions`: an ``n x k`` matrix of atomic fractions (rows sum
    to 1) over the element symbols ``elements`` in, an ``n x len(feature_labels())`` float array
    equal row by row to ``featurize(Composition)`` out. Subclasses implement
    :meth:`fraction_features`.
    """

    def featurize_fractions(self, fractions: np.ndarray, elements: list[str]) -> np.ndarray:
        """Features of every row of ``fractions`` (``n x k`` over ``elements``) at once.

        Rows with no element (all zero, e.g. an unparsable formula) come back as NaN.
        """
        fractions = np.asarray(fractions, dtype=float)
        features = np.full((len(fractions), len(self.feature_labels())), np.nan)
        rows = fractions.sum(axis=1) > 0
        if rows.any():
            features[rows] = self.fraction_features(fractions[rows], elements)
        return features

    @abstractmethod
    def fraction_features(self, fractions: np.ndarray, elements: list[str]) -> np.ndarray:
        """Implementation of :meth:`featurize_fractions` for rows that each hold an element."""

    def element_table(
        self, elements: list[str], lookup: Callable[[str], list[float]]
    ) -> np.ndarray:
        """``k x p`` property table for ``elements``, each row built once per instance.

        ``lookup(symbol)`` returns the properties of one element; the rows are memoised so a run
        over many partitions reads the data source once per element.
        """
        rows: dict[str, np.ndarray] = self.__dict__.setdefault("_element_rows", {})
        for symbol in elements:
            if symbol not in rows:
                rows[symbol] = np.asarray(lookup(symbol), dtype=float)
        return np.stack([rows[symbol] for symbol in elements])


def has_fast_path(featurizer: BaseFeaturizer) -> bool:
    """True when ``featurizer`` implements :class:`FractionFeaturizer`."""
    return isinstance(featurizer, FractionFeaturizer)


def featurize_via_fractions(featurizer: FractionFeaturizer, comp: Composition) -> list[float]:
    """``featurize(comp)`` for featurizers whose only implementation is the fraction path."""
    fractions, elements = composition_fractions(comp)
    return featurizer.featurize_fractions(fractions, elements)[0].tolist()
