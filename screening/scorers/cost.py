"""Raw-material cost and supply concentration from element data, for whole partitions at once.

- ``cost_usd_kg``: the mass-weighted element price, sum_i w_i p_i with w_i the mass fraction and p_i
  the price in USD/kg. With pymatgen's element table (``pymatgen/analysis/costdb_elements.csv``,
  Wolfram Alpha and Wikipedia, 2013) this equals ``CostAnalyzer(CostDBElements()).get_cost_per_kg``,
  whose cheapest decomposition over elements-only entries is the elements themselves. The table
  prices pure elements, so an element sold mostly as a salt (Na: 250 USD/kg as the metal) is priced
  far above its raw-material cost in a chloride or oxide; ``price_table`` takes a CSV in the same
  format (``symbol,cost_per_kg,...``) to price the elements differently.
- ``hhi``: the Herfindahl-Hirschman index of *production* (current supply concentration by
  country, 0-10,000), mass-weighted over the elements as pymatgen's ``HHIModel.get_hhi_production``,
  from ``pymatgen/analysis/hhi_data.csv`` (Gaultois et al., Chem. Mater. 25, 2911 (2013)).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from importlib.resources import files
from typing import ClassVar

import numpy as np
import pandas as pd
from pymatgen.core import Element

from featurizers.fractions import fraction_matrix
from screening.scorers.base import Scorer

PYMATGEN_ANALYSIS = files("pymatgen.analysis")


def _read_prices_usd_kg(path: str) -> dict[str, float]:
    with open(path, encoding="utf-8") as handle:
        return {row[0]: float(row[1]) for row in csv.reader(handle) if row and row[0][:1] != "#"}


def _read_production_hhi() -> dict[str, float]:
    text = (PYMATGEN_ANALYSIS / "hhi_data.csv").read_text(encoding="utf-8")
    rows = csv.reader(line for line in text.splitlines() if line and not line.startswith("#"))
    return {symbol: float(production) for symbol, production, _reserve in rows}


class CostScorer(Scorer):
    """Raw-material cost (USD/kg, from element prices) and production HHI, mass-weighted."""

    name: ClassVar[str] = "cost"
    outputs: ClassVar[dict[str, str]] = {
        "cost_usd_kg": "raw-material cost from element prices, mass-weighted (USD/kg)",
        "hhi": "Herfindahl-Hirschman index of element production, mass-weighted (0-10000)",
    }
    citations: ClassVar[tuple[str, ...]] = (
        "Gaultois et al., Chem. Mater. 25, 2911 (2013), doi:10.1021/cm400893e",
        "pymatgen.analysis.cost element price table (Wolfram Alpha, Wikipedia; 2013)",
    )

    def __init__(self, price_table: str | None = None):
        self.price_table = price_table

    def _element_table(self, elements: list[str]) -> np.ndarray:
        """``k x 3`` rows of (atomic mass g/mol, price USD/kg, HHI) per element, NaN if unknown."""
        if not hasattr(self, "prices_usd_kg_"):
            path = self.price_table or str(PYMATGEN_ANALYSIS / "costdb_elements.csv")
            try:
                self.prices_usd_kg_ = _read_prices_usd_kg(path)
            except (OSError, ValueError, IndexError) as exc:
                raise ValueError(f"CostScorer: cannot read price table {path}: {exc}") from exc
            self.hhi_production_ = _read_production_hhi()
        return np.array(
            [
                [
                    float(Element(el).atomic_mass),
                    self.prices_usd_kg_.get(el, np.nan),
                    self.hhi_production_.get(el, np.nan),
                ]
                for el in elements
            ]
        ).reshape(len(elements), 3)

    def score(self, formulas: Sequence[str], temperature_K: float) -> pd.DataFrame:
        """Cost and HHI of every formula; NaN when a formula does not parse or an element has no
        price (or no HHI). ``temperature_K`` does not enter."""
        matrix = fraction_matrix(formulas)
        table = self._element_table(matrix.elements)
        mass = matrix.fractions * table[:, 0]
        total = mass.sum(axis=1, keepdims=True)
        weight = np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)
        present = weight > 0
        values = {}
        for column, prop in (("cost_usd_kg", table[:, 1]), ("hhi", table[:, 2])):
            known = np.isfinite(prop)
            value = weight @ np.where(known, prop, 0.0)
            missing = (present & ~known).any(axis=1) | ~matrix.valid
            values[column] = np.where(missing, np.nan, value)
        return pd.DataFrame(values)
