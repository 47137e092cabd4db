"""Run specs: TOML files in runs/ declaring a screen, read strictly into a frozen :class:`RunSpec`.

Every key is checked; a misspelt key, an unknown element or objective, a value of the wrong type,
a non-finite or unphysical number, a duplicate, a grid larger than ``max_candidates`` or an
unreadable CSV raises :class:`SpecError` with the file and key (and a suggestion), before anything
is written. Grid sizes are computed from the grid arithmetic, so a tiny step is refused before any
axis is built, and the explicit and CSV rows count against ``max_candidates`` too.

A spec or CSV is read only from a regular file (never a device or a pipe) and only up to a size
(16 MB for a spec, ``space.csv_max_MB`` for a CSV), with a byte order mark allowed. CSV errors
name the file and line but never repeat the line's text: a mistyped path may name a file of
secrets.

Each section has its reader here; typed access to a table is :mod:`screening.typed_toml`, the
filters are read by :mod:`screening.filters`, and objectives and the confidence policy are the
types of :mod:`screening.ranking`. ``RunSpec.resolved`` is the canonical dict that ``spec.toml``
records and the content hash covers.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import json
import math
import os
import re
import stat
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from candidates.errors import format_count
from candidates.joins import Join, JoinError, fraction_column
from candidates.notation import NotationError, normalise
from candidates.space import CANDIDATE_KINDS, CompositionSpace, SpaceError, grid_points
from screening.errors import SpecError, did_you_mean
from screening.filters import Filter, FilterError, kind_error, parse_filter
from screening.ranking import OUT_OF_DOMAIN, Confidence, Objective
from screening.scorers import ScorerError, scorer_class
from screening.typed_toml import TableReader, fits_annotation, type_name

__all__ = ["RunSpec", "SpecError", "check_filter_kinds", "kelvin", "load_spec"]

#: Centres (and their valences) of the default space; a spec can list more with a valence each.
DEFAULT_VALENCES = {"Al": 3, "Ga": 3, "In": 3, "B": 3, "Sc": 3, "Y": 3, "Zr": 4, "Hf": 4,
                    "Nb": 5, "Ta": 5}
DEFAULT_FEATURIZERS = ("magpie", "oxyhalide_network")
DEFAULT_SCORERS = ("conductivity", "tg", "stability", "cost")

#: Objective defaults: goal, weight and the range mapped onto desirability 0..1.
DEFAULT_OBJECTIVES = {
    "sigma_log10_S_cm": {"goal": "max", "weight": 3.0, "low": -6.0, "high": -2.0},
    "p_glass": {"goal": "max", "weight": 1.0, "low": 0.5, "high": 1.0},
    "tg_K": {"goal": "min", "weight": 1.0, "low": 200.0, "high": 400.0},
    "ox_limit_V": {"goal": "max", "weight": 1.0, "low": 2.5, "high": 4.5},
    # Not e_above_hull: glasses are metastable by nature (see the stability scorer).
    "hull_excess_eV_atom": {"goal": "min", "weight": 1.0, "low": 0.0, "high": 0.2},
    "cost_usd_kg": {"goal": "min", "weight": 0.5, "low": 1.0, "high": 100.0},
}

_TOP_KEYS = {"name", "description", "temperature_C", "partition_size", "featurizers", "scorers",
             "scorer_options", "space", "joins", "rank"}
_JOIN_KEYS = {"end_members", "step", "bounds"}
_SPACE_KEYS = {"alkali", "centres", "halogens", "halogen_mixes", "halogen_mix_fractions",
               "chalcogens", "o_per_m", "a_per_m", "centre_mixes", "centre_mix_fractions",
               "explicit", "csv", "csv_column", "csv_max_MB", "max_candidates"}
#: Keys of [space] that declare no grid: a space of only these lists its compositions.
_LIST_KEYS = {"explicit", "csv", "csv_column", "csv_max_MB", "max_candidates"}
DEFAULT_MAX_CANDIDATES = 5_000_000
#: Largest CSV read by default (``space.csv_max_MB`` raises it): a million compositions with a
#: few columns is about 50 MB; past this a mistyped path (a log, a disk image) fills the memory.
DEFAULT_CSV_MAX_MB = 256
_RANK_KEYS = {"filters", "objectives", "pareto", "confidence_k", "out_of_domain",
              "out_of_domain_factor"}
_OBJECTIVE_KEYS = {"goal", "weight", "low", "high", "uncertainty"}
#: The uncertainty column that goes with a built-in objective (used when confidence_k > 0).
DEFAULT_UNCERTAINTY = {"sigma_log10_S_cm": "sigma_log10_unc", "tg_K": "tg_K_unc"}
_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*$")
ABSOLUTE_ZERO_C = -273.15
#: Largest spec file read: specs are a few kB; many compositions belong in ``space.csv``.
MAX_SPEC_BYTES = 16 * 10**6
#: Highest operating temperature taken: every glass of this screen (and most oxide glasses)
#: has melted long before; the temperature laws are not meant for a melt.
MAX_TEMPERATURE_C = 1000.0
#: Highest oxidation state any element takes (Os and Ru in their tetroxides).
MAX_VALENCE = 8
#: Grid axes and their defaults (``{start, stop, step}`` tables or lists of numbers).
_AXES = {"o_per_m": (0.0, 0.25, 0.5, 0.75, 1.0), "a_per_m": (1.0,),
         "halogen_mix_fractions": (0.5,), "centre_mix_fractions": (0.5,)}


@dataclass(frozen=True)
class RunSpec:
    """A validated run spec; ``resolved`` is the canonical dict written to ``spec.toml``."""

    name: str
    source: Path
    temperature_C: float
    partition_size: int
    space: CompositionSpace | None
    explicit: tuple[tuple[str, str], ...]
    joins: tuple[Join, ...]
    featurizers: tuple[str, ...]
    scorers: tuple[str, ...]
    scorer_options: dict[str, dict[str, Any]]
    filters: tuple[Filter, ...]
    objectives: tuple[Objective, ...]
    pareto: tuple[str, ...]
    resolved: dict[str, Any]
    confidence: Confidence = field(default_factory=lambda: Confidence())

    @property
    def temperature_K(self) -> float:
        return self.temperature_C - ABSOLUTE_ZERO_C

    @property
    def content_hash(self) -> str:
        """SHA-256 (16 hex digits) of everything that determines the run's results."""
        text = json.dumps(self.resolved, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def kelvin(temperature_C: float, where: str) -> float:
    """``temperature_C`` in kelvin; :class:`SpecError` naming ``where`` unless it is a finite
    temperature above absolute zero and at most :data:`MAX_TEMPERATURE_C`."""
    if not math.isfinite(temperature_C) or temperature_C <= ABSOLUTE_ZERO_C:
        raise SpecError(f"{where}: {temperature_C} C is not a temperature above absolute zero "
                        f"({ABSOLUTE_ZERO_C} C); give degrees Celsius, e.g. 25")
    if temperature_C > MAX_TEMPERATURE_C:
        raise SpecError(f"{where}: {temperature_C:g} C is above {MAX_TEMPERATURE_C:g} C, where "
                        f"every glass screened here has melted; give an operating temperature "
                        f"from {ABSOLUTE_ZERO_C} C (exclusive) to {MAX_TEMPERATURE_C:g} C")
    return temperature_C - ABSOLUTE_ZERO_C


def _read_file(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes + 1`` of them (so the
    caller can tell that it is longer than ``max_bytes``).

    A device, pipe or directory is refused before it is read: ``/dev/zero`` never ends, and
    opening a pipe would wait for a writer. Raises OSError with a ``strerror``.
    """
    if "\0" in str(path):
        raise OSError(0, f"the {what} path holds a NUL character")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a pipe opens at once
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, f"not a regular file (a device, pipe or directory); give a "
                             f"{what} file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    return data


def load_spec(path: str | Path) -> RunSpec:
    """Read and validate the run spec at ``path`` (see runs/viglas.toml for every key)."""
    path = Path(path)
    try:
        data = _read_file(path, MAX_SPEC_BYTES, "spec")
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError(f"{path}: larger than {MAX_SPEC_BYTES // 10**6} MB; a spec is a "
                            f"short TOML file (list many compositions in space.csv)")
        # utf-8-sig: a byte order mark, as some Windows editors write, is not part of the TOML
        raw = tomllib.loads(data.decode("utf-8-sig"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not a text file (byte {exc.start} is not UTF-8); a spec is "
                        f"TOML, see runs/viglas.toml") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc})") from exc
    except RecursionError as exc:  # tomllib recurses once per nested array or inline table
        raise SpecError(f"{path}: arrays or tables nested too deeply to read; a spec needs "
                        f"two or three levels (see runs/viglas.toml)") from exc
    top = TableReader(path, raw, "", _TOP_KEYS)
    if "space" not in raw and "joins" not in raw:
        raise SpecError(f"{path}: nothing to screen: give a [space] table or [[joins]] "
                        f"(see runs/viglas.toml)")
    name = top.get("name", str, path.stem)
    if not _NAME.fullmatch(name):
        raise top.error("name", f"{name!r} must be letters, digits, '.', '_' or '-'")
    scorers = top.symbols("scorers", DEFAULT_SCORERS, distinct=True)
    outputs = _scorer_outputs(top, scorers)
    options = _read_scorer_options(top, scorers)
    joins = _read_joins(top)
    space, explicit = _read_space(TableReader(path, top.get("space", dict, {}), "space.",
                                          _SPACE_KEYS))
    if space is None and not explicit and not joins:
        raise SpecError(f"{path}: space: nothing to screen: give grid keys (alkali, centres, "
                        f"halogens, o_per_m...), explicit compositions or a csv")
    rank = TableReader(path, top.get("rank", dict, {}), "rank.", _RANK_KEYS)
    objectives = _read_objectives(rank, outputs)
    confidence = _read_confidence(rank, outputs)
    kinds: dict[str, type | None] = {
        **dict.fromkeys(outputs), **CANDIDATE_KINDS,
        **{fraction_column(m): float for join in joins for m in join.end_members}}
    filters = tuple(_read_filter(rank, text, kinds) for text in rank.symbols("filters", ()))
    pareto = rank.symbols("pareto", tuple(o.column for o in objectives), distinct=True)
    for column in pareto:
        if column not in {o.column for o in objectives}:
            raise rank.error("pareto", f"{column!r} is not an objective")
    spec_fields = {
        "name": name,
        "temperature_C": top.number("temperature_C", 25.0),
        "partition_size": int(top.get("partition_size", int, 2000)),
        "featurizers": list(top.symbols("featurizers", DEFAULT_FEATURIZERS, distinct=True)),
        "scorers": list(scorers),
        "scorer_options": options,
    }
    kelvin(spec_fields["temperature_C"], f"{path}: temperature_C")
    if spec_fields["partition_size"] < 1:
        raise top.error("partition_size", "must be at least 1")
    resolved = {
        **spec_fields,
        "space": _space_dict(space),
        "explicit": [{"input": text, "formula": formula} for text, formula in explicit],
        "joins": [{"end_members": list(j.end_members), "step": j.step,
                   "bounds": {k: list(v) for k, v in j.bounds.items()}} for j in joins],
        "rank": {"filters": [str(f) for f in filters],
                 "objectives": {o.column: {"goal": o.goal, "weight": o.weight, "low": o.low,
                                           "high": o.high, "uncertainty": o.uncertainty or ""}
                                for o in objectives},
                 "pareto": list(pareto), "confidence_k": confidence.k,
                 "out_of_domain": confidence.out_of_domain,
                 "out_of_domain_factor": confidence.factor},
    }
    return RunSpec(
        name=name, source=path, temperature_C=spec_fields["temperature_C"],
        partition_size=spec_fields["partition_size"], space=space, explicit=explicit, joins=joins,
        featurizers=tuple(spec_fields["featurizers"]), scorers=scorers, scorer_options=options,
        filters=filters, objectives=objectives, pareto=pareto, resolved=resolved,
        confidence=confidence,
    )


def _scorer_outputs(top: TableReader, scorers: tuple[str, ...]) -> set[str]:
    producer: dict[str, str] = {}
    for ref in scorers:
        try:
            columns = scorer_class(ref).outputs
        except ScorerError as exc:
            raise top.error("scorers", str(exc)) from exc
        for column in columns:
            if column in producer:
                raise top.error("scorers", f"{producer[column]!r} and {ref!r} both produce "
                                           f"{column!r}; keep one of them")
            producer[column] = ref
    return set(producer)


def _read_scorer_options(top: TableReader, scorers: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``scorer_options``, each checked against its scorer's ``__init__``: known names, and
    values of the annotated types (what a scorer would otherwise only reject mid-run)."""
    options = top.get("scorer_options", dict, {})
    for ref, values in options.items():
        key = f"scorer_options.{ref}"
        if ref not in scorers:
            raise top.error(key, f"no scorer {ref!r} in scorers {scorers}")
        if not isinstance(values, dict):
            raise top.error(key, f"expected a table of keyword options, got {values!r}")
        init = scorer_class(ref).__init__
        parameters = {name: p for name, p in inspect.signature(init).parameters.items()
                      if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        takes_any = any(p.kind == p.VAR_KEYWORD
                        for p in inspect.signature(init).parameters.values())
        try:
            hints = typing.get_type_hints(init)
        except (NameError, TypeError):  # annotations that do not resolve: nothing to check
            hints = {}
        for name, value in values.items():
            if name not in parameters and not takes_any:
                raise top.error(f"{key}.{name}", f"scorer {ref!r} takes no option {name!r}"
                                f"{did_you_mean(name, set(parameters))}; it takes "
                                f"{sorted(parameters)}")
            if name in hints and not fits_annotation(value, hints[name]):
                raise top.error(f"{key}.{name}", f"expected {type_name(hints[name])}, got "
                                                 f"{value!r}")
    return options


def _read_space(space: TableReader) -> tuple[CompositionSpace | None, tuple[tuple[str, str], ...]]:
    """The grid (None when no grid key is given) and the listed compositions (explicit, then
    the CSV's), together at most ``max_candidates``."""
    max_candidates = int(space.get("max_candidates", int, DEFAULT_MAX_CANDIDATES))
    if max_candidates < 1:
        raise space.error("max_candidates",
                          f"must be at least 1, got {format_count(max_candidates)}")
    explicit = []
    for i, text in enumerate(space.symbols("explicit", ())):
        try:
            explicit.append((text, normalise(text)))
        except NotationError as exc:
            raise space.error(f"explicit[{i}]", str(exc)) from exc
    if len(explicit) > max_candidates:
        raise space.error("max_candidates", f"explicit lists {len(explicit):,} compositions, "
                                            f"above max_candidates = {max_candidates:,}; raise "
                                            f"it or list fewer")
    csv_path = space.get("csv", str, None)
    if csv_path is not None:
        explicit += _read_csv(space, space.path.parent / csv_path,
                              space.get("csv_column", str, "composition"),
                              max_candidates - len(explicit))
    if not set(space.table) - _LIST_KEYS:
        return None, tuple(explicit)
    centres = space.get("centres", (list, dict), list(DEFAULT_VALENCES))
    if isinstance(centres, list):
        centres = space.symbols("centres", tuple(DEFAULT_VALENCES), distinct=True)
        unknown = [c for c in centres if c not in DEFAULT_VALENCES]
        if unknown:
            raise space.error("centres", f"no default valence for {unknown[0]!r}; write centres "
                                         f"as a table, e.g. {{ {unknown[0]} = 3 }}")
        centres = {c: DEFAULT_VALENCES[c] for c in centres}
    wrong = [(c, v) for c, v in centres.items()
             if not (isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_VALENCE)]
    if wrong:
        raise space.error(f"centres.{wrong[0][0]}", f"a valence is a whole number from 1 to "
                                                    f"{MAX_VALENCE}, got {wrong[0][1]!r}")
    symbols = {key: space.symbols(key, default, distinct=True)
               for key, default in (("alkali", ("Li", "Na")), ("halogens", ("Cl",)),
                                    ("chalcogens", ("O",)))}
    pairs = {key: space.pairs(key) for key in ("halogen_mixes", "centre_mixes")}
    size = grid_points(
        alkali=len(symbols["alkali"]), centres=len(centres),
        centre_mixes=len(pairs["centre_mixes"]), halogens=len(symbols["halogens"]),
        halogen_mixes=len(pairs["halogen_mixes"]), chalcogens=len(symbols["chalcogens"]),
        chalcogen_per_m=space.count("o_per_m", _AXES["o_per_m"]),
        **{key: space.count(key, _AXES[key])
           for key in ("a_per_m", "halogen_mix_fractions", "centre_mix_fractions")})
    if size == 0:  # a grid key was given, so a grid was meant: none would drop it silently
        axes = {"alkali": len(symbols["alkali"]), "chalcogens": len(symbols["chalcogens"]),
                "o_per_m": space.count("o_per_m", _AXES["o_per_m"]),
                "a_per_m": space.count("a_per_m", _AXES["a_per_m"]),
                "centres": len(centres) + len(pairs["centre_mixes"]),
                "halogens": len(symbols["halogens"]) + len(pairs["halogen_mixes"])}
        empty = next((key for key, n in axes.items() if n == 0), "space")
        raise space.error(empty, "lists nothing, so the grid is empty; give at least one value "
                                 "or leave the key out for its default")
    if size + len(explicit) > max_candidates:
        listed = f" and {len(explicit):,} listed compositions" if size <= max_candidates else ""
        raise space.error("max_candidates", f"the grid has {format_count(size)} points"
                                            f"{listed}, above max_candidates = "
                                            f"{max_candidates:,}; raise it or use fewer values "
                                            f"or a coarser step")
    try:
        grid = CompositionSpace(
            alkali=symbols["alkali"], centres=tuple(centres.items()),
            halogens=symbols["halogens"], chalcogens=symbols["chalcogens"],
            chalcogen_per_m=space.numbers("o_per_m", _AXES["o_per_m"]),
            a_per_m=space.numbers("a_per_m", _AXES["a_per_m"]),
            halogen_mixes=pairs["halogen_mixes"],
            halogen_mix_fractions=space.numbers("halogen_mix_fractions",
                                                _AXES["halogen_mix_fractions"]),
            centre_mixes=pairs["centre_mixes"],
            centre_mix_fractions=space.numbers("centre_mix_fractions",
                                               _AXES["centre_mix_fractions"]),
            max_candidates=max_candidates,
        )
    except SpaceError as exc:
        raise SpecError(f"{space.path}: space: {exc}") from exc
    return grid, tuple(explicit)


def _read_joins(top: TableReader) -> tuple[Join, ...]:
    tables = top.get("joins", list, [])
    joins = []
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            raise top.error(f"joins[{i}]", "expected a table (write [[joins]])")
        reader = TableReader(top.path, table, f"joins[{i}].", _JOIN_KEYS)
        members = reader.symbols("end_members", (), distinct=True)
        for text in members:
            try:
                normalise(text)
            except NotationError as exc:
                raise reader.error("end_members", str(exc)) from exc
        bounds = reader.get("bounds", dict, {})
        for member, pair in bounds.items():
            if not (isinstance(pair, list) and len(pair) == 2
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                            and math.isfinite(v) for v in pair)):
                raise reader.error(f"bounds.{member}", f"expected [low, high], got {pair!r}")
        try:
            joins.append(Join(members, reader.number("step", 0.05),
                              {k: tuple(v) for k, v in bounds.items()}))
        except JoinError as exc:
            raise reader.error(exc.key, str(exc)) from exc
    return tuple(joins)


def _read_csv(space: TableReader, path: Path, column: str,
              max_rows: int) -> list[tuple[str, str]]:
    """``(text, formula)`` of each composition in ``column`` of the CSV at ``path`` (a UTF-8
    file, a byte order mark allowed), at most ``max_rows`` of them.

    Errors give the file, line and what is wrong, never the text of a line: a mistyped path
    may name a file of secrets (/etc/shadow), and the message ends up in logs.
    """
    max_MB = space.number("csv_max_MB", DEFAULT_CSV_MAX_MB)
    if max_MB <= 0:
        raise space.error("csv_max_MB", f"must be above 0, got {max_MB:g}")
    try:
        data = _read_file(path, int(max_MB * 10**6), "CSV")
    except OSError as exc:
        raise space.error("csv", f"cannot read {str(path)!r} ({exc.strerror})") from exc
    if len(data) > max_MB * 10**6:
        raise space.error("csv", f"{path} is larger than csv_max_MB = {max_MB:g} MB; raise "
                                 f"space.csv_max_MB or split the file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise space.error("csv", f"{path}: line {line} is not UTF-8 text; save the CSV "
                                 f"as UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        header = next(reader, [])
        if column not in header:
            raise space.error("csv_column", f"{path} has no column {column!r} in its "
                                            f"first line{did_you_mean(column, header)}; name "
                                            f"the column of compositions in space.csv_column")
        index = header.index(column)
        for cells in reader:
            where = f"{path}: line {reader.line_num}"
            if not cells:
                continue  # a blank line
            if index >= len(cells):
                raise space.error("csv", f"{where} has {len(cells)} fields, no {column!r}")
            if len(rows) == max_rows:
                raise space.error("max_candidates", f"{path} lists more than "
                                                    f"{max_rows:,} compositions, which with the "
                                                    f"explicit ones is above max_candidates; "
                                                    f"raise space.max_candidates")
            try:
                rows.append((cells[index], normalise(cells[index])))
            except NotationError as exc:
                raise space.error("csv", f"{where}: column {column!r} is not a composition in "
                                         f"an accepted notation ({_without_text(exc)})") from exc
    except csv.Error as exc:
        raise space.error("csv", f"{path}: line {reader.line_num}: {exc}") from exc
    return rows


_QUOTED = re.compile(r"""(?:\s+(?:in|of))?\s*(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def _without_text(exc: Exception) -> str:
    """``exc``'s message without the quoted text it echoes (a CSV cell, a token of it)."""
    return " ".join(_QUOTED.sub("", str(exc)).split()).strip(" ;,") or "unreadable"


def _read_objectives(rank: TableReader, outputs: set[str]) -> tuple[Objective, ...]:
    table = rank.get("objectives", dict, None)
    if table is None:
        table = {k: v for k, v in DEFAULT_OBJECTIVES.items() if k in outputs}
    objectives = []
    for column, settings in table.items():
        if column not in outputs:
            raise rank.error(f"objectives.{column}",
                             f"no scorer produces this column{did_you_mean(column, outputs)}")
        if not isinstance(settings, dict):
            raise rank.error(f"objectives.{column}", "expected a table {goal, weight, low, high}")
        obj = TableReader(rank.path, settings, f"rank.objectives.{column}.", _OBJECTIVE_KEYS)
        base = DEFAULT_OBJECTIVES.get(column, {})
        goal = obj.get("goal", str, base.get("goal", "max"))
        if goal not in ("max", "min"):
            raise obj.error("goal", f"must be 'max' or 'min', got {goal!r}")
        low, high = obj.number("low", base.get("low", 0.0)), obj.number("high", base.get("high", 1))
        weight = obj.number("weight", base.get("weight", 1.0))
        if high <= low or weight < 0:
            raise obj.error("low", f"need low < high and weight >= 0 (low={low}, high={high}, "
                                   f"weight={weight})")
        uncertainty = obj.get("uncertainty", str, DEFAULT_UNCERTAINTY.get(column))
        if uncertainty is not None and uncertainty not in outputs:
            raise obj.error("uncertainty", f"no scorer produces {uncertainty!r}")
        objectives.append(Objective(column, goal, weight, low, high, uncertainty))
    if not objectives or sum(o.weight for o in objectives) <= 0:
        raise rank.error("objectives", "need at least one objective with a positive weight")
    return tuple(objectives)


def _read_confidence(rank: TableReader, outputs: set[str]) -> Confidence:
    k = rank.number("confidence_k", 0.0)
    if k < 0:
        raise rank.error("confidence_k", f"must be >= 0, got {k}")
    policy = rank.get("out_of_domain", str, "keep")
    if policy not in OUT_OF_DOMAIN:
        raise rank.error("out_of_domain", f"must be one of {OUT_OF_DOMAIN}, got {policy!r}")
    factor = rank.number("out_of_domain_factor", 0.5)
    if not 0 <= factor <= 1:
        raise rank.error("out_of_domain_factor", f"must lie in [0, 1], got {factor}")
    flags = tuple(sorted(c for c in outputs if c.endswith("_in_domain")))
    if policy != "keep" and not flags:
        raise rank.error("out_of_domain", "no scorer reports an applicability domain")
    return Confidence(k, policy, factor, flags)


def _read_filter(rank: TableReader, text: str, kinds: Mapping[str, type | None]) -> Filter:
    try:
        return parse_filter(text, kinds)
    except FilterError as exc:
        raise rank.error("filters", str(exc)) from exc


def check_filter_kinds(spec: RunSpec, kinds: Mapping[str, type | None]) -> None:
    """Raise :class:`SpecError` for a filter whose value is of another kind than what ``kinds``
    says its column holds (the pipeline learns the score columns' kinds by scoring a probe)."""
    for flt in spec.filters:
        problem = kind_error(flt, kinds.get(flt.column))
        if problem:
            raise SpecError(f"{spec.source}: rank.filters: {problem}")


def _space_dict(space: CompositionSpace | None) -> dict[str, Any]:
    if space is None:
        return {}
    return {
        "alkali": list(space.alkali), "centres": dict(space.centres),
        "halogens": list(space.halogens), "chalcogens": list(space.chalcogens),
        "o_per_m": list(space.chalcogen_per_m), "a_per_m": list(space.a_per_m),
        "halogen_mixes": [list(p) for p in space.halogen_mixes],
        "halogen_mix_fractions": list(space.halogen_mix_fractions),
        "centre_mixes": [list(p) for p in space.centre_mixes],
        "centre_mix_fractions": list(space.centre_mix_fractions),
        "max_candidates": space.max_candidates,
    }
