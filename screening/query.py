"""Query a run's Parquet tables with SQL through DuckDB (read-only: SELECT statements only).

Each table of the run (``candidates``, ``features``, ``scores``, ``ranked``, and after
``viglas verify`` also ``verified`` and ``ranked_verified``) is a DuckDB view over its Parquet
file (for ``features``, its dataset of part files), so
``SELECT ... FROM ranked JOIN features USING (formula)`` works and nothing is copied or modified.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from screening.store import RESULT_TABLES, parquet_glob

#: Columns ``viglas query`` shows unless told otherwise.
SUMMARY_COLUMNS = ("rank", "formula", "alkali", "metal", "halogen", "o_per_m",
                   "sigma_log10_S_cm", "tg_K", "ox_limit_V", "red_limit_V",
                   "e_above_hull_eV_atom", "cost_usd_kg", "score", "pareto")
FORMATS = ("table", "csv", "json", "markdown")


class QueryError(ValueError):
    """A query that DuckDB rejects or that is not a single read-only SELECT."""


def connect(run_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per Parquet table of ``run_dir``."""
    con = duckdb.connect()
    for table in RESULT_TABLES:
        path = (run_dir / f"{table}.parquet").resolve()
        if path.exists():
            escaped = parquet_glob(path).replace("'", "''")
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{escaped}')")
    return con


def _checked_select(sql: str) -> str:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"bad SQL: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise QueryError("only a single SELECT statement is allowed")
    return sql


def build_sql(columns: list[str], where: str | None, sort: str | None, top: int | None) -> str:
    """The SELECT over ``ranked`` that ``--where/--sort/--top`` describe."""
    sql = f"SELECT {', '.join(columns)} FROM ranked"
    if where:
        sql += f" WHERE {where}"
    sql += f" ORDER BY {sort or 'rank'}"
    if top is not None:
        sql += f" LIMIT {int(top)}"
    return sql


def run_query(run_dir: Path, sql: str | None = None, where: str | None = None,
              sort: str | None = None, top: int | None = None,
              columns: list[str] | None = None) -> pd.DataFrame:
    """Run ``sql``, or the SELECT built from the other arguments, against the run's tables."""
    if not (run_dir / "ranked.parquet").exists():
        raise QueryError(f"{run_dir} has no ranked.parquet yet (is the run finished?)")
    with connect(run_dir) as con:
        available = [row[0] for row in con.execute("DESCRIBE ranked").fetchall()]
        if sql is None:
            wanted = columns or [c for c in SUMMARY_COLUMNS if c in available]
            unknown = [c for c in wanted if c not in available]
            if unknown:
                raise QueryError(f"unknown column {unknown[0]!r}; ranked has: "
                                 f"{', '.join(available)}")
            sql = build_sql([f'"{c}"' for c in wanted], where, sort, top)
        try:
            return con.execute(_checked_select(sql)).df()
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {str(exc).splitlines()[0]}") from exc


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
