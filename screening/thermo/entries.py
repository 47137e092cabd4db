"""Phase-diagram entries per chemical system, from one of two sources.

- ``experimental`` (offline default): the 2,135 experimental formation enthalpies that ship inside
  pymatgen (``pymatgen/analysis/compatibility/exp_compounds.json.gz``, compiled for the MP2020
  correction scheme, Wang et al., Sci. Rep. 11, 15496 (2021)). Each record's ``exp energy`` is
  the standard formation enthalpy in eV per formula unit *as written* (LiCl: -4.23 eV, i.e.
  -408 kJ/mol), so a :class:`PDEntry` with that energy and the written composition has the
  formation enthalpy per atom as its ``energy_per_atom``; elements enter at 0 eV.
- ``materials_project``: entries fetched with mp-api (``MPRester.get_entries_in_chemsys``, MP2020
  corrections applied by the server) and cached as monty JSON, one file per chemical system, so a
  rerun reads the file and makes no network call. A fetch happens only when ``MP_API_KEY`` is set.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

from monty.serialization import dumpfn, loadfn
from pymatgen.analysis.phase_diagram import PDEntry
from pymatgen.core import Composition
from pymatgen.entries import Entry

from screening.models.cache import cache_dir, cache_key, load_or_build
from screening.thermo import hull
from screening.thermo.hull import EntryTable

SOURCES = ("experimental", "materials_project")
# Resolved from pymatgen.analysis: importing the compatibility package itself parses YAML files.
EXPERIMENTAL_DATA = files("pymatgen.analysis") / "compatibility" / "exp_compounds.json.gz"


@lru_cache(maxsize=1)
def experimental_records() -> tuple[tuple[str, float], ...]:
    """``(formula, formation enthalpy in eV/atom)`` for every record of pymatgen's table."""
    with gzip.open(str(EXPERIMENTAL_DATA), "rt") as handle:
        records = json.load(handle)
    return tuple(
        (rec["formula"], rec["exp energy"] / Composition(rec["formula"]).num_atoms)
        for rec in records
    )


@lru_cache(maxsize=1)
def experimental_data_hash() -> str:
    """SHA-256 of the experimental table, the key of anything fitted on it."""
    return hashlib.sha256(EXPERIMENTAL_DATA.read_bytes()).hexdigest()


@lru_cache(maxsize=1)
def _experimental_entries() -> tuple[tuple[frozenset[str], PDEntry], ...]:
    entries = []
    for formula, dhf_eV_atom in experimental_records():
        comp = Composition(formula)
        entry = PDEntry(comp, dhf_eV_atom * comp.num_atoms, name=comp.reduced_formula)
        entries.append((frozenset(el.symbol for el in comp.elements), entry))
    return tuple(entries)


def experimental_entries(elements: Iterable[str]) -> list[PDEntry]:
    """Experimental entries whose elements lie within ``elements``, plus each element at 0 eV."""
    chemsys = frozenset(elements)
    inside = [entry for els, entry in _experimental_entries() if els <= chemsys]
    return inside + [PDEntry(Composition(el), 0.0, name=el) for el in sorted(chemsys)]


@lru_cache(maxsize=1)
def experimental_table() -> EntryTable:
    """Every experimental entry plus each of their elements at 0 eV, as one :class:`EntryTable`
    (from the disk cache of :mod:`screening.models.cache`: sorting it through pymatgen takes
    half a second, loading it milliseconds)."""
    key = cache_key(experimental_data_hash(), version("pymatgen"),
                    hashlib.sha256(Path(hull.__file__).read_bytes()).hexdigest())
    return load_or_build("experimental_entry_table", key, _build_experimental_table)


def _build_experimental_table() -> EntryTable:
    entries = [entry for _, entry in _experimental_entries()]
    elements = sorted({el.symbol for entry in entries for el in entry.composition})
    return EntryTable.from_entries(
        entries + [PDEntry(Composition(el), 0.0, name=el) for el in elements])


def cached_chemsys_path(elements: Iterable[str]) -> Path:
    """Where :func:`materials_project_entries` caches the chemical system (directory created)."""
    directory = cache_dir() / "materials_project"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{'-'.join(sorted(set(elements)))}.json"


def materials_project_entries(elements: Iterable[str], api_key: str | None = None) -> list[Entry]:
    """Materials Project entries of the chemical system, read from the cache or fetched once.

    The cache file is ``<cache>/materials_project/<El1-El2-...>.json``. On a miss the entries are
    fetched with ``mp_api.client.MPRester(api_key)`` (``api_key`` defaults to ``$MP_API_KEY``);
    without a key a miss raises, naming the file it looked for.
    """
    path = cached_chemsys_path(elements)
    chemsys = path.stem
    if path.exists():
        return loadfn(path)
    key = api_key or os.environ.get("MP_API_KEY")
    if not key:
        raise RuntimeError(
            f"no cached Materials Project entries for {chemsys} at {path} and MP_API_KEY is not set"
        )
    entries = _fetch_materials_project(chemsys, key)
    dumpfn(entries, path)
    return entries


def _fetch_materials_project(chemsys: str, api_key: str) -> list[Entry]:
    try:
        from mp_api.client import MPRester
    except ImportError as exc:
        raise RuntimeError("the materials_project source needs mp-api: pip install mp-api") from exc
    try:
        with MPRester(api_key) as rester:
            return list(rester.get_entries_in_chemsys(chemsys.split("-")))
    except Exception as exc:
        raise RuntimeError(f"Materials Project query for {chemsys} failed: {exc}") from exc


def entry_table(elements: Iterable[str], source: str) -> EntryTable:
    """An :class:`EntryTable` whose rows within the system are :func:`entries_in_chemsys`: for
    ``experimental``, the one table of every system, unless an element has no compound in it."""
    if source == "experimental":
        table = experimental_table()
        if set(elements) <= set(table.elements):
            return table
    return EntryTable.from_entries(entries_in_chemsys(elements, source))


def entries_in_chemsys(elements: Iterable[str], source: str) -> list[Entry]:
    """Entries of the chemical system spanned by ``elements`` from ``source`` (:data:`SOURCES`)."""
    if source == "experimental":
        return experimental_entries(elements)
    if source == "materials_project":
        return materials_project_entries(elements)
    raise ValueError(f"unknown entry source {source!r}; expected one of {SOURCES}")
