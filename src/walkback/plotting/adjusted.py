"""Covariate-adjusted survival curves (Cox model predictions per arm) with their CI bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from walkback.plotting._style import PALETTE, _axes


@dataclass
class AdjustedPlot:
    """What :func:`adjusted_survival_plot` drew: the axes, one step line and band per curve."""

    ax: Any
    lines: dict[str, Any] = field(default_factory=dict)
    bands: dict[str, Any] = field(default_factory=dict)


def adjusted_survival_plot(
    curves: Mapping[str, Any],
    ax=None,
    *,
    ci: bool = True,
    colors: Sequence[str] = PALETTE,
    time_unit: str = "days",
    ylabel: str = "Predicted proportion event-free",
    title: str | None = None,
    legend_loc: str = "best",
) -> AdjustedPlot:
    """Step curves of ``{label: CoxSurvival}`` (e.g. ``analyze(...).adjusted_survival`` or
    ``fit.predict_survival(values)``, whole curves) from (0, 1), with pointwise CI bands.

    A stratified prediction holds a curve per stratum: pass one stratum's curve per label.
    """
    ax = _axes(ax)
    out = AdjustedPlot(ax)
    for i, (label, c) in enumerate(curves.items()):
        if c.stratum is not None and len(set(c.stratum)) > 1:
            raise ValueError(
                f"curve {label!r} holds {len(set(c.stratum))} strata; plot one stratum per curve "
                "(predict_survival(..., stratum=S))"
            )
        color = colors[i % len(colors)]
        x = np.concatenate(([0.0], c.time))
        y = np.concatenate(([1.0], c.survival))
        (out.lines[label],) = ax.step(x, y, where="post", color=color, label=label)
        if ci:
            lo = np.concatenate(([1.0], c.lower))
            hi = np.concatenate(([1.0], c.upper))
            ok = np.isfinite(lo) & np.isfinite(hi)
            out.bands[label] = ax.fill_between(
                x[ok], lo[ok], hi[ok], step="post", color=color, alpha=0.15, linewidth=0
            )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, None)
    ax.set_xlabel(f"Time since randomisation, {time_unit}")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, loc="left")
    ax.legend(loc=legend_loc, frameon=False)
    return out
