"""Mean cumulative function per arm: events per participant over time, with CI bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from walkback.plotting._style import COLUMN_WIDTH, PALETTE, _axes


@dataclass
class MCFPlot:
    """What :func:`mcf_plot` drew."""

    ax: Any
    lines: dict[str, Any] = field(default_factory=dict)
    bands: dict[str, Any] = field(default_factory=dict)


def mcf_plot(
    mcfs: Mapping[str, Any],
    ax=None,
    *,
    ci: bool = True,
    colors: Sequence[str] = PALETTE,
    xlabel: str = "Days since randomisation",
    ylabel: str = "Mean events per participant",
    title: str | None = None,
    legend_loc: str = "upper left",
) -> MCFPlot:
    """Step curves of ``{label: MeanCumulativeFunction}`` from 0, with their CI bands (the
    result's log-transformed pointwise CI), each to its last follow-up time."""
    ax = _axes(ax, figsize=(COLUMN_WIDTH, 2.6))
    out = MCFPlot(ax)
    for i, (label, m) in enumerate(mcfs.items()):
        color = colors[i % len(colors)]
        x = np.concatenate(([0.0], m.time))
        y = np.concatenate(([0.0], m.mcf))
        (line,) = ax.step(x, y, where="post", color=color, label=label)
        out.lines[label] = line
        if ci:
            lo = np.concatenate(([0.0], m.lower))
            hi = np.concatenate(([0.0], m.upper))
            out.bands[label] = ax.fill_between(
                x, lo, hi, step="post", color=color, alpha=0.15, linewidth=0
            )
    ax.set_xlim(0, None)
    ax.set_ylim(0, None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, loc="left")
    ax.legend(loc=legend_loc, frameon=False)
    return out
