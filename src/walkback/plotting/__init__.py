"""Publication-grade figures. matplotlib is imported only when a function here is called.

Every function takes ``ax=`` (creating a figure when omitted) and returns what it drew, so
figures compose into multi-panel layouts. Journal-like defaults come from :func:`style`, a
context manager: nothing changes matplotlib's global settings on import.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PALETTE = ("#1b6ca8", "#c8553d", "#2a9d8f", "#8e5572", "#e9a03b", "#4d4d4d")
JOURNAL = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.2,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "figure.dpi": 110,
    "svg.hashsalt": "walkback",  # deterministic SVG ids
    "pdf.fonttype": 42,
}
#: a single journal column is about 3.5 inches wide
COLUMN_WIDTH = 3.5


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Journal-like matplotlib settings for the duration of a ``with`` block."""
    import matplotlib as mpl

    with mpl.rc_context(JOURNAL):
        yield


def _axes(ax, figsize=(COLUMN_WIDTH, 2.6)):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


# ---- Kaplan-Meier with a KMunicate-style table
@dataclass
class KMPlot:
    """What :func:`km_plot` drew."""

    ax: Any
    table_ax: Any | None
    lines: dict[str, Any] = field(default_factory=dict)
    bands: dict[str, Any] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    table: Any = None  # DataFrame of the numbers shown under the axes


def risk_table(km_results: Mapping[str, Any], times: Sequence[float]):
    """Per curve and time t: number at risk at t, and events and censorings before t (so the
    three add up to the curve's participants, as in the KMunicate layout)."""
    import pandas as pd

    rows = []
    for label, km in km_results.items():
        t = np.asarray(km.time)
        for x in times:
            before = t < x
            rows.append(
                {
                    "curve": label,
                    "time": float(x),
                    "at_risk": int(km.n - np.searchsorted(km._sorted_time, x, side="left")),
                    "events": int(km.n_event[before].sum()),
                    "censored": int(km.n_censor[before].sum()),
                }
            )
    return pd.DataFrame(rows)


def km_plot(
    km_results: Mapping[str, Any],
    ax=None,
    *,
    times: Sequence[float] | None = None,
    ci: bool = True,
    censor_marks: bool = True,
    median_lines: bool = True,
    table: bool = True,
    table_rows: Sequence[str] = ("at_risk", "events", "censored"),
    colors: Sequence[str] = PALETTE,
    xlabel: str = "Days since randomisation",
    ylabel: str = "Proportion without event",
    title: str | None = None,
    legend_loc: str = "upper right",
) -> KMPlot:
    """Kaplan-Meier curves (``{label: KaplanMeierResult}``) with CI bands, censoring ticks,
    median lines and an aligned table (at risk, events, censored) under the axes.

    The table lives in an axes appended below ``ax`` with a shared x-axis, so the plot works as
    one panel of a larger figure.
    """
    ax = _axes(ax, figsize=(COLUMN_WIDTH, 3.9 if table else 2.6))
    out = KMPlot(ax, None)
    tmax = max(float(np.max(km.time)) for km in km_results.values())
    for i, (label, km) in enumerate(km_results.items()):
        color = colors[i % len(colors)]
        x = np.concatenate(([0.0], km.time))
        y = np.concatenate(([1.0], km.survival))
        (line,) = ax.step(x, y, where="post", color=color, label=label)
        out.lines[label] = line
        if ci:
            lo = np.concatenate(([1.0], np.nan_to_num(km.lower, nan=np.nan)))
            hi = np.concatenate(([1.0], km.upper))
            ok = np.isfinite(lo) & np.isfinite(hi)
            out.bands[label] = ax.fill_between(
                x[ok], lo[ok], hi[ok], step="post", color=color, alpha=0.15, linewidth=0
            )
        if censor_marks:
            c = km.n_censor > 0
            ax.plot(
                km.time[c],
                km.survival[c],
                linestyle="none",
                marker="|",
                markersize=4,
                markeredgewidth=0.7,
                color=color,
            )
        m = km.median.estimate
        out.medians[label] = m
        if median_lines and np.isfinite(m):
            ax.plot([0, m, m], [0.5, 0.5, 0.0], color=color, linestyle=":", linewidth=0.8)
            ax.annotate(
                f"{m:g}",
                (m, 0.0),
                xytext=(2, 3 + 8 * i),  # staggered: close medians stay legible
                textcoords="offset points",
                fontsize=6.5,
                color=color,
            )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, tmax * 1.02)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, loc="left")
    ax.legend(loc=legend_loc, frameon=False)
    if times is None:
        ticks = [t for t in ax.get_xticks() if 0 <= t <= tmax]
    else:
        ticks = list(times)
        ax.set_xticks(ticks)
    if not table:
        ax.set_xlabel(xlabel)
        return out
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    tab = risk_table(km_results, ticks)
    out.table = tab
    per_arm = len(table_rows) + 1  # a header row with the curve's name, then the numbers
    nrow = len(km_results) * per_arm
    tax = make_axes_locatable(ax).append_axes("bottom", size=0.13 * nrow + 0.1, pad=0.42, sharex=ax)
    out.table_ax = tax
    ax.set_xlabel(xlabel)
    ax.tick_params(labelbottom=True)
    tax.set_ylim(nrow - 0.5, -0.5)
    for side in ("top", "right", "bottom", "left"):
        tax.spines[side].set_visible(False)
    tax.tick_params(axis="x", bottom=False, labelbottom=False)
    names = {"at_risk": "At risk", "events": "Events", "censored": "Censored"}
    labels, colours, r = [], [], 0
    for i, label in enumerate(km_results):
        color = colors[i % len(colors)]
        tax.text(
            0.0,
            r,
            label,
            transform=tax.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=6.5,
            fontweight="bold",
            color=color,
        )
        labels.append("")
        colours.append(color)
        r += 1
        sub = tab[tab.curve == label]
        for key in table_rows:
            labels.append(names[key])
            colours.append(color)
            for _, row in sub.iterrows():
                tax.text(
                    row.time,
                    r,
                    f"{row[key]:d}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color=color,
                )
            r += 1
    tax.set_yticks(range(nrow), labels)
    tax.tick_params(axis="y", length=0, pad=14, labelsize=6.5)
    for tick, color in zip(tax.get_yticklabels(), colours, strict=True):
        tick.set_color(color)
    return out


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


# ---- cost-effectiveness
def ce_plane(
    boot,
    ax=None,
    *,
    wtp: float | None = None,
    currency: str = "AU$",
    max_points: int = 2000,
    color: str = PALETTE[0],
    legend_loc: str = "best",
):
    """Cost-effectiveness plane: bootstrap (dQALY, dCost) pairs (at most ``max_points`` drawn;
    the legend says how many), the point estimate and a willingness-to-pay line."""
    ax = _axes(ax)
    k = min(max_points, boot.d_qaly.size)
    shown = "" if k == boot.resamples else f"{k:,} of "
    ax.scatter(
        boot.d_qaly[:k],
        boot.d_cost[:k],
        s=2,
        alpha=0.25,
        color=color,
        linewidths=0,
        rasterized=True,
        label=f"bootstrap ({shown}{boot.resamples:,} resamples)",
    )
    ax.plot(
        boot.point.d_qaly,
        boot.point.d_cost,
        marker="o",
        color="k",
        markersize=4,
        label=f"ICER {currency}{boot.point.icer:,.0f}/QALY",
    )
    ax.axhline(0, color="0.5", linewidth=0.5)
    ax.axvline(0, color="0.5", linewidth=0.5)
    if wtp is not None:
        xs, ys = np.array(ax.get_xlim()), ax.get_ylim()
        ax.plot(
            xs,
            wtp * xs,
            color=PALETTE[1],
            linestyle="--",
            linewidth=0.8,
            label=f"{currency}{wtp:,.0f} per QALY",
        )
        ax.set_xlim(*xs)
        ax.set_ylim(*ys)  # the threshold line should not stretch the cloud flat
    ax.set_xlabel("Incremental QALYs")
    ax.set_ylabel(f"Incremental cost ({currency})")
    ax.legend(frameon=False, loc=legend_loc)
    return ax


def ceac_plot(
    boot,
    ax=None,
    *,
    wtp=None,
    mark: float | None = None,
    currency: str = "AU$",
    color: str = PALETTE[0],
    label: str | None = None,
):
    """Cost-effectiveness acceptability curve; ``mark`` draws the probability at a threshold.
    ``label`` names the curve in a legend (to overlay several analyses on one axes)."""
    ax = _axes(ax)
    curve = boot.ceac(wtp)
    ax.plot(curve.wtp, curve.prob_cost_effective, color=color, label=label)
    if mark is not None:
        p = boot.prob_cost_effective(mark)
        ax.plot([mark, mark, 0], [0, p, p], color=PALETTE[1], linestyle=":", linewidth=0.8)
        shown = f"{p:.0%}" if 0.005 <= p <= 0.995 else f"{100 * p:.1f}%"  # never "100%"
        ax.annotate(
            f"{shown} at {currency}{mark:,.0f}",
            (mark, p),
            xytext=(4, -10),
            textcoords="offset points",
            fontsize=6.5,
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, float(np.max(curve.wtp)))
    ax.set_xlabel(f"Willingness to pay per QALY ({currency})")
    ax.set_ylabel("Probability cost-effective")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
    return ax


# ---- simulation studies
def sampling_distribution(
    values,
    ax=None,
    *,
    published: float | None = None,
    truth: float | None = None,
    label: str = "",
    bins=50,
    color: str = PALETTE[0],
    legend_loc: str = "upper right",
):
    """Histogram of a Monte Carlo sampling distribution, the published value and the truth.
    ``bins`` is a count or the bin edges (e.g. whole days for medians)."""
    ax = _axes(ax)
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    ax.hist(v, bins=bins, color=color, alpha=0.7, edgecolor="white", linewidth=0.3)
    if published is not None:
        ax.axvline(published, color=PALETTE[1], linewidth=1.0, label=f"published {published:g}")
    if truth is not None:
        ax.axvline(truth, color="k", linewidth=0.8, linestyle="--", label=f"generating {truth:g}")
    ax.set_xlabel(label)
    ax.set_ylabel("Replicates")
    if published is not None or truth is not None:
        ax.legend(frameon=False, loc=legend_loc)
    return ax


# ---- reconstruction
def reconstruction_overlay(
    curve,
    ipd,
    ax=None,
    *,
    colors: Sequence[str] = PALETTE,
    xlabel: str = "Time",
    conf_type: str = "log",
):
    """Digitised points (markers) over the Kaplan-Meier curves of the reconstructed data
    (lines), per arm. ``curve``: arm, time, survival; ``ipd``: arm, time, event."""
    from walkback.estimators import kaplan_meier

    ax = _axes(ax)
    for i, arm in enumerate(dict.fromkeys(curve["arm"])):
        color = colors[i % len(colors)]
        pts = curve[curve["arm"] == arm]
        d = ipd[ipd["arm"] == arm]
        km = kaplan_meier(d["time"], d["event"], conf_type=conf_type)
        ax.step(
            np.concatenate(([0.0], km.time)),
            np.concatenate(([1.0], km.survival)),
            where="post",
            color=color,
            label=f"{arm}: reconstructed",
        )
        ax.plot(
            pts["time"],
            pts["survival"],
            linestyle="none",
            marker="o",
            markersize=2.2,
            markerfacecolor="none",
            markeredgewidth=0.5,
            color=color,
            label=f"{arm}: digitised",
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Survival")
    ax.legend(frameon=False)
    return ax


__all__ = [
    "COLUMN_WIDTH",
    "KMPlot",
    "PALETTE",
    "ce_plane",
    "ceac_plot",
    "forest_plot",
    "km_plot",
    "reconstruction_overlay",
    "risk_table",
    "sampling_distribution",
    "style",
]
