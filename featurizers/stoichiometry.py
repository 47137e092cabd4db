"""matminer's ``Stoichiometry`` (Lp norms of the atomic fractions) with a vectorised path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matminer.featurizers.composition import Stoichiometry

from featurizers.fast import FractionFeaturizer


class FastStoichiometry(Stoichiometry, FractionFeaturizer):
    """``Stoichiometry`` for a fraction matrix: the 0-norm counts elements, the p-norm is
    ``(sum f**p) ** (1/p)``.

    The atoms-per-formula-unit feature needs integer formulas rather than fractions, so this
    class always uses ``num_atoms=False``.
    """

    def __init__(self, p_list: Sequence[int] = (0, 2, 3, 5, 7, 10)):
        if not p_list or any(p < 0 for p in p_list):
            raise ValueError(f"FastStoichiometry: p_list must be non-empty and >= 0, got {p_list}")
        super().__init__(p_list=p_list, num_atoms=False)

    def fraction_features(self, fractions: np.ndarray, elements: list[str]) -> np.ndarray:
        """One column per norm in ``p_list``."""
        columns = []
        for p in self.p_list:
            if p == 0:
                columns.append((fractions > 0).sum(axis=1).astype(float))
            else:
                columns.append((fractions**p).sum(axis=1) ** (1.0 / p))
        return np.column_stack(columns)
