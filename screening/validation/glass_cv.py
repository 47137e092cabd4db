"""Cross-validation of the glass-forming model, for the validation report: held-out ``p_glass``
of every labelled composition with random folds over compositions and with whole chemical
systems held out (the model itself lives in :mod:`screening.models.glass_forming`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from screening.models.domain import NearestNeighbourDomain
from screening.models.features import parse_amounts
from screening.models.glass_forming import (
    DOMAIN_COLUMNS,
    GlassFormingConfig,
    build_classifier,
    classifier_features,
    glass_probability,
)
from screening.models.level_model import random_groups_folds


def cross_validate_glass_forming(descriptors: pd.DataFrame, table: pd.DataFrame,
                                 config: GlassFormingConfig) -> pd.DataFrame:
    """Held-out ``p_glass`` of every labelled composition in two regimes: ``random`` folds over
    compositions and ``grouped`` folds over chemical systems (a whole diagram held out). Each
    fold refits the trees and the domain on its training rows only; the rules are fixed in
    advance, so nothing of a held-out label reaches its prediction.

    Returns one row per (regime, composition): ``regime``, ``formula``, ``glass_forming``,
    ``weight``, ``p_glass`` (what :meth:`GlassFormingModel.predict` gives), ``p_trees`` (the
    trees alone, before the rules), ``in_domain``.
    """
    amounts = parse_amounts(list(table["formula"]))
    x = classifier_features(descriptors, amounts)
    domain_x = descriptors[list(DOMAIN_COLUMNS)].to_numpy()
    label = table["glass_forming"].to_numpy()
    weight = table["weight"].to_numpy()
    systems = table["system"].to_numpy()
    regimes = {
        "random": random_groups_folds(table["formula"].to_numpy(), config.cv_splits,
                                      config.random_state),
        "grouped": list(GroupKFold(config.cv_splits).split(x, groups=systems)),
    }
    frames = []
    for regime, folds in regimes.items():
        p_glass = np.empty(len(x))
        p_trees = np.empty(len(x))
        in_domain = np.empty(len(x), dtype=bool)
        for train, test in folds:
            classifier = build_classifier(config).fit(
                x[train], label[train], sample_weight=weight[train])
            votes = classifier.predict_proba(x[test])
            p_trees[test] = votes[:, list(classifier.classes_).index(True)]
            p_glass[test] = glass_probability(classifier, descriptors.iloc[test],
                                              [amounts[i] for i in test])
            domain = NearestNeighbourDomain.fit(domain_x[train], systems[train])
            in_domain[test] = domain.distance(domain_x[test]) <= domain.threshold
        frames.append(pd.DataFrame({
            "regime": regime, "formula": table["formula"].to_numpy(), "glass_forming": label,
            "weight": weight, "p_glass": p_glass, "p_trees": p_trees, "in_domain": in_domain,
        }))
    return pd.concat(frames, ignore_index=True)
