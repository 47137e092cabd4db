"""Cost proxy: vectorised element prices and HHI against pymatgen's own analysers."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.cost import CostAnalyzer, CostDBElements
from pymatgen.analysis.hhi import HHIModel

from screening.scorers.cost import PYMATGEN_ANALYSIS, CostScorer

FORMULAS = ["LiAlCl2.5O0.75", "NaAlCl2.5O0.75", "KTaCl0.5Br0.5O2.5", "LiAl0.5Ga0.5Cl2S1"]


def test_cost_and_hhi_match_pymatgen_analysers() -> None:
    result = CostScorer().score(FORMULAS, 298.15)
    analyzer = CostAnalyzer(CostDBElements())
    expected_cost = [float(analyzer.get_cost_per_kg(f)) for f in FORMULAS]
    expected_hhi = [HHIModel().get_hhi_production(f) for f in FORMULAS]
    np.testing.assert_allclose(result["cost_usd_kg"], expected_cost, rtol=1e-9)
    np.testing.assert_allclose(result["hhi"], expected_hhi, rtol=1e-9)
    assert result.loc[0, "cost_usd_kg"] == pytest.approx(1.9486, abs=1e-3)


def test_a_user_price_table_overrides_the_default_prices(tmp_path) -> None:
    # pymatgen's 2013 table prices Na as the metal (250 USD/kg) against Li at 3.87 USD/kg, so by
    # default the Na glass costs more; a user table with other alkali prices (here Li 115.70,
    # Na 3.04 USD/kg, metal prices as quoted by Shanghai Metals Market, Dec 2016) reverses that.
    default = (PYMATGEN_ANALYSIS / "costdb_elements.csv").read_text(encoding="utf-8").splitlines()
    kept = [line for line in default if line.split(",")[0] not in {"Li", "Na"}]
    table = tmp_path / "prices.csv"
    table.write_text("\n".join([*kept, "Li,115.70,,SMM 2016", "Na,3.04,,SMM 2016"]) + "\n")
    li, na = CostScorer(price_table=str(table)).score(FORMULAS[:2], 298.15)["cost_usd_kg"]
    assert na < li


def test_missing_price_or_bad_formula_gives_nan_without_touching_other_rows() -> None:
    result = CostScorer().score(["LiPmCl4", "not a formula", "LiCl"], 298.15)
    assert list(result.columns) == list(CostScorer.outputs)
    assert np.isnan(result.loc[0, "cost_usd_kg"])  # Pm has no price
    assert np.isfinite(result.loc[0, "hhi"])
    assert result.loc[1].isna().all()
    assert result.loc[2, "cost_usd_kg"] == pytest.approx(
        float(CostAnalyzer(CostDBElements()).get_cost_per_kg("LiCl")), rel=1e-9
    )


def test_unreadable_price_table_names_the_file(tmp_path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ValueError, match="nope.csv"):
        CostScorer(price_table=str(missing)).score(["LiCl"], 298.15)
