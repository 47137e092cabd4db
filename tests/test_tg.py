"""The Tg proxy: VIGLAS viscoelasticity, oxide glasses far above, LOO calibration."""

from __future__ import annotations

import numpy as np

from screening.models.conductivity_model import tg_model
from screening.scorers.tg import TgScorer

ROOM_K = 298.15


def test_laco75_is_viscoelastic_at_room_temperature() -> None:
    scores = TgScorer().score(["LiAlCl2.5O0.75", "NaAlCl2.5O0.75"], ROOM_K)
    assert scores["viscoelastic"].tolist() == [True, True]
    assert (scores["tg_K"] < ROOM_K).all()


def test_silica_tg_is_above_1000_K_and_not_viscoelastic() -> None:
    scores = TgScorer().score(["SiO2"], ROOM_K)
    assert scores.loc[0, "tg_K"] > 1000.0
    assert scores.loc[0, "viscoelastic"] is False or not scores.loc[0, "viscoelastic"]


def test_tg_orders_halide_below_borate_below_silicate() -> None:
    tg = TgScorer().score(["ZnCl2", "Li2B4O7", "SiO2"], ROOM_K)["tg_K"].to_numpy()
    assert tg[0] < tg[1] < tg[2]


def test_uncertainty_is_the_positive_loo_rmse() -> None:
    model = tg_model()
    scores = TgScorer().score(["LiAlCl2.5O0.75", "SiO2"], ROOM_K)
    assert model.unc_K > 0
    np.testing.assert_allclose(scores["tg_K_unc"], model.unc_K)


def test_leave_one_out_error_stays_below_150_K() -> None:
    from screening.models.data import load_tg_reference

    reference = load_tg_reference()["tg_K"].to_numpy()
    loo_error = np.abs(np.array(tg_model().loo_predicted_K) - reference)
    assert np.mean(loo_error) < 150.0


def test_bad_formula_gives_nan_and_none() -> None:
    scores = TgScorer().score(["SiO2", "???"], ROOM_K)
    assert np.isnan(scores.loc[1, "tg_K"])
    assert scores.loc[1, "viscoelastic"] is None


def test_reference_glasses_sit_in_their_own_domain() -> None:
    from screening.models.data import load_tg_reference

    scores = TgScorer().score(load_tg_reference()["formula"].tolist(), ROOM_K)
    np.testing.assert_allclose(scores["tg_domain_distance"], 0.0, atol=1e-9)
    assert scores["tg_in_domain"].tolist() == [True] * len(scores)
