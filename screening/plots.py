"""The plots a researcher looks at first after a run (PNG, matplotlib's Agg backend).

- ``conductivity_vs_o.png``: predicted log10 sigma against O per centre, one line per
  centre/halogen family and one panel per alkali, with the 1-sigma band.
- ``tg_vs_o.png``: Tg against O per centre, the operating temperature marked (gaps where the
  composition forms no glass).
- ``glass_vs_o.png``: the probability of glass formation against O per centre, 0.5 marked.
- ``pareto.png``: conductivity against Tg for every scored row, the Pareto front highlighted.
- ``join_<end members>.png``: for join runs with three end members, a ternary map of the score.
- ``arrhenius_<formula>_<protocol>.png``: after ``viglas verify``, the MD diffusivities of each
  verified candidate against 1000/T with the Arrhenius fit extended to the operating temperature
  (the predicted Tg marked: below it the liquid's line no longer holds).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from screening import store  # noqa: E402

#: Families drawn per panel (the best by score); more lines than this stop being readable.
MAX_FAMILIES = 8
#: eV/K.
BOLTZMANN_EV_K = 8.617333262e-5


def load_run(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """All scored candidates (candidates joined to scores), the ranked table and the spec."""
    scored = pd.read_parquet(run_dir / "candidates.parquet").merge(
        pd.read_parquet(run_dir / "scores.parquet"), on="formula")
    return scored, pd.read_parquet(run_dir / "ranked.parquet"), store.read_toml(
        run_dir / "spec.toml")


def families(scored: pd.DataFrame, ranked: pd.DataFrame) -> pd.DataFrame:
    """The grid rows of the best :data:`MAX_FAMILIES` centre/halogen/chalcogen families (by their
    best score; the most populous when nothing is ranked), with a ``family`` column."""
    grid = scored[scored["source"] == "grid"].copy()
    grid["family"] = grid["metal"] + "-" + grid["halogen"] + " (" + grid["chalcogen"] + ")"
    best = ranked.assign(family=ranked["metal"] + "-" + ranked["halogen"] + " ("
                         + ranked["chalcogen"] + ")").groupby("family")["score"].max()
    keep = best.sort_values(ascending=False).index[:MAX_FAMILIES]
    if len(keep) == 0:
        keep = grid["family"].value_counts().index[:MAX_FAMILIES]
    return grid[grid["family"].isin(keep)]


def family_curves(grid: pd.DataFrame, columns: list[str]
                  ) -> dict[str, tuple[float, dict[str, pd.DataFrame]]]:
    """Per alkali: its most common alkali content and, per family at that content, the mean of
    ``columns`` at each chalcogen content (the index, ascending) with the first ``formula``."""
    curves = {}
    for alkali in sorted(grid["alkali"].unique()):
        sub = grid[grid["alkali"] == alkali]
        a_ref = sub["a_per_m"].mode().iloc[0]
        per_family = {}
        for family, rows in sub[sub["a_per_m"] == a_ref].groupby("family"):
            x = "o_per_m" if rows["chalcogen"].iloc[0] != "S" else "s_per_m"
            per_family[family] = rows.groupby(x).agg(
                formula=("formula", "first"), **{c: (c, "mean") for c in columns}).sort_index()
        curves[alkali] = (float(a_ref), per_family)
    return curves


def _per_o_panels(grid: pd.DataFrame, column: str, unc: str | None, ylabel: str,
                  path: Path, hline: float | None = None, hlabel: str = "") -> Path:
    curves = family_curves(grid, [column, *([unc] if unc else [])])
    fig, axes = plt.subplots(1, max(1, len(curves)), figsize=(5 * max(1, len(curves)), 4),
                             sharey=True, squeeze=False)
    for ax, (alkali, (a_ref, per_family)) in zip(axes[0], curves.items(), strict=False):
        for family, rows in per_family.items():
            line = ax.plot(rows.index, rows[column], marker=".", label=family)[0]
            if unc:
                ax.fill_between(rows.index, rows[column] - rows[unc], rows[column] + rows[unc],
                                color=line.get_color(), alpha=0.15)
        if hline is not None:
            ax.axhline(hline, color="k", linestyle="--", linewidth=1, label=hlabel)
        ax.set_title(f"{alkali}, {a_ref:g} {alkali} per centre")
        ax.set_xlabel("chalcogen per centre (x)")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _pareto(scored: pd.DataFrame, ranked: pd.DataFrame, path: Path, temperature_K: float) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(scored["tg_K"], scored["sigma_log10_S_cm"], s=6, c="0.75", label="all scored")
    ax.scatter(ranked["tg_K"], ranked["sigma_log10_S_cm"], s=8, c="tab:blue",
               label="pass filters")
    front = ranked[ranked["pareto"]]
    ax.scatter(front["tg_K"], front["sigma_log10_S_cm"], s=30, c="tab:red", marker="*",
               label="Pareto front")
    for _, row in front.nsmallest(5, "rank").iterrows():
        ax.annotate(row["formula"], (row["tg_K"], row["sigma_log10_S_cm"]), fontsize=7)
    ax.axvline(temperature_K, color="k", linestyle="--", linewidth=1, label="operating T")
    ax.set_xlabel("Tg (K)")
    ax.set_ylabel("log10 sigma (S/cm)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _ternary(scored: pd.DataFrame, ranked: pd.DataFrame, columns: list[str], path: Path) -> Path:
    rows = scored.dropna(subset=columns).merge(ranked[["formula", "score"]], on="formula",
                                               how="left")
    f = rows[columns].to_numpy(float)
    x, y = f[:, 1] + f[:, 2] / 2, f[:, 2] * np.sqrt(3) / 2
    fig, ax = plt.subplots(figsize=(6, 5.2))
    ax.plot([0, 1, 0.5, 0], [0, 0, np.sqrt(3) / 2, 0], color="k", linewidth=1)
    out = rows["score"].isna().to_numpy()
    ax.scatter(x[out], y[out], s=14, c="0.8", marker="x", label="filtered out")
    points = ax.scatter(x[~out], y[~out], s=22, c=rows["score"][~out], cmap="viridis")
    fig.colorbar(points, ax=ax, label="score")
    names = [c.removeprefix("frac_") for c in columns]
    for (px, py), name in zip([(0, 0), (1, 0), (0.5, np.sqrt(3) / 2)], names, strict=True):
        ax.annotate(name, (px, py), ha="center", va="bottom" if py else "top", fontsize=10)
    ax.set_axis_off()
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def arrhenius_curve(row: pd.Series) -> dict[str, np.ndarray]:
    """The points and fit of one ``verified.parquet`` row against ``inverse_T`` = 1000/T (1/K):
    ``log10_D`` with its 1-sigma ``log10_D_unc`` at the MD temperatures, and the Arrhenius
    line ``fit`` over ``span``, from the hottest MD temperature to the operating temperature."""
    temperatures = np.asarray(row["temperatures_K"], dtype=float)
    d = np.asarray(row["D_cm2_s"], dtype=float)
    d_unc = np.asarray(row["D_unc_cm2_s"], dtype=float)
    span = np.linspace(1000.0 / temperatures.max(), 1000.0 / row["temperature_K"], 50)
    return {"inverse_T": 1000.0 / temperatures, "log10_D": np.log10(d),
            "log10_D_unc": d_unc / (d * np.log(10.0)), "span": span,
            "fit": row["log10_D0_cm2_s"] - row["ea_eV"] * span / (BOLTZMANN_EV_K * 1000.0
                                                                   * np.log(10.0))}


def arrhenius(row: pd.Series, path: Path) -> Path:
    """log10 D against 1000/T for one ``verified.parquet`` row, the fit and its extrapolation."""
    curve = arrhenius_curve(row)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.errorbar(curve["inverse_T"], curve["log10_D"], yerr=curve["log10_D_unc"], fmt="o",
                color="tab:blue", capsize=3, label=f"MD ({row['protocol']}, {row['potential']})")
    ax.plot(curve["span"], curve["fit"], color="tab:blue", linestyle="--",
            label=f"Ea = {row['ea_eV']:.2f} +- {row['ea_unc_eV']:.2f} eV")
    ax.axvline(1000.0 / row["temperature_K"], color="k", linewidth=1, label="operating T")
    if pd.notna(row["tg_K"]) and row["tg_K"] > 0:
        ax.axvline(1000.0 / row["tg_K"], color="tab:red", linestyle=":", label="predicted Tg")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel(f"log10 D({row['species']}) (cm2/s)")
    ax.set_title(f"{row['formula']}: log10 sigma({row['temperature_K']:.0f} K) = "
                 f"{row['sigma_log10_S_cm_md']:.1f} +- {row['sigma_log10_unc_md']:.1f}",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_run(run_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Write the run's plots (see the module docstring) into ``out_dir`` [run_dir/plots]."""
    out_dir = out_dir or run_dir / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    scored, ranked, spec = load_run(run_dir)
    temperature_K = float(spec.get("temperature_C", 25.0)) + 273.15
    written = []
    grid = families(scored, ranked)
    if not grid.empty:
        written.append(_per_o_panels(grid, "sigma_log10_S_cm", "sigma_log10_unc",
                                     "log10 sigma (S/cm)", out_dir / "conductivity_vs_o.png"))
        written.append(_per_o_panels(grid, "tg_K", "tg_K_unc", "Tg (K)", out_dir / "tg_vs_o.png",
                                     hline=temperature_K, hlabel="operating T"))
        if "p_glass" in grid:
            written.append(_per_o_panels(grid, "p_glass", None, "p_glass",
                                         out_dir / "glass_vs_o.png", hline=0.5,
                                         hlabel="glass-forming threshold"))
    written.append(_pareto(scored, ranked, out_dir / "pareto.png", temperature_K))
    for join in spec.get("joins", []):
        columns = [f"frac_{m}" for m in join["end_members"]]
        if len(columns) == 3:
            name = "-".join(join["end_members"])
            written.append(_ternary(scored, ranked, columns, out_dir / f"join_{name}.png"))
    if (run_dir / "verified.parquet").exists():
        for _, row in pd.read_parquet(run_dir / "verified.parquet").iterrows():
            name = f"arrhenius_{row['formula']}_{row['protocol']}.png"
            written.append(arrhenius(row, out_dir / name))
    return written
