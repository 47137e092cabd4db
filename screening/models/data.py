"""Training data of the conductivity model: every shipped measurement, in one long table.

Sources (see ``screening/data/SOURCES.md``): the OBELiX train split (room temperature), the
Liverpool Ionics dataset (temperature in degrees C) and the ionic-conductivity rows of the
electrolyte facts table (VIGLAS glasses, their parents, Li chlorides, Na glasses). Compositions in
glass-mixture notation are parsed with :func:`candidates.notation.normalise`.

OBELiX writes conductivities below a measurement floor as upper bounds (``<1E-10``, once
``<1E-8``). Those rows are kept as *censored* at their bound (``log10 = -10``, ``censored = True``):
the model learns "at most this low", and error metrics skip them because the true value is unknown.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from candidates.notation import NotationError, normalise

ROOM_TEMPERATURE_K = 298.15
CELSIUS_TO_K = 273.15
#: Columns of :func:`load_conductivity_data`, in order.
COLUMNS = (
    "formula", "temperature_K", "log10_sigma_S_cm", "censored", "family", "state", "source",
    "input",
)
#: Family labels of the sources written differently for the same structural family.
_FAMILY_SYNONYMS = {
    "argyrodites": "argyrodite", "garnet-like": "garnet", "perovskites": "perovskite",
    "chlorides": "halides", "cholorides": "halides", "nitride": "nitrides",
    "antiperovskite": "anti-perovskite",
    "glass-ceramic": "glass", "thio-phosphate": "thio-lisicon", "pyrophosphate": "diphosphate",
}
_GLASS_FAMILIES = frozenset({"glass"})


def _data_file(*parts: str) -> pd.DataFrame:
    path = files("screening").joinpath("data", *parts)
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


def _formula(text: str, where: str) -> str:
    try:
        return normalise(text)
    except NotationError as exc:
        raise ValueError(f"unparseable composition {text!r} in {where}") from exc


def _family(label: object) -> str | None:
    if pd.isna(label):
        return None
    key = str(label).strip().lower()
    return _FAMILY_SYNONYMS.get(key, key)


def _obelix() -> pd.DataFrame:
    raw = _data_file("conductivity", "obelix_train.csv")
    sigma = raw["Ionic conductivity (S cm-1)"].astype(str).str.strip()
    censored = sigma.str.startswith("<")
    return pd.DataFrame({
        "formula": [_formula(c, "obelix_train.csv") for c in raw["True Composition"]],
        "temperature_K": ROOM_TEMPERATURE_K,
        "log10_sigma_S_cm": np.log10(sigma.str.lstrip("<").astype(float)),
        "censored": censored,
        "family": raw["Family"].map(_family),
        "state": "crystal",
        "source": "obelix",
        "input": raw["True Composition"],
    })


def _liverpool() -> pd.DataFrame:
    raw = _data_file("conductivity", "liverpool_li_ion.csv")
    family = raw["family"].map(_family)
    return pd.DataFrame({
        "formula": [_formula(c, "liverpool_li_ion.csv") for c in raw["composition"]],
        "temperature_K": raw["temperature"].astype(float) + CELSIUS_TO_K,
        "log10_sigma_S_cm": raw["log_target"].astype(float),
        "censored": False,
        "family": family,
        "state": np.where(family.isin(_GLASS_FAMILIES), "glass", "crystal"),
        "source": "liverpool",
        "input": raw["composition"],
    })


def _facts_family(formula: str, state: str) -> str:
    """Facts rows carry no family; the chemistry names it (chloroaluminates form their own)."""
    if state == "glass" and "Cl" not in formula:
        return "glass"
    if "Al" in formula and "Cl" in formula:
        return "chloroaluminate"
    return "halides"


def load_facts() -> pd.DataFrame:
    """The electrolyte facts table as shipped (one measured property per row)."""
    return _data_file("reference", "electrolyte_facts.csv")


def _facts() -> pd.DataFrame:
    raw = load_facts()
    rows = raw[raw["property"] == "ionic_conductivity"]
    formulas = [_formula(c, "electrolyte_facts.csv") for c in rows["composition"]]
    return pd.DataFrame({
        "formula": formulas,
        "temperature_K": rows["temperature_C"].astype(float).to_numpy() + CELSIUS_TO_K,
        "log10_sigma_S_cm": np.log10(rows["value"].astype(float).to_numpy()),
        "censored": False,
        "family": [_facts_family(f, s) for f, s in zip(formulas, rows["state"], strict=True)],
        "state": rows["state"].to_numpy(),
        "source": "facts",
        "input": rows["composition"].to_numpy(),
    })


def _unify_families(table: pd.DataFrame) -> pd.Series:
    """One family per reduced composition, so a compound never sits on both sides of a CV split.

    Rows without a family label form a group of their own compound.
    """
    reduced = table["formula"].map(lambda f: Composition(f).reduced_formula)
    first = table.groupby(reduced, sort=False)["family"].first()
    return reduced.map(first).fillna("compound:" + reduced)


def load_conductivity_data() -> pd.DataFrame:
    """All shipped conductivity measurements, one row each, with :data:`COLUMNS`."""
    table = pd.concat([_obelix(), _liverpool(), _facts()], ignore_index=True)
    table["family"] = _unify_families(table)
    return table.loc[:, list(COLUMNS)]


def load_tg_reference() -> pd.DataFrame:
    """The Tg reference glasses: ``name``, ``formula``, ``tg_K``, ``approx_uncertainty_K``."""
    raw = _data_file("reference", "glass_tg_reference.csv")
    raw["formula"] = [_formula(c, "glass_tg_reference.csv") for c in raw["composition"]]
    return raw.loc[:, ["name", "formula", "tg_K", "approx_uncertainty_K"]]


def table_digest(table: pd.DataFrame) -> str:
    """SHA-256 of a table's CSV text: the data half of a model cache key."""
    return hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()
