"""Applicability domain of the data-driven proxies: how far a candidate is from the training data.

Three measures, all computed from the training data only:

- :class:`CompositionDistance`: the Hellinger distance between a candidate's composition and the
  nearest training composition, ``sqrt(sum_e (sqrt(x_e) - sqrt(y_e))^2)`` over the atomic
  fractions x, y of the elements e (0 for the same composition, sqrt(2) for no shared element).
  It asks "is there a measured compound with nearly these elements in nearly these amounts?",
  the question that decides whether a composition model interpolates or extrapolates;

- a nearest-neighbour distance in a standardised descriptor space, with a threshold calibrated
  like a held-out family: each training row's distance to its nearest neighbour in *another*
  group (family; each row its own group for leave-one-out), and the :data:`DOMAIN_QUANTILE`
  percentile of those distances. A candidate is in domain when it is at most as far from the
  data as 95% of the training rows are from the other families;

  the two glass proxies share one such yardstick (the descriptors of
  :data:`screening.models.glass_forming.DOMAIN_COLUMNS`, scaled and thresholded on the
  glass-formation labels grouped by chemical system, see :meth:`NearestNeighbourDomain.
  with_points`): glass formation measures the distance to the
  nearest labelled composition, Tg the distance to the nearest glass with a measured Tg, in the
  same units against the same threshold. Every Tg glass is a labelled glass former, so a
  composition's Tg distance is never below its glass distance, and one in the Tg domain is always
  in the glass-formation domain;
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


#: Neighbours looked at per row before falling back to a search that excludes the row's group.
_NEIGHBOURS = 32


def cross_group_distances(scaled: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Distance of each row to its nearest row of a different group (same units as ``scaled``)."""
    groups = np.asarray(groups)
    out = np.full(len(scaled), np.nan)
    k = min(_NEIGHBOURS, len(scaled))
    distances, index = NearestNeighbors(n_neighbors=k).fit(scaled).kneighbors(scaled)
    other = groups[index] != groups[:, None]
    found = other.any(axis=1)
    out[found] = distances[found, other[found].argmax(axis=1)]
    # Rows whose k nearest neighbours all share their group: search the other groups directly.
    for group in np.unique(groups[~found]):
        inside = groups == group
        if inside.all():
            continue
        rows = inside & ~found
        neighbours = NearestNeighbors(n_neighbors=1).fit(scaled[~inside])
        out[rows] = neighbours.kneighbors(scaled[rows])[0][:, 0]
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

    def with_points(self, descriptors: np.ndarray) -> NearestNeighbourDomain:
        """The same yardstick (scaling and threshold) measuring the distance to other points:
        a proxy trained on a subset of the compositions that set the yardstick is judged in the
        same units against the same threshold."""
        scaled = self.scaler.transform(np.asarray(descriptors, dtype=float))
        return NearestNeighbourDomain(self.scaler, NearestNeighbors(n_neighbors=1).fit(scaled),
                                      self.threshold)

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


@dataclass(frozen=True)
class CompositionDistance:
    """Nearest-neighbour Hellinger distance of compositions to a set of training compositions."""

    elements: tuple[str, ...]
    roots: np.ndarray  # training compositions x elements, sqrt of the atomic fractions

    @classmethod
    def fit(cls, fractions: np.ndarray, elements: Sequence[str]) -> CompositionDistance:
        """Index training compositions given as an atomic-fraction matrix over ``elements``."""
        return cls(tuple(elements), np.sqrt(np.asarray(fractions, dtype=float)))

    def distance(self, fractions: np.ndarray, elements: Sequence[str],
                 chunk_rows: int = 4096) -> np.ndarray:
        """Distance of each row of an atomic-fraction matrix over ``elements`` (rows summing to
        1; a zero row gives NaN) to its nearest training composition."""
        fractions = np.asarray(fractions, dtype=float)
        index = {el: j for j, el in enumerate(self.elements)}
        shared = [(i, index[el]) for i, el in enumerate(elements) if el in index]
        roots = np.zeros((len(fractions), len(self.elements)))
        if shared:
            mine, theirs = (list(v) for v in zip(*shared, strict=True))
            roots[:, theirs] = np.sqrt(fractions[:, mine])
        # Both root vectors have unit length, so |a - b|^2 = 2 - 2 a.b and elements absent from
        # the training set only lower the overlap a.b.
        overlap = np.empty(len(roots))
        for start in range(0, len(roots), chunk_rows):
            block = roots[start:start + chunk_rows] @ self.roots.T
            overlap[start:start + chunk_rows] = block.max(axis=1, initial=0.0)
        out = np.sqrt(np.clip(2.0 - 2.0 * overlap, 0.0, None))
        out[fractions.sum(axis=1) <= 0] = np.nan
        return out


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
        by_system: dict[frozenset[str], str] = {}  # a partition holds few element sets
        out: list[str | None] = []
        for composition in amounts:
            if composition is None:
                out.append(None)
                continue
            present = frozenset(el for el, n in composition if n > 0)
            if present not in by_system:
                by_system[present] = self._unseen(sorted(present))
            out.append(by_system[present])
        return out

    def _unseen(self, present: list[str]) -> str:
        new_elements = [el for el in present if el not in self.elements]
        known = [el for el in present if el in self.elements]
        new_pairs = [
            p for p in (_pair(a, b) for a, b in combinations(known, 2)) if p not in self.pairs
        ]
        return ", ".join([*new_elements, *new_pairs])
