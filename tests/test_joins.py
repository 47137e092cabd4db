"""Join enumeration: simplex counts, bounds, formula units, charge-balance reporting."""

import math
import warnings

import pytest

from candidates.formula import parse_plain
from candidates.joins import Join, JoinError, enumerate_join, simplex_points


def test_simplex_has_the_binomial_number_of_points_and_sums_to_one():
    points = simplex_points(3, 20)
    assert len(points) == 231  # C(20 + 2, 2)
    assert points.sum(axis=1) == pytest.approx(1.0)


def test_licl_alcl3_al2o3_join_keeps_fractions_and_formula_units():
    frame = enumerate_join(Join(("LiCl", "AlCl3", "Al2O3"), 0.25))
    assert len(frame) == 15
    row = frame[(frame["frac_LiCl"] == 0.5) & (frame["frac_AlCl3"] == 0.25)].iloc[0]
    # 0.5 LiCl + 0.25 AlCl3 + 0.25 Al2O3 = Li0.5 Al0.75 Cl1.25 O0.75
    assert dict(parse_plain(row["formula"])) == pytest.approx(
        {"Li": 0.5, "Al": 0.75, "Cl": 1.25, "O": 0.75})
    assert row["source"] == "join" and bool(row["charge_balanced"])
    assert (row["alkali"], row["metal"]) == ("Li", "Al")


def test_bounds_limit_an_end_member():
    frame = enumerate_join(Join(("LiCl", "AlCl3", "Al2O3"), 0.1, {"Al2O3": (0.0, 0.2)}))
    assert frame["frac_Al2O3"].max() == pytest.approx(0.2)
    assert len(frame) == 11 + 10 + 9


def test_unbalanced_end_members_are_reported_not_dropped():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = enumerate_join(Join(("LiCl", "AlCl2"), 0.5))
    assert len(frame) == 3
    assert frame["charge_balanced"].tolist() == [False, False, True]
    assert "AlCl2" in str(caught[0].message)


@pytest.mark.parametrize("kwargs, message", [
    ({"end_members": ("LiCl",)}, "at least two"),
    ({"end_members": ("LiCl", "AlCl3"), "step": 0.3}, "must divide 1"),
    ({"end_members": ("LiCl", "AlCl3"), "bounds": {"NaCl": (0, 1)}}, "not an end member"),
])
def test_bad_joins_are_rejected(kwargs, message):
    with pytest.raises(JoinError, match=message):
        Join(**kwargs)


def test_simplex_is_lexicographic_in_the_leading_fractions():
    points = simplex_points(4, 6)
    leading = [tuple(row) for row in points[:, :-1]]
    assert leading == sorted(leading)
    assert len(set(map(tuple, points))) == len(points) == math.comb(9, 3)


def test_a_join_of_many_members_enumerates_its_binomial_count_not_a_product():
    # 58 members at step 0.5: 1,711 points, where filtering a product walks 3**57 tuples
    points = simplex_points(58, 2)
    assert points.shape == (math.comb(59, 2), 58)
    assert set(points.sum(axis=1)) == {1.0}
    assert (points.max(axis=1) >= 0.5).all()
