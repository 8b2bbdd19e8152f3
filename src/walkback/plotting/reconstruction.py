"""Digitised points over the Kaplan-Meier curves of reconstructed participant data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from walkback.plotting._style import PALETTE, _axes


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
