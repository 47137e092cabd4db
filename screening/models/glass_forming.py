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
cation mixing entropy, the anion mix) and the liquidus descriptors of
:mod:`screening.models.melting` (the simple compounds' melting points, the ideal-solution liquidus
and its depression below them, Rawson's bond strength over melting temperature), plus the
fraction of atoms that are single-compound formers (:data:`SINGLE_COMPOUND_FORMERS`); together
:data:`CLASSIFIER_COLUMNS`.
``p_glass`` starts from the trees' mean probability of glass.

Two pieces of glass science are kept as rules, fixed before any label is seen, so they transfer
to chemical systems the labels never cover:

- single compounds (:func:`single_compound_bounds`): a compound of one cation element is a glass
  former only if that cation is a Zachariasen network former for its anion (B2O3, SiO2, GeO2,
  P2O5, As2O3; BeF2; ZnCl2; B2S3, GeS2, As2S3; GeSe2, As2Se3; and vitreous Se itself, see
  :data:`SINGLE_COMPOUND_FORMERS`). Simple salts and oxides of every other cation (K2O, BaO, CsCl,
  SrF2, ZrO2, MgCl2, LiCl, TeO2, V2O5 ...) crystallise on ordinary quenching (Zachariasen, J. Am.
  Chem. Soc. 54, 3841 (1932); Moencke, Topper and Clare, Rev. Mineral. Geochem. 87, 1039 (2022)).
  Their ``p_glass`` is capped at :data:`NON_FORMER_P_MAX`; a listed former's is raised to
  :data:`FORMER_P_MIN`;
- known composition limits (:data:`OXYGEN_LIMITS`): in the VIGLAS systems oxygen stops dissolving
  above O/Al = 0.86 (Li) and 0.81 (Na), so ``p_glass`` is left as it is up to the limit and fades
  out past it (a Gaussian tail of width :data:`LIMIT_WIDTH` in O per centre, so neighbouring grid
  points stay close).

``glass_forming`` is ``p_glass >= 0.5`` for every composition the descriptors cover (None only for
an unparsable one); the applicability domain is a separate flag beside it, never a reason to
withhold the answer.

Applicability domain (one definition for both glass proxies, :mod:`screening.models.domain`): the
distance to the nearest labelled composition in the standardised :data:`DOMAIN_COLUMNS`, in domain
up to the 95th percentile of the labelled compositions' distances to the nearest composition of
another chemical system. The Tg model measures its distance (to the nearest glass with a measured
Tg) with this same scaling and threshold (:meth:`GlassFormingModel.tg_domain`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier

from candidates.chemistry import ANION_CHARGE, anions_of, element
from screening.models.data import (
    load_conductivity_data,
    load_glass_forming_labels,
    load_tg_reference,
    reduced_formula,
)
from screening.models.domain import NearestNeighbourDomain
from screening.models.features import Amounts, parse_amounts
from screening.models.melting import MELTING_COLUMNS, melting_descriptors

GFA_COLUMNS = (
    "net_former_frac", "net_modifier_frac", "net_alkali_frac", "net_bridging_per_former",
    "net_bridging_frac", "net_former_field_strength", "net_modifier_field_strength",
    "net_former_coordination", "net_bond_strength", "net_former_anion_dx",
    "net_cation_mixing_entropy", "frac_halide", "frac_chalcogen", "frac_O", "frac_S", "frac_F",
    "mixed_anion", "ion_anion_polarisability_A3", "ion_mobile_frac",
)
#: The descriptor space of the glass proxies' applicability domain: the classifier's descriptors
#: and the Phillips-Thorpe rigidity the Tg model reads.
DOMAIN_COLUMNS = (*GFA_COLUMNS, "rigidity")
#: Bumped whenever the fitted model's structure, rules or melting-point table change (part of
#: its cache key).
GLASS_MODEL_VERSION = "3"
#: Single-compound glass formers by anion: the cations whose simple compound with that anion
#: vitrifies on ordinary melt quenching (the Zachariasen formers, the fluoride and chloride
#: network glasses BeF2 and ZnCl2, the chalcogenide formers); ``""`` is the element on its own.
SINGLE_COMPOUND_FORMERS = {
    "O": frozenset({"B", "Si", "Ge", "P", "As"}),
    "F": frozenset({"Be"}),
    "Cl": frozenset({"Zn"}),
    "S": frozenset({"B", "Ge", "As"}),
    "Se": frozenset({"Ge", "As", ""}),
}
#: What the trees read: the descriptors, the liquidus block (NaN where a melting point is not
#: listed; the trees route missing values), Rawson's ratio and the single-compound formers.
CLASSIFIER_COLUMNS = (
    *GFA_COLUMNS, *MELTING_COLUMNS, "rawson_bond_strength_per_kK", "zachariasen_former_frac",
)
#: ``p_glass`` of a simple compound of a non-former is at most this; of a listed former at least
#: :data:`FORMER_P_MIN`. Rules, not fits: a classifier trained on ternary diagrams has no row to
#: learn them from in a chemical system it has never seen.
NON_FORMER_P_MAX = 0.1
FORMER_P_MIN = 0.9
#: Oxygen solubility limits (O per centre) of A-M-X-O glasses: (alkali, centre, halogen) -> limit.
#: Dai et al., Nat. Energy 8, 1221 (2023): O stops dissolving at O/Al about 0.86 (Li), 0.81 (Na).
OXYGEN_LIMITS = {("Li", "Al", "Cl"): 0.86, ("Na", "Al", "Cl"): 0.81}
LIMIT_WIDTH = 0.05
#: A charge that differs from a whole number by less than this is whole (rounded fractions).
ROUNDING_TOLERANCE = 1e-6


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


def simple_compound(composition: Amounts) -> str | None:
    """The cation of a simple compound (one cation element, charge-balanced at one of its known
    oxidation states; ``""`` for an element on its own), None for anything else.

    Oxide, halide and nitride anions take precedence, so S, Se and Te count as cations beside
    them (tellurites, sulfates) and as anions only among themselves (GeS2, As2Se3).
    """
    present = {el: n for el, n in composition if n > 0}
    anions = anions_of(set(present))
    cations = set(present) - anions
    if not cations:
        return "" if len(present) == 1 else None
    if len(cations) > 1:
        return None
    (cation,) = cations
    if not anions:
        return cation
    charge = sum(present[el] * ANION_CHARGE[el] for el in anions) / present[cation]
    if abs(charge - round(charge)) > ROUNDING_TOLERANCE or (
            round(charge) not in element(cation).oxidation_states):
        return None
    return cation


def single_compound_bounds(amounts: list[Amounts | None]) -> tuple[np.ndarray, np.ndarray]:
    """Per composition, the lower and upper bound the single-compound rule puts on ``p_glass``.

    A simple compound (:func:`simple_compound`) is a listed former when its cation forms glass
    with every anion present (:data:`SINGLE_COMPOUND_FORMERS`; an element on its own, such as
    Se, counts as the cation ``""``), a non-former when it forms glass with none of them.
    Everything else, mixtures included, is bounded by (0, 1).
    """
    lower = np.zeros(len(amounts))
    upper = np.ones(len(amounts))
    for i, composition in enumerate(amounts):
        cation = None if composition is None else simple_compound(composition)
        if cation is None:
            continue
        elements = {el for el, n in composition if n > 0} - {cation}
        forms = [cation in SINGLE_COMPOUND_FORMERS.get(el, frozenset()) for el in elements]
        if forms and all(forms):
            lower[i] = FORMER_P_MIN
        elif not any(forms):
            upper[i] = NON_FORMER_P_MAX
    return lower, upper


def zachariasen_former_frac(amounts: list[Amounts | None]) -> np.ndarray:
    """Per composition, the atomic fraction of cations that form a glass on their own with one
    of the anions present (:data:`SINGLE_COMPOUND_FORMERS`); NaN where unparsed."""
    out = np.full(len(amounts), np.nan)
    for i, composition in enumerate(amounts):
        if composition is None:
            continue
        present = {el: n for el, n in composition if n > 0}
        anions = anions_of(set(present))
        formers = sum(n for el, n in present.items() if el not in anions and any(
            el in SINGLE_COMPOUND_FORMERS.get(anion, ()) for anion in anions))
        out[i] = formers / sum(present.values())
    return out


def classifier_features(descriptors: pd.DataFrame, amounts: list[Amounts | None]
                        ) -> np.ndarray:
    """The :data:`CLASSIFIER_COLUMNS` of compositions (``descriptors`` row-aligned with
    ``amounts``), as float32 for the trees."""
    melting = melting_descriptors(amounts)
    rawson = descriptors["net_bond_strength"].to_numpy() / melting["melt_tm_mean_K"].to_numpy()
    return np.column_stack([
        descriptors[list(GFA_COLUMNS)].to_numpy(dtype=float), melting.to_numpy(),
        1000.0 * rawson, zachariasen_former_frac(amounts),
    ]).astype(np.float32)


def glass_probability(classifier: ExtraTreesClassifier, descriptors: pd.DataFrame,
                      amounts: list[Amounts | None]) -> np.ndarray:
    """``p_glass``: the trees' probability of glass, faded past the oxygen limits and bounded by
    the single-compound rule; NaN where a descriptor of :data:`GFA_COLUMNS` is not finite."""
    x = classifier_features(descriptors, amounts)
    finite = np.isfinite(x[:, :len(GFA_COLUMNS)]).all(axis=1)
    p_glass = np.full(len(x), np.nan)
    if finite.any():
        votes = classifier.predict_proba(x[finite])
        p_glass[finite] = votes[:, list(classifier.classes_).index(True)]
    p_glass *= oxygen_limit_factor(amounts)
    lower, upper = single_compound_bounds(amounts)
    return np.clip(p_glass, lower, upper)


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
    """``p_glass``, ``glass_forming`` (True/False; None only where ``p_glass`` is NaN), domain
    distance and flag."""

    p_glass: np.ndarray
    glass_forming: np.ndarray
    distance: np.ndarray
    in_domain: np.ndarray


def decisions(p_glass: np.ndarray) -> np.ndarray:
    """``p_glass >= 0.5`` as True/False objects, None where ``p_glass`` is NaN."""
    return np.array([None if np.isnan(p) else bool(p >= 0.5) for p in p_glass], dtype=object)


@dataclass(frozen=True)
class GlassFormingModel:
    """The fitted classifier and the glass proxies' domain yardstick."""

    classifier: ExtraTreesClassifier
    domain: NearestNeighbourDomain

    def predict(self, descriptors: pd.DataFrame, amounts: list[Amounts | None]
                ) -> GlassFormingPrediction:
        """Glass-forming ability of compositions from their composition descriptors."""
        p_glass = glass_probability(self.classifier, descriptors, amounts)
        distance = self.domain.distance(descriptors[list(DOMAIN_COLUMNS)].to_numpy())
        return GlassFormingPrediction(p_glass, decisions(p_glass), distance,
                                      self.domain.contains(distance))

    def tg_domain(self, tg_descriptors: pd.DataFrame) -> NearestNeighbourDomain:
        """The Tg model's domain: distance to the nearest of the reference glasses (their
        descriptors), measured with this model's scaling and against its threshold."""
        return self.domain.with_points(tg_descriptors[list(DOMAIN_COLUMNS)].to_numpy())


def build_classifier(config: GlassFormingConfig) -> ExtraTreesClassifier:
    """The unfitted classifier."""
    return ExtraTreesClassifier(n_estimators=config.n_estimators,
                                min_samples_leaf=config.min_samples_leaf,
                                random_state=config.random_state, n_jobs=1)


def fit_glass_forming(descriptors: pd.DataFrame, table: pd.DataFrame,
                      config: GlassFormingConfig) -> GlassFormingModel:
    """Fit on the labelled compositions of :func:`glass_forming_table` (descriptors row-aligned,
    finite in :data:`DOMAIN_COLUMNS`)."""
    x = classifier_features(descriptors, parse_amounts(list(table["formula"])))
    classifier = build_classifier(config).fit(
        x, table["glass_forming"].to_numpy(),
        sample_weight=table["weight"].to_numpy())
    return GlassFormingModel(classifier, NearestNeighbourDomain.fit(
        descriptors[list(DOMAIN_COLUMNS)].to_numpy(), table["system"].to_numpy()))
