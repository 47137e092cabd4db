"""The report's tables: the ranked candidates, and their ranking before and after MD."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from screening.report.figures import PALETTE
from screening.report.html import cell, esc, is_number, number, table


@dataclass(frozen=True)
class Column:
    """A ranked-table column: the value, its uncertainty, header and unit, the applicability
    domain flag that marks it, and how to say why a value is out of domain."""

    name: str
    header: str
    unit: str
    fmt: str
    unc: str | None = None
    domain: str | None = None
    distance: str | None = None
    model: str = ""


COLUMNS = (
    Column("sigma_log10_S_cm", "log10 σ", "log10 S/cm", ".2f", "sigma_log10_unc",
           "sigma_in_domain", "sigma_domain_distance", "conductivity"),
    Column("tg_K", "Tg", "K", ".0f", "tg_K_unc", "tg_in_domain", "tg_domain_distance", "Tg"),
    Column("p_glass", "p_glass", "", ".2f", None, "glass_in_domain", "glass_domain_distance",
           "glass formation"),
    Column("ox_limit_V", "ox. limit", "V", ".2f"),
    Column("window_V", "window", "V", ".2f"),
    Column("hull_excess_eV_atom", "hull excess", "eV/atom", ".3f"),
    Column("cost_usd_kg", "cost", "USD/kg", ".1f"),
)


def _header(label: str, unit: str) -> str:
    return f'{esc(label)}<span class="unit">{esc(unit)}</span>' if unit else esc(label)


def out_of_domain(row: pd.Series, column: Column) -> str:
    """Why ``row``'s value of ``column`` is an extrapolation, or "" when it is in domain."""
    flag = row.get(column.domain) if column.domain else None
    if flag is None or pd.isna(flag) or bool(flag):
        return ""
    reason = f"{column.model} out of domain"
    if column.distance and is_number(row.get(column.distance)):
        reason += f" (distance {row[column.distance]:.2f} to the nearest training composition)"
    if column.name == "sigma_log10_S_cm" and row.get("sigma_unseen"):
        reason += f"; unseen element pairs: {row['sigma_unseen']}"
    return reason


def contributions(ranked: pd.DataFrame) -> list[str]:
    """The objective columns whose ``contrib_<column>`` add up to the score."""
    return [c.removeprefix("contrib_") for c in ranked.columns if c.startswith("contrib_")]


def _score_cell(row: pd.Series, objectives: Sequence[str]) -> str:
    segments = "".join(
        f'<span class="seg" style="width:{100 * max(row[f"contrib_{o}"], 0):.1f}%;'
        f'background:{PALETTE[i % len(PALETTE)]}" title="{esc(o)}: '
        f'{row[f"contrib_{o}"]:.3f}"></span>' for i, o in enumerate(objectives))
    return cell(f'<span class="score">{row["score"]:.3f}</span><span class="bar">{segments}'
                f"</span>", sort=row["score"], cls="score-cell")


def score_legend(objectives: Sequence[str]) -> str:
    """The colour key of the score bars."""
    keys = "".join(f'<span class="key"><span class="swatch" style="background:'
                   f'{PALETTE[i % len(PALETTE)]}"></span>{esc(o)}</span>'
                   for i, o in enumerate(objectives))
    return f'<p class="legend">score = sum of its objective contributions: {keys}</p>'


def ranked_table(ranked: pd.DataFrame, top: int) -> str:
    """The best ``top`` ranked rows, exact: value ± uncertainty with units in the headers, the
    score as a stacked bar of its contributions, extrapolations marked with their reason."""
    columns = [c for c in COLUMNS if c.name in ranked]
    objectives = contributions(ranked)
    headers = ["rank", "formula", "score", *(_header(c.header, c.unit) for c in columns),
               "applicability domain"]
    rows = []
    for _, row in ranked.head(top).iterrows():
        reasons = []
        cells = [cell(str(row["rank"]), sort=row["rank"]),
                 cell(esc(row["formula"]), sort=row["formula"], cls="formula"),
                 _score_cell(row, objectives)]
        for column in columns:
            reason = out_of_domain(row, column)
            text = number(row[column.name], column.fmt,
                          row[column.unc] if column.unc else None)
            if reason:
                reasons.append(reason)
                text += ' <span class="ood-mark" aria-label="out of domain">&#9888;</span>'
            cells.append(cell(text, sort=row[column.name], cls="ood" if reason else "num",
                              title=reason))
        cells.append(cell(esc("; ".join(reasons)) if reasons else "in domain",
                          sort=len(reasons), cls="reason"))
        rows.append(("ood-row" if reasons else "", cells))
    shown = f"the best {min(top, len(ranked))} of {len(ranked)} ranked candidates"
    return (f"<p>{shown}; click a header to sort, type to filter. &#9888; marks a value "
            f"outside its model's applicability domain (hover it for the reason).</p>"
            + score_legend(objectives) + table("ranked-table", headers, rows, filterable=True))


def md_table(ranked: pd.DataFrame, rescored: pd.DataFrame, verified: pd.DataFrame) -> str:
    """Each verified candidate's rank and conductivity before and after re-scoring with the MD
    values; a row whose MD Arrhenius fit is unresolved (Ea within its uncertainty) is marked."""
    before = ranked.set_index("formula")
    after = rescored.set_index("formula")
    headers = ["formula", "protocol", "rank (proxy)", "rank (with MD)",
               _header("log10 σ proxy", "log10 S/cm"), _header("log10 σ MD", "log10 S/cm"),
               _header("Ea MD", "eV"), "used in ranking"]
    rows = []
    for _, row in verified.sort_values(["formula", "protocol"]).iterrows():
        formula = row["formula"]
        source = after["sigma_source"].get(formula, "not ranked")
        unresolved = not row["ea_eV"] > row["ea_unc_eV"]
        rank_before, rank_after = before["rank"].get(formula), after["rank"].get(formula)
        rows.append(("unresolved" if unresolved else "", [
            cell(esc(formula), sort=formula, cls="formula"), cell(esc(row["protocol"])),
            cell(str(rank_before) if rank_before else "\u2014", sort=rank_before),
            cell(str(rank_after) if rank_after else "\u2014", sort=rank_after),
            cell(number(before["sigma_log10_S_cm"].get(formula),
                        ".2f", before["sigma_log10_unc"].get(formula)), cls="num"),
            cell(number(row["sigma_log10_S_cm_md"], ".2f", row["sigma_log10_unc_md"]),
                 cls="num"),
            cell(number(row["ea_eV"], ".2f", row["ea_unc_eV"]), cls="num"),
            cell(esc(source) + (' <span class="badge">unresolved: Ea within its uncertainty'
                                "</span>" if unresolved else "")),
        ]))
    return table("md-ranking", headers, rows)
