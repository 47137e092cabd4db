"""Applicability domain of the data-driven proxies: how far a candidate is from the training data.

Two measures, both computed from the training data only:

- a nearest-neighbour distance in a model's own standardised descriptor space, with a threshold
  calibrated like a held-out family: each training row's distance to its nearest neighbour in
  *another* group (family; each row its own group for leave-one-out), and the
  :data:`DOMAIN_QUANTILE` percentile of those distances. A candidate is in domain when it is at
  most as far from the data as 95% of the training rows are from the other families;
- the chemistry the training set has never seen: elements, and element pairs that never occur
  together in one training composition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

#: Percentile of the cross-group nearest-neighbour distances that sets the in-domain threshold.
DOMAIN_QUANTILE = 95.0

Amounts = tuple[tuple[str, float], ...]


def cross_group_distances(scaled: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Distance of each row to its nearest row of a different group (same units as ``scaled``)."""
    groups = np.asarray(groups)
    out = np.empty(len(scaled))
    for group in np.unique(groups):
        inside = groups == group
        neighbours = NearestNeighbors(n_neighbors=1).fit(scaled[~inside])
        out[inside] = neighbours.kneighbors(scaled[inside])[0][:, 0]
    return out


@dataclass(frozen=True)
class NearestNeighbourDomain:
    """Standardised nearest-neighbour distance to the training rows and its in-domain threshold."""

    scaler: StandardScaler
    neighbours: NearestNeighbors
    threshold: float

    @classmethod
    def fit(cls, descriptors: np.ndarray, groups: np.ndarray) -> NearestNeighbourDomain:
        """Fit on training descriptors (rows x columns, finite) grouped by family."""
        descriptors = np.asarray(descriptors, dtype=float)
        scaler = StandardScaler().fit(descriptors)
        scaled = scaler.transform(descriptors)
        threshold = np.percentile(cross_group_distances(scaled, groups), DOMAIN_QUANTILE)
        return cls(scaler, NearestNeighbors(n_neighbors=1).fit(scaled), float(threshold))

    def distance(self, descriptors: np.ndarray) -> np.ndarray:
        """Distance of each row to its nearest training row; NaN where a descriptor is NaN."""
        descriptors = np.asarray(descriptors, dtype=float)
        out = np.full(len(descriptors), np.nan)
        finite = np.isfinite(descriptors).all(axis=1)
        if finite.any():
            scaled = self.scaler.transform(descriptors[finite])
            out[finite] = self.neighbours.kneighbors(scaled)[0][:, 0]
        return out

    def contains(self, distance: np.ndarray) -> np.ndarray:
        """In-domain flags as objects: True/False, None where the distance is NaN."""
        distance = np.asarray(distance, dtype=float)
        flags = np.array([bool(d) for d in distance <= self.threshold], dtype=object)
        flags[np.isnan(distance)] = None
        return flags


def _pair(a: str, b: str) -> str:
    return "-".join(sorted((a, b)))


@dataclass(frozen=True)
class ElementVocabulary:
    """Elements and co-occurring element pairs of the training compositions."""

    elements: frozenset[str]
    pairs: frozenset[str]

    @classmethod
    def of(cls, amounts: Iterable[Amounts | None]) -> ElementVocabulary:
        """Vocabulary of training compositions (``((symbol, amount), ...)``; None skipped)."""
        elements: set[str] = set()
        pairs: set[str] = set()
        for composition in amounts:
            if composition is None:
                continue
            present = sorted({el for el, n in composition if n > 0})
            elements.update(present)
            pairs.update(_pair(a, b) for a, b in combinations(present, 2))
        return cls(frozenset(elements), frozenset(pairs))

    def unseen(self, amounts: Sequence[Amounts | None]) -> list[str | None]:
        """Per composition: unseen elements, then unseen pairs of seen elements, comma-separated.

        Pairs with an unseen element are implied by the element and not repeated. ``""`` when
        everything is known, None for an unparsable composition.
        """
        out: list[str | None] = []
        for composition in amounts:
            if composition is None:
                out.append(None)
                continue
            present = sorted({el for el, n in composition if n > 0})
            new_elements = [el for el in present if el not in self.elements]
            known = [el for el in present if el in self.elements]
            new_pairs = [
                p for p in (_pair(a, b) for a, b in combinations(known, 2)) if p not in self.pairs
            ]
            out.append(", ".join([*new_elements, *new_pairs]))
        return out
