"""Forest plots of hazard ratios."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from walkback.plotting._style import COLUMN_WIDTH, PALETTE, _axes


# ---- hazard ratios
def forest_plot(
    rows,
    ax=None,
    *,
    ref: float = 1.0,
    xlabel: str = "Hazard ratio (95% CI)",
    favours: tuple[str, str] | None = ("Favours intervention", "Favours control"),
    colors: Sequence[str] = PALETTE,
    annotate: bool = True,
    decimals: int = 2,
):
    """Forest plot of ratios on a log axis from a DataFrame with ``label, estimate, lower,
    upper`` (optional ``group`` colours rows). Returns the axes."""
    ax = _axes(ax, figsize=(COLUMN_WIDTH + 1.2, 0.3 * len(rows) + 0.9))
    groups = list(dict.fromkeys(rows["group"])) if "group" in rows else [None]
    y = np.arange(len(rows))[::-1]
    for yi, (_, r) in zip(y, rows.iterrows(), strict=True):
        color = colors[groups.index(r["group"]) % len(colors)] if "group" in rows else colors[0]
        ax.plot([r["lower"], r["upper"]], [yi, yi], color=color, linewidth=1.0)
        ax.plot(r["estimate"], yi, marker="s", color=color, markersize=4)
        if annotate:
            ax.annotate(
                f"{r['estimate']:.{decimals}f} "
                f"({r['lower']:.{decimals}f} to {r['upper']:.{decimals}f})",
                (1.02, yi),
                xycoords=("axes fraction", "data"),
                va="center",
                fontsize=6.5,
            )
    ax.axvline(ref, color="0.4", linewidth=0.6, linestyle="--")
    ax.set_xscale("log")
    ax.set_yticks(y, list(rows["label"]))
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    lo = min(rows["lower"].min(), ref) * 0.9
    hi = max(rows["upper"].max(), ref) * 1.1
    ax.set_xlim(lo, hi)
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(0.2, 0.3, 0.5, 0.7, 1.0)))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=()))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    if favours:
        ax.annotate(
            f"\u2190 {favours[0]}",
            (ref, -0.9),
            xycoords=("data", "data"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            fontsize=6.5,
            color="0.35",
            annotation_clip=False,
        )
        ax.annotate(
            f"{favours[1]} \u2192",
            (ref, -0.9),
            xycoords=("data", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            ha="left",
            fontsize=6.5,
            color="0.35",
            annotation_clip=False,
        )
        ax.set_ylim(-1.3, len(rows) - 0.5)
    return ax
