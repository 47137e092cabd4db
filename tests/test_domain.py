"""Applicability domain of the conductivity and Tg proxies: distance, flag, unseen chemistry."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from screening.models.conductivity_model import level_inputs
from screening.models.domain import CompositionDistance, ElementVocabulary, cross_group_distances
from screening.models.features import parse_amounts
from screening.models.fitted import conductivity_model
from screening.models.level_model import gp_mean
from screening.scorers.conductivity import ConductivityScorer
from screening.scorers.tg import TgScorer

ROOM_K = 298.15
FAR = ["KTaI5.5O0.25", "CsHfI6"]


@pytest.fixture(scope="module")
def conductivity() -> ConductivityScorer:
    return ConductivityScorer()


@pytest.fixture(scope="module")
def scores(conductivity: ConductivityScorer) -> pd.DataFrame:
    return conductivity.score_formulas(["LiAlCl2.5O0.75", *FAR, "not a formula"], ROOM_K)


def test_laco75_is_in_the_conductivity_domain(scores: pd.DataFrame) -> None:
    assert scores.loc[0, "sigma_in_domain"] is True
    assert scores.loc[0, "sigma_unseen"] == ""


def test_far_compositions_are_out_of_domain_and_further_away(scores: pd.DataFrame) -> None:
    far = scores.loc[1:2]
    assert far["sigma_in_domain"].tolist() == [False, False]
    assert (far["sigma_domain_distance"] > scores.loc[0, "sigma_domain_distance"]).all()


def test_unseen_lists_new_elements_and_pairs(scores: pd.DataFrame) -> None:
    assert scores.loc[1, "sigma_unseen"] == "I-K, I-Ta, K-Ta"  # every element known, no pair
    assert scores.loc[2, "sigma_unseen"].split(", ")[0] == "Cs"  # caesium never measured


def test_conductivity_domain_is_the_switch_to_the_trees() -> None:
    levels = conductivity_model().levels
    assert 0 < levels.gate_distance < math.sqrt(2)
    assert levels.weight(np.array([0.0, levels.gate_distance, 1.0])).round(3).tolist() == [
        1.0, 0.5, 0.0]


def test_unparsable_formula_has_no_domain(scores: pd.DataFrame) -> None:
    assert np.isnan(scores.loc[3, "sigma_domain_distance"])
    assert scores.loc[3, "sigma_in_domain"] is None and scores.loc[3, "sigma_unseen"] is None


def test_glass_domains_flag_known_glasses_in_and_exotic_halides_out() -> None:
    glass = TgScorer().score_formulas(["SiO2", "KTaI5.5O0.25", "???"], ROOM_K)
    assert glass["tg_in_domain"].tolist() == [True, False, None]
    assert glass.loc[0, "tg_domain_distance"] == pytest.approx(0.0)  # silica is a reference glass
    assert glass["glass_in_domain"].tolist() == [True, False, None]
    # Out of domain is a flag beside the answer, not a reason to withhold it.
    assert glass["glass_forming"].tolist() == [True, False, None]


#: The compositions the issue found with the two glass flags disagreeing, and a spread of others.
DOMAIN_PROBES = ["LiZrOCl3", "NaHfOCl3", "LiSnOCl", "KTaI5.5O0.25", "CsHfI6", "SrF2", "K2O",
                 "MgCl2", "LiAlCl2.5O0.75", "NaGaBr3O0.5", "Li3InCl6", "LiPO3", "ZnCl2"]


def test_glass_proxies_share_one_domain_yardstick() -> None:
    """One definition: the Tg distance is measured in the glass-forming model's units against
    its threshold, to a subset of its labels, so it is never below the glass distance and the
    Tg domain lies inside the glass-formation domain."""
    from screening.models.fitted import glass_forming_model, tg_model

    assert tg_model().domain.threshold == glass_forming_model().domain.threshold
    assert tg_model().domain.scaler is glass_forming_model().domain.scaler
    glass = TgScorer().score_formulas(DOMAIN_PROBES, ROOM_K)
    assert (glass["tg_domain_distance"] >= glass["glass_domain_distance"] - 1e-9).all()
    tg_in = glass["tg_in_domain"].astype(bool)
    assert glass.loc[tg_in, "glass_in_domain"].astype(bool).all()
    lizr = glass.loc[0]  # was in domain for Tg at 3.04 and out for glass formation at 2.26
    assert lizr["glass_in_domain"] is False and lizr["tg_in_domain"] is False


def test_composition_distance_is_hellinger_to_the_nearest_training_row() -> None:
    training = CompositionDistance.fit(np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]),
                                       ["Li", "Cl", "Br"])
    rows = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.5, 0.0, 0.5]])
    distance = training.distance(rows, ["Li", "Cl", "I"])  # I never seen
    np.testing.assert_allclose(distance, [0.0, math.sqrt(2.0), 1.0], atol=1e-12)


def test_score_columns_are_exactly_the_declared_outputs(scores: pd.DataFrame) -> None:
    assert list(scores.columns) == list(ConductivityScorer.outputs)
    assert list(TgScorer().score_formulas(["SiO2"], ROOM_K).columns) == list(TgScorer.outputs)


def test_cross_group_distance_skips_rows_of_the_same_group() -> None:
    points = np.array([[0.0], [0.1], [1.0], [3.0]])
    distances = cross_group_distances(points, np.array(["a", "a", "b", "c"]))
    np.testing.assert_allclose(distances, [1.0, 0.9, 0.9, 2.0])


def test_vocabulary_reports_unseen_elements_before_pairs() -> None:
    vocabulary = ElementVocabulary.of(parse_amounts(["LiCl", "NaBr"]))
    assert vocabulary.unseen(parse_amounts(["LiBr", "KCl", "LiCl"])) == ["Br-Li", "K", ""]


def test_fast_gp_mean_and_tree_structures_match_scikit_learn() -> None:
    """The screening shortcuts (one float32 matrix product for the GP mean, the tree structures
    without re-validation) give scikit-learn's numbers on real candidates in both states."""
    model = conductivity_model().levels
    parts = model.parts_
    formulas = ["LiAlCl4", "LiAlCl2.5O0.75", "NaGaBr3O0.5", "Li3InCl6", "Li6PS5Cl", "LiI"]
    inputs = level_inputs([*formulas, *formulas], np.r_[np.zeros(6), np.ones(6)])
    gp_x = np.nan_to_num(parts["gp_scaler"].transform(
        inputs.design[list(model.gp_columns)].to_numpy()))
    reference = parts["gp"].predict(gp_x)
    assert np.abs(reference).max() > 0.05  # the residual is not flat, so parity means something
    np.testing.assert_allclose(gp_mean(parts["gp"], gp_x, chunk_rows=5), reference, atol=1e-4)
    values = inputs.design.to_numpy(dtype=np.float32)
    tree = parts["trees"].estimators_[0]
    np.testing.assert_array_equal(tree.tree_.predict(values)[:, 0], tree.predict(values))
