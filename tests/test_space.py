"""Enumeration of the oxyhalide grid: counts, charge neutrality, SMACT filtering, dedupe."""

import pandas as pd
import pytest

from candidates.formula import parse_plain
from candidates.space import (
    CompositionSpace,
    SpaceError,
    dedupe,
    enumerate_space,
    explicit_rows,
    smact_allows,
)

VALENCE = {"Li": 1, "Na": 1, "K": 1, "Al": 3, "Ga": 3, "Ta": 5, "Cl": -1, "Br": -1, "I": -1,
           "O": -2, "S": -2}


def small_space(**changes) -> CompositionSpace:
    base = {"alkali": ("Li", "Na"), "centres": (("Al", 3), ("Ga", 3)), "halogens": ("Cl", "Br"),
            "chalcogen_per_m": (0.0, 0.5, 1.0)}
    return CompositionSpace(**{**base, **changes})


def test_grid_count_is_the_full_product_when_all_classes_are_valid():
    frame = enumerate_space(small_space())
    assert len(frame) == 2 * 2 * 2 * 3 == small_space().grid_size()


def test_every_grid_composition_is_charge_neutral():
    space = small_space(centres=(("Al", 3), ("Ta", 5)), chalcogens=("O", "S"),
                        halogen_mixes=(("Cl", "I"),), halogen_mix_fractions=(0.25,),
                        centre_mixes=(("Al", "Ta"),), a_per_m=(0.5, 2.0))
    frame = enumerate_space(space)
    assert len(frame) > 100
    for formula in frame["formula"]:
        charge = sum(VALENCE[el] * n for el, n in parse_plain(formula))
        assert charge == pytest.approx(0.0, abs=1e-5), formula


def test_vigas_composition_is_written_as_in_the_paper():
    frame = enumerate_space(small_space(alkali=("Li",), halogens=("Cl",),
                                        chalcogen_per_m=(0.75,), centres=(("Al", 3),)))
    row = frame.iloc[0]
    assert row["formula"] == "LiAlCl2.5O0.75"
    assert (row["alkali"], row["metal"], row["halogen"], row["o_per_m"], row["x_per_m"]) == (
        "Li", "Al", "Cl", 0.75, 2.5)


def test_formulas_follow_electronegativity_and_drop_empty_slots():
    frame = enumerate_space(small_space(
        alkali=("Li",), halogens=("Cl",), chalcogens=("O", "S"), chalcogen_per_m=(0.0, 0.5),
        halogen_mixes=(("Cl", "Br"),), halogen_mix_fractions=(0.25,),
        centre_mixes=(("Al", "Ga"),)))
    # x = 0 writes no chalcogen; S (2.58) sorts before Br (2.96), O after Cl
    assert frame["formula"].tolist() == [
        "LiAlCl4", "LiAlCl3O0.5", "LiAlCl4", "LiAlS0.5Cl3",
        "LiAlBrCl3", "LiAlBr0.75Cl2.25O0.5", "LiAlBrCl3", "LiAlS0.5Br0.75Cl2.25",
        "LiGaCl4", "LiGaCl3O0.5", "LiGaCl4", "LiGaS0.5Cl3",
        "LiGaBrCl3", "LiGaBr0.75Cl2.25O0.5", "LiGaBrCl3", "LiGaS0.5Br0.75Cl2.25",
        "LiAl0.5Ga0.5Cl4", "LiAl0.5Ga0.5Cl3O0.5", "LiAl0.5Ga0.5Cl4", "LiAl0.5Ga0.5S0.5Cl3",
        "LiAl0.5Ga0.5BrCl3", "LiAl0.5Ga0.5Br0.75Cl2.25O0.5", "LiAl0.5Ga0.5BrCl3",
        "LiAl0.5Ga0.5S0.5Br0.75Cl2.25",
    ]
    row = frame.iloc[-1]
    assert (row["metal"], row["halogen"], row["s_per_m"], row["o_per_m"]) == (
        "Al0.5Ga0.5", "Br0.25Cl0.75", 0.5, 0.0)


def test_rows_without_halide_are_not_oxyhalides_and_are_skipped():
    frame = enumerate_space(small_space(chalcogen_per_m=(1.0, 2.0, 2.5)))
    # a + v - 2x = 1 + 3 - 2x > 0 only for x < 2
    assert set(frame["o_per_m"]) == {1.0}


def test_smact_rejects_an_oxidation_state_it_does_not_know():
    assert smact_allows((("Li", 1), ("Al", 3)), (("Cl", -1), ("O", -2)))
    assert not smact_allows((("Li", 1), ("Al", 5)), (("Cl", -1), ("O", -2)))
    frame = enumerate_space(small_space(centres=(("Al", 5), ("Ga", 3))))
    assert set(frame["metal"]) == {"Ga"}


def test_mix_written_in_either_order_is_one_option():
    a = enumerate_space(small_space(halogens=(), halogen_mixes=(("Cl", "Br"),),
                                    halogen_mix_fractions=(0.25,)))
    b = enumerate_space(small_space(halogens=(), halogen_mixes=(("Br", "Cl"),),
                                    halogen_mix_fractions=(0.75,)))
    assert a["formula"].tolist() == b["formula"].tolist()
    assert set(a["halogen"]) == {"Br0.25Cl0.75"}


def test_dedupe_by_reduced_formula_keeps_the_first():
    grid = enumerate_space(small_space(chalcogens=("O", "S")))
    # x = 0 is the same halide for O and for S
    listed = explicit_rows(["Li2Al2Cl5O1.5", "LiCl", "Li2Al2Cl8"], "explicit")
    frame = dedupe(pd.concat([grid, listed], ignore_index=True))
    assert len(grid) == 2 * 2 * 2 * 2 * 3
    assert len(frame) == len(grid) - 8 + 2  # 8 x=0 duplicates; Li2Al2Cl8 == LiAlCl4
    assert "LiCl" in set(frame["formula"]) and "Li2Al2Cl8" not in set(frame["formula"])


def test_explicit_rows_carry_per_centre_amounts():
    row = explicit_rows(["Na2Al2Cl5O1.5"], "explicit").iloc[0]
    assert (row["alkali"], row["metal"], row["halogen"]) == ("Na", "Al", "Cl")
    assert row["o_per_m"] == pytest.approx(0.75) and row["a_per_m"] == pytest.approx(1.0)


@pytest.mark.parametrize("change, message", [
    ({"alkali": ("Lx",)}, "unknown element 'Lx'"),
    ({"chalcogen_per_m": (-0.5,)}, "negative amount"),
    ({"halogen_mixes": (("Cl", "Br"),), "halogen_mix_fractions": (1.5,)}, "strictly between"),
    ({"centre_mixes": (("Al", "In"),)}, "valence of In"),
    ({"max_candidates": 3}, "above max_candidates"),
])
def test_bad_spaces_are_rejected_with_the_reason(change, message):
    with pytest.raises(SpaceError, match=message):
        enumerate_space(small_space(**change))
