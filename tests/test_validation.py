"""The conductivity model in its cross-validation regimes, and the generated validation report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from screening.models.conductivity_model import MODEL_NAME, ConductivityConfig
from screening.models.data import load_conductivity_data, reduced_formula
from screening.models.fitted import conductivity_training_tg_K
from screening.validation import write_report
from screening.validation.conductivity_cv import CrossValidation, cross_validate

#: A reduced but real setting: all shipped data, the same folds, fewer trees and inner folds.
REDUCED = ConductivityConfig(n_estimators=40, inner_splits=2)


@pytest.fixture(scope="module")
def cv() -> CrossValidation:
    return cross_validate(load_conductivity_data(), conductivity_training_tg_K(), REDUCED)


@pytest.fixture(scope="module")
def metrics(cv: CrossValidation):
    return cv.metrics.set_index(["regime", "model"])


@pytest.mark.slow  # cross-validation: minutes
def test_random_folds_beat_the_magpie_forest(metrics) -> None:
    mae = metrics["mae_log10"]
    assert mae[("random", MODEL_NAME)] < mae[("random", "RF on magpie (all training rows)")]
    assert mae[("random", MODEL_NAME)] < mae[("random", "RF on magpie (room-temperature rows)")]


@pytest.mark.slow  # cross-validation: minutes
def test_grouped_folds_beat_the_training_mean(metrics) -> None:
    mae = metrics["mae_log10"]
    assert mae[("grouped", MODEL_NAME)] < mae[("grouped", "training mean")]


@pytest.mark.slow  # cross-validation: minutes
def test_domain_separates_good_from_bad_predictions_in_both_regimes(metrics) -> None:
    for regime in ("random", "grouped"):
        ours = metrics.loc[(regime, MODEL_NAME)]
        assert ours["n_in_domain"] > 0 and ours["n_out_of_domain"] > 0
        assert ours["mae_in_domain"] < ours["mae_out_of_domain"]


@pytest.mark.slow  # cross-validation: minutes
def test_uncertainty_is_calibrated_in_both_regimes(metrics) -> None:
    for regime in ("random", "grouped"):
        assert 0.55 < metrics.loc[(regime, MODEL_NAME), "coverage_1sigma"] < 0.85


@pytest.mark.slow  # cross-validation: minutes
def test_folds_never_split_a_compound_or_a_family(cv: CrossValidation) -> None:
    table = load_conductivity_data()
    predictions = cv.predictions[cv.predictions["model"] == MODEL_NAME]
    compounds = table["formula"].map(reduced_formula).to_numpy()
    random = predictions[predictions["regime"] == "random"]
    assert len(random) == len(table)  # every row held out once, so the check below sees them
    assert (random.groupby(compounds[random["row"]])["fold"].nunique() == 1).all()
    grouped = predictions[predictions["regime"] == "grouped"]
    assert len(grouped) == len(table)
    assert (grouped.groupby("family")["fold"].nunique() == 1).all()


def test_a_compound_is_one_key_whatever_its_spelling() -> None:
    # OBELiX writes cell contents, the Liverpool set formula units: one compound, one CV group.
    assert reduced_formula("Li1.5Ti1.5Al0.5P3O12") == reduced_formula("Li3Ti3Al(PO4)6")
    assert reduced_formula("LiAlCl2.5O0.75") == reduced_formula("Li4Al4Cl10O3")
    assert reduced_formula("LiAlCl2.5O0.75") != reduced_formula("LiAlCl2.4O0.8")


@pytest.mark.slow  # cross-validation: minutes
def test_every_model_is_scored_on_the_same_uncensored_rows(metrics) -> None:
    table = load_conductivity_data()
    assert len(metrics) == 3 * 6  # three regimes x (the model, two ablations, three baselines)
    for regime in ("random", "grouped"):
        assert (metrics.loc[regime, "n"] == int((~table["censored"]).sum())).all()
    assert metrics.loc["source", "n"].nunique() == 1


@pytest.mark.slow  # cross-validation: minutes
def test_held_out_chloroaluminates_rise_from_parent_to_glass(cv: CrossValidation) -> None:
    held_out = cv.chloroaluminates.set_index("formula")
    assert len(held_out) == 4
    for parent, glass in (("LiAlCl4", "LiAlCl2.5O0.75"), ("NaAlCl4", "NaAlCl2.5O0.75")):
        assert held_out.loc[glass, "predicted"] > held_out.loc[parent, "predicted"]


def test_censored_rows_are_kept_as_bounds() -> None:
    table = load_conductivity_data()
    censored = table[table["censored"]]
    assert len(censored) == 29
    values = np.round(censored["log10_sigma_S_cm"].to_numpy(), 9)
    assert sorted(set(values)) == [-10.0, -8.0]  # OBELiX writes <1E-10 (28 rows) and <1E-8 (1)


def test_glass_mixture_notations_are_parsed_not_dropped() -> None:
    table = load_conductivity_data()
    assert len(table) == 478 + 766 + 16
    formula_of = dict(zip(table["input"], table["formula"], strict=True))
    assert formula_of['"(LiCl)0.5 (P2O5)0.5"'] == "Li0.5PCl0.5O2.5"
    assert formula_of['"(Li2O)50 (Al2O3)2 (P2O5)48"'] == "LiAl0.04P0.96O2.96"


def test_glass_ceramics_are_crystals_made_through_a_glass() -> None:
    table = load_conductivity_data()
    lagp = table[table["input"] == "Li1.6Al0.6Ge1.4 (PO4)3"]
    assert len(lagp) == 1  # the .all() below would pass on no rows at all
    assert (lagp["state"] == "crystal").all() and lagp["via_glass"].all()


@pytest.mark.slow  # the whole report
def test_report_is_written_with_every_section_and_figure(tmp_path: Path) -> None:
    path = write_report(tmp_path, REDUCED)
    text = path.read_text()
    assert path == tmp_path / "validation.md"
    for heading in ("## Ionic conductivity", "## Glass formation", "## Glass transition",
                    "## Known VIGLAS facts"):
        assert heading in text
    assert "leave-one-family-out" in text and "MAE out of domain" in text
    assert "predicted rise (decades)" in text and "it beats RF on magpie" in text
    for figure in ("conductivity_cv_parity.png", "tg_held_out_parity.png"):
        assert (tmp_path / "figures" / figure).stat().st_size > 0
