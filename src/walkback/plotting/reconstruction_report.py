"""The figure of a reconstruction's accuracy report: the reconstructed Kaplan-Meier curves over the
digitised points. matplotlib is imported only when a function here is called.

The functions take a :class:`walkback.reconstruct.ReconstructionResult` (its ``arms``, ``ipd`` and
``digitised``); this module does not import :mod:`walkback.reconstruct`, which imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["overlay_figure", "plot_reconstruction"]


def plot_reconstruction(result: Any, ax: Any = None) -> Any:
    """Draw the reconstructed Kaplan-Meier curves over the digitised points.

    Parameters
    ----------
    result : ReconstructionResult
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure's axes.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    import matplotlib

    from walkback.estimators import kaplan_meier

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4.5))
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, a in enumerate(result.arms):
        c = colours[i % len(colours)]
        m = (result.ipd["arm"] == a).to_numpy()
        fit = kaplan_meier(result.ipd["time"].to_numpy()[m], result.ipd["event"].to_numpy()[m])
        x = np.concatenate(([0.0], fit.time))
        y = np.concatenate(([1.0], fit.survival))
        ax.step(x, y, where="post", color=c, lw=1.5, label=f"{a}: reconstructed")
        pts = result.digitised[result.digitised["arm"] == a]
        ax.plot(
            pts["time"], pts["survival"], "o", ms=2.5, color=c, alpha=0.5, label=f"{a}: digitised"
        )
    ax.set_xlabel("time")
    ax.set_ylabel("survival")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(frameon=False, fontsize="small")
    ax.set_title("Reconstructed vs digitised Kaplan-Meier curves")
    return ax


def overlay_figure(result: Any) -> Any:
    """The report's overlay figure: :func:`plot_reconstruction` on a new 7 x 4.5 inch figure.

    The figure is made without pyplot: no display, no global backend switch.

    Parameters
    ----------
    result : ReconstructionResult

    Returns
    -------
    matplotlib.figure.Figure
        Laid out (``tight_layout``), ready to save.
    """
    from matplotlib.figure import Figure  # no pyplot: no display, no global backend switch

    fig = Figure(figsize=(7, 4.5))
    plot_reconstruction(result, ax=fig.subplots())
    fig.tight_layout()
    return fig
