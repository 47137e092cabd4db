"""Cost proxy: vectorised element prices (shipped, sourced table) and HHI against pymatgen."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.cost import CostAnalyzer, CostDBElements
from pymatgen.analysis.hhi import HHIModel
from pymatgen.core import Composition

from screening.scorers.cost import PYMATGEN_ANALYSIS, CostScorer, _read_prices_usd_kg

FORMULAS = ["LiAlCl2.5O0.75", "NaAlCl2.5O0.75", "KTaCl0.5Br0.5O2.5", "LiAl0.5Ga0.5Cl2S1"]
PRICES_USD_KG = {"Li": 83.5, "Na": 3.00, "Al": 1.79, "Cl": 0.082, "O": 0.154}  # the shipped table


def _mass_weighted(formula: str) -> float:
    comp = Composition(formula)
    mass = {el.symbol: comp.get_wt_fraction(el) for el in comp.elements}
    return sum(float(w) * PRICES_USD_KG[el] for el, w in mass.items())


def test_default_prices_are_the_shipped_sourced_table() -> None:
    result = CostScorer().score_formulas(FORMULAS[:2], 298.15)["cost_usd_kg"].to_numpy()
    np.testing.assert_allclose(result, [_mass_weighted(f) for f in FORMULAS[:2]], rtol=1e-9)


def test_sodium_glass_is_cheaper_than_lithium_glass_and_below_the_precursor_bill() -> None:
    li, na = CostScorer().score_formulas(FORMULAS[:2], 298.15)["cost_usd_kg"]
    assert na < li
    assert li < 6.85 and na < 1.95  # element sums are lower bounds on the precursors' cost


def test_hhi_matches_pymatgen() -> None:
    result = CostScorer().score_formulas(FORMULAS, 298.15)
    expected = [HHIModel().get_hhi_production(f) for f in FORMULAS]
    np.testing.assert_allclose(result["hhi"], expected, rtol=1e-9)


def test_pymatgen_price_table_reproduces_its_cost_analyser() -> None:
    table = str(PYMATGEN_ANALYSIS / "costdb_elements.csv")
    result = CostScorer(price_table=table).score_formulas(FORMULAS, 298.15)["cost_usd_kg"]
    analyzer = CostAnalyzer(CostDBElements())
    np.testing.assert_allclose(result, [float(analyzer.get_cost_per_kg(f)) for f in FORMULAS],
                               rtol=1e-9)


def test_price_reader_skips_comments_and_a_header(tmp_path) -> None:
    table = tmp_path / "prices.csv"
    table.write_text("# my prices\nelement,price_usd_kg\nLi,100\nCl,0.1\n")
    assert _read_prices_usd_kg(table) == {"Li": 100.0, "Cl": 0.1}
    scores = CostScorer(price_table=str(table)).score_formulas(["LiCl"], 298.15)
    assert scores.loc[0, "cost_usd_kg"] > 0


def test_missing_price_or_bad_formula_gives_nan_without_touching_other_rows() -> None:
    result = CostScorer().score_formulas(["LiPmCl4", "not a formula", "LiCl"], 298.15)
    assert list(result.columns) == list(CostScorer.outputs)
    assert np.isnan(result.loc[0, "cost_usd_kg"])  # Pm has no price
    assert np.isfinite(result.loc[0, "hhi"])
    assert result.loc[1].isna().all()
    assert result.loc[2, "cost_usd_kg"] == pytest.approx(
        (6.941 * 83.5 + 35.453 * 0.082) / (6.941 + 35.453), rel=1e-3)


def test_unreadable_price_table_names_the_file(tmp_path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ValueError, match="nope.csv"):
        CostScorer(price_table=str(missing)).score_formulas(["LiCl"], 298.15)
