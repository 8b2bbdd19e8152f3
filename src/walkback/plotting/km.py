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
    median_labels: dict[str, Any] = field(default_factory=dict)  # the Text of each median
    annotation: str | None = None  # the HR / p text shown with the legend
    table: Any = None  # DataFrame of the numbers shown under the axes


def median_text(m: float) -> str:
    """A median for a label, rounded half up: whole numbers from 100 up (207.5 -> "208"), one
    decimal from 1 (52.5 -> "52.5", 52.0 -> "52"), two below 1."""
    from decimal import ROUND_HALF_UP, Decimal

    step = Decimal("1") if abs(m) >= 100 else Decimal("0.1") if abs(m) >= 1 else Decimal("0.01")
    text = str(Decimal(repr(float(m))).quantize(step, rounding=ROUND_HALF_UP))
    return text[:-2] if text.endswith(".0") else text


def hr_text(
    hr=None, p: float | None = None, *, conf_level: float = 0.95, p_label: str = "p"
) -> str:
    """The annotation over a KM legend: ``HR 0.72 (95% CI 0.60 to 0.85)`` for one
    ``(estimate, lower, upper)``; for a mapping ``{curve: (...)}`` (several arms) the HRs go on
    the curves' legend entries (:func:`hr_entry`) and this line says what they are,
    ``HR (95% CI) vs REFERENCE`` when ``hr`` holds a ``"reference"`` key; then ``p = ...``."""
    lines = []
    level = f"{100 * conf_level:g}% CI"
    if isinstance(hr, Mapping):
        ref = hr.get("reference")
        lines.append(f"HR ({level}) vs {ref}" if ref else f"HR ({level})")
    elif hr is not None:
        est, lo, hi = hr
        lines.append(f"HR {est:.2f} ({level} {lo:.2f} to {hi:.2f})")
    if p is not None:
        lines.append(f"{p_label} = {p:.2g}" if p >= 1e-4 else f"{p_label} = {p:.1e}")
    return "\n".join(lines)


def hr_entry(label: str, hr) -> str:
    """A legend entry carrying its curve's HR: ``Lev+5FU: 0.69 (0.55 to 0.87)``."""
    est, lo, hi = hr
    return f"{label}: {est:.2f} ({lo:.2f} to {hi:.2f})"


def _median_labels(ax, out: KMPlot, km_results, colors, fontsize: float = 6.5) -> None:
    """Rounded median labels by the x axis, left to right; one that would overlap the label to
    its left (width estimated from its characters) goes up a row."""
    fig = ax.figure
    width_pt = ax.get_position().width * fig.get_figwidth() * 72.0
    x0, x1 = ax.get_xlim()
    placed: list[tuple[float, float, int]] = []  # (left, right, row) in points
    order = sorted(
        (m, i, label) for i, (label, m) in enumerate(out.medians.items()) if np.isfinite(m)
    )
    for m, i, label in order:
        text = median_text(m)
        left = (m - x0) / (x1 - x0) * width_pt + 2.0
        right = left + 0.62 * fontsize * len(text)
        row = 0
        while any(r == row and left < b + 2.0 and a < right + 2.0 for a, b, r in placed):
            row += 1
        placed.append((left, right, row))
        out.median_labels[label] = ax.annotate(
            text,
            (m, 0.0),
            xytext=(2, 3 + 8 * row),
            textcoords="offset points",
            fontsize=fontsize,
            color=colors[i % len(colors)],
        )


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
    time_unit: str = "days",
    xlabel: str | None = None,
    ylabel: str = "Proportion event-free",
    title: str | None = None,
    legend_loc: str = "best",
    hr=None,
    p: float | None = None,
    p_label: str = "p",
    conf_level: float = 0.95,
) -> KMPlot:
    """Kaplan-Meier curves (``{label: KaplanMeierResult}``) with CI bands, censoring ticks,
    median lines and an aligned table (at risk, events, censored) under the axes.

    Labels come from the data: the legend from the dict's keys, the x label from ``time_unit``
    ("Time since randomisation, days") unless ``xlabel`` is given. Medians are labelled rounded
    (:func:`median_text`) and kept apart: a label that would touch its left neighbour moves up a
    row. ``hr`` and ``p`` add an annotation above the legend entries (:func:`hr_text`): one
    ``(estimate, lower, upper)``, or ``{curve: (estimate, lower, upper), "reference": name}``
    whose HRs go on the curves' entries; the legend goes where it covers the fewest drawn
    points (``legend_loc="best"``) unless told. The table lives in an axes appended below ``ax``
    with a shared x-axis, so the plot works as one panel of a larger figure.
    """
    if xlabel is None:
        xlabel = f"Time since randomisation, {time_unit}"
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
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, tmax * 1.02)
    if median_lines:
        _median_labels(ax, out, km_results, colors)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, loc="left")
    note = hr_text(hr, p, conf_level=conf_level, p_label=p_label) if hr or p is not None else None
    out.annotation = note or None
    per_curve = hr if isinstance(hr, Mapping) else {}
    names = [
        hr_entry(k, per_curve[k]) if not isinstance(per_curve.get(k, ""), str) else k
        for k in km_results
    ]
    ax.legend(
        out.lines.values(),
        names,
        loc=legend_loc,
        frameon=False,
        title=out.annotation,
        title_fontsize=6.5,
        alignment="left",
    )
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


def km_plot_result(res, ax=None, *, annotate: bool = True, **options) -> KMPlot:
    """:func:`km_plot` of an ``analyze`` result with every label from the data: a curve per arm
    (control last; a numeric arm label reads "trt 2"), the time unit, and with ``annotate`` each
    treatment's Cox HR (on its legend entry for 3+ arms) and the log-rank p."""
    control = res.arm_labels[0]

    def name(label: str) -> str:
        return f"{res.arm_col} {label}" if label.replace(".", "", 1).isdigit() else label

    order = [*res.treatments, control]
    curves = {name(a): res.arms[a].km for a in order}
    if annotate:
        rows = res.hazard_ratios()
        if len(rows) == 1:
            options.setdefault("hr", (rows[0]["estimate"], rows[0]["lower"], rows[0]["upper"]))
        else:
            hr = {name(r["treatment"]): (r["estimate"], r["lower"], r["upper"]) for r in rows}
            options.setdefault("hr", {**hr, "reference": name(control)})
        options.setdefault("p", res.logrank.p)
        options.setdefault("p_label", "log-rank p")
        options.setdefault("conf_level", 1.0 - res.alpha)
    options.setdefault("time_unit", res.time_unit)
    return km_plot(curves, ax, **options)
