"""Ionic conductivity proxy: log10 sigma (S/cm) at the requested temperature, with uncertainty.

The model (:mod:`screening.models.conductivity_model`) is trained on every shipped measurement
(OBELiX, Liverpool, the VIGLAS facts), loaded from the on-disk cache on first use and never
refitted while scoring. Each composition is predicted as a glass and as a crystal and mixed by
its glassy fraction ``p_glass``; the glassy part follows Arrhenius below its Tg and a
Vogel-Fulcher-Tammann law above it (:mod:`screening.models.temperature_law`).

Applicability domain (:mod:`screening.models.level_model`): ``sigma_domain_distance`` is the
Hellinger distance from the composition to the nearest measured composition; ``sigma_in_domain``
is True where it is small enough for the prediction to rest on nearby measurements (the trees of
the model carry it), False where the physical trend and its Gaussian-process residual do;
``sigma_unseen`` lists the elements and element pairs that no training composition contains.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from screening.models.conductivity_model import ConductivityConfig
from screening.models.features import MAGPIE, PHYSICS, parse_amounts
from screening.models.fitted import conductivity_model, glass_state, training_vocabulary
from screening.scorers.base import Scorer


class ConductivityScorer(Scorer):
    """Composition level per phase state, temperature law, phase mixture."""

    name: ClassVar[str] = "conductivity"
    outputs: ClassVar[dict[str, tuple[type, str]]] = {
        "sigma_log10_S_cm": (float, "ionic conductivity at the scoring temperature, log10(S/cm)"),
        "sigma_log10_unc": (float, "1-sigma uncertainty of sigma_log10_S_cm (cross-validation "
                                   "calibrated, phase-state mixture included), log10"),
        "sigma_ea_eV": (float, "apparent activation energy at the scoring temperature, eV "
                               "(Arrhenius below Tg, Vogel-Fulcher-Tammann above)"),
        "sigma_domain_distance": (float, "Hellinger distance of the composition to the nearest "
                                         "measured composition (0 same, 1.41 no shared element)"),
        "sigma_in_domain": (bool, "True when the prediction rests on nearby measurements "
                                  "(sigma_domain_distance below the model's switch distance)"),
        "sigma_unseen": (str, "elements, and element pairs, that no training composition "
                              "contains, comma-separated; empty when none"),
    }
    features: ClassVar[tuple[str, ...]] = (MAGPIE, *PHYSICS)
    citations: ClassVar[tuple[str, ...]] = (
        "OBELiX: Therrien et al., arXiv:2502.14234 (2025)",
        "Liverpool Ionics Dataset: Hargreaves et al., npj Comput. Mater. 9, 9 (2023)",
        "Dai et al., Nat. Energy 8, 1221 (2023), doi:10.1038/s41560-023-01356-y",
        "magpie: Ward et al., npj Comput. Mater. 2, 16028 (2016)",
        "extra trees: Geurts et al., Mach. Learn. 63, 3 (2006)",
        "Williams, Landel, Ferry, J. Am. Chem. Soc. 77, 3701 (1955)",
        "Tessman, Kahn, Shockley, Phys. Rev. 92, 890 (1953) (ionic polarisabilities)",
    )

    def __init__(self, n_estimators: int = 300, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.random_state = random_state

    def score(self, frame: pd.DataFrame, temperature_K: float) -> pd.DataFrame:
        """log10 sigma, uncertainty, activation energy and domain at ``temperature_K``;
        NaN/None where a formula does not parse."""
        formulas = list(frame["formula"])
        amounts = parse_amounts(formulas)
        valid = np.array([a is not None for a in amounts], dtype=bool)
        numbers = np.full((len(formulas), 4), np.nan)
        in_domain = pd.Series([None] * len(formulas), dtype=object)
        if valid.any():
            # The glass state of the whole partition is the one the Tg scorer asks for too.
            state = glass_state(formulas, frame)
            rows = frame[valid].reset_index(drop=True)
            config = ConductivityConfig(n_estimators=self.n_estimators,
                                        random_state=self.random_state)
            prediction = conductivity_model(config).predict(
                list(rows["formula"]), np.full(len(rows), float(temperature_K)),
                state.p_glass[valid], state.tg_model_K[valid], features=rows)
            numbers[valid] = np.column_stack([prediction.log10_sigma, prediction.unc,
                                              prediction.ea_eV, prediction.distance])
            in_domain[valid] = [bool(v) for v in prediction.in_domain]
        unseen = pd.Series(training_vocabulary().unseen(amounts), dtype=object)
        return pd.DataFrame({
            "sigma_log10_S_cm": numbers[:, 0],
            "sigma_log10_unc": numbers[:, 1],
            "sigma_ea_eV": numbers[:, 2],
            "sigma_domain_distance": numbers[:, 3],
            "sigma_in_domain": in_domain,
            "sigma_unseen": unseen,
        })
