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
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from screening.campaign.state import view_tables
from screening.errors import UserError, one_line
from screening.store import RESULT_TABLES, VERIFIED_TABLES, StoreError, parquet_files

#: The views ``viglas query`` offers, one per Parquet table (file or dataset directory) of the
#: run; a table whose file is absent (e.g. a tier that was not run) simply has no view.
VIEWS: tuple[str, ...] = (*RESULT_TABLES, *VERIFIED_TABLES)
#: Columns ``viglas query`` shows unless told otherwise.
SUMMARY_COLUMNS = ("rank", "formula", "alkali", "metal", "halogen", "o_per_m",
                   "sigma_log10_S_cm", "p_glass", "tg_K", "ox_limit_V", "red_limit_V",
                   "e_above_hull_eV_atom", "cost_usd_kg", "score", "pareto")
FORMATS = ("table", "csv", "json", "markdown")
#: Settings applied, in this order, once the views exist; the last one freezes them all.
_SANDBOX = (("enable_external_access", False), ("autoinstall_known_extensions", False),
            ("autoload_known_extensions", False), ("python_enable_replacements", False),
            ("lock_configuration", True))


class QueryError(UserError):
    """A query that DuckDB rejects or that is not a single read-only SELECT."""


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def connect(run_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per Parquet table of ``run_dir``, sandboxed
    so that it can read those table files and nothing else (see the module docstring)."""
    con = duckdb.connect()
    allowed: list[str] = []
    # A campaign view joins one file per round; a round whose MD all failed lacks its columns.
    tables = {table: ([table], "") for table in VIEWS} | {
        view: (parts, ", union_by_name = true") for view, parts in view_tables(run_dir).items()}
    try:
        for view, (parts, options) in tables.items():
            files = [file for part in parts for file in parquet_files(run_dir, part)]
            if files:
                con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet("
                            f"{_sql_list(files)}{options})")
                allowed += files
        con.execute(f"SET allowed_paths = {_sql_list(allowed)}")
        for name, value in _SANDBOX:
            con.execute(f"SET {name} = {str(value).lower()}")
    except (duckdb.Error, OSError, StoreError) as exc:
        con.close()
        raise QueryError(f"cannot open the tables of {run_dir}: {one_line(exc)} (is the run "
                         f"damaged? `viglas run` on its spec repairs it)") from exc
    return con


def _checked_select(sql: str) -> str:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"bad SQL: {one_line(exc)}") from exc
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise QueryError("only a single SELECT statement is allowed")
    return sql


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
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
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
              columns: list[str] | None = None) -> pd.DataFrame:
    """Run ``sql``, or the SELECT built from the other arguments, against the run's tables."""
    if not (run_dir / "ranked.parquet").is_file():
        raise QueryError(f"{run_dir} has no ranked.parquet yet (is the run finished?)")
    with connect(run_dir) as con:
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
            return con.execute(_checked_select(sql)).df()
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {one_line(exc)}") from exc


def render(frame: pd.DataFrame, fmt: str) -> str:
    """``frame`` as text in one of :data:`FORMATS`."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return json.dumps(json.loads(frame.to_json(orient="records")), indent=2)
    if fmt == "markdown":
        return frame.to_markdown(index=False, floatfmt=".4g")
    if frame.empty:
        return "(no rows)"
    return frame.to_string(index=False, float_format=lambda v: f"{v:.4g}")
