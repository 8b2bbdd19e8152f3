"""Cost-effectiveness plane and acceptability curve.

Amounts are labelled with the ``currency`` the caller gives (:func:`currency_prefix` turns an
ISO code from a trial spec into one, e.g. "AUD" -> "AU$"); nothing assumes a currency.
"""

from __future__ import annotations

import numpy as np

from walkback.plotting._style import PALETTE, _axes

_SYMBOLS = {"AUD": "AU$", "USD": "US$", "GBP": "£", "EUR": "€", "CAD": "CA$", "NZD": "NZ$"}


def currency_prefix(code: str | None) -> str:
    """How amounts in ``code`` (ISO 4217) are prefixed: "AUD" -> "AU$", "GBP" -> "£", another
    code -> "CODE " (so "CHF 1,000"); None or "" -> "" (no currency shown)."""
    if not code:
        return ""
    return _SYMBOLS.get(code.upper(), f"{code} ")


def _money_label(text: str, currency: str) -> str:
    return f"{text} ({currency.strip()})" if currency else text


# ---- cost-effectiveness
def ce_plane(
    boot,
    ax=None,
    *,
    wtp: float | None = None,
    currency: str = "",
    max_points: int = 2000,
    color: str = PALETTE[0],
    legend_loc: str = "below",
):
    """Cost-effectiveness plane: bootstrap (dQALY, dCost) pairs (at most ``max_points`` drawn;
    the legend says how many), the point estimate and a willingness-to-pay line.

    The legend goes under the axes by default (``legend_loc="below"``), off the points; any
    matplotlib location puts it inside instead.
    """
    ax = _axes(ax)
    k = min(max_points, boot.d_qaly.size)
    shown = "" if k == boot.resamples else f"{k:,} of "
    ax.scatter(
        boot.d_qaly[:k],
        boot.d_cost[:k],
        s=2,
        alpha=0.25,
        color=color,
        linewidths=0,
        rasterized=True,
        label=f"bootstrap ({shown}{boot.resamples:,} resamples)",
    )
    ax.plot(
        boot.point.d_qaly,
        boot.point.d_cost,
        marker="o",
        linestyle="none",
        color="k",
        markersize=4,
        label=f"ICER {currency}{boot.point.icer:,.0f}/QALY",
    )
    ax.axhline(0, color="0.5", linewidth=0.5)
    ax.axvline(0, color="0.5", linewidth=0.5)
    if wtp is not None:
        xs, ys = np.array(ax.get_xlim()), ax.get_ylim()
        ax.plot(
            xs,
            wtp * xs,
            color=PALETTE[1],
            linestyle="--",
            linewidth=0.8,
            label=f"{currency}{wtp:,.0f} per QALY",
        )
        ax.set_xlim(*xs)
        ax.set_ylim(*ys)  # the threshold line should not stretch the cloud flat
    ax.set_xlabel("Incremental QALYs")
    ax.set_ylabel(_money_label("Incremental cost", currency))
    if legend_loc == "below":
        leg = ax.legend(
            frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), borderaxespad=0.0
        )
    else:
        leg = ax.legend(frameon=False, loc=legend_loc)
    cloud = leg.legend_handles[0]  # the cloud's key: large enough to see, not faint
    cloud.set_sizes([10])
    cloud.set_alpha(0.6)
    return ax


def ceac_plot(
    boot,
    ax=None,
    *,
    wtp=None,
    mark: float | None = None,
    currency: str = "",
    color: str = PALETTE[0],
    label: str | None = None,
):
    """Cost-effectiveness acceptability curve; ``mark`` draws the probability at a threshold.
    ``label`` names the curve in a legend (to overlay several analyses on one axes)."""
    ax = _axes(ax)
    curve = boot.ceac(wtp)
    ax.plot(curve.wtp, curve.prob_cost_effective, color=color, label=label)
    if mark is not None:
        p = boot.prob_cost_effective(mark)
        ax.plot([mark, mark, 0], [0, p, p], color=PALETTE[1], linestyle=":", linewidth=0.8)
        shown = f"{p:.0%}" if 0.005 <= p <= 0.995 else f"{100 * p:.1f}%"  # never "100%"
        ax.annotate(
            f"{shown} at {currency}{mark:,.0f}",
            (mark, p),
            xytext=(4, -10),
            textcoords="offset points",
            fontsize=6.5,
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, float(np.max(curve.wtp)))
    ax.set_xlabel(_money_label("Willingness to pay per QALY", currency))
    ax.set_ylabel("Probability cost-effective")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
    return ax
