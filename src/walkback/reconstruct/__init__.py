"""Reconstruct participant-level data from a digitised Kaplan-Meier figure (Guyot et al. 2012).

Most trials publish a Kaplan-Meier figure with a table of numbers at risk, not their data. Guyot,
Ades, Ouwens and Welton (BMC Med Res Methodol 2012;12:9) showed how to invert the Kaplan-Meier
equations to recover pseudo participant-level data from the digitised curve and the at-risk table.
:func:`reconstruct` implements their algorithm, per arm:

1. clean the digitised points (:func:`clean_curve`): survival in percent is divided by 100,
   small negative times (digitiser noise) become 0, points are sorted, the curve starts at
   (0, 1), survival is made non-increasing and duplicate points are dropped;
2. give every at-risk interval ``[t_i, t_{i+1})`` a point at its start (the step curve's value
   there), and assign the points to intervals;
3. in each interval, find the number censored: censor that many participants at evenly spaced
   times, derive events at each point from the drop in survival by inverting the Kaplan-Meier
   product, ``d_k = round(n_k (1 - S_k / S_last))`` where ``S_last`` is the reconstructed curve at
   the last event, and adjust the number censored until the number at risk at the start of the next
   interval equals the published one;
4. in the last interval (after the last at-risk time) use the total number of events when given,
   or else the censoring rate of the earlier intervals; whoever is left is censored at the end of
   the curve.

Where this implementation refines the published description, it says so:

* points are ordered along the curve (by time plus one minus survival, each axis scaled to its
  range) rather than by time alone, which, with any noise in time, swaps the two corners of a
  drop (digitised at equal times) half the time; then time is made non-decreasing and survival
  non-increasing by isotonic (least-squares, pool-adjacent-violators) regression, which averages
  the times of the two corners, rather than by a running minimum, which biases a noisy curve
  downwards (``monotone="running-min"`` gives the running minimum and maximum);
* an interval's events never exceed what the at-risk table allows (``n_i - n_{i+1}``): a noisy
  drop that implies more is capped, and the reconstructed curve catches up in the next interval.
  With the exact matching of every published number at risk, the reconstruction has exactly as
  many rows per arm as the table's first number;
* the last interval's default censoring uses the earlier intervals' censoring rate per participant
  at risk and unit of time, ``1 - exp(-rate * length)`` of those at risk, rather than the
  average number censored per unit of time (which over-censors a shrinking risk set);
* at-risk times after the curve's last point extend the curve flat (the figure gives no
  information there), and each such choice is reported in ``notes``.

:func:`mock_digitise` does the reverse for validation: it draws a Kaplan-Meier curve's step
corners with digitiser-like noise and missed steps, and prints the at-risk table as a journal
would. :func:`write_report` writes the accuracy report of ``walkback reconstruct --report``.
"""

from __future__ import annotations

from walkback.plotting.reconstruction_report import plot_reconstruction
from walkback.reconstruct.clean import MONOTONE as MONOTONE  # public, as before, outside __all__
from walkback.reconstruct.clean import NEGATIVE_TIME_TOLERANCE as NEGATIVE_TIME_TOLERANCE
from walkback.reconstruct.clean import PERCENT_THRESHOLD as PERCENT_THRESHOLD
from walkback.reconstruct.clean import SURVIVAL_TOLERANCE as SURVIVAL_TOLERANCE
from walkback.reconstruct.clean import Monotone, clean_curve
from walkback.reconstruct.guyot import reconstruct
from walkback.reconstruct.inputs import AT_RISK_COLUMNS as AT_RISK_COLUMNS
from walkback.reconstruct.inputs import CURVE_COLUMNS as CURVE_COLUMNS
from walkback.reconstruct.inputs import read_at_risk, read_curve
from walkback.reconstruct.mock import mock_digitise
from walkback.reconstruct.report import write_report
from walkback.reconstruct.result import CleanedCurve, ReconstructionResult, reconstruction_summary

__all__ = [
    "CleanedCurve",
    "Monotone",
    "ReconstructionResult",
    "clean_curve",
    "mock_digitise",
    "plot_reconstruction",
    "read_at_risk",
    "read_curve",
    "reconstruct",
    "reconstruction_summary",
    "write_report",
]
