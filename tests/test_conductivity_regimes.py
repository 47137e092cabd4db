"""The conductivity model in its three validation regimes (random, grouped by family, held out by
source) against the magpie forest and the training mean, and its uncertainty's calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screening.models.conductivity_model import MODEL_NAME, ConductivityConfig
from screening.models.data import load_conductivity_data, reduced_formula
from screening.models.fitted import conductivity_model, conductivity_training_tg_K
from screening.validation.conductivity import (
    COVERAGE_RANGE,
    calibration_table,
    regimes_table,
    verdicts,
)
from screening.validation.conductivity_cv import (
    REGIMES,
    CrossValidation,
    cross_validate,
    law_rows,
    source_folds,
)

#: The reduced setting of tests/test_validation.py (the same cached cross-validation).
REDUCED = ConductivityConfig(n_estimators=40, inner_splits=2)
FOREST = "RF on magpie (all training rows)"
MEAN = "training mean"
#: Held-out MAE (log10 S/cm) measured in the reduced setting, (regime, model) -> value:
#: ``cross_validate(load_conductivity_data(), conductivity_training_tg_K(), REDUCED)``.
MEASURED_MAE = {
    ("random", MODEL_NAME): 0.944, ("random", FOREST): 1.157, ("random", MEAN): 1.720,
    ("grouped", MODEL_NAME): 1.730, ("grouped", FOREST): 2.372, ("grouped", MEAN): 1.764,
    ("source", MODEL_NAME): 1.461, ("source", FOREST): 1.843, ("source", MEAN): 1.838,
}


@pytest.fixture(scope="module")
def cv() -> CrossValidation:
    return cross_validate(load_conductivity_data(), conductivity_training_tg_K(), REDUCED)


@pytest.fixture(scope="module")
def metrics(cv: CrossValidation) -> pd.DataFrame:
    return cv.metrics.set_index(["regime", "model"])


def test_source_folds_score_only_the_other_sources_unseen_compounds() -> None:
    table = load_conductivity_data()
    compounds = table["formula"].map(reduced_formula).to_numpy()
    source = table["source"].to_numpy()
    splits = source_folds(table)
    assert [(set(source[train]), set(source[test])) for train, test in splits] == [
        ({"liverpool"}, {"obelix"}), ({"obelix"}, {"liverpool"})]
    # Liverpool's 766 rows score 231 OBELiX rows; OBELiX's 478 rows score 463 Liverpool rows.
    assert [(len(train), len(test)) for train, test in splits] == [(766, 231), (478, 463)]
    for train, test in splits:
        assert not set(compounds[test]) & set(compounds[train])


def test_the_temperature_law_of_a_fold_never_reads_a_scored_row() -> None:
    table = load_conductivity_data()
    compounds = table["formula"].map(reduced_formula).to_numpy()
    for train, test in source_folds(table):
        rows = law_rows(table, train, test)
        assert not np.isin(rows, test).any()
        assert set(compounds[rows]) == set(compounds[train])
    # OBELiX is measured at 25 C only: its law comes from other sources' rows of its compounds.
    obelix_train, liverpool_test = source_folds(table)[1]
    extra = np.setdiff1d(law_rows(table, obelix_train, liverpool_test), obelix_train)
    assert table["temperature_K"].iloc[extra].nunique() > 3


@pytest.mark.slow  # cross-validation: minutes
def test_regimes_reproduce_their_measured_errors(metrics: pd.DataFrame) -> None:
    for key, mae in MEASURED_MAE.items():
        assert metrics.loc[key, "mae_log10"] == pytest.approx(mae, abs=0.08), key


@pytest.mark.slow  # cross-validation: minutes
def test_the_model_beats_the_forest_everywhere_and_the_mean_on_new_families(
        metrics: pd.DataFrame) -> None:
    mae = metrics["mae_log10"]
    for regime in REGIMES:
        assert mae[(regime, MODEL_NAME)] < mae[(regime, FOREST)], regime
        assert metrics.loc[(regime, MODEL_NAME), "spearman_rho"] > metrics.loc[
            (regime, FOREST), "spearman_rho"], regime
    assert mae[("grouped", MODEL_NAME)] < mae[("grouped", MEAN)]


@pytest.mark.slow  # cross-validation: minutes
def test_one_sigma_coverage_is_calibrated_in_every_regime(metrics: pd.DataFrame) -> None:
    low, high = COVERAGE_RANGE
    for regime in REGIMES:
        assert low <= metrics.loc[(regime, MODEL_NAME), "coverage_1sigma"] <= high, regime


@pytest.mark.slow  # cross-validation: minutes
def test_out_of_domain_five_decade_misses_stay_within_two_and_a_half_sigma(
        cv: CrossValidation) -> None:
    rows = cv.predictions[(cv.predictions["model"] == MODEL_NAME) & ~cv.predictions["censored"]
                          & ~cv.predictions["in_domain"].astype(bool)]
    error = (rows["predicted"] - rows["measured"]).abs()
    assert (error >= 5.0).sum() > 10  # the misses exist, so the bound below is tested
    assert (rows["unc"][error >= 5.0] >= 5.0 / 2.5).all()
    table = calibration_table(cv).set_index("regime")
    assert list(table.index) == list(REGIMES)
    assert (table["their least sigma (decades)"] >= 2.0).all()
    assert (table["misses >= 5 decades out of domain"] > 0).all()


@pytest.mark.slow  # cross-validation: minutes
def test_the_report_table_says_every_regime_beats_its_bars(cv: CrossValidation) -> None:
    table = regimes_table(cv.metrics)
    assert len(table) == 3 * len(REGIMES)
    lines = verdicts(cv.metrics)
    assert len(lines) == len(REGIMES)
    assert not any("NOT" in line for line in lines), lines


def test_the_shipped_sigma_grows_with_the_distance_to_the_data() -> None:
    levels = conductivity_model().levels
    distance = np.linspace(levels.gate_distance, 1.2, 10)
    assert np.all(np.diff(levels.far_unc(distance)) > 0)
    assert levels.far_unc(1.0) > 2.0 * levels.far_unc(levels.gate_distance)
    # Through the model: out of the domain, sigma follows the distance and never falls below
    # the floor that keeps a 5-decade miss within 2.5 sigma.
    formulas = ["KGaBr3O0.5", "CsTaI6", "BaSnF4", "Rb2ZnI4", "SrMoO4", "Li6PS5Cl"]
    levels_of = conductivity_model().levels_of(formulas, np.zeros(len(formulas)))
    far = levels_of.distance > levels.gate_distance
    assert far.sum() == 5
    assert np.all(levels_of.unc[far] * 2.5 >= 5.0)
    order = np.argsort(levels_of.distance[far])
    assert np.all(np.diff(levels_of.unc[far][order]) > 0)
    assert levels_of.unc[~far][0] < levels_of.unc[far].min()  # Li6PS5Cl, measured
