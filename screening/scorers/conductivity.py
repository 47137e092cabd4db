"""Ionic conductivity proxy: log10 sigma (S/cm) at the requested temperature, with uncertainty.

The model (:mod:`screening.models.conductivity_model`) is trained on every shipped measurement
(OBELiX, Liverpool, the VIGLAS facts), loaded from the on-disk cache on first use and never
refitted while scoring. A partition is featurised in bulk and predicted in one call.

Applicability domain (:mod:`screening.models.domain`): ``sigma_domain_distance`` is the model's own
distance to the nearest training composition (standardised magpie means + composition physics,
the distance that also shrinks the trees toward the trend); ``sigma_in_domain`` compares it with
the threshold stored in the fitted model (95th percentile of the training rows' distances to the
nearest row of another family); ``sigma_unseen`` lists the elements and element pairs that no
training composition contains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from screening.models.conductivity_model import (
    ConductivityConfig,
    design_matrix,
    fitted_model,
    tg_model,
    training_vocabulary,
)
from screening.models.features import parse_amounts
from screening.models.shrunk_trees import ShrunkExtraTrees
from screening.models.tg_model import TgModel
from screening.scorers.base import Scorer


class ConductivityScorer(Scorer):
    """Extra trees on magpie + glass physics, shrunk to an Arrhenius trend off-domain."""

    name: ClassVar[str] = "conductivity"
    outputs: ClassVar[dict[str, str]] = {
        "sigma_log10_S_cm": "ionic conductivity at the scoring temperature, log10(S/cm)",
        "sigma_log10_unc": "1-sigma uncertainty of sigma_log10_S_cm (grouped-CV calibrated), log10",
        "sigma_domain_distance": "distance to the nearest training composition in the model's "
                                 "standardised chemistry descriptors, dimensionless",
        "sigma_in_domain": "True when sigma_domain_distance <= the training-calibrated threshold "
                           "(95th percentile of nearest-other-family distances)",
        "sigma_unseen": "elements, and element pairs, that no training composition contains, "
                        "comma-separated; empty when none",
    }
    citations: ClassVar[tuple[str, ...]] = (
        "OBELiX: Therrien et al., arXiv:2502.14234 (2025)",
        "Liverpool Ionics Dataset: Hargreaves et al., npj Comput. Mater. 9, 9 (2023)",
        "Dai et al., Nat. Energy 8, 1221 (2023), doi:10.1038/s41560-023-01356-y",
        "magpie: Ward et al., npj Comput. Mater. 2, 16028 (2016)",
        "extra trees: Geurts et al., Mach. Learn. 63, 3 (2006)",
    )

    def __init__(self, n_estimators: int = 200, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _model(self) -> tuple[ShrunkExtraTrees, TgModel]:
        if not hasattr(self, "model_"):
            config = ConductivityConfig(
                n_estimators=self.n_estimators, random_state=self.random_state
            )
            self.model_ = fitted_model(config)
            self.tg_model_ = tg_model()
        return self.model_, self.tg_model_

    def score(self, formulas: Sequence[str], temperature_K: float) -> pd.DataFrame:
        """log10 sigma, uncertainty and domain at ``temperature_K``; NaN/None if unparsable."""
        model, tg = self._model()
        X = design_matrix(list(formulas), np.full(len(formulas), float(temperature_K)), tg)
        valid = X.notna().all(axis=1).to_numpy()
        numbers = np.full((len(formulas), 3), np.nan)
        if valid.any():
            numbers[valid] = np.column_stack(model.predict_with_uncertainty(X[valid]))
        in_domain = pd.Series(numbers[:, 2] <= model.domain_threshold_, dtype=object)
        in_domain[~valid] = None
        unseen = pd.Series(training_vocabulary().unseen(parse_amounts(formulas)), dtype=object)
        unseen[~valid] = None
        return pd.DataFrame({
            "sigma_log10_S_cm": numbers[:, 0],
            "sigma_log10_unc": numbers[:, 1],
            "sigma_domain_distance": numbers[:, 2],
            "sigma_in_domain": in_domain,
            "sigma_unseen": unseen,
        }).loc[:, list(self.outputs)]
