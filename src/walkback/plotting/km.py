"""Kaplan-Meier curves with CI bands, censoring ticks, medians and a KMunicate-style table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from walkback.plotting._style import COLUMN_WIDTH, PALETTE, _axes


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
        # the curve's own rule (intervals and weights included); weighted counts stay fractional
        at_risk = km.survival_at(list(times))["n_at_risk"].to_numpy()
        for j, x in enumerate(times):
            before = t < x
            rows.append(
                {
                    "curve": label,
                    "time": float(x),
                    "at_risk": _count(at_risk[j]),
                    "events": _count(km.n_event[before].sum()),
                    "censored": _count(km.n_censor[before].sum()),
                }
            )
    return pd.DataFrame(rows)


def _count(v) -> int | float:
    v = float(v)
    return int(v) if v.is_integer() else round(v, 1)


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
