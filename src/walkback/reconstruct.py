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

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from walkback.exceptions import DataError, EstimationError

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

Monotone = Literal["isotonic", "running-min"]
"""How a noisy digitised curve is made non-increasing."""

MONOTONE: tuple[Monotone, ...] = ("isotonic", "running-min")

CURVE_COLUMNS = ("arm", "time", "survival")
AT_RISK_COLUMNS = ("arm", "time", "n_at_risk")

#: negative times down to this share of the curve's time range are digitiser noise (set to 0)
NEGATIVE_TIME_TOLERANCE = 0.02
#: survival a little outside [0, 1] is digitiser noise (clipped); more than this is an error
SURVIVAL_TOLERANCE = 0.05
#: a curve whose largest survival exceeds this is in percent
PERCENT_THRESHOLD = 1.5
_MAX_ITER = 100


# -- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanedCurve:
    """One arm's digitised points after cleaning: sorted, from (0, 1), non-increasing."""

    time: np.ndarray
    survival: np.ndarray
    notes: tuple[str, ...]
    percent: bool = False
    """Whether the input survival was in percent (and divided by 100)."""


@dataclass(frozen=True)
class ReconstructionResult:
    """Reconstructed participant-level data and how well they match the published figure.

    Attributes
    ----------
    ipd : pandas.DataFrame
        One row per participant: ``arm`` (str), ``time`` (float), ``event`` (1 event, 0 censored),
        arms in the at-risk table's order, each sorted by time.
    arms : tuple of str
        Arm labels in order of first appearance in the at-risk table.
    intervals : pandas.DataFrame
        Per arm and at-risk interval: ``start``, ``end``, published and reconstructed numbers at
        risk at ``start``, reconstructed ``events`` and ``censored`` in the interval, and the
        ``iterations`` the censoring search took.
    curves : pandas.DataFrame
        The cleaned digitised points (``arm``, ``time``, ``survival``), with the nearest value of
        the reconstructed step curve at each (``reconstructed``; at a drop's time, anything
        between the values before and after the drop).
    digitised : pandas.DataFrame
        The digitised points as given (``arm``, ``time``, ``survival`` as a proportion).
    notes : tuple of str
        Everything the cleaning and reconstruction changed or assumed, one sentence each.
    settings : dict
        The choices made (monotone fit, last-interval rule, total events given).
    """

    ipd: pd.DataFrame
    arms: tuple[str, ...]
    intervals: pd.DataFrame
    curves: pd.DataFrame
    digitised: pd.DataFrame
    notes: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> dict[str, int]:
        """Participants per arm."""
        counts = self.ipd.groupby("arm", sort=False).size()
        return {a: int(counts.get(a, 0)) for a in self.arms}

    @property
    def events(self) -> dict[str, int]:
        """Reconstructed events per arm."""
        counts = self.ipd.groupby("arm", sort=False)["event"].sum()
        return {a: int(counts.get(a, 0)) for a in self.arms}

    def curve_fit(self) -> pd.DataFrame:
        """Per arm, the largest and mean absolute difference between the reconstructed curve and
        the cleaned digitised points."""
        diff = (self.curves["reconstructed"] - self.curves["survival"]).abs()
        g = diff.groupby(self.curves["arm"], sort=False)
        out = pd.DataFrame({"max_abs_diff": g.max(), "mean_abs_diff": g.mean()})
        out.index.name = "arm"
        return out.reindex(list(self.arms)).reset_index()

    def summary(self) -> pd.DataFrame:
        """One row per arm: participants, events, censored and the curve fit."""
        fit = self.curve_fit().set_index("arm")
        rows = []
        for a in self.arms:
            rows.append(
                {
                    "arm": a,
                    "n": self.n[a],
                    "events": self.events[a],
                    "censored": self.n[a] - self.events[a],
                    "max_abs_diff": float(fit.loc[a, "max_abs_diff"]),
                    "mean_abs_diff": float(fit.loc[a, "mean_abs_diff"]),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the participant rows themselves are in ``ipd``, not here)."""
        fit = self.curve_fit().set_index("arm")
        return _jsonable(
            {
                "arms": list(self.arms),
                "n": self.n,
                "events": self.events,
                "curve_fit": {
                    a: {k: float(fit.loc[a, k]) for k in ("max_abs_diff", "mean_abs_diff")}
                    for a in self.arms
                },
                "intervals": self.intervals.to_dict(orient="records"),
                "notes": list(self.notes),
                "settings": dict(self.settings),
            }
        )

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{n}</li>" for n in self.notes)
        return (
            f"<p>Reconstruction (Guyot et al. 2012): {len(self.ipd)} participants in "
            f"{len(self.arms)} arm(s)</p>"
            + self.summary().to_html(index=False)
            + (f"<ul>{notes}</ul>" if notes else "")
        )


# -- reading and validating the inputs -----------------------------------------------------------
@dataclass(frozen=True)
class _Where:
    """Where a frame's rows came from, for error messages."""

    source: str
    unit: str
    numbers: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, default: str) -> _Where:
        # read_curve / read_at_risk record each row's line by index label, which survives
        # sorting and filtering; anything else is counted in 1-based rows
        lines = frame.attrs.get("lines")
        source = frame.attrs.get("source")
        if isinstance(lines, dict) and source is not None:
            found = [lines.get(i) for i in frame.index]
            if all(x is not None for x in found):
                return cls(str(source), "line", np.asarray(found, dtype=np.int64))
        return cls(default, "row", np.arange(1, len(frame) + 1))

    def error(
        self,
        rule: str,
        *,
        column: str | None = None,
        rows: Sequence[int] | np.ndarray | None = None,
        value: object = None,
        fix: str | None = None,
    ) -> DataError:
        lines = None if rows is None else [int(self.numbers[i]) for i in rows]
        err = DataError(rule, source=self.source, column=column, lines=lines, value=value, fix=fix)
        return err if self.unit == "line" else err.with_unit(self.unit)


def _read(path: str | os.PathLike[str], columns: tuple[str, ...]) -> pd.DataFrame:
    from walkback.io import _parse_csv, _read_bytes

    source = os.fspath(path)
    frame, lines = _parse_csv(_read_bytes(Path(source), source), source, list(columns))
    frame.attrs["source"] = source
    frame.attrs["lines"] = dict(zip(frame.index.tolist(), lines.tolist(), strict=True))
    return frame


def read_curve(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read digitised Kaplan-Meier points from a CSV file with columns ``arm,time,survival``.

    Cells are read as text and checked by :func:`reconstruct`, whose errors then name this file
    and its line numbers (the header is line 1). Extra columns are ignored.

    Parameters
    ----------
    path : str or os.PathLike
        UTF-8, comma-separated CSV with a header line.

    Returns
    -------
    pandas.DataFrame
        The file's cells as text; ``attrs`` records the file name and line numbers.

    Raises
    ------
    DataError
        The file is missing, empty, not UTF-8 text, or not comma-separated CSV.
    """
    return _read(path, CURVE_COLUMNS)


def read_at_risk(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a published at-risk table from a CSV file with columns ``arm,time,n_at_risk``.

    One row per arm and time, as printed under the figure; see :func:`read_curve`.

    Parameters
    ----------
    path : str or os.PathLike
        UTF-8, comma-separated CSV with a header line.

    Returns
    -------
    pandas.DataFrame
        The file's cells as text; ``attrs`` records the file name and line numbers.

    Raises
    ------
    DataError
        The file is missing, empty, not UTF-8 text, or not comma-separated CSV.
    """
    return _read(path, AT_RISK_COLUMNS)


def _check_columns(frame: pd.DataFrame, columns: tuple[str, ...], where: _Where) -> None:
    import difflib

    present = [str(c) for c in frame.columns]
    missing = [c for c in columns if c not in present]
    if missing:
        hints = []
        for c in missing:
            near = [p for p in present if p.strip().casefold() == c]
            near = near or difflib.get_close_matches(c, present, n=1)
            hints.append(f"{c!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        raise where.error(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(hints)}; "
            f"the columns present are {', '.join(repr(p) for p in present[:20])}",
            column=missing[0] if len(missing) == 1 else None,
            fix=f"the file needs the columns {','.join(columns)} (header on line 1)",
        )
    for c in columns:
        if present.count(c) > 1:
            raise where.error(
                f"{present.count(c)} columns are named {c!r}",
                column=c,
                fix="give the columns distinct names",
            )
    if len(frame) == 0:
        raise where.error(
            "no data rows", fix=f"add one row per point below the header {','.join(columns)}"
        )


def _labels(col: pd.Series, where: _Where) -> np.ndarray:
    from walkback.schema import _label

    labels = [_label(v) for v in col.tolist()]
    bad = [i for i, v in enumerate(labels) if not v]
    if bad:
        raise where.error(
            "arm label is empty or missing",
            column="arm",
            rows=bad,
            fix="give every row the arm's label, as in the other file",
        )
    return np.asarray(labels, dtype=object)


def _numbers(col: pd.Series, name: str, where: _Where, what: str) -> np.ndarray:
    from walkback.schema import _parse_numbers

    values, kinds = _parse_numbers(col, allow_bool=False)
    bad = np.flatnonzero(kinds != 0)
    if bad.size:
        raise where.error(
            f"{what} must be a finite number",
            column=name,
            rows=bad,
            value=col.iloc[int(bad[0])],
            fix="write plain decimal numbers such as 12 or 0.85 (no units, no % sign)",
        )
    return values


@dataclass(frozen=True)
class _Arm:
    label: str
    rows: np.ndarray  # positions in the source frame
    time: np.ndarray
    value: np.ndarray


def _curve_arms(curve: pd.DataFrame) -> tuple[dict[str, _Arm], _Where]:
    if not isinstance(curve, pd.DataFrame):
        raise TypeError(f"curve must be a pandas DataFrame, not {type(curve).__name__}")
    where = _Where.of(curve, "<curve DataFrame>")
    _check_columns(curve, CURVE_COLUMNS, where)
    arm = _labels(curve["arm"], where)
    time = _numbers(curve["time"], "time", where, "time")
    surv = _numbers(curve["survival"], "survival", where, "survival")
    return _split(arm, time, surv), where


def _risk_arms(at_risk: pd.DataFrame) -> tuple[dict[str, _Arm], _Where]:
    if not isinstance(at_risk, pd.DataFrame):
        raise TypeError(f"at_risk must be a pandas DataFrame, not {type(at_risk).__name__}")
    where = _Where.of(at_risk, "<at-risk DataFrame>")
    _check_columns(at_risk, AT_RISK_COLUMNS, where)
    arm = _labels(at_risk["arm"], where)
    time = _numbers(at_risk["time"], "time", where, "time")
    n = _numbers(at_risk["n_at_risk"], "n_at_risk", where, "the number at risk")
    bad = np.flatnonzero((n < 0) | (n != np.round(n)))
    if bad.size:
        raise where.error(
            "the number at risk must be a whole number >= 0",
            column="n_at_risk",
            rows=bad,
            value=at_risk["n_at_risk"].iloc[int(bad[0])],
            fix="copy the numbers at risk exactly as printed under the figure",
        )
    bad = np.flatnonzero(time < 0)
    if bad.size:
        raise where.error(
            "at-risk time is negative",
            column="time",
            rows=bad,
            value=at_risk["time"].iloc[int(bad[0])],
            fix="at-risk tables start at time 0",
        )
    arms = _split(arm, time, n)
    for a in arms.values():
        order = np.argsort(a.time, kind="stable")
        t, v, rows = a.time[order], a.value[order], a.rows[order]
        dup = np.flatnonzero(np.diff(t) == 0)
        if dup.size:
            raise where.error(
                f"arm {a.label!r} has two numbers at risk at time {t[dup[0]]:g}",
                column="time",
                rows=sorted([int(rows[dup[0]]), int(rows[dup[0] + 1])]),
                fix="give one number at risk per arm and time",
            )
        if t[0] > 0:
            raise where.error(
                f"the at-risk table of arm {a.label!r} starts at time {t[0]:g}, not 0; the "
                "number randomised (at time 0) fixes the number of participants",
                column="time",
                rows=[int(rows[0])],
                fix=f"add the row {a.label},0,<number randomised>",
            )
        up = np.flatnonzero(np.diff(v) > 0)
        if up.size:
            j = int(up[0])
            raise where.error(
                f"the number at risk of arm {a.label!r} increases from {v[j]:g} at time "
                f"{t[j]:g} to {v[j + 1]:g} at time {t[j + 1]:g}; it can only fall",
                column="n_at_risk",
                rows=[int(rows[j + 1])],
                value=v[j + 1],
                fix="check the numbers against the figure (a row copied into the wrong arm?)",
            )
        if v[0] <= 0:
            raise where.error(
                f"arm {a.label!r} has no participants at time 0",
                column="n_at_risk",
                rows=[int(rows[0])],
                value=v[0],
                fix="the first number at risk is the number randomised",
            )
    return arms, where


def _split(arm: np.ndarray, time: np.ndarray, value: np.ndarray) -> dict[str, _Arm]:
    out: dict[str, _Arm] = {}
    for label in dict.fromkeys(arm.tolist()):
        rows = np.flatnonzero(arm == label)
        out[label] = _Arm(label, rows, time[rows], value[rows])
    return out


# -- cleaning the digitised points ---------------------------------------------------------------
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
    where = _Where("<points>", "row", np.arange(1, 1 + t.size))
    return _clean(t, s, monotone=monotone, label=label, where=where, rows=np.arange(t.size))


def _clean(
    t: np.ndarray,
    s: np.ndarray,
    *,
    monotone: Monotone,
    label: str | None,
    where: _Where,
    rows: np.ndarray,
) -> CleanedCurve:
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


# -- the algorithm -------------------------------------------------------------------------------
def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


@dataclass
class _Pass:
    events: list[int]
    total: int
    km: float
    capped: bool


def _events_pass(
    pt: np.ndarray,
    ps: np.ndarray,
    start: float,
    end: float,
    n0: int,
    km0: float,
    n_censor: int,
    cap: int,
) -> _Pass:
    """Events at each point of an interval, given ``n_censor`` censored evenly inside it.

    ``d_k = round(n_k (1 - S_k / km))`` with ``km`` the reconstructed curve so far, at most ``cap``
    events in all (the participants the at-risk table lets leave).
    """
    counts = _censor_counts(pt, start, end, n_censor)
    n_hat, km, total, capped = n0, km0, 0, False
    events = []
    for k in range(pt.size):
        d = 0
        if n_hat > 0 and km > 0:
            d = max(0, _round(n_hat * (1.0 - ps[k] / km)))
            allowed = min(n_hat, cap - total)
            if d > allowed:
                d, capped = max(allowed, 0), capped or allowed < n_hat
            if d:
                km *= 1.0 - d / n_hat
                total += d
        events.append(d)
        n_hat -= d + int(counts[k])
    return _Pass(events, total, km, capped)


def _censor_counts(pt: np.ndarray, start: float, end: float, n_censor: int) -> np.ndarray:
    """How many of ``n_censor`` evenly spaced censorings fall after each point (before the next)."""
    if n_censor <= 0:
        return np.zeros(pt.size, dtype=np.int64)
    cen = _censor_times(start, end, n_censor)
    return np.bincount(np.searchsorted(pt, cen, side="right") - 1, minlength=pt.size)


def _km_after(
    pt: np.ndarray,
    events: list[int],
    start: float,
    end: float,
    n0: int,
    km: float,
    n_censor: int,
) -> float:
    """The reconstructed curve at the end of an interval with these events and censorings."""
    n_hat = n0
    for d, c in zip(events, _censor_counts(pt, start, end, n_censor).tolist(), strict=True):
        if d:
            km *= 1.0 - d / n_hat
        n_hat -= d + c
    return km


def _censor_times(start: float, end: float, n: int) -> np.ndarray:
    if n <= 0:
        return np.empty(0)
    if end <= start:
        return np.full(n, start)
    cen = start + (end - start) * np.arange(1, n + 1) / (n + 1)
    return np.minimum(cen, np.nextafter(end, start))


@dataclass
class _ArmOut:
    time: np.ndarray
    event: np.ndarray
    intervals: list[dict[str, Any]]
    points: pd.DataFrame
    notes: list[str]


def _reconstruct_arm(
    curve: CleanedCurve,
    risk_t: np.ndarray,
    risk_n: np.ndarray,
    total_events: int | None,
    label: str,
) -> _ArmOut:
    notes: list[str] = []
    arm = f"arm {label!r}"
    t, s = curve.time, curve.survival
    beyond = risk_t[risk_t > t[-1]]
    if beyond.size:
        notes.append(
            f"{arm}: at-risk time(s) {', '.join(f'{x:g}' for x in beyond)} after the curve's "
            f"last point ({t[-1]:g}); the curve is taken as flat from its last point"
        )
    # a point at the start of every at-risk interval: the step curve's value there
    missing = risk_t[~np.isin(risk_t, t)]
    if missing.size:
        idx = np.searchsorted(t, missing, side="right") - 1
        t = np.concatenate((t, missing))
        s = np.concatenate((s, s[idx]))
        order = np.lexsort((-s, t))
        t, s = t[order], s[order]
    lower = np.searchsorted(t, risk_t, side="left")
    m = risk_t.size
    t_end = float(t[-1])

    ev = np.zeros(t.size, dtype=np.int64)
    cen_times: list[np.ndarray] = []
    rows: list[dict[str, Any]] = []
    km = 1.0
    censored_before = 0
    for i in range(m):
        lo = int(lower[i])
        hi = int(lower[i + 1]) if i + 1 < m else t.size
        pt, ps = t[lo:hi], s[lo:hi]
        start = float(risk_t[i])
        n0 = int(risk_n[i])
        if i + 1 < m:
            end = float(risk_t[i + 1])
            budget = n0 - int(risk_n[i + 1])
            guess = 0
            if s[lo] > 0:
                guess = _round(n0 * s[int(lower[i + 1])] / s[lo] - risk_n[i + 1])
            res, iters = _solve_interval(pt, ps, start, end, n0, km, budget, guess)
            # censor exactly those the table says left without an event (often res's own number)
            n_censor = budget - res.total
            res.km = _km_after(pt, res.events, start, end, n0, km, n_censor)
            if res.capped:
                notes.append(
                    f"{arm}: the curve's drop over [{start:g}, {end:g}) implies more events than "
                    f"the at-risk table allows ({budget} leave); events capped at {budget}"
                )
        else:
            end = t_end
            res, n_censor, iters = _last_interval(
                pt,
                ps,
                start,
                end,
                n0,
                km,
                total_events=None if total_events is None else total_events - int(ev.sum()),
                censored_before=censored_before,
                exposure_before=_exposure(t, ev, cen_times, risk_t, risk_n),
                notes=notes,
                arm=arm,
                first_interval=(m == 1),
            )
        ev[lo:hi] = res.events
        km = res.km
        cen_times.append(_censor_times(start, end, n_censor))
        censored_before += n_censor
        rows.append(
            {
                "arm": label,
                "start": start,
                "end": end,
                "n_at_risk_published": n0,
                "events": res.total,
                "censored": n_censor,
                "iterations": iters,
            }
        )
    left = int(risk_n[-1]) - rows[-1]["events"] - rows[-1]["censored"]
    times = np.concatenate([np.repeat(t, ev), *cen_times, np.full(left, t_end)])
    events = np.concatenate(
        [np.ones(int(ev.sum()), dtype=np.int64), np.zeros(times.size - int(ev.sum()), np.int64)]
    )
    if left:
        rows[-1]["censored"] += left
    sorted_t = np.sort(times)
    for r in rows:
        r["n_at_risk_reconstructed"] = int(times.size - np.searchsorted(sorted_t, r["start"]))
    # the point of the reconstructed step curve nearest each cleaned digitised point vertically:
    # a point at a drop's time may lie anywhere on the drop, between S(t-) and S(t)
    km_t, km_s = _km_steps(times, events)
    km_s = np.concatenate(([1.0], km_s))
    right = km_s[np.searchsorted(km_t, curve.time, side="right")]
    left = km_s[np.searchsorted(km_t, curve.time, side="left")]
    rec = np.clip(curve.survival, right, left)
    points = pd.DataFrame(
        {"arm": label, "time": curve.time, "survival": curve.survival, "reconstructed": rec}
    )
    return _ArmOut(times, events, rows, points, notes)


def _solve_interval(
    pt: np.ndarray,
    ps: np.ndarray,
    start: float,
    end: float,
    n0: int,
    km: float,
    budget: int,
    guess: int,
) -> tuple[_Pass, int]:
    """The number censored for which events + censored = ``budget`` (Guyot's iteration).

    Returns the events pass for the chosen number censored and the iterations used. When the
    iteration cycles without an exact match, the closest value is taken; the caller then censors
    ``budget - events`` so the next number at risk matches exactly.
    """
    seen: dict[int, tuple[int, _Pass]] = {}
    nc = min(max(guess, 0), budget)
    for _ in range(_MAX_ITER):
        res = _events_pass(pt, ps, start, end, n0, km, nc, budget)
        r = res.total + nc - budget
        seen[nc] = (abs(r), res)
        if r == 0:
            break
        nxt = min(max(nc - r, 0), budget)
        if nxt in seen:
            break
        nc = nxt
    best = min(seen, key=lambda c: (seen[c][0], c))
    return seen[best][1], len(seen)


def _exposure(
    t: np.ndarray,
    ev: np.ndarray,
    cen_times: list[np.ndarray],
    risk_t: np.ndarray,
    risk_n: np.ndarray,
) -> float:
    """Person-time before the last at-risk time, from the rows reconstructed so far."""
    last = float(risk_t[-1])
    before = t < last
    left = float(np.sum(t[before] * ev[before]))
    cen = float(sum(c.sum() for c in cen_times))
    return left + cen + float(risk_n[-1]) * last


def _last_interval(
    pt: np.ndarray,
    ps: np.ndarray,
    start: float,
    end: float,
    n0: int,
    km: float,
    *,
    total_events: int | None,
    censored_before: int,
    exposure_before: float,
    notes: list[str],
    arm: str,
    first_interval: bool,
) -> tuple[_Pass, int, int]:
    """Events and censoring after the last at-risk time; returns (pass, censored, iterations)."""
    length = end - start
    if first_interval:
        guess = 0
        if total_events is None:
            notes.append(
                f"{arm}: the at-risk table has one time only, so there is no censoring "
                "information; participants without an event are censored at the curve's end"
            )
    else:
        rate = censored_before / exposure_before if exposure_before > 0 else 0.0
        guess = _round(n0 * (1.0 - math.exp(-rate * length)))
    guess = min(max(guess, 0), n0)
    if total_events is None:
        res = _events_pass(pt, ps, start, end, n0, km, guess, n0)
        return res, min(guess, n0 - res.total), 1
    target = total_events
    if target < 0:
        notes.append(
            f"{arm}: the earlier intervals already have {-total_events} more events than the "
            "total given; none are added after the last at-risk time"
        )
        target = 0
    target = min(target, n0)
    seen: dict[int, tuple[int, _Pass]] = {}
    nc = guess
    for _ in range(_MAX_ITER):
        res = _events_pass(pt, ps, start, end, n0, km, nc, target)
        r = res.total - target  # <= 0: the cap stops overshoot
        seen[nc] = (abs(r), res)
        if r == 0:
            break
        nxt = min(max(nc + r, 0), n0)
        if nxt in seen:
            break
        nc = nxt
    best = min(seen, key=lambda c: (seen[c][0], -c))
    res = seen[best][1]
    if res.total != target:
        notes.append(
            f"{arm}: the curve's drop after time {start:g} gives at most {res.total} events, "
            f"short of the {target} needed to reach the total given"
        )
    return res, min(best, n0 - res.total), len(seen)


def _km_steps(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from walkback.estimators import kaplan_meier

    if time.size == 0:
        return np.array([0.0]), np.array([1.0])
    fit = kaplan_meier(time, event)
    return fit.time, fit.survival


def reconstruct(
    curve: pd.DataFrame,
    at_risk: pd.DataFrame,
    events: Mapping[str, int] | None = None,
    *,
    monotone: Monotone = "isotonic",
) -> ReconstructionResult:
    """Rebuild participant-level data from a digitised Kaplan-Meier figure (Guyot et al. 2012).

    Parameters
    ----------
    curve : pandas.DataFrame
        Digitised points with columns ``arm``, ``time``, ``survival`` (a proportion, or a percent
        when values exceed 1), in any order; points at each step's corners work best.
    at_risk : pandas.DataFrame
        The published at-risk table with columns ``arm``, ``time``, ``n_at_risk``; every arm
        starts at time 0 with its number randomised, and numbers never increase.
    events : mapping of str to int, optional
        Total events per arm when the paper gives them; used to settle the censoring after the
        last at-risk time. Arms left out use the censoring rate of the earlier intervals.
    monotone : {"isotonic", "running-min"}
        How noisy points are made non-increasing (see :func:`clean_curve`).

    Returns
    -------
    ReconstructionResult
        ``ipd`` has one row per participant (arm, time, event), exactly as many per arm as the
        at-risk table's first number, and reproduces every published number at risk.

    Raises
    ------
    DataError
        Missing columns, non-numeric or out-of-range values, an arm in one table but not the other,
        an at-risk table that does not start at time 0 or whose numbers increase, an empty curve,
        or a total number of events that is not a whole number between 0 and the arm's size.
    """
    if monotone not in MONOTONE:
        raise ValueError(f"monotone must be one of {MONOTONE}, got {monotone!r}")
    curve_arms, cwhere = _curve_arms(curve)
    risk_arms, rwhere = _risk_arms(at_risk)
    only_curve = [a for a in curve_arms if a not in risk_arms]
    if only_curve:
        a = curve_arms[only_curve[0]]
        raise cwhere.error(
            f"arm {a.label!r} is in the curve but not in the at-risk table "
            f"(arms in {rwhere.source}: {', '.join(repr(x) for x in risk_arms)})",
            column="arm",
            rows=a.rows,
            fix="spell each arm's label the same way in both files",
        )
    only_risk = [a for a in risk_arms if a not in curve_arms]
    if only_risk:
        a = risk_arms[only_risk[0]]
        raise rwhere.error(
            f"arm {a.label!r} is in the at-risk table but not in the curve "
            f"(arms in {cwhere.source}: {', '.join(repr(x) for x in curve_arms)})",
            column="arm",
            rows=a.rows,
            fix="digitise that arm's curve, or spell each arm's label the same way in both files",
        )
    totals = _check_events(events, risk_arms)

    notes: list[str] = []
    ipd, intervals, points, raw = [], [], [], []
    for label, risk in risk_arms.items():
        pts = curve_arms[label]
        cleaned = _clean(
            pts.time, pts.value, monotone=monotone, label=label, where=cwhere, rows=pts.rows
        )
        notes.extend(cleaned.notes)
        raw.append(
            pd.DataFrame(
                {
                    "arm": label,
                    "time": pts.time,
                    "survival": pts.value / (100.0 if cleaned.percent else 1.0),
                }
            )
        )
        order = np.argsort(risk.time, kind="stable")
        out = _reconstruct_arm(
            cleaned,
            risk.time[order],
            risk.value[order].astype(np.int64),
            totals.get(label),
            label,
        )
        notes.extend(out.notes)
        order = np.lexsort((-out.event, out.time))
        ipd.append(pd.DataFrame({"arm": label, "time": out.time[order], "event": out.event[order]}))
        intervals.extend(out.intervals)
        points.append(out.points)
    frame = pd.concat(ipd, ignore_index=True)
    frame["arm"] = frame["arm"].astype(object)
    cols = [
        "arm",
        "start",
        "end",
        "n_at_risk_published",
        "n_at_risk_reconstructed",
        "events",
        "censored",
        "iterations",
    ]
    return ReconstructionResult(
        ipd=frame,
        arms=tuple(risk_arms),
        intervals=pd.DataFrame(intervals)[cols],
        curves=pd.concat(points, ignore_index=True),
        digitised=pd.concat(raw, ignore_index=True),
        notes=tuple(notes),
        settings={
            "method": "Guyot et al. 2012 (BMC Med Res Methodol 12:9)",
            "monotone": monotone,
            "total_events": {a: totals.get(a) for a in risk_arms},
            "last_interval": {
                a: "total events given" if a in totals else "censoring rate of earlier intervals"
                for a in risk_arms
            },
            "censoring": "evenly spaced within each at-risk interval",
        },
    )


def _check_events(events: Mapping[str, int] | None, arms: dict[str, _Arm]) -> dict[str, int]:
    if events is None:
        return {}
    out: dict[str, int] = {}
    for key, value in events.items():
        label = str(key).strip()
        if label not in arms:
            raise DataError(
                f"total events given for arm {label!r}, which is not in the at-risk table "
                f"(arms: {', '.join(repr(a) for a in arms)})",
                fix="use the arm labels of the at-risk table",
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = float("nan")
        n0 = int(arms[label].value[np.argmin(arms[label].time)])
        if not (v == v and v == round(v) and 0 <= v <= n0):
            raise DataError(
                f"total events of arm {label!r} must be a whole number from 0 to {n0} "
                "(the number randomised)",
                value=value,
                fix="give the number of events the paper reports for that arm",
            )
        out[label] = int(v)
    return out


# -- mock digitising, for validation -------------------------------------------------------------
def _nice_step(span: float, columns: int = 6) -> float:
    """The largest step of 1, 2, 2.5 or 5 times a power of ten giving at least ``columns`` steps."""
    mag = 10.0 ** math.floor(math.log10(span / columns))
    for m in (5.0, 2.5, 2.0, 1.0):
        if span / (m * mag) >= columns:
            return m * mag
    return mag / 2.0  # pragma: no cover - m = 1 always qualifies


def mock_digitise(
    ipd: pd.DataFrame,
    *,
    rng: np.random.Generator,
    at_risk_times: Sequence[float] | np.ndarray | None = None,
    time_sd: float = 0.002,
    survival_sd: float = 0.002,
    drop: float = 0.1,
    percent: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Digitise the Kaplan-Meier curves of ``ipd`` the way a person with a digitiser would.

    Every drop of each arm's curve gives its two corners (top and bottom); the curve's start (0, 1)
    and end are clicked too. Each point gets Gaussian noise on both axes and a share ``drop`` of
    the corners is missed. The at-risk table is exact, at regular "nice" times (about eight
    steps over the follow-up), as journals print it.

    Parameters
    ----------
    ipd : pandas.DataFrame
        Columns ``arm``, ``time``, ``event``.
    rng : numpy.random.Generator
        The source of all randomness.
    at_risk_times : sequence of float, optional
        Times of the at-risk table (0 first); default a regular grid over the follow-up.
    time_sd : float
        Time noise SD as a share of the longest follow-up time.
    survival_sd : float
        Survival noise SD (proportion scale).
    drop : float
        Probability that a corner is missed.
    percent : bool
        Give survival in percent.

    Returns
    -------
    (curve, at_risk) : tuple of pandas.DataFrame
        ``arm,time,survival`` and ``arm,time,n_at_risk``, as :func:`reconstruct` takes them.
    """
    from walkback.estimators import kaplan_meier

    arms = list(dict.fromkeys(ipd["arm"].astype(str).tolist()))
    time = ipd["time"].to_numpy(dtype=float)
    event = ipd["event"].to_numpy(dtype=np.int64)
    label = ipd["arm"].astype(str).to_numpy()
    t_max = float(time.max())
    if at_risk_times is None:
        at_risk_times = np.arange(0.0, t_max + 1e-9, _nice_step(t_max))
    grid = np.asarray(at_risk_times, dtype=float)
    curves, tables = [], []
    for a in arms:
        m = label == a
        fit = kaplan_meier(time[m], event[m])
        drops = fit.n_event > 0
        et, es = fit.time[drops], fit.survival[drops]
        before = np.concatenate(([1.0], es[:-1]))
        ct = np.concatenate((et, et))
        cs = np.concatenate((before, es))
        keep = rng.random(ct.size) >= drop
        ct, cs = ct[keep], cs[keep]
        pt = np.concatenate(([0.0], ct, [fit.time[-1]]))
        ps = np.concatenate(([1.0], cs, [fit.survival[-1]]))
        pt = pt + rng.normal(0.0, time_sd * t_max, pt.size)
        ps = ps + rng.normal(0.0, survival_sd, ps.size)
        order = np.argsort(pt, kind="stable")
        scale = 100.0 if percent else 1.0
        curves.append(pd.DataFrame({"arm": a, "time": pt[order], "survival": scale * ps[order]}))
        st = np.sort(time[m])
        n_at = st.size - np.searchsorted(st, grid, side="left")
        tables.append(pd.DataFrame({"arm": a, "time": grid, "n_at_risk": n_at}))
    return pd.concat(curves, ignore_index=True), pd.concat(tables, ignore_index=True)


# -- the accuracy report -------------------------------------------------------------------------
def reconstruction_summary(
    result: ReconstructionResult,
    *,
    treatment: str | None = None,
    control: str | None = None,
    tau: float | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Re-analyse a reconstruction: medians and RMST per arm, and the Cox HR of two arms.

    Uses R survival's defaults (log CI for the Kaplan-Meier curve, Efron ties for Cox).

    Parameters
    ----------
    result : ReconstructionResult
    treatment, control : str, optional
        The two arms compared; default the first and second arm of the at-risk table. With more
        than two arms and no choice, no hazard ratio is computed.
    tau : float, optional
        RMST horizon; default the earlier of the arms' last times.
    alpha : float
        1 - confidence level.

    Returns
    -------
    dict
        JSON-ready: ``arms`` (n, events, median with CI, digitised median, RMST),
        ``hazard_ratio`` (or null), ``rmst_difference`` (or null), ``at_risk``, ``curve_fit``,
        ``notes`` and ``settings``.

    Raises
    ------
    DataError
        ``treatment`` or ``control`` is not an arm, or they are the same arm.
    """
    from walkback.estimators import cox, kaplan_meier, rmst_difference

    arms = list(result.arms)
    for role, value in (("treatment", treatment), ("control", control)):
        if value is not None and value not in arms:
            raise DataError(
                f"the {role} arm {value!r} is not in the reconstruction "
                f"(arms: {', '.join(repr(a) for a in arms)})",
                fix=f"pass --{role} as one of the at-risk table's arm labels",
            )
    if treatment is None and control is None and len(arms) == 2:
        treatment, control = arms
    elif treatment is None and control is not None and len(arms) == 2:
        treatment = next(a for a in arms if a != control)
    elif control is None and treatment is not None and len(arms) == 2:
        control = next(a for a in arms if a != treatment)
    if treatment is not None and treatment == control:
        raise DataError(
            f"treatment and control are the same arm ({treatment!r})",
            fix="name two different arms",
        )
    level = 1.0 - alpha
    ipd = result.ipd
    notes = list(result.notes)
    fits = {}
    for a in arms:
        m = (ipd["arm"] == a).to_numpy()
        fits[a] = kaplan_meier(ipd["time"].to_numpy()[m], ipd["event"].to_numpy()[m], "log", level)
    if tau is None:
        tau = float(min(f.time[-1] for f in fits.values()))
        tau_rule = "default: the earlier of the arms' last times"
    else:
        tau_rule = "given"
    per_arm = {}
    for a in arms:
        f = fits[a]
        pts = result.curves[result.curves["arm"] == a]
        below = pts["time"].to_numpy()[pts["survival"].to_numpy() <= 0.5]
        r = f.rmst(tau) if tau > 0 else None
        per_arm[a] = {
            "n": f.n,
            "events": f.n_events,
            "median": f.median.to_dict(),
            "median_digitised": float(below[0]) if below.size else None,
            "rmst": None if r is None else {"estimate": r.estimate, "se": r.se},
        }
    hr = diff = None
    if treatment is not None and control is not None:
        m = ipd["arm"].isin([treatment, control]).to_numpy()
        sub = ipd[m]
        x = (sub["arm"] == treatment).to_numpy(dtype=float)
        try:
            fit = cox(
                sub["time"].to_numpy(),
                sub["event"].to_numpy(),
                x,
                names=["treatment"],
                conf_level=level,
            )
        except EstimationError as exc:  # e.g. no events, or none in one arm (HR 0 or infinite)
            notes.append(f"no hazard ratio: {exc}")
        else:
            ci = fit.conf_int()[0]
            hr = {
                "estimate": float(fit.hazard_ratio[0]),
                "lower": float(ci[0]),
                "upper": float(ci[1]),
                "log_hr": float(fit.coef[0]),
                "se": float(fit.se[0]),
                "p": float(fit.wald_p[0]),
            }
        if tau > 0:
            diff = rmst_difference(fits[treatment], fits[control], tau, level).to_dict()
    return _jsonable(
        {
            "arms": per_arm,
            "treatment": treatment,
            "control": control,
            "hazard_ratio": hr,
            "rmst_difference": diff,
            "at_risk": result.intervals.to_dict(orient="records"),
            "curve_fit": result.to_dict()["curve_fit"],
            "notes": notes,
            "settings": {
                **result.settings,
                "conf_type": "log",
                "ties": "efron",
                "alpha": alpha,
                "tau": tau,
                "tau_rule": tau_rule,
                "hazard_ratio": "Cox, treatment vs control (exp(coef) of the treatment indicator)",
            },
        }
    )


def plot_reconstruction(result: ReconstructionResult, ax: Any = None) -> Any:
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


def _fmt(x: float | None, digits: int = 3) -> str:
    return "NA" if x is None else f"{x:.{digits}f}"


def _rmst_text(rm: dict[str, float] | None) -> str:
    return "NA" if rm is None else f"{rm['estimate']:.2f} ({rm['se']:.2f})"


def _markdown_table(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        cells = [f"{v:g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(
    result: ReconstructionResult,
    directory: str | os.PathLike[str],
    *,
    treatment: str | None = None,
    control: str | None = None,
    tau: float | None = None,
    sources: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the accuracy report of a reconstruction; deterministic (no timestamps).

    Files: ``overlay.png`` (reconstructed vs digitised curves), ``at_risk.csv`` and
    ``at_risk.md`` (reconstructed vs published numbers at risk per interval), ``report.json``
    (:func:`reconstruction_summary`) and ``report.md``.

    Parameters
    ----------
    result : ReconstructionResult
    directory : str or os.PathLike
        Created if missing; files in it are overwritten.
    treatment, control, tau
        As for :func:`reconstruction_summary`.
    sources : mapping, optional
        Input file names to record (e.g. ``{"curve": "curve.csv", "at_risk": "at_risk.csv"}``).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from matplotlib.figure import Figure  # no pyplot: no display, no global backend switch

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    summary = reconstruction_summary(result, treatment=treatment, control=control, tau=tau)
    if sources:
        summary["sources"] = dict(sources)
    written = []

    fig = Figure(figsize=(7, 4.5))
    plot_reconstruction(result, ax=fig.subplots())
    fig.tight_layout()
    png = out / "overlay.png"
    fig.savefig(png, dpi=120, metadata={"Software": None})
    written.append(png)

    table = result.intervals.copy()
    table["difference"] = table["n_at_risk_reconstructed"] - table["n_at_risk_published"]
    csv_path = out / "at_risk.csv"
    table.to_csv(csv_path, index=False, lineterminator="\n")
    md_path = out / "at_risk.md"
    md_path.write_text("# Numbers at risk: reconstructed vs published\n\n" + _markdown_table(table))
    written += [csv_path, md_path]

    js = out / "report.json"
    js.write_text(json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n")
    written.append(js)
    md = out / "report.md"
    md.write_text(_report_markdown(summary, table))
    written.append(md)
    return written


def _report_markdown(summary: dict[str, Any], table: pd.DataFrame) -> str:
    s = summary["settings"]
    lines = ["# Reconstruction report", ""]
    if summary.get("sources"):
        lines.append(
            "Inputs: " + ", ".join(f"{k} `{v}`" for k, v in sorted(summary["sources"].items()))
        )
        lines.append("")
    lines += [
        f"Method: {s['method']}; monotone fit `{s['monotone']}`; censoring {s['censoring']}.",
        "",
        "| arm | n | events | median (95% CI) | digitised median | RMST (SE) | max curve diff |",
        "|---|---|---|---|---|---|---|",
    ]
    for a, d in summary["arms"].items():
        med = d["median"]
        rm = d["rmst"]
        lines.append(
            f"| {a} | {d['n']} | {d['events']} | {_fmt(med['estimate'], 2)} "
            f"({_fmt(med['lower'], 2)} to {_fmt(med['upper'], 2)}) | "
            f"{_fmt(d['median_digitised'], 2)} | "
            f"{_rmst_text(rm)} | "
            f"{summary['curve_fit'][a]['max_abs_diff']:.4f} |"
        )
    lines.append("")
    lines.append(f"RMST horizon tau = {s['tau']:g} ({s['tau_rule']}).")
    hr = summary["hazard_ratio"]
    if hr is not None:
        lines.append("")
        lines.append(
            f"Hazard ratio ({summary['treatment']} vs {summary['control']}, Cox, Efron ties): "
            f"{hr['estimate']:.3f} (95% CI {hr['lower']:.3f} to {hr['upper']:.3f}), "
            f"p = {hr['p']:.3g}."
        )
    diff = summary["rmst_difference"]
    if diff is not None:
        lines.append(
            f"RMST difference ({summary['treatment']} - {summary['control']}): "
            f"{diff['difference']:.2f} (95% CI {diff['lower']:.2f} to {diff['upper']:.2f})."
        )
    if hr is None:
        lines.append("")
        lines.append("No hazard ratio: name two arms with --treatment and --control.")
    lines += ["", "## Numbers at risk", "", _markdown_table(table)]
    lines += ["## Notes", ""]
    lines += [f"- {n}" for n in summary["notes"]] or ["- none"]
    lines += ["", "![overlay](overlay.png)", ""]
    return "\n".join(lines)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return None if math.isnan(v) else v
    return obj
