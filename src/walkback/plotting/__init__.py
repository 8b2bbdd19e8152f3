"""Publication-grade figures. matplotlib is imported only when a function here is called.

Every function takes ``ax=`` (creating a figure when omitted) and returns what it drew, so
figures compose into multi-panel layouts. Journal-like defaults come from :func:`style`, a
context manager: nothing changes matplotlib's global settings on import.
"""

from __future__ import annotations

from walkback.plotting._style import COLUMN_WIDTH, PALETTE, style
from walkback.plotting.cost_effectiveness import ce_plane, ceac_plot
from walkback.plotting.forest import forest_plot
from walkback.plotting.km import KMPlot, km_plot, risk_table
from walkback.plotting.mcf import MCFPlot, mcf_plot
from walkback.plotting.reconstruction import reconstruction_overlay
from walkback.plotting.sampling import sampling_distribution
from walkback.plotting.subgroup_forest import subgroup_forest

__all__ = [
    "COLUMN_WIDTH",
    "KMPlot",
    "MCFPlot",
    "PALETTE",
    "ce_plane",
    "ceac_plot",
    "forest_plot",
    "km_plot",
    "mcf_plot",
    "reconstruction_overlay",
    "risk_table",
    "sampling_distribution",
    "style",
    "subgroup_forest",
]
