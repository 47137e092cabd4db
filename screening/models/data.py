"""The shipped data of the composition models, loaded into tidy tables.

Conductivity: every shipped measurement, in one long table (:func:`load_conductivity_data`).

Sources (see ``screening/data/SOURCES.md``): the OBELiX train split (room temperature), the
Liverpool Ionics dataset (temperature in degrees C) and the ionic-conductivity rows of the
electrolyte facts table (VIGLAS glasses, their parents, Li chlorides, Na glasses). Compositions in
glass-mixture notation are parsed with :func:`candidates.notation.normalise`.

OBELiX writes conductivities below a measurement floor as upper bounds (``<1E-10``, once
``<1E-8``). Those rows are kept as *censored* at their bound (``log10 = -10``, ``censored = True``):
the model learns "at most this low", and error metrics skip them because the true value is unknown.

Glasses: the sourced Tg table (:func:`load_tg_reference`), the glass-formation labels
(:func:`load_glass_forming_labels`) and the melting points (:func:`melting_points_K`); see
``screening/data/SOURCES.md`` for where each row comes from.
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
    "formula", "temperature_K", "log10_sigma_S_cm", "censored", "family", "state", "via_glass",
    "source", "input",
)
#: Family labels of the sources written differently for the same structural family.
_FAMILY_SYNONYMS = {
    "argyrodites": "argyrodite", "garnet-like": "garnet", "perovskites": "perovskite",
    "chlorides": "halides", "cholorides": "halides", "nitride": "nitrides",
    "antiperovskite": "anti-perovskite",
    "glass-ceramic": "glass", "thio-phosphate": "thio-lisicon", "pyrophosphate": "diphosphate",
}
#: Raw family labels of amorphous samples (the measured state is a glass) ...
_GLASS_LABELS = frozenset({"glass", "lipon"})
#: ... and of samples made through a glass (a glass-ceramic crystallised from a quenched melt).
_VIA_GLASS_LABELS = frozenset({"glass", "glass-ceramic"})


def _data_file(*parts: str) -> pd.DataFrame:
    path = files("screening").joinpath("data", *parts)
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


def _formula(text: str, where: str) -> str:
    try:
        return normalise(text)
    except NotationError as exc:
        raise ValueError(f"unparseable composition {text!r} in {where}") from exc


def _raw_family(label: object) -> str | None:
    return None if pd.isna(label) else str(label).strip().lower()


def _family(label: object) -> str | None:
    key = _raw_family(label)
    return None if key is None else _FAMILY_SYNONYMS.get(key, key)


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
        "state": np.where(raw["Family"].map(_raw_family).isin(_GLASS_LABELS), "glass", "crystal"),
        "via_glass": False,
        "source": "obelix",
        "input": raw["True Composition"],
    })


def _liverpool() -> pd.DataFrame:
    raw = _data_file("conductivity", "liverpool_li_ion.csv")
    label = raw["family"].map(_raw_family)
    return pd.DataFrame({
        "formula": [_formula(c, "liverpool_li_ion.csv") for c in raw["composition"]],
        "temperature_K": raw["temperature"].astype(float) + CELSIUS_TO_K,
        "log10_sigma_S_cm": raw["log_target"].astype(float),
        "censored": False,
        "family": raw["family"].map(_family),
        "state": np.where(label.isin(_GLASS_LABELS), "glass", "crystal"),
        "via_glass": label.isin(_VIA_GLASS_LABELS),
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
        "via_glass": rows["state"].to_numpy() == "glass",
        "source": "facts",
        "input": rows["composition"].to_numpy(),
    })


def _unify_families(table: pd.DataFrame) -> pd.Series:
    """One family per reduced composition, so a compound never sits on both sides of a CV split.

    Rows without a family label form a group of their own compound.
    """
    reduced = table["formula"].map(reduced_formula)
    first = table.groupby(reduced, sort=False)["family"].first()
    return reduced.map(first).fillna("compound:" + reduced)


def load_conductivity_data() -> pd.DataFrame:
    """All shipped conductivity measurements, one row each, with :data:`COLUMNS`."""
    table = pd.concat([_obelix(), _liverpool(), _facts()], ignore_index=True)
    table["family"] = _unify_families(table)
    return table.loc[:, list(COLUMNS)]


#: Tg families merged for leave-one-family-out: the four sulfide-network families share their
#: chemistry (alkali sulfide + a thio- former).
_TG_FAMILY_MERGE = {
    "thiophosphate": "thio-", "thiosilicate": "thio-", "thioborate": "thio-",
    "thiogermanate": "thio-",
}


def load_tg_reference() -> pd.DataFrame:
    """The sourced Tg glasses: ``name``, ``formula``, ``family``, ``tg_K``,
    ``approx_uncertainty_K``, ``tm_K`` (melting or liquidus temperature, NaN where unknown),
    ``source``."""
    raw = _data_file("reference", "glass_tg.csv")
    raw["formula"] = [_formula(c, "glass_tg.csv") for c in raw["composition"]]
    raw["family"] = raw["family"].replace(_TG_FAMILY_MERGE)
    return raw.loc[:, ["name", "formula", "family", "tg_K", "approx_uncertainty_K", "tm_K",
                       "source"]]


def load_glass_forming_labels() -> pd.DataFrame:
    """The sourced glass-formation labels: ``formula``, ``glass_forming`` (bool), ``family``,
    ``source``, ``input`` (the composition as written in the file)."""
    raw = _data_file("reference", "glass_forming.csv")
    return pd.DataFrame({
        "formula": [_formula(c, "glass_forming.csv") for c in raw["composition"]],
        "glass_forming": raw["glass_forming"].astype(bool),
        "family": raw["family"],
        "source": raw["source"],
        "input": raw["composition"],
    })


def reduced_formula(formula: str) -> str:
    """The key that identifies a compound across tables: the reduced formula of the composition
    scaled to whole numbers, so that ``LiAlCl2.5O0.75`` and ``Li4Al4Cl10O3`` (or OBELiX's
    ``Li1.5Ti1.5Al0.5P3O12`` and ``Li3Ti3Al(PO4)6``) are one compound. pymatgen's
    ``reduced_formula`` leaves fractional amounts as they are, which kept 112 compounds of the
    shipped conductivity data apart under two spellings."""
    return Composition(formula).get_integer_formula_and_factor()[0]


def melting_points_K() -> dict[str, float]:
    """Known melting (or liquidus) temperatures by reduced formula: the compound table first,
    then the Tg table's ``tm_K`` (the same composition as a glass)."""
    compounds = _data_file("reference", "compound_melting_points.csv").dropna(subset=["tm_K"])
    glasses = load_tg_reference().dropna(subset=["tm_K"])
    known = {reduced_formula(f): float(t) for f, t in zip(glasses["formula"], glasses["tm_K"],
                                                          strict=True)}
    known.update({reduced_formula(_formula(c, "compound_melting_points.csv")): float(t)
                  for c, t in zip(compounds["compound"], compounds["tm_K"], strict=True)})
    return known


def table_digest(table: pd.DataFrame) -> str:
    """SHA-256 of a table's CSV text: the data half of a model cache key."""
    return hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()
