"""The conductivity proxy: phase-aware, physically shaped in temperature, smooth along families."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from candidates.space import enumerate_space
from screening.scorers.conductivity import ConductivityScorer
from screening.scorers.tg import TgScorer
from screening.spec import load_spec

ROOM_K = 298.15
K_30C = 303.15
NUMERIC = ["sigma_log10_S_cm", "sigma_log10_unc", "sigma_ea_eV", "sigma_domain_distance"]
DEMO = Path(__file__).resolve().parents[1] / "runs" / "viglas.toml"


@pytest.fixture(scope="module")
def scorer() -> ConductivityScorer:
    return ConductivityScorer()


@pytest.fixture(scope="module")
def demo_grid(scorer: ConductivityScorer) -> pd.DataFrame:
    grid = enumerate_space(load_spec(DEMO).space)
    grid = grid[grid["source"] == "grid"].reset_index(drop=True)
    return grid.join(scorer.score_formulas(list(grid["formula"]), ROOM_K))


def test_oxygen_glasses_sit_two_decades_above_their_parents_at_30_C(scorer) -> None:
    sigma = scorer.score_formulas(["LiAlCl4", "LiAlCl2.5O0.75", "NaAlCl4", "NaAlCl2.5O0.75"],
                         K_30C)["sigma_log10_S_cm"].to_numpy()
    assert sigma[1] >= sigma[0] + 2.0 and sigma[3] >= sigma[2] + 2.0


def test_laco75_prediction_is_near_its_measured_value(scorer) -> None:
    sigma = scorer.score_formulas(["LiAlCl2.5O0.75"], K_30C).loc[0, "sigma_log10_S_cm"]
    assert sigma == pytest.approx(np.log10(1.52e-3), abs=0.5)


def test_no_jump_above_one_decade_between_neighbouring_grid_points(demo_grid) -> None:
    family = ["alkali", "metal", "halogen", "a_per_m"]
    ordered = demo_grid.sort_values([*family, "o_per_m"])
    steps = ordered.groupby(family)["sigma_log10_S_cm"].diff().abs()
    assert ordered.groupby(family).size().min() == 21  # O from 0 to 1 in steps of 0.05
    assert steps.max() <= 1.0


def test_centres_and_halogens_give_different_predictions(demo_grid) -> None:
    at = demo_grid[(demo_grid["alkali"] == "Li") & np.isclose(demo_grid["o_per_m"], 0.5)]
    by_centre = at[at["halogen"] == "Cl"].groupby("metal")["sigma_log10_S_cm"].mean()
    by_halogen = at[at["metal"] == "Al"].groupby("halogen")["sigma_log10_S_cm"].mean()
    assert len(by_centre) == 4 and by_centre.max() - by_centre.min() > 0.2
    assert len(by_halogen) == 3 and by_halogen.max() - by_halogen.min() > 0.1


def test_a_bromide_keeps_what_its_measured_chloride_teaches(scorer) -> None:
    # Li3YBr6, Li3InBr6 and Li3HoBr6 conduct as well as their chlorides (about 1e-3 S/cm) and are
    # not in the data; swapping the halogen must not read as a new chemistry (it did: 3 decades).
    halides = ["Li3YCl6", "Li3YBr6", "Li3InCl6", "Li3InBr6", "Li3HoCl6", "Li3HoBr6"]
    sigma = scorer.score_formulas(halides, ROOM_K)["sigma_log10_S_cm"].to_numpy()
    assert np.all(np.abs(sigma[1::2] - sigma[0::2]) < 2.5)


def test_sodium_and_potassium_differ_and_sodium_sits_below_lithium(scorer) -> None:
    sigma = scorer.score_formulas(["LiAlCl2.5O0.75", "NaAlCl2.5O0.75", "KAlCl2.5O0.75"],
                         K_30C)["sigma_log10_S_cm"].to_numpy()
    assert sigma[1] < sigma[0]
    assert abs(sigma[2] - sigma[1]) > 0.05


def test_laco_bends_upwards_at_its_glass_transition(scorer) -> None:
    tg_K = TgScorer().score_formulas(["LiAlCl2.5O0.75"], ROOM_K).loc[0, "tg_K"]
    below = scorer.score_formulas(["LiAlCl2.5O0.75"], tg_K - 10.0).loc[0, "sigma_ea_eV"]
    above = scorer.score_formulas(["LiAlCl2.5O0.75"], tg_K + 5.0).loc[0, "sigma_ea_eV"]
    assert above > 2.0 * below  # the S-shape of the measured sigma(T) around Tg


def test_laco_gains_two_decades_between_minus_30_and_30_C(scorer) -> None:
    cold, warm = (scorer.score_formulas(["LiAlCl2.5O0.75"], t).loc[0, "sigma_log10_S_cm"]
                  for t in (243.15, 303.15))
    assert warm - cold > 2.0


def test_activation_energy_is_reported_and_physical(scorer) -> None:
    formulas = ["Li3InCl6", "Li7La3Zr2O12", "LiAlCl2.5O0.75"]
    ea = scorer.score_formulas(formulas, ROOM_K)["sigma_ea_eV"]
    assert ((ea > 0.05) & (ea < 1.5)).all()


def test_conductivity_rises_with_temperature(scorer) -> None:
    formulas = ["Li3InCl6", "KGaBr3O0.5", "LiAlCl2.5O0.75", "NaAlCl3O0.5"]
    sigma = [scorer.score_formulas(formulas, t)["sigma_log10_S_cm"].to_numpy()
             for t in (230.0, 260.0, 300.0, 400.0, 600.0)]
    assert np.all(np.diff(np.stack(sigma), axis=0) > 0)


def test_scoring_is_deterministic_and_order_preserving(scorer) -> None:
    formulas = ["LiAlCl2.5O0.75", "Li3InCl6", "NaAlCl3O0.5", "Li7La3Zr2O12"]
    first = scorer.score_formulas(formulas, ROOM_K)
    pd.testing.assert_frame_equal(first, ConductivityScorer().score_formulas(formulas, ROOM_K))
    reversed_ = ConductivityScorer().score_formulas(formulas[::-1], ROOM_K)[::-1]
    reversed_ = reversed_.reset_index(drop=True)
    np.testing.assert_allclose(first[NUMERIC], reversed_[NUMERIC], atol=1e-5)
    assert first["sigma_unseen"].tolist() == reversed_["sigma_unseen"].tolist()


def test_uncertainty_is_positive_and_wider_off_the_data(scorer) -> None:
    scores = scorer.score_formulas(["Li6PS5Cl", "KGaBr3O0.5"], ROOM_K)
    assert (scores["sigma_log10_unc"] > 0).all()
    assert scores["sigma_in_domain"].tolist() == [True, False]
    assert scores.loc[1, "sigma_log10_unc"] > scores.loc[0, "sigma_log10_unc"]


def test_bad_formula_gives_nan_row_not_an_error(scorer) -> None:
    scores = scorer.score_formulas(["LiAlCl4", "not a formula", "LiXx2"], ROOM_K)
    assert list(scores.columns) == list(ConductivityScorer.outputs)
    assert np.isfinite(scores.loc[0, NUMERIC].astype(float)).all()
    assert scores.loc[1:].isna().all().all()
