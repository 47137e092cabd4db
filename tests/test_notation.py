"""The composition parser accepts every notation glass papers use, else names the bad token."""

from __future__ import annotations

import time
from importlib.resources import files

import pandas as pd
import pytest
from pymatgen.core import Composition

from candidates.notation import NotationError, normalise, parse_composition, to_formula

CONDUCTIVITY = files("screening") / "data" / "conductivity"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LiAlCl2.5O0.75", {"Li": 1, "Al": 1, "Cl": 2.5, "O": 0.75}),
        ("LiAlCl4-75%O", {"Li": 1, "Al": 1, "Cl": 2.5, "O": 0.75}),
        ("NaAlCl4-60%O", {"Na": 1, "Al": 1, "Cl": 2.8, "O": 0.6}),
        ("LiAlCl4-50%S", {"Li": 1, "Al": 1, "Cl": 3, "S": 0.5}),
        ("LiAlCl4 – 75 % O", {"Li": 1, "Al": 1, "Cl": 2.5, "O": 0.75}),
        ("Li3InCl6-50%O", {"Li": 3, "In": 1, "Cl": 5, "O": 0.5}),
        (
            "LiAl0.5Ga0.5Cl2Br2-75%O",
            {"Li": 1, "Al": 0.5, "Ga": 0.5, "Cl": 1.25, "Br": 1.25, "O": 0.75},
        ),
        ("0.5Na2O2-TaCl5", {"Na": 1, "O": 1, "Ta": 1, "Cl": 5}),
        ("(LiCl)0.5 (P2O5)0.5", {"Li": 0.5, "Cl": 0.5, "P": 1, "O": 2.5}),
        ("75Li2S-25P2S5", {"Li": 1.5, "P": 0.5, "S": 2}),
        ("(Li2O)50 (Al2O3)2 (P2O5)48", {"Li": 1, "Al": 0.04, "P": 0.96, "O": 2.96}),
        ("LiV(PO4)F", {"Li": 1, "V": 1, "P": 1, "O": 4, "F": 1}),
        ("Li7La3Zr2O12", {"Li": 7, "La": 3, "Zr": 2, "O": 12}),
        ("Li2S·P2S5", {"Li": 2, "P": 2, "S": 6}),
        ("0.75Li2S+0.25P2S5", {"Li": 1.5, "P": 0.5, "S": 2}),
        ("Li2S-P2S5-LiI", {"Li": 3, "P": 2, "S": 6, "I": 1}),
        ("Li7.0Bi1.0O6.0*", {"Li": 7, "Bi": 1, "O": 6}),
        ("(Li2S)9(LaOI)", {"Li": 18, "S": 9, "La": 1, "O": 1, "I": 1}),
        ("(Li0.5La0.5TiO3)94(SiO2)6", {"Li": 0.47, "La": 0.47, "Ti": 0.94, "Si": 0.06, "O": 2.94}),
        ("((Li2S)0.6 (SiS2)0.4 )95 (Li4SiO4)5", {"Li": 1.34, "Si": 0.43, "S": 1.33, "O": 0.2}),
        ('"(Li2O)50((SeO2)0.5 (B2O3)0.5)50"', {"Li": 1, "Se": 0.25, "B": 0.5, "O": 1.75}),
    ],
)
def test_every_notation_parses_to_exact_amounts(text: str, expected: dict[str, float]) -> None:
    amounts = parse_composition(text).get_el_amt_dict()
    assert amounts == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("LiXxCl4", "unknown element 'Xx'"),
        ("LiAl-2Cl4", "negative amount '-2'"),
        ("-2LiCl", "negative amount '-2'"),
        ("LiAlCl4%%", "cannot parse token '%%'"),
        ("xLi2S-(1-x)P2S5", "cannot parse token 'xLi2S'"),
        ("(LiCl)0.5 (P2O5", "unbalanced parenthesis '('"),
        ("Li2S)0.5", "unbalanced parenthesis ')'"),
        ("", "empty composition"),
        ("  ·  ", "empty composition"),
        ("Li0Cl0", "zero amount 'Li0'"),
        ("Li0Cl", "zero amount 'Li0'"),
        ("0Li2S", "zero coefficient '0'"),
        ("(LiCl)0 (AlCl3)1", "zero amount ')0'"),
        ("Li2O-", "'-' with nothing after it"),
        ("Li2O+", "'+' with nothing after it"),
        ("+Li2O", "'+' with nothing before it"),
        ("LiAlCl4--75%O", "'-' with nothing after it"),
        ("Li2S - + P2S5", "'+' after '-'"),
        ("LiAlCl4O0.0000001", "amount 1e-07 of O"),
        ("LiAlCl4-199.99999%O", "amount 2e-07 of Cl"),
        ("Li2000000Cl", "amount 'Li2000000' in 'Li2000000Cl' is above 1e+06"),
        ("Li2S 5", "coefficient '5' without a formula"),
        ("LiAlCl4-250%O", "'250%O' replaces 5 halogen"),
        ("LiCl-75%O", "no centre cation"),
        ("LiAlCl4-75%F", "(use O, S, Se or Te)"),
        ("LiAlCl4-0.0000001%O", "adds 1e-09 O"),  # was dropped, leaving LiAlCl4
        # Unicode digits are refused, not read: \d alone took Li\u0662Cl for LiCl2
        ("Li\u0662Cl", "cannot parse token '\u0662'"),
        ("LiAl\u0663Cl", "cannot parse token '\u0663'"),
        ("Li2S-\uff17\uff15%O", "cannot parse token"),
    ],
)
def test_bad_notation_names_the_bad_token(text: str, token: str) -> None:
    with pytest.raises(NotationError) as info:
        parse_composition(text)
    message = str(info.value)
    assert token in message
    assert repr(text) in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("file_name", "column", "rows", "spot_checks"),
    [
        (
            "liverpool_li_ion.csv",
            "composition",
            766,
            {
                '"(Li2S)70 (P2S5)30"': "Li1.4P0.6S2.2",
                '"(LiCl)0.25 ((Li2O)0.6 (P2O5)0.4)0.75"': "Li1.15P0.6Cl0.25O1.95",
                "Li2Ti0.75Ta0.25O3.125": "Li2Ta0.25Ti0.75O3.125",
            },
        ),
        (
            "obelix_train.csv",
            "True Composition",
            478,
            {"Li7.0Bi1.0O6.0": "Li7BiO6", "Li20.0Ge0.83Sn1.17P4.0S24.0": "Li20Sn1.17Ge0.83P4S24"},
        ),
    ],
)
def test_every_row_of_the_conductivity_data_parses(
    file_name: str, column: str, rows: int, spot_checks: dict[str, str]
) -> None:
    texts = pd.read_csv(CONDUCTIVITY / file_name)[column]
    failed = []
    for text in texts:
        try:
            parse_composition(text)
        except NotationError:
            failed.append(text)
    assert (len(texts), len(failed)) == (rows, 0)
    assert {text: normalise(text) for text in spot_checks if text in set(texts)} == spot_checks


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("LiAlCl4-75%O", "LiAlCl2.5O0.75"),
        ("NaAlCl4-60%O", "NaAlCl2.8O0.6"),
        ("LiAlCl4-50%S", "LiAlS0.5Cl3"),
        ("75Li2S-25P2S5", "Li1.5P0.5S2"),
        ("Li2O2Li", "Li3O2"),
        ("(Li2S)(LaOI)", "Li2LaSIO"),
    ],
)
def test_normalise_writes_unreduced_plain_formula_in_electronegativity_order(
    text: str, formula: str
) -> None:
    assert normalise(text) == formula
    assert Composition(formula).formula == parse_composition(text).formula


@pytest.mark.parametrize(
    "formula", ["LiAlCl2.5O0.75", "Li7La3Zr2O12", "LiGaBr3.4O0.3", "NaB0.333333Cl1.66667"]
)
def test_to_formula_round_trips_through_the_parser(formula: str) -> None:
    comp = Composition(formula)
    assert to_formula(comp) == formula
    assert parse_composition(to_formula(comp)).almost_equals(comp)


def test_a_long_run_of_digits_fails_at_once() -> None:
    # The token pattern used to backtrack through every way of splitting the digits.
    start = time.perf_counter()
    with pytest.raises(NotationError, match="cannot parse token"):
        parse_composition("Li" + "1" * 60 + "e")
    assert time.perf_counter() - start < 0.5
