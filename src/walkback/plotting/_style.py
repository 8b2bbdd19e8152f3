"""Journal-like style, the palette and the shared axes helper of every figure."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
