"""Scaled Schoenfeld residuals against time, one panel per term, as R ``plot(cox.zph(fit))``.

Each panel shows the residuals (beta(t) estimates at the event times), the natural-spline smooth
with its +/- 2 SE band, the fitted coefficient as a dashed line and the term's cox.zph test. A
flat smooth around the coefficient means proportional hazards; a trend means the effect changes
with time. The x axis is the transformed time of the test (KM, rank, identity or log) labelled
in the data's own time unit, as R labels it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from walkback.plotting._style import COLUMN_WIDTH, PALETTE


@dataclass
class SchoenfeldPanel:
    """What :func:`schoenfeld_plot` drew for one term (arrays are the plotted data)."""

    term: str
    ax: Any
    x: np.ndarray  # residual positions (transformed time; time itself for identity and log)
    residuals: np.ndarray
    smooth_x: np.ndarray
    smooth: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    coef: float | None  # the fitted coefficient line (None for a multi-column term: 1)
    ticks: list[float] = field(default_factory=list)
    tick_labels: list[str] = field(default_factory=list)
    artists: dict[str, Any] = field(default_factory=dict)


def _time_ticks(x: np.ndarray, time: np.ndarray) -> tuple[list[float], list[str]]:
    """R plot.cox.zph's axis: 8 points spread over the transformed axis, their times rounded to
    2 significant digits, placed back on the transformed axis (those inside the data)."""
    _, first = np.unique(x, return_index=True)
    keep = np.sort(first)
    xs, ts = x[keep], time[keep]
    order = np.argsort(xs)
    xs, ts = xs[order], ts[order]
    grid = np.linspace(x.min(), x.max(), 17)[1::2]
    approx = np.interp(grid, xs, ts)
    rounded = np.array([float(f"{v:.2g}") for v in approx])
    t_order = np.argsort(ts, kind="stable")
    at = np.interp(rounded, ts[t_order], xs[t_order])
    ok = (rounded >= ts.min()) & (rounded <= ts.max())
    labels = [f"{v:g}" for v in rounded]
    return [float(a) for a in at[ok]], [lab for lab, k in zip(labels, ok, strict=True) if k]


def schoenfeld_plot(
    fit,
    ax=None,
    *,
    transform: str = "km",
    terms: Sequence[str] | None = None,
    term_groups=None,
    df: int = 4,
    nsmo: int = 40,
    time_unit: str | None = None,
    color: str = PALETTE[0],
) -> list[SchoenfeldPanel]:
    """Scaled Schoenfeld residuals of a Cox fit against time, one panel per term.

    Parameters
    ----------
    fit : CoxResult
        A fitted model (``walkback.estimators.cox`` or ``analyze(...).cox``).
    ax : matplotlib Axes or sequence of Axes, optional
        One axes per term drawn; default a new figure at journal column width, panels stacked.
    transform : {"km", "rank", "identity", "log"}
        cox.zph's time transform (R default "km").
    terms : sequence of str, optional
        Which terms to draw (default all); names as in ``fit.schoenfeld().terms``.
    term_groups : mapping, optional
        Term name -> coefficient indices, passed to :meth:`CoxResult.schoenfeld`.
    df, nsmo : int
        Degrees of freedom of the natural-spline smooth and its grid size (R's defaults 4, 40).
    time_unit : str, optional
        The data's time unit for the x label ("Time, days"); default "Time".
    """
    import matplotlib.pyplot as plt

    from walkback.estimators.schoenfeld import zph_smooth

    res = fit.schoenfeld(transform, term_groups)
    names = list(res.terms if terms is None else terms)
    for t in names:
        if t not in res.terms:
            raise ValueError(f"unknown term {t!r}; the model's terms are {list(res.terms)}")
    if ax is None:
        _, axes = plt.subplots(
            len(names),
            1,
            figsize=(COLUMN_WIDTH, 1.9 * len(names) + 0.3),
            layout="constrained",
            squeeze=False,
        )
        axes = list(axes[:, 0])
    else:
        axes = list(np.atleast_1d(ax)) if isinstance(ax, Sequence | np.ndarray) else [ax]
    if len(axes) != len(names):
        raise ValueError(f"got {len(axes)} axes for {len(names)} terms; pass one per term")
    groups = _groups(fit, term_groups)
    tests = {r["term"]: r for r in fit.zph(transform, groups)["terms"]}
    xlabel = f"Time, {time_unit}" if time_unit else "Time"
    panels = []
    for name, a in zip(names, axes, strict=True):
        i = res.terms.index(name)
        sm = zph_smooth(res, name, df=df, nsmo=nsmo)
        y = res.y[:, i]
        keep = ~np.isnan(y)
        x, gx = res.x[keep], sm.x
        if transform == "log":
            x, gx = np.exp(x), np.exp(gx)
            a.set_xscale("log")
        multi = len(groups[name]) > 1
        coef = None if multi else float(fit.coef[groups[name][0]])
        art = {
            "residuals": a.plot(
                x, y[keep], linestyle="none", marker="o", markersize=2.2, markeredgewidth=0,
                color="0.45", alpha=0.7,
            )[0],
            "band": a.fill_between(gx, sm.lower, sm.upper, color=color, alpha=0.18, linewidth=0),
            "smooth": a.plot(gx, sm.fit, color=color, linewidth=1.3)[0],
            "coef": a.axhline(1.0 if multi else coef, color="0.2", linestyle="--", linewidth=0.7),
        }  # fmt: skip
        panel = SchoenfeldPanel(
            name, a, x, y[keep], gx, sm.fit, sm.lower, sm.upper, coef, artists=art
        )
        if transform in ("km", "rank"):
            panel.ticks, panel.tick_labels = _time_ticks(res.x, res.time)
            a.set_xticks(panel.ticks, panel.tick_labels)
        test = tests[name]
        a.set_title(
            f"{name}: cox.zph chi-square {test['chisq']:.2f}, df {test['df']}, p = {test['p']:.2g}",
            loc="left",
        )
        a.set_ylabel(f"Beta(t) for {name}" if not multi else f"Beta(t), {name} (linear pred.)")
        a.set_xlabel(xlabel)
        panels.append(panel)
    return panels


def _groups(fit, term_groups) -> dict:
    if term_groups is not None:
        return {k: list(v) for k, v in dict(term_groups).items()}
    return {t.name: [fit.terms.index(c) for c in t.columns] for t in fit.model_terms}
