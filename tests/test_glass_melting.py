"""The liquidus descriptors of glass formation: simple-compound melting points, the ideal-solution
liquidus and the single-compound-former fraction, on the shipped CRC table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from screening.models.features import parse_amounts
from screening.models.glass_forming import zachariasen_former_frac
from screening.models.melting import (
    MELTING_COLUMNS,
    melting_descriptors,
    simple_compound_melting_points,
)

NA2O_K, SIO2_K, K2O_K, TEO2_K = 1407.15, 1995.15, 1013.15, 1006.15  # CRC 95th ed.


def test_table_holds_the_end_members_of_the_labelled_systems() -> None:
    known = simple_compound_melting_points()
    assert known[("Na", "O")][1] == NA2O_K
    assert known[("Si", "O")][4] == SIO2_K
    assert known[("Te", "O")][4] == TEO2_K
    assert known[("Zr", "F")][4] == 1183.15
    assert known[("Al", "Cl")][3] == 465.75


def test_sodium_disilicate_is_a_mixture_of_na2o_and_two_sio2() -> None:
    (row,) = melting_descriptors(parse_amounts(["Na2Si2O5"])).to_dict("records")
    x_na2o, x_sio2 = 1 / 3, 2 / 3
    assert np.isclose(row["melt_tm_mean_K"], x_na2o * NA2O_K + x_sio2 * SIO2_K)
    # Schroeder-van Laar with Richards' entropy of fusion, R per mole of atoms (3 in each oxide).
    liquidus = max(NA2O_K / (1 - np.log(x_na2o) / 3), SIO2_K / (1 - np.log(x_sio2) / 3))
    assert np.isclose(row["melt_liquidus_ideal_K"], liquidus)
    assert np.isclose(row["melt_liquidus_over_tm_mean"], liquidus / row["melt_tm_mean_K"])
    assert (row["melt_tm_min_K"], row["melt_tm_max_K"]) == (NA2O_K, SIO2_K)


def test_a_pure_compound_has_no_liquidus_depression() -> None:
    (row,) = melting_descriptors(parse_amounts(["SiO2"])).to_dict("records")
    assert row["melt_tm_mean_K"] == row["melt_liquidus_ideal_K"] == SIO2_K
    assert row["melt_liquidus_over_tm_mean"] == 1.0


def test_tellurium_beside_oxygen_is_a_cation_and_mixed_anions_are_weighted_by_charge() -> None:
    table = melting_descriptors(parse_amounts(["K0.4Te0.8O1.8", "LiAlCl2.5O0.75"]))
    tellurite, laco = table.to_dict("records")
    assert (tellurite["melt_tm_min_K"], tellurite["melt_tm_max_K"]) == (TEO2_K, K2O_K)
    # Al takes Cl (2.5 charges, AlCl3 465.75 K) and O (1.5 charges, Al2O3 2327.15 K).
    al_K = (2.5 * 465.75 + 1.5 * 2327.15) / 4.0
    assert np.isclose(laco["melt_tm_min_K"], al_K)
    assert laco["melt_liquidus_over_tm_mean"] < 0.9  # a deep eutectic-like depression


def test_unknown_compounds_and_unparsed_formulas_are_nan_not_guessed() -> None:
    table = melting_descriptors(parse_amounts(["LiTcO4", "Se", "not a formula"]))
    assert list(table.columns) == list(MELTING_COLUMNS)
    assert table.isna().all(axis=None)


def test_zachariasen_former_fraction_counts_formers_of_the_anions_present() -> None:
    formulas = ["Na2Si2O5", "SiCl4", "ZnCl2", "K0.4Te0.8O1.8", "not a formula"]
    got = zachariasen_former_frac(parse_amounts(formulas))
    np.testing.assert_allclose(got, [2 / 9, 0.0, 1 / 3, 0.0, np.nan])


def test_every_row_of_the_shipped_table_is_sourced_and_positive() -> None:
    from importlib.resources import files

    path = files("screening").joinpath("data", "reference", "simple_compound_melting_points.csv")
    with path.open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle)
    assert table["source"].str.len().gt(0).all() and table["found_at"].str.len().gt(0).all()
    assert (table["tm_K"] > 0).all()
    assert not table.duplicated(["cation", "anion", "oxidation_state"]).any()
