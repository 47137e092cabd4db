"""The report's plots as Plotly figure specifications (plain dicts the page draws).

The data preparation is :mod:`screening.plots`'s, so the PNGs of ``viglas plot`` and the page
show the same numbers. Large runs keep the page small: the background of all scored candidates
is aggregated into a 2-D histogram and the rows passing the filters are thinned to
:data:`MAX_POINTS`, always keeping the Pareto front and the best rows of the table exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from screening import plots
from screening.report.run import RunData

#: Points per scatter trace before the background is aggregated or thinned.
MAX_POINTS = 4000
#: Bins per axis of the aggregated background.
BINS = 60
#: D3's category10, the colours of the families (and of the score contributions).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
#: Significant digits kept in the page's numbers: enough for any hover, a third of the bytes.
DIGITS = 4

Figure = dict[str, Any]

_PER_O = (("sigma_log10_S_cm", "sigma_log10_unc", "log10 σ (S/cm)", ".2f"),
          ("tg_K", "tg_K_unc", "Tg (K)", ".0f"),
          ("p_glass", None, "p_glass", ".2f"))


def rounded(values: Any) -> list:
    """``values`` as a JSON-ready list: floats to :data:`DIGITS` significant digits, NaN as
    None (a gap in a Plotly line)."""
    return [float(f"{v:.{DIGITS}g}") if np.isfinite(v) else None
            for v in np.asarray(values, dtype=float)]


def rgba(colour: str, alpha: float) -> str:
    """A ``#rrggbb`` colour as CSS ``rgba`` with opacity ``alpha``."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _layout(title: str, xtitle: str, ytitle: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title, "font": {"size": 14}}, "height": 380,
            "margin": {"l": 60, "r": 20, "t": 40, "b": 50}, "hovermode": "closest",
            "xaxis": {"title": {"text": xtitle}}, "yaxis": {"title": {"text": ytitle}},
            "legend": {"font": {"size": 10}}, **extra}


def _vline(x: float, label: str, colour: str, xref: str = "x") -> tuple[dict, dict]:
    shape = {"type": "line", "xref": xref, "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
             "line": {"color": colour, "width": 1, "dash": "dash"}}
    note = {"x": x, "xref": xref, "yref": "paper", "y": 1, "yanchor": "bottom", "text": label,
            "showarrow": False, "font": {"size": 10, "color": colour}}
    return shape, note


def _glass_window(curve: pd.DataFrame) -> tuple[float, float] | None:
    glass = curve.index[curve["glass"] >= 0.5]
    return (float(glass.min()), float(glass.max())) if len(glass) else None


def _runs(curve: pd.DataFrame) -> list[pd.DataFrame]:
    """The stretches of consecutive rows of ``curve`` with every value present: a band is
    drawn per stretch, so it has gaps where the line has them (no glass, no Tg)."""
    present = curve.notna().all(axis=1).to_numpy()
    stretch = np.cumsum(~present)
    return [rows for _, rows in curve[present].groupby(stretch[present])]


def per_o_figures(data: RunData) -> dict[str, Figure]:
    """Conductivity, Tg and p_glass against O per centre, one line per family and one subplot
    per alkali, with the 1-sigma band and each family's glass window shaded (the O range where
    it forms a glass; a legend click hides a family's line, band and window together)."""
    grid = plots.families(data.scored, data.ranked)
    if grid.empty:
        return {}
    grid = grid.assign(glass=grid["glass_forming"].astype(float) if "glass_forming" in grid
                       else np.nan)
    figures = {}
    for column, unc, label, fmt in _PER_O:
        if column not in grid:
            continue
        curves = plots.family_curves(grid, [column, "glass", *([unc] if unc else [])])
        figures[f"fig-{column}-vs-o"] = _per_o_figure(curves, column, unc, label, fmt, data)
    return figures


def _per_o_figure(curves: dict, column: str, unc: str | None, label: str, fmt: str,
                  data: RunData) -> Figure:
    traces, shapes, notes, layout = [], [], [], {}
    width = 1.0 / len(curves)
    colours = {}
    for i, (alkali, (a_ref, per_family)) in enumerate(curves.items()):
        axis = "" if i == 0 else str(i + 1)
        layout[f"xaxis{axis}"] = {"domain": [i * width + 0.04, (i + 1) * width - 0.04],
                                  "title": {"text": f"O per centre ({alkali}, {a_ref:g} per "
                                                    f"centre)"}, "anchor": f"y{axis}"}
        layout[f"yaxis{axis}"] = {"anchor": f"x{axis}", **({"title": {"text": label}} if i == 0
                                                          else {"matches": "y"})}
        for family, curve in per_family.items():
            first = family not in colours  # its first subplot carries its legend entry
            colour = colours.setdefault(family, PALETTE[len(colours) % len(PALETTE)])
            common = {"xaxis": f"x{axis}", "yaxis": f"y{axis}", "legendgroup": family}
            x, y = rounded(curve.index), rounded(curve[column])
            window = _glass_window(curve)
            if window:
                shapes.append({"type": "rect", "xref": f"x{axis}", "yref": f"y{axis} domain",
                               "x0": window[0], "x1": window[1], "y0": 0, "y1": 1,
                               "fillcolor": rgba(colour, 0.08), "line": {"width": 0},
                               "layer": "below"})
            if unc:
                traces += [{"type": "scatter", "x": rounded(band.index) + rounded(band.index[::-1]),
                            "y": rounded(band[column] + band[unc])
                            + rounded((band[column] - band[unc])[::-1]),
                            "mode": "lines", "fill": "toself", "fillcolor": rgba(colour, 0.15),
                            "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False,
                            **common} for band in _runs(curve[[column, unc]])]
            error = (" ± %{customdata:" + fmt + "}") if unc else ""
            traces.append({"type": "scatter", "mode": "lines+markers", "name": family, "x": x,
                           "y": y, "text": list(curve["formula"]),
                           **({"customdata": rounded(curve[unc])} if unc else {}),
                           "line": {"color": colour}, "marker": {"size": 5},
                           "showlegend": first,
                           "hovertemplate": f"%{{text}}<br>O per centre %{{x}}<br>{label} "
                                            f"%{{y:{fmt}}}{error}<extra>{family}</extra>",
                           **common})
    if column == "tg_K":
        notes.append({"text": f"operating T {data.temperature_K:.0f} K", "xref": "paper",
                      "x": 1, "xanchor": "right", "y": data.temperature_K, "showarrow": False,
                      "yanchor": "bottom", "font": {"size": 10}})
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": data.temperature_K,
                       "y1": data.temperature_K, "line": {"color": "black", "dash": "dash",
                                                          "width": 1}})
    title = f"{label} against O content per family (shaded: glass window; band: ±1σ)"
    return {"data": traces, "layout": {**_layout(title, "", label), **layout, "shapes": shapes,
                                       "annotations": notes}}


def _thinned(rows: pd.DataFrame, keep: pd.Series, limit: int) -> pd.DataFrame:
    """``rows`` with at most ``limit`` of them: every row where ``keep``, then an even stride
    through the rest."""
    if len(rows) <= limit:
        return rows
    kept, rest = rows[keep], rows[~keep]
    room = max(limit - len(kept), 0)
    step = max(int(np.ceil(len(rest) / room)), 1) if room else len(rest) + 1
    return pd.concat([kept, rest.iloc[::step]])


def _background(scored: pd.DataFrame) -> dict[str, Any]:
    """All scored candidates in Tg-sigma: points when few, else a 2-D histogram of counts."""
    both = scored[["tg_K", "sigma_log10_S_cm"]].dropna()
    if len(both) <= MAX_POINTS:
        return {"type": "scatter", "mode": "markers", "name": f"all scored ({len(scored)})",
                "x": rounded(both["tg_K"]), "y": rounded(both["sigma_log10_S_cm"]),
                "text": list(scored.loc[both.index, "formula"]),
                "marker": {"color": "#c8c8c8", "size": 5},
                "hovertemplate": "%{text}<br>Tg %{x:.0f} K<br>log10 σ %{y:.2f}<extra></extra>"}
    counts, x_edges, y_edges = np.histogram2d(both["tg_K"], both["sigma_log10_S_cm"], bins=BINS)
    z = np.where(counts > 0, counts, np.nan).T
    return {"type": "heatmap", "name": f"all scored ({len(scored)}, binned)",
            "x": rounded((x_edges[:-1] + x_edges[1:]) / 2),
            "y": rounded((y_edges[:-1] + y_edges[1:]) / 2),
            "z": [rounded(row) for row in z], "colorscale": [[0, "#ececec"], [1, "#8a8a8a"]],
            "showscale": False, "showlegend": True,
            "hovertemplate": "Tg %{x:.0f} K<br>log10 σ %{y:.2f}<br>%{z} candidates"
                             "<extra>all scored</extra>"}


def pareto_figures(data: RunData, top: int) -> dict[str, Figure]:
    """Conductivity against Tg: every scored candidate (aggregated when many), the rows passing
    the filters (thinned when many, the best ``top`` always kept) and the Pareto front; none
    when the run's scorers give no Tg or no conductivity."""
    if not {"tg_K", "sigma_log10_S_cm"} <= set(data.ranked.columns):
        return {}
    ranked = data.ranked
    shown = _thinned(ranked, ranked["pareto"] | (ranked["rank"] <= top), MAX_POINTS)
    front = ranked[ranked["pareto"]]
    hover = ("%{text}<br>Tg %{x:.0f} K<br>log10 σ %{y:.2f} S/cm<br>score %{customdata[0]:.3f}, "
             "rank %{customdata[1]}<extra></extra>")
    traces = [_background(data.scored)]
    for rows, name, marker in (
            (shown, f"pass filters ({len(shown)} of {len(ranked)} shown)",
             {"color": PALETTE[0], "size": 6}),
            (front, f"Pareto front ({len(front)})",
             {"color": PALETTE[3], "size": 12, "symbol": "star"})):
        traces.append({"type": "scatter", "mode": "markers", "name": name,
                       "x": rounded(rows["tg_K"]), "y": rounded(rows["sigma_log10_S_cm"]),
                       "text": list(rows["formula"]),
                       "customdata": list(zip(rounded(rows["score"]), rows["rank"].tolist(),
                                              strict=True)),
                       "marker": marker, "hovertemplate": hover})
    shape, note = _vline(data.temperature_K, "operating T", "black")
    return {"fig-pareto": {"data": traces, "layout": _layout(
        "Pareto front: conductivity against Tg", "Tg (K)", "log10 σ (S/cm)", shapes=[shape],
        annotations=[note])}}


def ternary_figures(data: RunData) -> dict[str, Figure]:
    """A ternary map of the score for each three-member join of the run."""
    figures = {}
    for join in data.spec.get("joins", []):
        members = list(join["end_members"])
        if len(members) != 3:
            continue
        columns = [f"frac_{m}" for m in members]
        rows = data.scored.dropna(subset=columns).merge(data.ranked[["formula", "score"]],
                                                        on="formula", how="left")
        out = rows["score"].isna()
        axes = dict(zip("abc", columns, strict=True))
        traces = [{"type": "scatterternary", "mode": "markers", "name": name,
                   **{k: rounded(part[c]) for k, c in axes.items()},
                   "text": list(part["formula"]), "customdata": rounded(part["score"]),
                   "marker": marker,
                   "hovertemplate": "%{text}<br>" + "<br>".join(
                       f"{m} %{{{k}:.2f}}" for k, m in zip("abc", members, strict=True))
                   + "<br>score %{customdata:.3f}<extra></extra>"}
                  for part, name, marker in (
                      (rows[out], "filtered out", {"color": "#b0b0b0", "symbol": "x"}),
                      (rows[~out], "score", {"color": rounded(rows.loc[~out, "score"]),
                                             "colorscale": "Viridis", "showscale": True,
                                             "size": 9}))]
        name = "-".join(members)
        figures[f"fig-join-{name}"] = {"data": traces, "layout": {
            **_layout(f"Score over the join {name}", "", ""), "height": 460,
            "ternary": {k + "axis": {"title": {"text": m}} for k, m in zip("abc", members,
                                                                             strict=True)}}}
    return figures


def arrhenius_figure(row: pd.Series) -> Figure:
    """log10 D against 1000/T for one ``verified.parquet`` row with its 1-sigma error bars,
    the Arrhenius fit extended to the operating temperature, and the predicted Tg."""
    curve = plots.arrhenius_curve(row)
    traces = [
        {"type": "scatter", "mode": "markers", "name": f"MD ({row['protocol']})",
         "x": rounded(curve["inverse_T"]), "y": rounded(curve["log10_D"]),
         "error_y": {"type": "data", "array": rounded(curve["log10_D_unc"])},
         "text": [f"{t:.0f} K" for t in row["temperatures_K"]],
         "hovertemplate": f"{row['formula']} at %{{text}}<br>log10 D %{{y:.2f}} ± "
                          "%{error_y.array:.2f}<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": f"Ea {row['ea_eV']:.2f} ± "
                                                     f"{row['ea_unc_eV']:.2f} eV",
         "x": rounded(curve["span"]), "y": rounded(curve["fit"]),
         "line": {"dash": "dash", "color": PALETTE[0]},
         "hovertemplate": f"{row['formula']} fit<br>1000/T %{{x:.2f}}<br>log10 D %{{y:.2f}}"
                          "<extra></extra>"},
    ]
    lines = [_vline(1000.0 / row["temperature_K"], "operating T", "black")]
    if pd.notna(row["tg_K"]) and row["tg_K"] > 0:
        lines.append(_vline(1000.0 / row["tg_K"], f"predicted Tg {row['tg_K']:.0f} K",
                            PALETTE[3]))
    title = (f"{row['formula']} ({row['protocol']}): log10 σ({row['temperature_K']:.0f} K) = "
             f"{row['sigma_log10_S_cm_md']:.1f} ± {row['sigma_log10_unc_md']:.1f}")
    return {"data": traces, "layout": _layout(
        title, "1000 / T (1/K)", f"log10 D({row['species']}) (cm²/s)",
        shapes=[s for s, _ in lines], annotations=[n for _, n in lines], height=340)}
