"""Grouped cross-validation of the conductivity model and the generated validation report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from screening.models.conductivity_model import (
    CV_MODELS,
    MODEL_NAME,
    ConductivityConfig,
    cross_validate,
    domain_split_metrics,
)
from screening.models.data import load_conductivity_data
from screening.validation import write_report

#: A reduced but real setting: all shipped data, the same grouped folds, fewer trees.
REDUCED = ConductivityConfig(n_estimators=30, inner_splits=3)


@pytest.fixture(scope="module")
def metrics():
    return cross_validate(REDUCED).metrics.set_index("model")


def test_model_mae_beats_training_mean_and_magpie_forest(metrics) -> None:
    mae = metrics["mae_log10"]
    assert mae[MODEL_NAME] < mae["training mean"]
    assert mae[MODEL_NAME] < mae["RF on magpie ElementProperty"]


def test_model_ranks_better_than_both_baselines(metrics) -> None:
    rho = metrics["spearman_rho"]
    assert rho[MODEL_NAME] > max(rho["training mean"], rho["RF on magpie ElementProperty"])


def test_all_models_are_scored_on_the_same_uncensored_rows(metrics) -> None:
    table = load_conductivity_data()
    assert set(metrics.index) == {model.name for model in CV_MODELS}
    assert (metrics["n"] == int((~table["censored"]).sum())).all()


def test_no_family_is_in_train_and_test_at_once() -> None:
    predictions = cross_validate(REDUCED).predictions
    folds_per_family = predictions.groupby("family")["fold"].nunique()
    assert (folds_per_family == 1).all()


def test_domain_split_covers_every_scored_row_once(metrics) -> None:
    split = domain_split_metrics(cross_validate(REDUCED).predictions).set_index("model")
    total = split["n_in_domain"] + split["n_out_of_domain"]
    assert (total == metrics.loc[split.index, "n"]).all()
    assert (split["n_in_domain"] > 0).all() and (split["n_out_of_domain"] > 0).all()


def test_held_out_error_is_larger_out_of_domain() -> None:
    split = domain_split_metrics(cross_validate(REDUCED).predictions).set_index("model")
    assert split.loc[MODEL_NAME, "mae_out_of_domain"] > split.loc[MODEL_NAME, "mae_in_domain"]


def test_censored_rows_train_at_their_bound() -> None:
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


def test_report_is_written_with_tables_and_figures(tmp_path: Path) -> None:
    path = write_report(tmp_path, REDUCED)
    text = path.read_text()
    assert path == tmp_path / "validation.md"
    assert MODEL_NAME in text and "leave-one-out" in text and "LACO75" in text
    assert "MAE out of domain" in text and "tg_in_domain" in text
    assert (tmp_path / "figures" / "conductivity_grouped_cv_parity.png").stat().st_size > 0
    assert (tmp_path / "figures" / "tg_loo_parity.png").stat().st_size > 0
