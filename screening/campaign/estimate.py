"""One MD row -> a room-temperature conductivity estimate: the seam to the physics tier.

:func:`md_log10_sigma` is the only place where the campaign reads a ``verified.parquet`` row as
a conductivity. Today it uses what the row holds:

- ``sigma_log10_S_cm_md`` +- ``sigma_log10_unc_md``: the Arrhenius line of the MD temperatures
  extrapolated to the run's temperature, its spread from kinisi's posterior of D;
- the Haven ratio: Nernst-Einstein assumed ``haven_ratio`` (1, no ion-ion correlation). A
  fine-tuned potential finds about 1 for these glasses (Binci et al., arXiv:2601.06384), other
  glasses show 0.3-0.7, so :data:`HAVEN_UNC_LOG10` joins the uncertainty;
- the extrapolation: universal potentials soften barriers and under-predict Ea (Deng et al.,
  npj Comput. Mater. 2025); :data:`EA_SYSTEMATIC_EV` of Ea, levered from the centre of the MD
  temperatures (in 1/T) to the run's temperature, joins the uncertainty;
- resolution: an ``ea_eV`` not above ``ea_unc_eV`` (D did not rise with temperature)
  extrapolates to nothing, and an extrapolation that crosses Tg (``extrapolation_crosses_tg``)
  is only an upper bound, the glass leaving the liquid's line below Tg. Both are unresolved:
  they are recorded with the reason and the campaign does not learn from them (it does not use
  them as bounds either).

Where the row's protocol and potential have been calibrated against measured glasses
(``viglas calibrate``: the shipped offsets of ``screening/data/reference/md_calibration.csv``),
:func:`screening.md.calibration.calibrated_log10_sigma` answers instead, and ``calibrated`` says
so: D at the reference temperature plus the fitted offset, with the offset's leave-one-out
spread in the uncertainty. The uncalibrated reading above is what is left where no calibration
exists yet; every estimate carries which of the two it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.constants import physical_constants

#: 1-sigma, log10: half of log10(1 / 0.3), a Haven ratio anywhere between 0.3 and 1.
HAVEN_UNC_LOG10 = 0.26
#: 1-sigma systematic error of the MD activation energy (eV) of a softened universal potential.
EA_SYSTEMATIC_EV = 0.05
_K_B_EV = physical_constants["Boltzmann constant in eV/K"][0]


class MDEstimate(NamedTuple):
    """A room-temperature log10 sigma (S/cm) from MD, its 1-sigma uncertainty (log10), whether
    it is resolved enough to learn from, and why not when it is not."""

    log10_sigma_S_cm: float
    unc_log10: float
    resolved: bool
    reason: str
    calibrated: bool = False


#: What a row needs for the calibrated reading (the MD tier's reference-temperature columns).
_CALIBRATED_KEYS = ("D_ref_cm2_s", "D_ref_unc_cm2_s", "sigma_log10_S_cm_ref", "sigma_log10_unc_ref")


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def md_log10_sigma(row: Mapping[str, Any], calibration: dict | None = None) -> MDEstimate:
    """The conductivity estimate of one ``verified.parquet`` row at its ``temperature_K`` (see
    the module docstring for what it assumes and adds); ``calibration`` defaults to the shipped
    offsets."""
    if all(_finite(row.get(key)) for key in _CALIBRATED_KEYS):
        from screening.md.calibration import calibrated_log10_sigma, load_calibration

        calibration = load_calibration() if calibration is None else calibration
        if f"{row.get('protocol')}/{row.get('potential')}" in calibration:
            mean, sd, resolved = calibrated_log10_sigma(dict(row), calibration)
            reason = "" if resolved else "D at the reference temperature is not resolved"
            return MDEstimate(mean, sd, resolved, reason, calibrated=True)
    mean, unc = row.get("sigma_log10_S_cm_md"), row.get("sigma_log10_unc_md")
    ea, ea_unc = row.get("ea_eV"), row.get("ea_unc_eV")
    if not (_finite(mean) and _finite(unc) and _finite(ea) and _finite(ea_unc)):
        return MDEstimate(math.nan, math.nan, False, "no MD conductivity")
    if ea <= ea_unc:
        return MDEstimate(mean, unc, False, f"Ea {ea:.2f} +- {ea_unc:.2f} eV is not above its "
                                            "uncertainty (D did not rise with temperature)")
    crosses = row.get("extrapolation_crosses_tg")
    if crosses is not None and not pd.isna(crosses) and bool(crosses):
        return MDEstimate(mean, unc, False, "the extrapolation crosses Tg (an upper bound only)")
    inverse_T = 1.0 / np.asarray(row["temperatures_K"], dtype=float)
    lever = abs(1.0 / float(row["temperature_K"]) - float(inverse_T.mean()))
    ea_term = EA_SYSTEMATIC_EV * lever / (_K_B_EV * math.log(10.0))
    total = math.sqrt(unc ** 2 + HAVEN_UNC_LOG10 ** 2 + ea_term ** 2)
    return MDEstimate(float(mean), total, True, "")


def md_estimates(verified: pd.DataFrame) -> pd.DataFrame:
    """:func:`md_log10_sigma` of every row: ``md_sigma_log10_S_cm``, ``md_sigma_log10_unc``,
    ``md_resolved``, ``md_reason``, ``md_calibrated``, in the rows' order."""
    from screening.md.calibration import load_calibration

    calibration = load_calibration()
    estimates = [md_log10_sigma(row, calibration) for row in verified.to_dict("records")]
    return pd.DataFrame(estimates or None, columns=list(MDEstimate._fields),
                        index=verified.index).rename(columns={
        "log10_sigma_S_cm": "md_sigma_log10_S_cm", "unc_log10": "md_sigma_log10_unc",
        "resolved": "md_resolved", "reason": "md_reason", "calibrated": "md_calibrated"}
    ).astype({"md_resolved": bool, "md_calibrated": bool})
