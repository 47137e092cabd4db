"""Which candidates a round simulates: eligible rows, an acquisition, one pick per system.

- eligible: the rows of the run's ranked table (they pass its filters), glass formers only
  unless told otherwise (``glass_forming`` true: the MD tier makes glasses), never a formula the
  campaign has simulated already;
- acquisition on the current conductivity prediction m +- s: ``ucb`` m + kappa s (Srinivas et
  al., ICML 2010), ``ei`` the expected improvement over the best current m (Jones et al., J.
  Glob. Optim. 13, 455 (1998)), ``greedy`` m, ``random`` a seeded uniform draw (the baseline);
- diversity: the best row of each chemical system (its set of elements) only, so a batch is not
  B oxygen contents of one family.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from featurizers.fractions import fraction_matrix

ACQUISITIONS = ("ucb", "ei", "greedy", "random")


def chemical_systems(formulas: Sequence[str]) -> np.ndarray:
    """The elements of each formula, sorted and joined by '-' (``Al-Cl-Li-O``)."""
    matrix = fraction_matrix(list(formulas))
    elements = np.array(matrix.elements, dtype=object)
    order = np.argsort(elements)
    present = matrix.fractions[:, order] > 0
    names = elements[order]
    return np.array(["-".join(names[row]) for row in present], dtype=object)


def eligible(frame: pd.DataFrame, glass_formers_only: bool, simulated: set[str]) -> np.ndarray:
    """Rows of ``frame`` (the ranked table) a round may pick."""
    mask = ~frame["formula"].isin(simulated).to_numpy()
    mask &= np.isfinite(frame["sigma_log10_S_cm"].to_numpy(dtype=float))
    if glass_formers_only:
        mask &= frame["glass_forming"].eq(True).to_numpy()
    return mask


def acquisition(name: str, mean: np.ndarray, sd: np.ndarray, kappa: float,
                rng: np.random.Generator) -> np.ndarray:
    """The acquisition value of each row (larger is picked first)."""
    if name == "ucb":
        return mean + kappa * sd
    if name == "greedy":
        return np.asarray(mean, dtype=float)
    if name == "random":
        return rng.random(len(mean))
    gain = mean - np.max(mean, initial=-np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, gain / sd, -np.inf)
    return np.where(sd > 0, gain * norm.cdf(z) + sd * norm.pdf(z), np.maximum(gain, 0.0))


def pick(candidates: pd.DataFrame, batch: int, name: str, kappa: float,
         rng: np.random.Generator) -> pd.DataFrame:
    """The ``batch`` best rows of ``candidates`` (eligible rows with ``formula``, ``system``,
    ``sigma_log10_S_cm`` and ``sigma_log10_unc``) by the acquisition, one per chemical system;
    adds ``acquisition_value``. Ties go to the earlier formula, so picks are reproducible."""
    values = acquisition(name, candidates["sigma_log10_S_cm"].to_numpy(dtype=float),
                         candidates["sigma_log10_unc"].to_numpy(dtype=float), kappa, rng)
    scored = candidates.assign(acquisition_value=values)
    ordered = scored.sort_values(["acquisition_value", "formula"], ascending=[False, True],
                                 kind="mergesort")
    return ordered.drop_duplicates("system").head(batch).reset_index(drop=True)
