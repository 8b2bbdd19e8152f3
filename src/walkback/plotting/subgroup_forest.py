"""Subgroup forest plot: events/n per arm, HR with CI per level, the interaction p per variable.

Every label comes from the data (variable names, level values, arm labels); nothing names a
particular trial. Sized for one journal column (3.5 in) at 6-7 pt text.
"""

from __future__ import annotations

import math

from walkback.plotting._style import COLUMN_WIDTH, PALETTE

#: x positions (figure fraction) of the text columns and the plot panel
_LABEL_X = 0.01
_T_X = 0.385  # right edges of the events/n columns
_C_X = 0.495
_PLOT = (0.525, 0.745)  # left, right of the HR axes
_HR_X = 0.995
#: the axis never spans more than this (a CI beyond it ends in an arrow at the edge)
_X_RANGE = (0.05, 20.0)


def _fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _ticks(x0: float, x1: float) -> list[float]:
    """At most five round ticks inside the axis, always including 1."""
    ticks = [v for v in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0) if x0 <= v <= x1]
    while len(ticks) > 5:
        i = ticks.index(1.0)
        ticks = [v for j, v in enumerate(ticks) if (j - i) % 2 == 0]
    return ticks


def _counts(row: dict, arm: str) -> str:
    return f"{row['events'][arm]}/{row['n'][arm]}"


def _lines(res: dict, treatment: str):
    """(kind, text, row-or-None, p) per printed line, top to bottom."""
    control = res["settings"]["control"]
    overall = next(r for r in res["overall"] if r["treatment"] == treatment)
    out = [("overall", "All participants", overall, None)]
    inter = {i["by"]: i for i in res["interaction"]}
    for by in dict.fromkeys(r["by"] for r in res["subgroups"]):
        out.append(("header", str(by), None, inter.get(by, {}).get("p")))
        for r in res["subgroups"]:
            if r["by"] == by and r["treatment"] == treatment:
                out.append(("level", str(r["level"]), r, None))
    return out, control


def subgroup_forest(
    result,
    *,
    treatment: str | None = None,
    width: float = COLUMN_WIDTH,
    xlabel: str = "Hazard ratio (95% CI)",
    color: str = PALETTE[0],
    decimals: int = 2,
):
    """Draw the forest plot of a :class:`~walkback.analysis.subgroups.SubgroupResult` (or its
    ``to_dict()``) for one treatment arm against control; returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    res = result if isinstance(result, dict) else result.to_dict()
    treatments = res["settings"]["treatments"]
    treatment = treatments[0] if treatment is None else str(treatment)
    if treatment not in treatments:
        raise ValueError(f"treatment must be one of {treatments}, got {treatment!r}")
    lines, control = _lines(res, treatment)
    n = len(lines)
    height = 0.16 * (n + 3) + 0.5
    fig = plt.figure(figsize=(width, height))
    bottom, top = 0.62 / height, 1 - 0.34 / height
    ax = fig.add_axes((_PLOT[0], bottom, _PLOT[1] - _PLOT[0], top - bottom))
    ax.set_xscale("log")
    y = list(range(n))[::-1]
    text = {"fontsize": 6.2, "va": "center"}
    tr = ax.get_yaxis_transform()  # x in axes fraction, y in data

    def put(x_fig: float, yi: float, s: str, **kw) -> None:
        x_ax = (x_fig - _PLOT[0]) / (_PLOT[1] - _PLOT[0])
        ax.text(x_ax, yi, s, transform=tr, clip_on=False, **{**text, **kw})

    head = n - 0.1
    put(_LABEL_X, head + 0.9, "Subgroup", fontweight="bold")
    put(_T_X, head + 0.9, str(treatment), ha="right", fontweight="bold")
    put(_C_X, head + 0.9, str(control), ha="right", fontweight="bold")
    put(_C_X, head + 1.55, "events/n", ha="right", color="0.35")
    put(_HR_X, head + 0.9, "HR (95% CI)", ha="right", fontweight="bold")
    drawn = []
    for yi, (kind, label, row, p) in zip(y, lines, strict=True):
        if kind == "header":
            put(_LABEL_X, yi, label, fontweight="bold")
            put(_HR_X, yi, f"interaction {_fmt_p(p)}", ha="right", color="0.35", fontsize=5.6)
            continue
        indent = "   " if kind == "level" else ""
        put(_LABEL_X, yi, indent + label, fontweight="bold" if kind == "overall" else None)
        put(_T_X, yi, _counts(row, treatment), ha="right")
        put(_C_X, yi, _counts(row, control), ha="right")
        hr, lo, hi = row["hazard_ratio"], row["lower"], row["upper"]
        if hr is None:
            put(_HR_X, yi, "not estimable", ha="right", color="0.35")
            continue
        drawn.append((yi, hr, lo, hi, "D" if kind == "overall" else "s"))
        put(_HR_X, yi, f"{hr:.{decimals}f} ({lo:.{decimals}f}-{hi:.{decimals}f})", ha="right")
    x0, x1 = 0.5, 2.0
    if drawn:
        x0 = max(min(min(d[2] for d in drawn), 1.0), _X_RANGE[0])
        x1 = min(max(max(d[3] for d in drawn), 1.0), _X_RANGE[1])
        pad = (x1 / x0) ** 0.05
        x0, x1 = x0 / pad, x1 * pad
    ax.set_xlim(x0, x1)
    for yi, hr, lo, hi, marker in drawn:
        ax.plot([max(lo, x0), min(hi, x1)], [yi, yi], color=color, linewidth=0.9)
        ax.plot(hr, yi, marker=marker, color=color, markersize=3.6 if marker == "D" else 3.2)
        for edge, beyond, m in ((x0, lo < x0, "<"), (x1, hi > x1, ">")):
            if beyond:
                ax.plot(edge, yi, marker=m, color=color, markersize=2.6, clip_on=False)
    overall = next((r for k, _, r, _ in lines if k == "overall"), None)
    if overall and overall["hazard_ratio"] is not None:
        ax.axvline(overall["hazard_ratio"], color=color, linewidth=0.5, linestyle=":")
    ax.axvline(1.0, color="0.3", linewidth=0.6)
    ax.set_ylim(-0.7, n - 0.3)
    ax.yaxis.set_major_locator(NullLocator())
    ax.xaxis.set_major_locator(FixedLocator(_ticks(x0, x1)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.tick_params(axis="x", labelsize=6, length=2, width=0.5, pad=1.5)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(0.5)
    ax.set_xlabel(xlabel, fontsize=6.2, labelpad=1.5)
    for dx, label, ha in (
        (-3, f"\u2190 {treatment} better", "right"),
        (3, f"{control} better \u2192", "left"),
    ):
        ax.annotate(
            label,
            (1.0, 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(dx, -25),
            textcoords="offset points",
            fontsize=5.4,
            color="0.35",
            ha=ha,
            va="top",
            annotation_clip=False,
        )
    return fig
