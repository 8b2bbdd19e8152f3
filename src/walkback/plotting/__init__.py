"""Publication-grade figures. matplotlib is imported only when a function here is called.

Every function takes ``ax=`` (creating a figure when omitted) and returns what it drew, so
figures compose into multi-panel layouts. Journal-like defaults come from :func:`style`, a
context manager: nothing changes matplotlib's global settings on import.
"""

from __future__ import annotations

from walkback.plotting._style import COLUMN_WIDTH, PALETTE, style
from walkback.plotting.adjusted import AdjustedPlot, adjusted_survival_plot
from walkback.plotting.competing import CIFStackPlot, cif_stack
from walkback.plotting.cost_effectiveness import ce_plane, ceac_plot
from walkback.plotting.forest import forest_plot
from walkback.plotting.km import KMPlot, km_plot, km_plot_result, risk_table
from walkback.plotting.mcf import MCFPlot, mcf_plot
from walkback.plotting.reconstruction import reconstruction_overlay
from walkback.plotting.sampling import sampling_distribution
from walkback.plotting.schoenfeld import SchoenfeldPanel, schoenfeld_plot
from walkback.plotting.subgroup_forest import subgroup_forest

__all__ = [
    "AdjustedPlot",
    "COLUMN_WIDTH",
    "CIFStackPlot",
    "KMPlot",
    "MCFPlot",
    "PALETTE",
    "SchoenfeldPanel",
    "adjusted_survival_plot",
    "ce_plane",
    "ceac_plot",
    "cif_stack",
    "forest_plot",
    "km_plot",
    "km_plot_result",
    "mcf_plot",
    "reconstruction_overlay",
    "risk_table",
    "sampling_distribution",
    "schoenfeld_plot",
    "style",
    "subgroup_forest",
]
