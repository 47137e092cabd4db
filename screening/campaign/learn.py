"""The correction layer: what the MD estimates teach the conductivity model, without touching it.

The residual r(x) = MD estimate - model prediction is a Gaussian process over compositions::

    r ~ GP(0, min(s(x)^2, s(x')^2) exp(-d(x, x')^2 / (2 l^2)))

- s(x) is the model's own 1-sigma (``sigma_log10_unc``): where nothing was simulated the
  corrected prediction is exactly the model's, mean and uncertainty. The ``min`` (a valid
  covariance: Brownian motion's ``min(t, t')`` in t = s^2, times a correlation) means that a
  point never moves a neighbour further than itself and moves a neighbour the model is surer of
  less; ``s(x) s(x')`` would carry a residual of 2 sigma at a sure point as 2 sigma of an unsure
  neighbour, several decades;
- d is the Hellinger distance between atomic fractions that the model's applicability domain
  uses (:class:`~screening.models.domain.CompositionDistance`); l = :data:`LENGTH_SCALE`, so an
  MD point speaks for its system at nearby O contents (LiAlCl2.5O0.75 to LiAlCl3O0.5 is 0.09)
  and not for another alkali (LiAlCl4 to NaAlCl4 is 0.58);
- each MD point is observed with its estimate's variance as noise, so a wide MD error moves
  the prediction little, and a prediction the model is sure of (near its measurements) moves
  little too.

The MD points are a source of their own, never added to the measurements the model is trained
on; the re-ranked table labels every row the correction moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular

from featurizers.fractions import fraction_matrix

#: Correlation length of the residual, in Hellinger distance.
LENGTH_SCALE = 0.15


def composition_roots(formulas: Sequence[str]) -> np.ndarray:
    """Square roots of the atomic fractions of ``formulas`` over one shared element list (rows
    of unit length; a zero row for a formula that does not parse)."""
    return np.sqrt(fraction_matrix(list(formulas)).fractions)


def hellinger(roots_a: np.ndarray, roots_b: np.ndarray) -> np.ndarray:
    """Hellinger distances between every row of ``roots_a`` and of ``roots_b`` (both from
    :func:`composition_roots` over the same elements)."""
    # Rows of unit length: |a - b|^2 = 2 - 2 a.b
    return np.sqrt(np.clip(2.0 - 2.0 * roots_a @ roots_b.T, 0.0, None))


@dataclass(frozen=True)
class ResidualGP:
    """The fitted correction: MD points, their prior 1-sigma and the solved system."""

    length_scale: float
    roots: np.ndarray
    prior_sd: np.ndarray
    factor: np.ndarray
    weights: np.ndarray

    @classmethod
    def fit(cls, roots: np.ndarray, residual: np.ndarray, noise_var: np.ndarray,
            prior_sd: np.ndarray, length_scale: float = LENGTH_SCALE) -> ResidualGP:
        """Condition on MD points at ``roots`` with ``residual`` (log10), ``noise_var`` (their
        estimates' variance) and the model's 1-sigma ``prior_sd`` there."""
        prior_sd = np.asarray(prior_sd, dtype=float)
        covariance = (_covariance(roots, prior_sd, roots, prior_sd, length_scale)
                      + np.diag(np.asarray(noise_var, dtype=float)))
        factor, lower = cho_factor(covariance, lower=True)
        weights = cho_solve((factor, lower), np.asarray(residual, dtype=float))
        return cls(length_scale, np.asarray(roots), prior_sd, np.tril(factor), weights)

    def correct(self, roots: np.ndarray, mean: np.ndarray, sd: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """The corrected mean and 1-sigma of compositions at ``roots`` whose model prediction
        is ``mean`` +- ``sd`` (NaN stays NaN)."""
        sd = np.asarray(sd, dtype=float)
        cross = _covariance(roots, np.nan_to_num(sd), self.roots, self.prior_sd,
                            self.length_scale)
        solved = solve_triangular(self.factor, cross.T, lower=True)
        variance = np.clip(sd ** 2 - np.sum(solved ** 2, axis=0), 0.0, None)
        return np.asarray(mean, dtype=float) + cross @ self.weights, np.sqrt(variance)


def _covariance(roots_a: np.ndarray, sd_a: np.ndarray, roots_b: np.ndarray, sd_b: np.ndarray,
                length_scale: float) -> np.ndarray:
    correlation = np.exp(-0.5 * (hellinger(roots_a, roots_b) / length_scale) ** 2)
    return correlation * np.minimum(sd_a[:, None] ** 2, sd_b[None, :] ** 2)
