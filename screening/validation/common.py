"""Shared pieces of the validation report: Markdown tables and parity plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FIGURES = "figures"


def markdown(table: pd.DataFrame, floatfmt: str = ".3g") -> str:
    """A GitHub Markdown table; missing values are blank."""
    blanked = table.astype(object).where(table.notna(), None)  # tabulate blanks only None
    return blanked.to_markdown(index=False, floatfmt=floatfmt, missingval="")


def parity(ax: plt.Axes, measured: np.ndarray, predicted: np.ndarray, title: str,
           unit: str) -> None:
    """Predicted against measured with the identity line."""
    lo = float(np.nanmin([np.nanmin(measured), np.nanmin(predicted)]))
    hi = float(np.nanmax([np.nanmax(measured), np.nanmax(predicted)]))
    ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
    ax.scatter(measured, predicted, s=8, alpha=0.5)
    ax.set(title=title, xlabel=f"measured {unit}", ylabel=f"predicted {unit}")


def save(fig: plt.Figure, path: object) -> None:
    """Write a figure as PNG and close it."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
