"""Cleaning one arm's digitised Kaplan-Meier points (step 1 of the algorithm): percent to
proportion, digitiser noise clipped, points ordered along the curve, from (0, 1), made monotone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from walkback.reconstruct.inputs import Where
from walkback.reconstruct.result import CleanedCurve

__all__ = [
    "MONOTONE",
    "NEGATIVE_TIME_TOLERANCE",
    "PERCENT_THRESHOLD",
    "SURVIVAL_TOLERANCE",
    "Monotone",
    "clean_curve",
    "clean_points",
]

Monotone = Literal["isotonic", "running-min"]
"""How a noisy digitised curve is made non-increasing."""

MONOTONE: tuple[Monotone, ...] = ("isotonic", "running-min")

#: negative times down to this share of the curve's time range are digitiser noise (set to 0)
NEGATIVE_TIME_TOLERANCE = 0.02
#: survival a little outside [0, 1] is digitiser noise (clipped); more than this is an error
SURVIVAL_TOLERANCE = 0.05
#: a curve whose largest survival exceeds this is in percent
PERCENT_THRESHOLD = 1.5


def clean_curve(
    time: Sequence[float] | np.ndarray,
    survival: Sequence[float] | np.ndarray,
    *,
    monotone: Monotone = "isotonic",
    label: str | None = None,
) -> CleanedCurve:
    """Clean one arm's digitised Kaplan-Meier points.

    In order: survival in percent (largest value above 1.5) is divided by 100; survival within
    0.05 outside [0, 1] is clipped into it; negative times within 2% of the time range become 0;
    the points are sorted along the curve (by ``time / max(time) + 1 - survival``, which orders
    a step curve exactly and, unlike time alone, keeps the two corners of a drop in order under
    small time noise); the
    point (0, 1) is added; time is made non-decreasing and survival non-increasing; exact
    duplicate points are dropped. Each change that happened is described in ``notes``.

    Parameters
    ----------
    time, survival : array-like
        The digitised points, in any order.
    monotone : {"isotonic", "running-min"}
        "isotonic": the least-squares monotone fit of each axis (pool-adjacent-violators),
        unbiased for noise around a step curve; "running-min": each point's survival at most,
        and its time at least, the previous point's.
    label : str, optional
        The arm's name, used in notes and errors.

    Returns
    -------
    CleanedCurve

    Raises
    ------
    DataError
        No points, non-finite values, survival or times too far out of range to be noise.
    """
    t = np.asarray(time, dtype=float)
    s = np.asarray(survival, dtype=float)
    where = Where("<points>", "row", np.arange(1, 1 + t.size))
    return clean_points(t, s, monotone=monotone, label=label, where=where, rows=np.arange(t.size))


def clean_points(
    t: np.ndarray,
    s: np.ndarray,
    *,
    monotone: Monotone,
    label: str | None,
    where: Where,
    rows: np.ndarray,
) -> CleanedCurve:
    """:func:`clean_curve` on float arrays, with errors located by ``where`` at ``rows``."""
    if monotone not in MONOTONE:
        raise ValueError(f"monotone must be one of {MONOTONE}, got {monotone!r}")
    if t.shape != s.shape or t.ndim != 1:
        raise ValueError("time and survival must be 1-D arrays of equal length")
    arm = "the curve" if label is None else f"arm {label!r}"
    if t.size == 0:
        raise where.error(
            f"{arm} has no points",
            fix="digitise the curve's step corners, from (0, 1) to the end of the curve",
        )
    bad = np.flatnonzero(~np.isfinite(t) | ~np.isfinite(s))
    if bad.size:
        raise where.error(
            "time and survival must be finite numbers", rows=rows[bad], value=(t[bad[0]], s[bad[0]])
        )
    notes: list[str] = []
    percent = bool(s.max() > PERCENT_THRESHOLD)
    if percent:
        notes.append(
            f"{arm}: survival read as percent (largest value {s.max():g} > 1); divided by 100"
        )
        s = s / 100.0
    out = np.flatnonzero((s < -SURVIVAL_TOLERANCE) | (s > 1.0 + SURVIVAL_TOLERANCE))
    if out.size:
        raise where.error(
            f"survival of {arm} is outside [0, 1] by more than digitiser noise "
            f"({SURVIVAL_TOLERANCE:g})",
            column="survival",
            rows=rows[out],
            value=float(s[out[0]] * (100 if notes else 1)),
            fix="give survival as a proportion (0 to 1) or a percent (0 to 100) for all points",
        )
    clipped = int(np.sum((s < 0) | (s > 1)))
    if clipped:
        notes.append(f"{arm}: {clipped} survival value(s) just outside [0, 1] clipped into it")
        s = np.clip(s, 0.0, 1.0)
    span = float(t.max())
    if span <= 0:
        raise where.error(
            f"{arm} has no points after time 0",
            column="time",
            rows=rows,
            fix="digitise the curve's step corners over its whole length",
        )
    neg = t < 0
    far = np.flatnonzero(t < -NEGATIVE_TIME_TOLERANCE * span)
    if far.size:
        raise where.error(
            f"time of {arm} is negative by more than digitiser noise "
            f"({100 * NEGATIVE_TIME_TOLERANCE:g}% of the time range)",
            column="time",
            rows=rows[far],
            value=float(t[far[0]]),
            fix="check the x-axis calibration of the digitiser",
        )
    if neg.any():
        notes.append(
            f"{arm}: {int(neg.sum())} point(s) slightly before time 0 (down to {t.min():g}) "
            "set to 0"
        )
        t = np.where(neg, 0.0, t)
    # Order the points along the curve: for a true step curve, time and 1 - survival both grow
    # along it, so any positive mix of the two (each axis scaled to its range) orders it exactly.
    # Sorting by time alone would swap the two corners of a drop (equal times) half the time.
    order = np.lexsort((-s, t, t / span + (1.0 - s)))
    t, s = t[order], s[order]
    if not (t[0] == 0.0 and s[0] == 1.0):
        t, s = np.concatenate(([0.0], t)), np.concatenate(([1.0], s))
    if monotone == "isotonic":
        fitted_s = _isotonic_decreasing(s)
        fitted_t = -_isotonic_decreasing(-t)
    else:
        fitted_s = np.minimum.accumulate(s)
        fitted_t = np.maximum.accumulate(t)
    changed = int(np.sum((np.abs(fitted_s - s) > 1e-12) | (np.abs(fitted_t - t) > 1e-12)))
    if changed:
        how = "isotonic regression" if monotone == "isotonic" else "running minimum and maximum"
        notes.append(
            f"{arm}: {changed} point(s) out of order along the curve made monotone by {how}"
        )
    t, s = fitted_t, fitted_s
    keep = np.ones(t.size, dtype=bool)
    keep[1:] = (t[1:] != t[:-1]) | (s[1:] != s[:-1])
    dropped = int(t.size - keep.sum())
    if dropped:
        notes.append(f"{arm}: {dropped} duplicate point(s) dropped")
    return CleanedCurve(t[keep], s[keep], tuple(notes), percent)


def _isotonic_decreasing(y: np.ndarray) -> np.ndarray:
    """Least-squares non-increasing fit of ``y`` (pool adjacent violators)."""
    means: list[float] = []
    sizes: list[int] = []
    for v in y.tolist():
        m, w = v, 1
        while means and means[-1] < m:
            pm, pw = means.pop(), sizes.pop()
            m = (pm * pw + m * w) / (pw + w)
            w += pw
        means.append(m)
        sizes.append(w)
    return np.repeat(np.asarray(means), sizes)
