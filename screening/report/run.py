"""What the report reads from a run: the finished run's tables, checked against its manifest."""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pyarrow import ArrowException

from screening import store
from screening.errors import one_line
from screening.plots import load_run
from screening.ranking import passes_filters
from screening.spec import Filter

#: The tables the report reads; their files' checksums are checked before anything is drawn.
READ_TABLES = ("candidates", "scores", "ranked", "verified", "ranked_verified")


@dataclass(frozen=True)
class RunData:
    """One finished run as the report sees it."""

    run_dir: Path
    spec: dict[str, Any]
    scored: pd.DataFrame
    ranked: pd.DataFrame
    verified: pd.DataFrame | None
    ranked_verified: pd.DataFrame | None

    @property
    def temperature_K(self) -> float:
        return float(self.spec.get("temperature_C", 25.0)) + 273.15

    @property
    def meta(self) -> dict[str, Any]:
        return self.spec.get("meta", {})


def check_finished(run_dir: Path) -> None:
    """Raise :class:`store.StoreError` unless ``run_dir`` finished and the tables the report
    reads still match the sizes and checksums of its manifest (see
    :func:`store.check_tables`)."""
    store.check_tables(run_dir, READ_TABLES)


def _optional(run_dir: Path, table: str) -> pd.DataFrame | None:
    path = run_dir / f"{table}.parquet"
    return pd.read_parquet(path) if path.is_file() else None


def load(run_dir: Path) -> RunData:
    """Read the finished run at ``run_dir`` (see :func:`check_finished`); a file that cannot be
    read raises :class:`store.StoreError` in one line."""
    check_finished(run_dir)
    try:
        scored, ranked, spec = load_run(run_dir)
        return RunData(run_dir, spec, scored, ranked, _optional(run_dir, "verified"),
                       _optional(run_dir, "ranked_verified"))
    except (OSError, ArrowException, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise store.StoreError(f"cannot read {run_dir}: {one_line(exc)}") from exc


def spec_filters(spec: dict[str, Any]) -> list[Filter]:
    """The run's hard filters, read back from the ``column op value!r`` text spec.toml keeps."""
    filters = []
    for text in spec.get("rank", {}).get("filters", []):
        column, op, literal = text.split(" ", 2)
        filters.append(Filter(column, op, ast.literal_eval(literal)))
    return filters


def stage_counts(data: RunData) -> list[tuple[str, int]]:
    """Candidates left at each stage of the screen, from enumeration to the ranked table."""
    scored = data.scored
    stages = [("enumerated", len(scored))]
    for label, column in (("glass formers", "glass_forming"), ("viscoelastic", "viscoelastic")):
        if column in scored:
            stages.append((label, int(scored[column].eq(True).sum())))
    stages.append(("passing the filters",
                   int(passes_filters(scored, spec_filters(data.spec)).sum())))
    stages.append(("ranked", len(data.ranked)))
    return stages


def wall_s(data: RunData) -> float | None:
    """Seconds from the run's start (spec.toml's ``created_utc``) to its manifest being written
    complete; a resumed run's pause counts too. None when either is unknown."""
    try:
        start = datetime.strptime(data.meta["created_utc"], "%Y-%m-%dT%H:%M:%SZ")
        end = (data.run_dir / store.MANIFEST).stat().st_mtime
    except (KeyError, ValueError, OSError):
        return None
    return end - start.replace(tzinfo=UTC).timestamp()
