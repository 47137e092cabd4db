"""Ranking: filters, desirability contributions that add up to the score, the Pareto front."""

import numpy as np
import pandas as pd
import pytest

from screening.filters import Filter, passes_filters
from screening.ranking import Confidence, Objective, desirability, pareto_mask, rank

SIGMA = Objective("sigma_log10_S_cm", "max", 3.0, -6.0, -2.0)
TG = Objective("tg_K", "min", 1.0, 200.0, 400.0)


def table() -> pd.DataFrame:
    return pd.DataFrame({
        "formula": ["A", "B", "C", "D", "E"],
        "sigma_log10_S_cm": [-3.0, -5.0, -2.5, np.nan, -3.0],
        "tg_K": [250.0, 220.0, 350.0, 240.0, 250.0],
    })


def test_desirability_is_linear_clipped_and_reversed_for_min():
    assert desirability(np.array([-7.0, -4.0, -1.0, np.nan]), SIGMA).tolist() == [0, 0.5, 1, 0]
    assert desirability(np.array([200.0, 300.0, 450.0]), TG).tolist() == [1.0, 0.5, 0.0]


def test_filters_drop_rows_and_missing_values_fail():
    mask = passes_filters(table(), [Filter("tg_K", "<", 300.0), Filter("sigma_log10_S_cm", ">=",
                                                                        -5.0)])
    assert mask.tolist() == [True, True, False, False, True]


def test_contributions_add_up_to_the_score_and_order_is_reproducible():
    ranked = rank(table(), [SIGMA, TG], [], ["sigma_log10_S_cm", "tg_K"])
    contrib = ranked["contrib_sigma_log10_S_cm"] + ranked["contrib_tg_K"]
    assert np.allclose(contrib, ranked["score"])
    # A: 3/4 * 0.75 + 1/4 * 0.75 = 0.75; C: 3/4 * 0.875 + 1/4 * 0.25 = 0.71875
    assert ranked.loc[ranked["formula"] == "A", "score"].item() == pytest.approx(0.75)
    assert ranked.loc[ranked["formula"] == "C", "score"].item() == pytest.approx(0.71875)
    assert ranked["formula"].tolist() == ["A", "E", "C", "B", "D"]  # A and E tie: by formula
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]


def test_pareto_front_keeps_ties_and_drops_dominated_rows():
    ranked = rank(table(), [SIGMA, TG], [], ["sigma_log10_S_cm", "tg_K"]).set_index("formula")
    # A/E (-3, 250) tie, C has the best sigma, B the best Tg; D (NaN sigma) is dominated by B
    assert ranked["pareto"].to_dict() == {"A": True, "E": True, "C": True, "B": True, "D": False}


def test_pareto_mask_on_a_known_front():
    points = np.array([[1, 5], [2, 4], [3, 3], [2, 2], [1, 1], [3, 3], [0, 6]], dtype=float)
    assert pareto_mask(points).tolist() == [True, True, True, False, False, True, True]


def test_one_objective_front_is_every_row_at_the_optimum_and_matches_the_general_search():
    values = np.array([[2.0], [5.0], [np.nan], [5.0], [-1.0]])
    assert pareto_mask(values).tolist() == [False, True, False, True, False]
    # the general search over two columns, one constant, gives the same front
    assert pareto_mask(np.hstack([values, np.zeros_like(values)])).tolist() == [
        False, True, False, True, False]
    assert pareto_mask(np.full((3, 1), np.nan)).tolist() == [True, True, True]


SURE = Objective("sigma_log10_S_cm", "max", 1.0, -6.0, -2.0, "sigma_log10_unc")


def uncertain_table() -> pd.DataFrame:
    return pd.DataFrame({
        "formula": ["lucky", "solid"],
        "sigma_log10_S_cm": [-2.5, -3.0],
        "sigma_log10_unc": [2.0, 0.25],
        "sigma_in_domain": [False, True],
    })


def test_confidence_bound_prefers_the_sure_prediction():
    optimistic = rank(uncertain_table(), [SURE], [], ["sigma_log10_S_cm"])
    assert optimistic["formula"].tolist() == ["lucky", "solid"]
    conservative = rank(uncertain_table(), [SURE], [], ["sigma_log10_S_cm"], Confidence(k=1.0))
    assert conservative["formula"].tolist() == ["solid", "lucky"]
    bounds = conservative.set_index("formula")["bound_sigma_log10_S_cm"]
    assert bounds.to_dict() == {"solid": -3.25, "lucky": -4.5}
    assert conservative.set_index("formula")["pareto"].to_dict() == {"solid": True,
                                                                     "lucky": False}


def test_out_of_domain_rows_are_penalized_or_excluded():
    flags = ("sigma_in_domain",)
    penalized = rank(uncertain_table(), [SURE], [], [],
                     Confidence(out_of_domain="penalize", factor=0.5, domain_columns=flags))
    scores = penalized.set_index("formula")["score"]
    assert scores["lucky"] == pytest.approx(0.5 * 0.875)
    assert scores["solid"] == pytest.approx(0.75)
    excluded = rank(uncertain_table(), [SURE], [], [],
                    Confidence(out_of_domain="exclude", domain_columns=flags))
    assert excluded["formula"].tolist() == ["solid"]
