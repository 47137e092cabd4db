"""Glass proxy: does the composition form a glass, its Tg (K), and is it viscoelastic?

- ``glass_forming`` / ``p_glass``: the glass-forming classifier of
  :mod:`screening.models.glass_forming` (sourced glass-formation labels, glass-science
  descriptors, the single-compound and oxygen-limit rules); ``glass_forming`` is True or False
  for every parsable composition, with the applicability domain as a separate flag.
- ``tg_K``: the Tg model of :mod:`screening.models.tg_model` (trend + Gaussian process on sourced
  glasses of every family, capped below a known melting point). A composition that does not form
  a glass has no glass transition: ``tg_K`` is NaN there, never a model intercept.
- ``viscoelastic``: a glass above its Tg at the scoring temperature (a supercooled liquid that
  creeps, the VIGLAS regime): True only when ``glass_forming`` is True and ``tg_K`` is below the
  temperature; False for non-glasses; None when glass formation or Tg is unknown (an unparsable
  formula).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from screening.models.features import PHYSICS
from screening.models.fitted import glass_state
from screening.scorers.base import Scorer


def viscoelastic_flags(glass_forming: np.ndarray, tg_K: np.ndarray, temperature_K: float
                       ) -> pd.Series:
    """True / False / None per composition (see the module docstring)."""
    flags = []
    for forming, tg in zip(glass_forming, tg_K, strict=True):
        if forming is False or (np.isfinite(tg) and tg >= temperature_K):
            flags.append(False)
        elif forming is True and np.isfinite(tg):
            flags.append(True)
        else:
            flags.append(None)
    return pd.Series(flags, dtype=object)


class TgScorer(Scorer):
    """Glass formation, glass transition temperature and viscoelasticity."""

    name: ClassVar[str] = "tg"
    outputs: ClassVar[dict[str, tuple[type, str]]] = {
        "glass_forming": (bool, "True when the composition forms a glass by melt quenching "
                                "(p_glass >= 0.5), False otherwise, in or out of the domain"),
        "p_glass": (float, "probability of glass formation by melt quenching (0-1)"),
        "glass_domain_distance": (float, "distance to the nearest labelled composition in "
                                         "standardised glass-science descriptors, dimensionless"),
        "glass_in_domain": (bool, "True when glass_domain_distance <= the 95th percentile of the "
                                  "labels' distances to the nearest composition of another "
                                  "chemical system (the threshold of tg_in_domain too)"),
        "tg_K": (float, "glass transition temperature, K; NaN when the composition forms no glass"),
        "tg_K_unc": (float, "1-sigma uncertainty of tg_K (leave-one-out calibrated), K"),
        "viscoelastic": (bool, "True when a glass former's tg_K is below the scoring temperature "
                               "(supercooled liquid); False for non-glasses; None when unknown"),
        "tg_domain_distance": (float, "distance to the nearest reference glass, in the units of "
                                      "glass_domain_distance (never below it)"),
        "tg_in_domain": (bool, "True when tg_domain_distance <= the glass_in_domain threshold"),
    }
    features: ClassVar[tuple[str, ...]] = PHYSICS
    citations: ClassVar[tuple[str, ...]] = (
        "Zachariasen, J. Am. Chem. Soc. 54, 3841 (1932)",
        "Dietzel, Z. Elektrochem. 48, 9 (1942)",
        "Stanworth, J. Soc. Glass Technol. 32, 154 (1948)",
        "Phillips, J. Non-Cryst. Solids 34, 153 (1979); Thorpe, ibid. 57, 355 (1983)",
        "SciGlass database (EPAM Systems, ODbL), glass-formation and Tg records",
        "Rawson (1956), as commonly cited: bond strength over melting point (not retrieved)",
        "CRC Handbook of Chemistry and Physics, 95th ed. (2014), melting points of the simple "
        "compounds (through the chemicals package's tables)",
        "Dai et al., Nat. Energy 8, 1221 (2023), doi:10.1038/s41560-023-01356-y",
    )

    def score(self, frame: pd.DataFrame, temperature_K: float) -> pd.DataFrame:
        """Glass formation, Tg and viscoelasticity; NaN/None for unparsable formulas."""
        state = glass_state(list(frame["formula"]), frame)
        return pd.DataFrame({
            "glass_forming": pd.Series(state.glass_forming, dtype=object),
            "p_glass": state.p_glass,
            "glass_domain_distance": state.glass_distance,
            "glass_in_domain": pd.Series(state.glass_in_domain, dtype=object),
            "tg_K": state.tg_K,
            "tg_K_unc": state.tg_unc_K,
            "viscoelastic": viscoelastic_flags(state.glass_forming, state.tg_K,
                                               float(temperature_K)),
            "tg_domain_distance": state.tg_distance,
            "tg_in_domain": pd.Series(state.tg_in_domain, dtype=object),
        })
