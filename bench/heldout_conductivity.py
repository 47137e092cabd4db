"""The conductivity scorer with the chloroaluminate family held out of its training, for the
campaign demonstration (``bench/campaign_demo.py``; never used by a real screen).

The family holds LiAlCl4, NaAlCl4 and the VIGLAS glasses: the measurements the campaign must
rediscover. It is the same model and the same hold-out as the validation report's
chloroaluminate reading (:func:`screening.models.conductivity_model.hold_out_family`), scoring
through the built-in scorer with only the fitted model swapped.
"""

from __future__ import annotations

from functools import lru_cache
from unittest import mock

import numpy as np
import pandas as pd

from screening.models.conductivity_model import ConductivityConfig, ConductivityModel, fitted_model
from screening.models.data import load_conductivity_data
from screening.models.fitted import conductivity_training_tg_K
from screening.scorers import conductivity
from screening.scorers.conductivity import ConductivityScorer

HELD_OUT = "chloroaluminate"


@lru_cache(maxsize=4)
def held_out_model(config: ConductivityConfig | None = None) -> ConductivityModel:
    """The conductivity model fitted without the chloroaluminate rows (cached on disk)."""
    table = load_conductivity_data()
    keep = (table["family"] != HELD_OUT).to_numpy()
    return fitted_model(table.iloc[np.flatnonzero(keep)].reset_index(drop=True),
                        conductivity_training_tg_K()[keep], config or ConductivityConfig())


class HeldOutConductivityScorer(ConductivityScorer):
    """:class:`ConductivityScorer` on the model that never saw a chloroaluminate."""

    def score(self, frame: pd.DataFrame, temperature_K: float) -> pd.DataFrame:
        """The built-in proxy's columns, from the held-out model."""
        with mock.patch.object(conductivity, "conductivity_model", held_out_model):
            return super().score(frame, temperature_K)
