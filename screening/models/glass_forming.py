"""Glass-forming ability: does a composition vitrify by ordinary melt quenching?

Labels (one per reduced formula, see ``screening/data/SOURCES.md``):

- ``glass_forming.csv``: sourced glass-formation points (SciGlass glass-formation diagrams, the
  VIGLAS windows of Dai et al. 2023, alkali-phosphate limits, every glass with a measured Tg);
- the conductivity data: glasses and glass-ceramics (made through a glass) are glass formers;
  crystalline samples count as non-formers with weight ``weak_weight``, because a compound
  measured as a crystal may still vitrify when quenched (many NASICONs are made as glass-ceramics).

A composition with labels on both sides takes the weighted majority. The classifier is extra trees
on the glass-science descriptors of :data:`GFA_COLUMNS` (Zachariasen former/modifier roles,
Dietzel field strengths, bridging anions per former, Stanworth's electronegativity difference,
cation mixing entropy, the anion mix); ``p_glass`` is the trees' mean probability of glass.

Known composition limits are kept as rules (:data:`OXYGEN_LIMITS`): in the VIGLAS systems oxygen
stops dissolving above O/Al = 0.86 (Li) and 0.81 (Na), so ``p_glass`` is left as it is up to the
limit and fades out past it (a Gaussian tail of width :data:`LIMIT_WIDTH` in O per centre, so
neighbouring grid points stay close).

Applicability domain: the nearest labelled composition in the standardised :data:`GFA_COLUMNS`,
in domain up to the 95th percentile of the labelled compositions' distances to the nearest
composition of another chemical system. ``glass_forming`` is True/False in domain and None
outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier

from screening.models.data import (
    load_conductivity_data,
    load_glass_forming_labels,
    load_tg_reference,
    reduced_formula,
)
from screening.models.domain import NearestNeighbourDomain
from screening.models.features import Amounts

GFA_COLUMNS = (
    "net_former_frac", "net_modifier_frac", "net_alkali_frac", "net_bridging_per_former",
    "net_bridging_frac", "net_former_field_strength", "net_modifier_field_strength",
    "net_former_coordination", "net_bond_strength", "net_former_anion_dx",
    "net_cation_mixing_entropy", "frac_halide", "frac_chalcogen", "frac_O", "frac_S", "frac_F",
    "mixed_anion", "ion_anion_polarisability_A3", "ion_mobile_frac",
)
#: Oxygen solubility limits (O per centre) of A-M-X-O glasses: (alkali, centre, halogen) -> limit.
#: Dai et al., Nat. Energy 8, 1221 (2023): O stops dissolving at O/Al about 0.86 (Li), 0.81 (Na).
OXYGEN_LIMITS = {("Li", "Al", "Cl"): 0.86, ("Na", "Al", "Cl"): 0.81}
LIMIT_WIDTH = 0.05


@dataclass(frozen=True)
class GlassFormingConfig:
    """Hyperparameters of the classifier and of its cross-validation."""

    n_estimators: int = 300
    min_samples_leaf: int = 3
    weak_weight: float = 0.3
    cv_splits: int = 5
    random_state: int = 0


def chemical_system(formula: str) -> str:
    """The sorted element set of a formula, e.g. ``Al-Cl-Li-O``."""
    from candidates.formula import parse_plain

    return "-".join(sorted({el for el, n in parse_plain(formula) if n > 0}))


def glass_forming_table(weak_weight: float) -> pd.DataFrame:
    """One labelled composition per reduced formula: ``formula``, ``glass_forming`` (bool),
    ``weight``, ``system`` (element set), ``source`` (``curated``, ``tg`` or the conductivity
    source)."""
    labels = load_glass_forming_labels()
    conductivity = load_conductivity_data()
    tg = load_tg_reference()
    measured = conductivity["via_glass"].to_numpy()
    rows = pd.concat([
        pd.DataFrame({"formula": labels["formula"], "label": labels["glass_forming"],
                      "weight": 1.0, "source": "curated"}),
        pd.DataFrame({"formula": tg["formula"], "label": True, "weight": 1.0, "source": "tg"}),
        pd.DataFrame({"formula": conductivity["formula"], "label": measured,
                      "weight": np.where(measured, 1.0, weak_weight),
                      "source": conductivity["source"]}),
    ], ignore_index=True)
    rows["key"] = rows["formula"].map(reduced_formula)
    rows["vote"] = rows["weight"] * np.where(rows["label"], 1.0, -1.0)
    grouped = rows.groupby("key", sort=True)
    table = pd.DataFrame({
        "formula": grouped["formula"].first(),
        "glass_forming": grouped["vote"].sum() > 0,
        "weight": grouped["weight"].max(),
        "source": grouped["source"].first(),
    }).reset_index(drop=True)
    table["system"] = table["formula"].map(chemical_system)
    return table


def oxygen_limit_factor(amounts: list[Amounts | None]) -> np.ndarray:
    """Per composition, 1 up to the known oxygen solubility limits, fading to 0 past them."""
    factor = np.ones(len(amounts))
    for i, composition in enumerate(amounts):
        if composition is None:
            continue
        comp = {el: n for el, n in composition if n > 0}
        for (alkali, centre, halogen), limit in OXYGEN_LIMITS.items():
            if set(comp) == {alkali, centre, halogen, "O"}:
                excess = max(comp["O"] / comp[centre] - limit, 0.0)
                factor[i] = np.exp(-((excess / LIMIT_WIDTH) ** 2))
    return factor


@dataclass(frozen=True)
class GlassFormingPrediction:
    """``p_glass``, ``glass_forming`` (True/False/None), domain distance and flag."""

    p_glass: np.ndarray
    glass_forming: np.ndarray
    distance: np.ndarray
    in_domain: np.ndarray


@dataclass(frozen=True)
class GlassFormingModel:
    """The fitted classifier and its domain."""

    classifier: ExtraTreesClassifier
    domain: NearestNeighbourDomain

    def predict(self, descriptors: pd.DataFrame, amounts: list[Amounts | None]
                ) -> GlassFormingPrediction:
        """Glass-forming ability of compositions from their composition descriptors."""
        x = descriptors[list(GFA_COLUMNS)].to_numpy()
        finite = np.isfinite(x).all(axis=1)
        p_glass = np.full(len(x), np.nan)
        if finite.any():
            votes = self.classifier.predict_proba(x[finite].astype(np.float32))
            p_glass[finite] = votes[:, list(self.classifier.classes_).index(True)]
        p_glass *= oxygen_limit_factor(amounts)
        distance = self.domain.distance(x)
        in_domain = self.domain.contains(distance)
        forming = np.array([None if not inside else bool(p >= 0.5)
                            for p, inside in zip(p_glass, in_domain, strict=True)], dtype=object)
        return GlassFormingPrediction(p_glass, forming, distance, in_domain)


def build_classifier(config: GlassFormingConfig) -> ExtraTreesClassifier:
    """The unfitted classifier."""
    return ExtraTreesClassifier(n_estimators=config.n_estimators,
                                min_samples_leaf=config.min_samples_leaf,
                                random_state=config.random_state, n_jobs=1)


def fit_glass_forming(descriptors: pd.DataFrame, table: pd.DataFrame,
                      config: GlassFormingConfig) -> GlassFormingModel:
    """Fit on the labelled compositions of :func:`glass_forming_table` (descriptors row-aligned)."""
    x = descriptors[list(GFA_COLUMNS)].to_numpy()
    classifier = build_classifier(config).fit(
        x.astype(np.float32), table["glass_forming"].to_numpy(),
        sample_weight=table["weight"].to_numpy())
    return GlassFormingModel(classifier,
                             NearestNeighbourDomain.fit(x, table["system"].to_numpy()))


def cross_validate_glass_forming(descriptors: pd.DataFrame, table: pd.DataFrame,
                                 config: GlassFormingConfig) -> pd.DataFrame:
    """Held-out ``p_glass`` of every labelled composition in two regimes: ``random`` folds over
    compositions and ``grouped`` folds over chemical systems (a whole diagram held out).

    Returns one row per (regime, composition): ``regime``, ``formula``, ``glass_forming``,
    ``weight``, ``p_glass``, ``in_domain``.
    """
    from sklearn.model_selection import GroupKFold

    from screening.models.level_model import random_groups_folds

    x = descriptors[list(GFA_COLUMNS)].to_numpy()
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
        in_domain = np.empty(len(x), dtype=bool)
        for train, test in folds:
            classifier = build_classifier(config).fit(
                x[train].astype(np.float32), label[train], sample_weight=weight[train])
            votes = classifier.predict_proba(x[test].astype(np.float32))
            p_glass[test] = votes[:, list(classifier.classes_).index(True)]
            domain = NearestNeighbourDomain.fit(x[train], systems[train])
            in_domain[test] = domain.distance(x[test]) <= domain.threshold
        frames.append(pd.DataFrame({
            "regime": regime, "formula": table["formula"].to_numpy(), "glass_forming": label,
            "weight": weight, "p_glass": p_glass, "in_domain": in_domain,
        }))
    return pd.concat(frames, ignore_index=True)
