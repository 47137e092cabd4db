"""Raw-material cost and supply concentration from element data, for whole partitions at once.

- ``cost_usd_kg``: the mass-weighted element price, sum_i w_i p_i with w_i the mass fraction and p_i
  the price in USD/kg. The default table is ``screening/data/reference/element_prices.csv``: 67
  elements, each priced as the element contained in its commodity form with the year, the market
  source and the basis of the quote (Wikipedia "Prices of chemical elements", 2020 revision, as
  snapshotted in mofdscribe; see ``screening/data/SOURCES.md``). Na is industrial sodium metal
  (3 USD/kg) and Li lithium metal (84 USD/kg), so Na glasses come out cheaper than their Li
  analogues, as the precursor costs of the VIGLAS glasses are (1.95 against 6.85 USD/kg). A sum
  over elements is a lower bound on a real precursor bill (LiCl, AlCl3, Sb2O3 ...); the validation
  report compares it with those two figures. ``price_table`` takes another CSV: ``symbol,price``
  rows (a header row and ``#`` comment lines are skipped), e.g. pymatgen's
  ``pymatgen/analysis/costdb_elements.csv`` (2013 prices of pure elements).
- ``hhi``: the Herfindahl-Hirschman index of *production* (current supply concentration by
  country, 0-10,000), mass-weighted over the elements as pymatgen's ``HHIModel.get_hhi_production``,
  from ``pymatgen/analysis/hhi_data.csv`` (Gaultois et al., Chem. Mater. 25, 2911 (2013)).
"""

from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from pymatgen.core import Element

from featurizers.fractions import fraction_matrix
from screening.scorers.base import Scorer

PYMATGEN_ANALYSIS = files("pymatgen.analysis")
DEFAULT_PRICES = files("screening").joinpath("data", "reference", "element_prices.csv")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_prices_usd_kg(path: str | Path) -> dict[str, float]:
    """``symbol -> price`` from the first two columns; comment lines and a header are skipped."""
    with open(path, encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    if rows and not _is_number(rows[0][1]):
        rows = rows[1:]
    return {row[0].strip(): float(row[1]) for row in rows}


def _read_production_hhi() -> dict[str, float]:
    text = (PYMATGEN_ANALYSIS / "hhi_data.csv").read_text(encoding="utf-8")
    rows = csv.reader(line for line in text.splitlines() if line and not line.startswith("#"))
    return {symbol: float(production) for symbol, production, _reserve in rows}


class CostScorer(Scorer):
    """Raw-material cost (USD/kg, from element prices) and production HHI, mass-weighted."""

    name: ClassVar[str] = "cost"
    outputs: ClassVar[dict[str, tuple[type, str]]] = {
        "cost_usd_kg": (float, "raw-material cost from element prices, mass-weighted (USD/kg)"),
        "hhi": (float, "Herfindahl-Hirschman index of element production, mass-weighted (0-10000)"),
    }
    citations: ClassVar[tuple[str, ...]] = (
        "Gaultois et al., Chem. Mater. 25, 2911 (2013), doi:10.1021/cm400893e",
        "Wikipedia, Prices of chemical elements (revision of 2020-09-08), via mofdscribe "
        "(src/mofdscribe/featurizers/chemistry/data/elementprices.csv)",
    )

    def __init__(self, price_table: str | None = None):
        self.price_table = price_table

    def _element_table(self, elements: list[str]) -> np.ndarray:
        """``k x 3`` rows of (atomic mass g/mol, price USD/kg, HHI) per element, NaN if unknown."""
        if not hasattr(self, "prices_usd_kg_"):
            path = self.price_table or DEFAULT_PRICES
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

    def score(self, frame: pd.DataFrame, temperature_K: float) -> pd.DataFrame:
        """Cost and HHI of every formula; NaN when a formula does not parse or an element has no
        price (or no HHI). ``temperature_K`` does not enter."""
        matrix = fraction_matrix(list(frame["formula"]))
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
