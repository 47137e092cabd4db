"""matminer's element-property featurizers (magpie ``ElementProperty``, ``ValenceOrbital``) with a
vectorised path that reads the same data source, so the numbers are matminer's own."""

from __future__ import annotations

import numpy as np
from matminer.featurizers.composition import ElementProperty, ValenceOrbital
from pymatgen.core import Element

from featurizers.fast import FractionFeaturizer
from featurizers.fractions import present_elements
from featurizers.stats import mean, property_stats, unsupported_stats


class FastElementProperty(ElementProperty, FractionFeaturizer):
    """``ElementProperty`` whose statistics can also be computed for a whole fraction matrix.

    Same constructor and ``from_preset`` as matminer; ``featurize(comp)`` is matminer's. Only the
    scale-free statistics have a vectorised form (minimum, maximum, range, mean, avg_dev, mode),
    which covers the magpie preset.
    """

    def __init__(self, data_source, features, stats, impute_nan=True):
        super().__init__(data_source, features, stats, impute_nan=impute_nan)
        missing = unsupported_stats(self.stats)
        if missing:
            raise ValueError(f"FastElementProperty: no vectorised statistic {missing}")

    def _element_properties(self, symbol: str) -> list[float]:
        element = Element(symbol)
        return [self.data_source.get_elemental_property(element, attr) for attr in self.features]

    def fraction_features(self, fractions: np.ndarray, elements: list[str]) -> np.ndarray:
        """Each statistic of each property, property-major like ``feature_labels()``."""
        table = self.element_table(elements, self._element_properties)
        index, weight = present_elements(fractions)
        values = property_stats(table, index, weight, self.stats)
        return values.reshape(len(fractions), -1)


class FastValenceOrbital(ValenceOrbital, FractionFeaturizer):
    """``ValenceOrbital`` (mean s/p/d/f valence electrons and their share) in bulk.

    ``avg`` is the fraction-weighted mean number of electrons in each orbital, ``frac`` that mean
    divided by the mean total number of valence electrons, as in matminer.
    """

    def _element_valences(self, symbol: str) -> list[float]:
        element = Element(symbol)
        names = [f"N{orb}Valence" for orb in self.orbitals] + ["NValence"]
        return [self.data_source.get_elemental_property(element, name) for name in names]

    def fraction_features(self, fractions: np.ndarray, elements: list[str]) -> np.ndarray:
        """``avg`` and/or ``frac`` per orbital, in the order of ``feature_labels()``."""
        table = self.element_table(elements, self._element_valences)
        index, weight = present_elements(fractions)
        means = mean(table[index], weight)
        avg, total = means[:, :-1], means[:, -1:]
        parts = {"avg": avg, "frac": avg / total}
        return np.hstack([parts[prop] for prop in self.props])
