"""Sampling distributions of Monte Carlo replicates."""

from __future__ import annotations

import numpy as np

from walkback.plotting._style import PALETTE, _axes


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
