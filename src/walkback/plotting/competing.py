"""Stacked cumulative incidence: per arm, each cause's incidence stacked; the rest event-free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from walkback.plotting._style import COLUMN_WIDTH, PALETTE


@dataclass
class CIFStackPlot:
    """What :func:`cif_stack` drew: the figure, one axes per arm and the filled areas."""

    figure: Any
    axes: dict[str, Any] = field(default_factory=dict)
    areas: dict[tuple[str, str], Any] = field(default_factory=dict)


def cif_stack(
    curves: Mapping[str, Mapping[str, Any]],
    axes: Sequence[Any] | None = None,
    *,
    colors: Sequence[str] = PALETTE,
    xlabel: str = "Time",
    ylabel: str = "Cumulative incidence",
    cause_labels: Mapping[str, str] | None = None,
    legend_title: str | None = "cause",
) -> CIFStackPlot:
    """One panel per arm (``{arm label: {cause label: CIFResult}}``): the cumulative incidence
    of each cause stacked in the given order, so the top edge is the probability of any event and
    the white space above it the probability of being event-free.

    ``axes`` (one per arm) lets the panels sit in a larger figure; by default a row of panels
    sharing the y axis is created. Titles, legend entries and colours come from the keys.
    """
    import matplotlib.pyplot as plt

    arms = list(curves)
    if not arms:
        raise ValueError("cif_stack needs at least one arm")
    if axes is None:
        fig, ax_row = plt.subplots(
            1,
            len(arms),
            figsize=(COLUMN_WIDTH * len(arms) * 0.75, 2.6),
            sharey=True,
            layout="constrained",
            squeeze=False,
        )
        axes = list(ax_row[0])
    else:
        axes = list(axes)
        if len(axes) != len(arms):
            raise ValueError(f"need one axes per arm ({len(arms)}), got {len(axes)}")
        fig = axes[0].figure
    out = CIFStackPlot(fig)
    tmax = max(max(c.last_time for c in per.values()) for per in curves.values())
    labels = dict(cause_labels or {})
    for ax, arm in zip(axes, arms, strict=True):
        per = curves[arm]
        last = max(c.last_time for c in per.values())
        grid = np.unique(np.concatenate([[0.0, last], *[c.time for c in per.values()]]))
        base = np.zeros(grid.size)
        for i, (cause, curve) in enumerate(per.items()):
            top = base + curve.at(grid)["cif"].to_numpy()
            out.areas[(arm, cause)] = ax.fill_between(
                grid,
                base,
                top,
                step="post",
                color=colors[i % len(colors)],
                alpha=0.85,
                linewidth=0,
                label=labels.get(cause, cause),
            )
            ax.step(grid, top, where="post", color="white", linewidth=0.5)
            base = top
        ax.set_xlim(0, tmax)
        ax.set_ylim(0, 1)
        ax.set_title(arm)
        ax.set_xlabel(xlabel)
        out.axes[arm] = ax
    axes[0].set_ylabel(ylabel)
    handles, names = axes[0].get_legend_handles_labels()
    axes[-1].legend(handles[::-1], names[::-1], loc="upper left", frameon=False, title=legend_title)
    return out
