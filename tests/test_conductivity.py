"""The conductivity proxy: VIGLAS physics, determinism, uncertainty, the scorer contract."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from screening.scorers.conductivity import ConductivityScorer

ROOM_K = 298.15
NUMERIC = ["sigma_log10_S_cm", "sigma_log10_unc", "sigma_domain_distance"]


@pytest.fixture(scope="module")
def scorer() -> ConductivityScorer:
    return ConductivityScorer()


def test_oxygen_raises_lialcl4_conductivity_by_two_orders(scorer: ConductivityScorer) -> None:
    scores = scorer.score(["LiAlCl4", "LiAlCl2.5O0.75"], ROOM_K)["sigma_log10_S_cm"]
    assert scores[1] >= scores[0] + 2.0


def test_laco75_prediction_is_near_its_measured_value(scorer: ConductivityScorer) -> None:
    sigma = scorer.score(["LiAlCl2.5O0.75"], 303.15).loc[0, "sigma_log10_S_cm"]
    assert sigma == pytest.approx(np.log10(1.52e-3), abs=0.5)


def test_scoring_is_deterministic_and_order_preserving(scorer: ConductivityScorer) -> None:
    formulas = ["LiAlCl2.5O0.75", "Li3InCl6", "NaAlCl3O0.5", "Li7La3Zr2O12"]
    first = scorer.score(formulas, ROOM_K)
    pd.testing.assert_frame_equal(first, ConductivityScorer().score(formulas, ROOM_K))
    reversed_ = ConductivityScorer().score(formulas[::-1], ROOM_K)[::-1].reset_index(drop=True)
    # row order changes float summation order in the fraction matrix, nothing more
    np.testing.assert_allclose(first[NUMERIC], reversed_[NUMERIC], atol=1e-5)
    assert first["sigma_unseen"].tolist() == reversed_["sigma_unseen"].tolist()


def test_uncertainty_is_positive(scorer: ConductivityScorer) -> None:
    scores = scorer.score(["LiAlCl4", "LiAlCl2.5O0.75", "KGaBr3O0.5", "Li6PS5Cl"], ROOM_K)
    assert (scores["sigma_log10_unc"] > 0).all()


def test_conductivity_rises_with_temperature(scorer: ConductivityScorer) -> None:
    cold = scorer.score(["Li3InCl6", "KGaBr3O0.5"], 250.0)["sigma_log10_S_cm"]
    hot = scorer.score(["Li3InCl6", "KGaBr3O0.5"], 400.0)["sigma_log10_S_cm"]
    assert (hot > cold).all()


def test_bad_formula_gives_nan_row_not_an_error(scorer: ConductivityScorer) -> None:
    scores = scorer.score(["LiAlCl4", "not a formula", "LiXx2"], ROOM_K)
    assert list(scores.columns) == list(ConductivityScorer.outputs)
    assert np.isfinite(scores.loc[0, NUMERIC].astype(float)).all()
    assert scores.loc[1:].isna().all().all()


def test_scorer_pickles_without_fitted_state(scorer: ConductivityScorer) -> None:
    scorer.score(["LiAlCl4"], ROOM_K)
    restored = pickle.loads(pickle.dumps(ConductivityScorer()))
    assert not hasattr(restored, "model_")
    assert restored.score(["LiAlCl4"], ROOM_K).notna().all().all()
