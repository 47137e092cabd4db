"""matminer's ``PropertyStats`` computed for many compositions at once.

Each statistic reproduces the matminer function of the same name, including its NaN and tie rules
(see ``matminer/featurizers/utils/stats.py``), on the compact ``(index, weight)`` form of
:func:`featurizers.fractions.present_elements`: ``values`` is ``n x m x p`` (the element property
table gathered per row), ``weight`` is ``n x m`` with zeros in padding slots, which repeat a
present element. numpy's ``min``/``max`` propagate NaN, as matminer's statistics do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# np.isclose defaults, which matminer's mode uses to find the most abundant elements.
_ISCLOSE_RTOL = 1e-5
_ISCLOSE_ATOL = 1e-8

SUPPORTED_STATS = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")


def mean(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Fraction-weighted mean over the elements present (``np.average``)."""
    return np.einsum("nm,nmp->np", weight, values) / weight.sum(axis=1)[:, None]


def avg_dev(values: np.ndarray, weight: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Fraction-weighted mean absolute deviation from ``centre`` (the weighted mean)."""
    deviation = np.abs(values - centre[:, None, :])
    return np.einsum("nm,nmp->np", weight, deviation) / weight.sum(axis=1)[:, None]


def mode(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Value of the most abundant element; ties (``np.isclose`` on weights) take the smallest.

    matminer compares amounts rather than fractions; the two agree except when two amounts differ
    by about ``atol`` (1e-8), which plain formulas written to 6 significant digits never do.
    """
    top = weight.max(axis=1, keepdims=True)
    tied = np.abs(weight - top) <= _ISCLOSE_ATOL + _ISCLOSE_RTOL * np.abs(top)
    return np.where(tied[:, :, None], values, np.inf).min(axis=1)


def unsupported_stats(stats: Sequence[str]) -> list[str]:
    """The statistics in ``stats`` with no vectorised form (e.g. the scale-dependent std_dev)."""
    return [stat for stat in stats if stat not in SUPPORTED_STATS]


def property_stats(
    table: np.ndarray, index: np.ndarray, weight: np.ndarray, stats: Sequence[str]
) -> np.ndarray:
    """``n x p x s`` array: each statistic of each property column of ``table`` (``k x p``).

    ``index``/``weight`` come from :func:`featurizers.fractions.present_elements`.
    """
    values = table[index]
    done: dict[str, np.ndarray] = {}
    if {"minimum", "range"} & set(stats):
        done["minimum"] = values.min(axis=1)
    if {"maximum", "range"} & set(stats):
        done["maximum"] = values.max(axis=1)
    if "range" in stats:
        done["range"] = done["maximum"] - done["minimum"]
    if {"mean", "avg_dev"} & set(stats):
        done["mean"] = mean(values, weight)
    if "avg_dev" in stats:
        done["avg_dev"] = avg_dev(values, weight, done["mean"])
    if "mode" in stats:
        done["mode"] = mode(values, weight)
    return np.stack([done[stat] for stat in stats], axis=2)
