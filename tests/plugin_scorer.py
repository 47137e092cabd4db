"""A worked-example plug-in scorer reading a plug-in featurizer's column (docs/featurizers.md)."""

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from screening.scorers.base import Scorer

# The featurizer file next to this one, by absolute path, so the reference works from any directory.
ALKALI_PER_ANION = f"{Path(__file__).with_name('plugin_featurizer.py')}:AlkaliAnionRatio"


class CarrierExcess(Scorer):
    """Mobile ions per anion beyond a target ratio: too few carriers conduct poorly."""

    name: ClassVar[str] = "carrier_excess"
    outputs: ClassVar[dict[str, tuple[type, str]]] = {
        "carrier_excess": (float, "alkali_per_anion minus target_per_anion, mol/mol"),
        "carrier_rich": (bool, "True when alkali_per_anion exceeds target_per_anion; None when "
                               "the composition has no anion"),
    }
    features: ClassVar[tuple[str, ...]] = (ALKALI_PER_ANION,)

    def __init__(self, target_per_anion: float = 0.25) -> None:
        self.target_per_anion = target_per_anion

    def score(self, frame: pd.DataFrame, temperature_K: float) -> pd.DataFrame:
        """The excess of every candidate; ``temperature_K`` does not enter."""
        excess = frame["alkali_per_anion"].to_numpy() - self.target_per_anion
        rich = [None if np.isnan(x) else bool(x > 0) for x in excess]
        return pd.DataFrame({"carrier_excess": excess,
                             "carrier_rich": pd.Series(rich, dtype=object)})
