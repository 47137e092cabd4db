"""Query a run's Parquet tables with SQL through DuckDB, read-only and sandboxed.

Each table of the run (``candidates``, ``features``, ``scores``, ``ranked``, and after
``viglas verify`` also ``verified`` and ``ranked_verified``, after ``viglas campaign`` the
``campaign_*`` views of :data:`screening.campaign.state.VIEWS` over its complete rounds) is a
DuckDB view over its Parquet file (for ``features``, its dataset of part files), so
``SELECT ... FROM ranked JOIN features USING (formula)`` works and nothing is copied or modified.

The connection may read those files and nothing else: once the views exist, DuckDB's external
access is switched off with exactly the run's own table files allowed, extension auto-install and
auto-load are off, Python replacement scans are off and the configuration is locked, so no
``read_text``, ``read_csv``, ``glob``, ``COPY``, ``ATTACH``, ``INSTALL``, ``SET`` or URL reaches a
file outside the run or the network, whatever the SQL says. Only one SELECT statement runs, and
the ``--where``/``--sort`` fragments may hold no comment, no ``;`` and no unbalanced parenthesis,
so they cannot change the shape of the query they are put into (e.g. comment away its LIMIT).

Only the tables the query names get a view, and each of their files is served only after it has
matched the checksum the run's manifest records (:func:`screening.store.check_tables`, each file
hashed once per query): a corrupt or unrecorded file is refused in one line, never read.

Work is capped: DuckDB's ``memory_limit`` (:data:`DEFAULT_MEMORY_LIMIT` unless raised), what a
sort or join needs beyond it spilled into a temporary directory of its own (never the caller's
``./.tmp``), removed afterwards; the query is interrupted after :data:`DEFAULT_TIMEOUT_S` seconds
unless given longer; ``--top`` is a LIMIT inside the query, so DuckDB stops after that many rows.

Results come back as Arrow tables, which keep what a pandas frame would blur: NULL apart from
NaN, integers beyond 64 bits (HUGEINT, e.g. a ``sum`` of integers) exact, BLOBs as bytes. The
JSON format writes NaN and infinities as the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"`` (JSON has no such numbers; these are the spellings that Python's ``float`` and
JavaScript's ``Number`` read back), NULL as null, BLOBs as base64 text and every integer exactly.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from screening.campaign.state import VIEWS as CAMPAIGN_VIEWS
from screening.campaign.state import view_tables
from screening.errors import UserError, one_line
from screening.store import RESULT_TABLES, VERIFIED_TABLES, check_tables, parquet_files

#: The views ``viglas query`` offers, one per Parquet table (file or dataset directory) of the
#: run; a table whose file is absent (e.g. a tier that was not run) simply has no view.
VIEWS: tuple[str, ...] = (*RESULT_TABLES, *VERIFIED_TABLES)
#: Columns ``viglas query`` shows unless told otherwise.
SUMMARY_COLUMNS = ("rank", "formula", "alkali", "metal", "halogen", "o_per_m",
                   "sigma_log10_S_cm", "p_glass", "tg_K", "ox_limit_V", "red_limit_V",
                   "e_above_hull_eV_atom", "cost_usd_kg", "score", "pareto")
FORMATS = ("table", "csv", "json", "markdown")
#: DuckDB's memory cap unless ``--memory-limit`` raises it; beyond it sorts and joins spill to
#: disk, and what cannot spill fails in one line.
DEFAULT_MEMORY_LIMIT = "2GB"
#: Seconds a query may run unless ``--timeout`` raises it.
DEFAULT_TIMEOUT_S = 60.0
_MEMORY_AMOUNT = re.compile(r"\d+(\.\d+)?\s*[KMGT]i?B", re.IGNORECASE)
#: Settings applied, in this order, once the views exist; the last one freezes them all.
_SANDBOX = (("enable_external_access", False), ("autoinstall_known_extensions", False),
            ("autoload_known_extensions", False), ("python_enable_replacements", False),
            ("lock_configuration", True))


class QueryError(UserError):
    """A query that DuckDB rejects or that is not a single read-only SELECT."""


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def connect(run_dir: Path, spill_dir: Path, tables: Iterable[str] | None = None,
            memory_limit: str = DEFAULT_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per Parquet table of ``run_dir`` (only those
    named in ``tables``, when given), each file checked against the run's manifest first,
    capped at ``memory_limit``, spilling into ``spill_dir`` and sandboxed so that it can read
    those table files and nothing else (see the module docstring)."""
    wanted = None if tables is None else {table.lower() for table in tables}
    screen = check_tables(run_dir, [t for t in VIEWS if wanted is None or t in wanted])
    # A campaign view joins one file per round; a round whose MD all failed lacks its columns.
    # view_tables lists complete rounds only: their files matched their round's checksums.
    rounds = view_tables(run_dir) if wanted is None or wanted & set(CAMPAIGN_VIEWS) else {}
    views = {table: (files, "") for table, files in screen.items()} | {
        view: ([file for part in parts for file in parquet_files(run_dir, part)],
               ", union_by_name = true")
        for view, parts in rounds.items() if wanted is None or view in wanted}
    try:
        con = duckdb.connect(config={"memory_limit": memory_limit,
                                     "temp_directory": str(spill_dir)})
    except duckdb.Error as exc:
        raise QueryError(f"--memory-limit {memory_limit!r}: {one_line(exc)}") from exc
    allowed: list[str] = []
    try:
        for view, (files, options) in views.items():
            if files:
                con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet("
                            f"{_sql_list(files)}{options})")
                allowed += files
        con.execute(f"SET allowed_paths = {_sql_list(allowed)}")
        for name, value in _SANDBOX:
            con.execute(f"SET {name} = {str(value).lower()}")
    except (duckdb.Error, OSError) as exc:
        con.close()
        raise QueryError(f"cannot open the tables of {run_dir}: {one_line(exc)} (is the run "
                         f"damaged? `viglas run` on its spec repairs it)") from exc
    return con


@contextmanager
def open_run(run_dir: Path, tables: Iterable[str] | None = None,
             memory_limit: str = DEFAULT_MEMORY_LIMIT) -> Iterator[duckdb.DuckDBPyConnection]:
    """:func:`connect` with a spill directory of its own, removed with the connection."""
    with tempfile.TemporaryDirectory(prefix="viglas-query-") as spill_dir:
        con = connect(run_dir, Path(spill_dir), tables, memory_limit)
        try:
            yield con
        finally:
            con.close()


def _checked_select(sql: str) -> str:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"bad SQL: {one_line(exc)}") from exc
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise QueryError("only a single SELECT statement is allowed")
    return sql


def _parse_tree(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """DuckDB's parse tree of ``sql`` (parsed only: nothing is bound, so nothing is read)."""
    return json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])


def _named_tables(sql: str) -> set[str] | None:
    """The tables ``sql`` names, from its parse tree (their views get built, the other tables
    stay unread); None when DuckDB cannot serialise the statement (then every view is built)."""
    with duckdb.connect(config=dict(_SANDBOX[:-1])) as con:
        tree = _parse_tree(con, sql)
    if tree.get("error"):
        return None
    found: set[str] = set()
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and isinstance(node.get("table_name"), str):
                found.add(node["table_name"].lower())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _check_limits(memory_limit: str, timeout_s: float) -> None:
    if not _MEMORY_AMOUNT.fullmatch(memory_limit.strip()):
        raise QueryError(f"--memory-limit {memory_limit!r}: give an amount such as 512MB, 2GB "
                         f"or 8GiB")
    if not (math.isfinite(timeout_s) and 0 < timeout_s <= 7 * 86400):
        raise QueryError(f"--timeout {timeout_s}: give seconds above 0 and at most a week "
                         f"(604800)")


def checked_fragment(flag: str, text: str) -> str:
    """``text`` if it can go into the built query as one self-contained piece: no SQL comment,
    no ``;`` and balanced parentheses; else :class:`QueryError` naming ``flag``."""
    try:
        tokens = duckdb.tokenize(text)
    except duckdb.Error as exc:
        raise QueryError(f"{flag}: bad SQL: {one_line(exc)}") from exc
    depth = 0
    for position, kind in tokens:
        char = text[position]
        if kind == duckdb.token_type.comment:
            raise QueryError(f"{flag}: SQL comments ({text[position:position + 2]!r} at "
                             f"character {position + 1}) are not allowed here")
        if kind != duckdb.token_type.operator:
            continue
        if char == ";":
            raise QueryError(f"{flag}: ';' is not allowed here (one statement only)")
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise QueryError(f"{flag}: unbalanced ')' at character {position + 1}")
    if depth:
        raise QueryError(f"{flag}: unbalanced '(' in {text!r}")
    return text


def build_sql(columns: list[str], where: str | None, sort: str | None, top: int | None) -> str:
    """The SELECT over ``ranked`` that ``--where/--sort/--top`` describe.

    Each fragment is checked by :func:`checked_fragment` and sits on its own line, the WHERE
    predicate in parentheses, so it can neither end the statement nor swallow what follows.
    """
    sql = f"SELECT {', '.join(columns)} FROM ranked"
    if where:
        sql += f"\nWHERE ({checked_fragment('--where', where)})"
    sql += f"\nORDER BY {checked_fragment('--sort', sort) if sort else 'rank'}"
    if top is not None:
        sql += f"\nLIMIT {int(top)}"
    return sql


def _check_shape(con: duckdb.DuckDBPyConnection, sql: str, top: int | None) -> None:
    """Refuse a built query whose parse tree is not ``SELECT ... FROM ranked [WHERE ...]
    ORDER BY ... [LIMIT top]``: a ``--sort`` such as ``rank OFFSET 5`` would change it."""
    tree = _parse_tree(con, sql)
    if tree.get("error"):
        raise QueryError(f"bad SQL: {tree.get('error_message', 'cannot parse')}")
    node = tree["statements"][0]["node"]
    modifiers = [(m["type"], ((m.get("limit") or {}).get("literal") or {}).get("text"),
                  m.get("offset")) for m in node.get("modifiers", [])]
    wanted = [("ORDER_MODIFIER", None, None),
              *([("LIMIT_MODIFIER", str(top), None)] if top is not None else [])]
    if (len(tree["statements"]) != 1 or node["type"] != "SELECT_NODE"
            or node["from_table"].get("table_name") != "ranked" or modifiers != wanted):
        raise QueryError("--where/--sort must be a condition and a sort order over ranked; "
                         "they may not add LIMIT, OFFSET, UNION or another FROM (use --sql)")


def run_query(run_dir: Path, sql: str | None = None, where: str | None = None,
              sort: str | None = None, top: int | None = None,
              columns: list[str] | None = None, memory_limit: str = DEFAULT_MEMORY_LIMIT,
              timeout_s: float = DEFAULT_TIMEOUT_S) -> pa.Table:
    """Run ``sql``, or the SELECT built from the other arguments, against the run's tables,
    at most ``top`` rows (a LIMIT in the query), within ``memory_limit`` and ``timeout_s``."""
    _check_limits(memory_limit, timeout_s)
    tables = _named_tables(_checked_select(sql) if sql is not None
                           else build_sql(["*"], where, sort, top))
    if tables is not None and sql is None:
        tables.add("ranked")
    with open_run(run_dir, tables, memory_limit) as con:
        try:
            if sql is None:
                available = [row[0] for row in con.execute("DESCRIBE ranked").fetchall()]
                wanted = columns or [c for c in SUMMARY_COLUMNS if c in available]
                unknown = [c for c in wanted if c not in available]
                if unknown:
                    raise QueryError(f"unknown column {unknown[0]!r}; ranked has: "
                                     f"{', '.join(available)}")
                sql = build_sql([f'"{c}"' for c in wanted], where, sort, top)
                _check_shape(con, sql, top)
                relation = con.sql(sql)
            else:
                relation = con.sql(sql)
                if top is not None:
                    relation = relation.limit(top)
            return _fetch(con, relation, memory_limit, timeout_s)
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {one_line(exc)}") from exc


def _fetch(con: duckdb.DuckDBPyConnection, relation: duckdb.DuckDBPyRelation,
           memory_limit: str, timeout_s: float) -> pa.Table:
    """Run ``relation``, interrupted after ``timeout_s`` seconds."""
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        con.interrupt()

    timer = threading.Timer(timeout_s, stop)
    timer.daemon = True
    timer.start()
    try:
        return relation.to_arrow_table()
    except duckdb.InterruptException as exc:
        if not timed_out.is_set():
            raise KeyboardInterrupt from exc
        raise QueryError(f"the query ran for {timeout_s:g} s (--timeout) and was stopped; give "
                         f"a larger --timeout SECONDS to let it run, or narrow it") from exc
    except duckdb.OutOfMemoryException as exc:
        raise QueryError(f"the query needs more memory than --memory-limit {memory_limit}; "
                         f"raise it (e.g. --memory-limit 8GB) or narrow the query") from exc
    except MemoryError as exc:
        raise QueryError("the result does not fit in memory; add --top N or a LIMIT") from exc
    finally:
        timer.cancel()


def to_frame(table: pa.Table) -> pd.DataFrame:
    """``table`` as a DataFrame for the text formats: integers beyond 64 bits (HUGEINT, an
    integer DECIMAL) kept exact as Python ints, other DECIMALs as floats, BLOBs as base64."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_decimal(kind) and kind.scale == 0:
            values = [None if v is None else int(v) for v in column.to_pylist()]
            columns.append(pd.Series(values, dtype=object))
        elif pa.types.is_decimal(kind):
            columns.append(column.cast(pa.float64()).to_pandas())
        elif _is_binary(kind):
            values = [None if v is None else _base64(v) for v in column.to_pylist()]
            columns.append(pd.Series(values, dtype=object))
        else:
            columns.append(column.to_pandas())
    frame = pd.concat(columns, axis=1, ignore_index=True) if columns else pd.DataFrame()
    frame.columns = table.column_names
    return frame


def _is_binary(kind: pa.DataType) -> bool:
    return (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind))


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _json_value(value: Any) -> Any:
    """``value`` (a Python value from Arrow) as strict JSON: see the module docstring."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent >= 0 else _json_value(float(value))
    if isinstance(value, bytes | bytearray):
        return _base64(bytes(value))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return str(value)


def to_json(table: pa.Table) -> str:
    """``table`` as a JSON array of row objects (strict JSON: see the module docstring)."""
    names = table.column_names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise QueryError(f"--format json needs distinct column names; {repeated[0]!r} repeats "
                         f"(give each column its own alias)")
    rows = [{name: _json_value(value) for name, value in row.items()}
            for row in table.to_pylist()]
    return json.dumps(rows, indent=2, allow_nan=False)


def render(data: pd.DataFrame | pa.Table, fmt: str) -> str:
    """``data`` (a query's Arrow table, or a frame) as text in one of :data:`FORMATS`."""
    try:
        if fmt == "json":
            table = (data if isinstance(data, pa.Table)
                     else pa.Table.from_pandas(data, preserve_index=False))
            return to_json(table)
        frame = to_frame(data) if isinstance(data, pa.Table) else data
        if fmt == "csv":
            return frame.to_csv(index=False)
        if fmt == "markdown":
            return frame.to_markdown(index=False, floatfmt=".4g")
        if frame.empty:
            return "(no rows)"
        return frame.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    except MemoryError as exc:
        raise QueryError("the result is too large to print; add --top N or a LIMIT") from exc
