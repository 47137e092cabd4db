"""Glass transition proxy: Tg (K) from network rigidity, and viscoelastic = Tg below operation.

The two-parameter model of :mod:`screening.models.tg_model` is refitted on first use from the
nine reference glasses (a least-squares line, instant), so there is nothing to cache. The
uncertainty is the root-mean-square leave-one-out residual on that table. The domain distance is
the nearest-neighbour distance to the reference glasses in the standardised network descriptors of
:data:`~screening.models.tg_model.DOMAIN_LABELS`; in domain means at most the 95th percentile of
the glasses' leave-one-out nearest-neighbour distances.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from screening.models.conductivity_model import tg_model
from screening.models.features import parse_amounts
from screening.models.tg_model import TgModel, domain_descriptors, rigidity_of
from screening.scorers.base import Scorer


class TgScorer(Scorer):
    """Tg from bridging-bond strength and Phillips-Thorpe constraints, calibrated by LOO."""

    name: ClassVar[str] = "tg"
    outputs: ClassVar[dict[str, str]] = {
        "tg_K": "glass transition temperature, K",
        "tg_K_unc": "1-sigma uncertainty of tg_K (RMS leave-one-out residual), K",
        "viscoelastic": "True when tg_K is below the scoring temperature (supercooled liquid)",
        "tg_domain_distance": "distance to the nearest reference glass in standardised network "
                              "descriptors (rigidity, former CN/field strength, bond strength, "
                              "bridging and modifier fractions), dimensionless",
        "tg_in_domain": "True when tg_domain_distance <= the 95th percentile of the reference "
                        "glasses' leave-one-out nearest-neighbour distances",
    }
    citations: ClassVar[tuple[str, ...]] = (
        "Zachariasen, J. Am. Chem. Soc. 54, 3841 (1932)",
        "Phillips, J. Non-Cryst. Solids 34, 153 (1979); Thorpe, ibid. 57, 355 (1983)",
        "Gupta and Mauro, J. Chem. Phys. 130, 094503 (2009)",
        "Dietzel, Z. Elektrochem. 48, 9 (1942)",
        "Dai et al., Nat. Energy 8, 1221 (2023), doi:10.1038/s41560-023-01356-y",
    )

    def _model(self) -> TgModel:
        if not hasattr(self, "model_"):
            self.model_ = tg_model()
        return self.model_

    def score(self, formulas: Sequence[str], temperature_K: float) -> pd.DataFrame:
        """Tg, uncertainty, viscoelastic flag and domain; NaN/None for unparsable formulas."""
        model = self._model()
        amounts = parse_amounts(formulas)
        tg_K = model.predict(rigidity_of(amounts))
        distance = model.domain.distance(domain_descriptors(amounts))
        known = ~np.isnan(tg_K)
        viscoelastic = pd.Series(tg_K < float(temperature_K), dtype=object)
        viscoelastic[~known] = None
        return pd.DataFrame({
            "tg_K": tg_K,
            "tg_K_unc": np.where(known, model.unc_K, np.nan),
            "viscoelastic": viscoelastic,
            "tg_domain_distance": distance,
            "tg_in_domain": model.domain.contains(distance),
        })
