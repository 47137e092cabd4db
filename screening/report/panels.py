"""The sections of the report page, each a :class:`Panel`: the run's header, the ranked table,
the plots, the MD verification and the validation figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from screening.report import figures
from screening.report.html import esc, plain_table
from screening.report.run import RunData, stage_counts, wall_s
from screening.report.tables import md_table, ranked_table
from screening.report.validation import validation_html

#: Spec lists longer than this are shown by their ends and length.
SHORT_LIST = 8


@dataclass(frozen=True)
class Panel:
    """One section of the page: a title, a body of trusted HTML, and the Plotly figures drawn
    into it, keyed by the id of the ``<div>`` of the body that holds each (see
    :func:`figure_divs`). Pass extra panels to :func:`screening.report.write_report` to add a
    section (e.g. a campaign's progress) without touching the others."""

    key: str
    title: str
    html: str
    figures: Mapping[str, figures.Figure] = field(default_factory=dict)


def figure_divs(keys: Mapping[str, Any]) -> str:
    """The ``<div>`` each figure of ``keys`` is drawn into."""
    return "".join(f'<div class="figure" id="{esc(k)}"></div>' for k in keys)


def _short(value: Any) -> str:
    if isinstance(value, list) and len(value) > SHORT_LIST:
        return f"{value[0]} \u2026 {value[-1]} ({len(value)} values)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_short(v)}" for k, v in value.items())
    return str(value)


def header_panel(data: RunData, spec_text: str, description: str) -> Panel:
    """What was screened and how: the spec (``spec_text`` as written, or as resolved), the
    candidates left at each stage, versions, the spec hash and the wall time."""
    spec, meta = data.spec, data.meta
    rank = spec.get("rank", {})
    space = {k: v for k, v in spec.get("space", {}).items() if v not in ([], {}, None)}
    space |= {f"join {i + 1}": f"{', '.join(j['end_members'])} (step {j['step']})"
              for i, j in enumerate(spec.get("joins", []))}
    objectives = [(name, o["goal"], o["weight"], o["low"], o["high"], o.get("uncertainty", ""))
                  for name, o in rank.get("objectives", {}).items()]
    funnel = "".join(f'<li><span class="count">{n:,}</span> {esc(stage)}</li>'
                     for stage, n in stage_counts(data))
    seconds = wall_s(data)
    facts = [("run", f"{spec.get('name', data.run_dir.name)}: {description}" if description
              else spec.get("name", data.run_dir.name)),
             ("operating temperature", f"{spec.get('temperature_C', 25.0)} C"),
             ("spec hash", meta.get("content_hash", "")),
             ("created", meta.get("created_utc", "")),
             ("wall time", f"{seconds:.0f} s (start to finish, pauses included)"
              if seconds is not None else "unknown"),
             ("scorers", _short(spec.get("scorers", []))),
             ("featurizers", _short(spec.get("featurizers", []))),
             ("versions", _short(meta.get("versions", {}))),
             ("filters", "; ".join(rank.get("filters", [])) or "none"),
             ("confidence", f"k = {rank.get('confidence_k', 0)}, out of domain: "
                            f"{rank.get('out_of_domain', 'keep')}")]
    html = (f'<ol class="funnel">{funnel}</ol><div class="cols"><div>'
            + plain_table(["", ""], facts, head=False) + "</div><div>"
            + plain_table(["space", ""], [(k, _short(v)) for k, v in space.items()])
            + plain_table(["objective", "goal", "weight", "low", "high", "uncertainty"],
                          objectives)
            + f"</div></div><details><summary>the spec</summary><pre>{esc(spec_text)}</pre>"
              f"</details>")
    return Panel("run", "The run", html)


def ranked_panel(data: RunData, top: int) -> Panel:
    """The ranked table (see :func:`screening.report.tables.ranked_table`)."""
    return Panel("ranked", "Ranked candidates", ranked_table(data.ranked, top))


def plots_panel(data: RunData, top: int) -> Panel:
    """Conductivity, Tg and p_glass against O per family, the Pareto front, the join maps."""
    drawn = {**figures.per_o_figures(data), **figures.pareto_figures(data, top),
             **figures.ternary_figures(data)}
    return Panel("plots", "Plots", "<p>Hover a point for its formula and values; click a "
                                   "legend entry to hide it.</p>" + figure_divs(drawn), drawn)


def md_panel(data: RunData) -> Panel | None:
    """After ``viglas verify``: an Arrhenius plot per verified candidate and the ranking
    before and after re-scoring with the MD conductivity; None when verify has not run."""
    if data.verified is None or data.verified.empty or data.ranked_verified is None:
        return None
    drawn = {f"fig-arrhenius-{i}": figures.arrhenius_figure(row)
             for i, (_, row) in enumerate(data.verified.iterrows())}
    html = ("<p>Melt-quench MD (<code>viglas verify</code>): D per temperature with its "
            "1-sigma error, the Arrhenius fit extended to the operating temperature and the "
            "predicted Tg (below it the liquid's line no longer holds).</p>"
            + md_table(data.ranked, data.ranked_verified, data.verified)
            + figure_divs(drawn))
    return Panel("md", "Molecular dynamics", html, drawn)


def campaign_panel(data: RunData) -> Panel | None:
    """After ``viglas campaign``: per round, what was picked, what the MD said against the
    prediction, and the top 10 after it; None before the first complete round."""
    from screening.campaign import state
    from screening.campaign.report import campaign_tables

    if not state.complete_rounds(data.run_dir):
        return None
    tables = campaign_tables(data.run_dir)
    rounds = plain_table(list(tables.rounds.columns), tables.rounds.round(3).to_numpy())
    md_columns = [c for c in ("round", "formula", "md_sigma_log10_S_cm", "md_sigma_log10_unc",
                              "md_resolved", "md_calibrated", "md_reason")
                  if c in tables.md.columns]
    md = plain_table(md_columns, tables.md[md_columns].round(3).to_numpy())
    top = plain_table(list(tables.top.columns), tables.top.round(3).to_numpy())
    html = ("<p>Rounds of <code>viglas campaign</code>: picks, the MD read as a room-temperature "
            "estimate (its source is MD, never a measurement; unresolved rows teach nothing), "
            "and the ranking after each round (round 0: the screen as run).</p>"
            f"<h3>Rounds</h3>{rounds}<h3>MD against the prediction</h3>{md}"
            f"<h3>Top 10 per round</h3>{top}")
    return Panel("campaign", "Campaign", html)


def validation_panel() -> Panel:
    """The headline validation figures (see :mod:`screening.report.validation`)."""
    return Panel("validation", "How far to trust each column", validation_html())
