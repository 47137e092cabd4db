"""The glass proxy: glass formation, Tg that transfers, viscoelasticity only for glasses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from candidates.notation import normalise
from screening.models.data import load_tg_reference
from screening.models.features import composition_descriptors, parse_amounts
from screening.models.fitted import melting_point_K, tg_model
from screening.models.glass_forming import oxygen_limit_factor
from screening.models.tg_model import held_out_log_tg
from screening.scorers.tg import TgScorer

ROOM_K = 298.15
KNOWN_CRYSTALS = ["LiAlCl4", "NaAlCl4", "LiCl", "LiI", "Li3InCl6", "Li6PS5Cl", "Li10GeP2S12",
                  "Li7La3Zr2O12"]


@pytest.fixture(scope="module")
def viglas() -> pd.DataFrame:
    return TgScorer().score_formulas(["LiAlCl2.5O0.75", "NaAlCl2.5O0.75"], ROOM_K)


@pytest.fixture(scope="module")
def crystals() -> pd.DataFrame:
    return TgScorer().score_formulas(KNOWN_CRYSTALS, ROOM_K)


def test_viglas_glasses_form_glasses_that_are_viscoelastic_at_25_C(viglas) -> None:
    assert viglas["glass_forming"].tolist() == [True, True]
    assert viglas["viscoelastic"].tolist() == [True, True]
    assert (viglas["tg_K"] < ROOM_K).all()


def test_sodium_glass_has_the_lower_tg(viglas) -> None:
    li, na = viglas["tg_K"]
    assert na < li  # measured 247.65 K against 256.35 K (Dai et al. 2023)
    assert li == pytest.approx(256.35, abs=30.0) and na == pytest.approx(247.65, abs=30.0)


def test_parents_and_simple_salts_do_not_form_glasses(crystals) -> None:
    parents = crystals.set_index(pd.Index(KNOWN_CRYSTALS)).loc[["LiAlCl4", "NaAlCl4", "LiCl"]]
    assert parents["glass_forming"].tolist() == [False, False, False]
    assert (parents["p_glass"] < 0.3).all()


def test_known_crystals_are_never_viscoelastic_and_have_no_tg(crystals) -> None:
    assert crystals["viscoelastic"].tolist() == [False] * len(KNOWN_CRYSTALS)
    assert crystals["tg_K"].isna().all() and crystals["tg_K_unc"].isna().all()


def test_glass_forms_only_inside_the_viglas_oxygen_window() -> None:
    x = np.round(np.arange(0.0, 1.01, 0.05), 2)
    formulas = [f"LiAlCl{4 - 2 * v:g}O{v:g}" if v else "LiAlCl4" for v in x]
    p_glass = TgScorer().score_formulas(formulas, ROOM_K)["p_glass"].to_numpy()
    assert (p_glass[x <= 0.55] < 0.5).all()
    assert (p_glass[(x >= 0.7) & (x <= 0.8)] >= 0.5).all()
    assert (p_glass[x >= 0.95] < 0.5).all()  # oxygen stops dissolving past O/Al = 0.86


def test_oxygen_limit_fades_out_beyond_the_solubility_limit() -> None:
    factor = oxygen_limit_factor(parse_amounts(
        ["LiAlCl2.5O0.75", "LiAlCl2O1", "NaAlCl2.2O0.9", "LiGaCl2O1", "LiAlBr2O1"]))
    assert factor[0] > 0.9 and factor[1] < 0.01 and factor[2] < 0.1
    np.testing.assert_allclose(factor[3:], 1.0)  # no known limit for other systems


def test_tg_transfers_to_glasses_the_old_line_got_wrong() -> None:
    formulas = [normalise(text) for text in ["GeO2", "P2O5", "As2S3", "GeS2", "75Li2S-25P2S5"]]
    tg = TgScorer().score_formulas(formulas, ROOM_K)["tg_K"].to_numpy()
    measured = np.array([800.0, 650.0, 458.0, 770.0, 480.0])  # approximate literature values
    assert np.all(np.abs(tg - measured) < 0.2 * measured)


def test_tg_stays_below_a_known_melting_point() -> None:
    model = tg_model()
    descriptors = composition_descriptors(parse_amounts(["BiCl3"]))
    capped = model.predict(descriptors, np.array([507.15])).tg_K[0]
    assert capped <= model.tg_over_tm_max * 507.15 < 507.15


def test_melting_points_match_by_reduced_formula_in_any_notation() -> None:
    tm_K = melting_point_K(["BiCl3", "Bi2Cl6", "Cl3Bi", "LiAlCl4", "Li4Al4Cl10O3", "LiAlCl3O0.5",
                            "???", ""])
    np.testing.assert_allclose(tm_K[:5], [507.15, 507.15, 507.15, 421.15, 401.15])
    assert np.isnan(tm_K[5:]).all()  # no compound of that formula; unparsable rows are NaN


def test_leave_one_family_out_beats_predicting_the_mean() -> None:
    reference = load_tg_reference()
    descriptors = composition_descriptors(parse_amounts(list(reference["formula"])))
    tg_K = reference["tg_K"].to_numpy()
    lofo, _ = held_out_log_tg(descriptors, tg_K, reference["family"].to_numpy())
    assert len(reference) >= 40 and reference["family"].nunique() >= 8
    assert np.mean(np.abs(np.exp(lofo) - tg_K)) < np.mean(np.abs(tg_K - tg_K.mean()))


def test_bad_formula_gives_nan_and_none() -> None:
    scores = TgScorer().score_formulas(["SiO2", "???"], ROOM_K)
    assert np.isnan(scores.loc[1, "tg_K"]) and np.isnan(scores.loc[1, "p_glass"])
    assert scores.loc[1, "viscoelastic"] is None and scores.loc[1, "glass_forming"] is None


def test_silica_is_a_glass_far_above_room_temperature() -> None:
    scores = TgScorer().score_formulas(["SiO2"], ROOM_K)
    assert scores.loc[0, "glass_forming"] is True
    assert scores.loc[0, "tg_K"] > 1000.0 and scores.loc[0, "viscoelastic"] is False
