"""(start, stop] data: checks, R's ``timefix`` for intervals, and risk-set sums over intervals.

A row is at risk at time t when ``start < t <= stop`` (R's counting-process ``Surv(start, stop,
event)``; delayed entry is the case of one row per participant). Risk-set sums are differences of
two reverse cumulative sums: rows that end at or after t, less rows that begin at or after t.
Used by the Kaplan-Meier, Nelson-Aalen and Cox kernels when an entry/start time, case weights or
a cluster is given; data without any of these never reach this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback.estimators._checks import TIMEFIX_TOL, _error, check_codes, check_time


def check_start(start, stop: np.ndarray, name: str = "entry") -> np.ndarray:
    """Entry/start times: finite, >= 0, and each strictly below its stop time (R's rule)."""
    s = check_time(start, name)
    if s.shape != stop.shape:
        raise _error(f"must have one entry per time ({stop.shape[0]}), got {s.shape[0]}", name)
    bad = np.flatnonzero(s >= stop)
    if bad.size:
        raise _error(
            "must be < the stop time (a row is at risk on (start, stop])",
            name,
            bad,
            value=(float(s[bad[0]]), float(stop[bad[0]])),
            fix="drop rows whose interval is empty or correct the times",
        )
    return s


def check_weights(weights, n: int, name: str = "weights") -> np.ndarray:
    """Case weights: n finite numbers >= 0, not all 0 (R ``coxph``/``survfit`` ``weights``)."""
    arr = np.asarray(weights)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise _error(f"must be a 1-D array of length {n} (one per time), got {arr.shape}", name)
    if arr.dtype.kind not in "biuf":
        raise _error(f"weights must be numbers, got dtype {arr.dtype}", name)
    w = arr.astype(float)
    bad = np.flatnonzero(~np.isfinite(w))
    if bad.size:
        raise _error("weights must be finite numbers (no NaN or infinity)", name, bad)
    bad = np.flatnonzero(w < 0)
    if bad.size:
        raise _error("weights must be >= 0", name, bad, float(w[bad[0]]))
    if n and not (w > 0).any():
        raise _error("at least one weight must be > 0", name)
    return w


def check_cluster(cluster, n: int, name: str = "cluster") -> np.ndarray:
    """Cluster labels as int64 codes 0..k-1."""
    return check_codes(cluster, n, name)[0]


def timefix_intervals(
    start: np.ndarray, stop: np.ndarray, tolerance: float = TIMEFIX_TOL
) -> tuple[np.ndarray, np.ndarray]:
    """R's ``aeqSurv`` for (start, stop] data: start and stop times merged on one shared grid.

    An interval that the merging would make empty is an error, as in R.
    """
    y = np.unique(np.concatenate((start, stop)))
    if y.size < 2:
        return start, stop
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return start, stop
    cuts = y[np.concatenate(([True], ~tied))]
    a = cuts[np.searchsorted(cuts, start, side="right") - 1]
    b = cuts[np.searchsorted(cuts, stop, side="right") - 1]
    bad = np.flatnonzero(a >= b)
    if bad.size:
        raise _error(
            "an interval has length 0 once near-tied times are merged (R's aeqSurv exception)",
            "entry",
            bad,
            fix="pass timefix=False (--no-timefix) or correct the times",
        )
    return a, b


@dataclass(frozen=True)
class IntervalRiskSets:
    """Event times of (start, stop] data, one stratum after another, and sums over risk sets.

    Attributes
    ----------
    time, stratum : the distinct (stratum, event time) pairs, sorted
    row_group : for each event row, its index in ``time`` (-1 for non-event rows)
    """

    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    stratum: np.ndarray
    time: np.ndarray
    group_stratum: np.ndarray
    row_group: np.ndarray
    _stop_order: np.ndarray
    _start_order: np.ndarray
    _stop_pos: np.ndarray  # per group: first position in stop order with (s, stop) >= (s, t)
    _start_pos: np.ndarray
    _stratum_end: np.ndarray  # per group: end of its stratum in the two orders

    def risk_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (rows on the leading axis) over each event time's risk set."""
        a = _reverse_cumsum(values[self._stop_order])
        b = _reverse_cumsum(values[self._start_order])
        end = self._stratum_end
        return (a[self._stop_pos] - a[end]) - (b[self._start_pos] - b[end])

    def event_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over the event rows of each event time."""
        ev = self.row_group >= 0
        out = np.zeros((self.time.shape[0],) + values.shape[1:])
        np.add.at(out, self.row_group[ev], values[ev])
        return out

    def cumulative_at(self, per_group: np.ndarray, times: np.ndarray) -> np.ndarray:
        """For each row, the sum of ``per_group`` over its stratum's event times <= ``times``."""
        c = np.concatenate((np.zeros((1,) + per_group.shape[1:]), np.cumsum(per_group, axis=0)))
        first = np.searchsorted(self.group_stratum, self.stratum, side="left")
        last = np.searchsorted(self.group_stratum, self.stratum, side="right")
        pos = first.copy()
        for k in np.unique(self.stratum):
            m = self.stratum == k
            lo, hi = first[m][0], last[m][0]
            pos[m] = lo + np.searchsorted(self.time[lo:hi], times[m], side="right")
        return c[pos] - c[first]


def _reverse_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros((values.shape[0] + 1,) + values.shape[1:], dtype=float)
    out[:-1] = np.cumsum(values[::-1], axis=0)[::-1]
    return out


def build_interval_risk_sets(
    start: np.ndarray, stop: np.ndarray, event: np.ndarray, stratum: np.ndarray | None = None
) -> IntervalRiskSets:
    """Event times per stratum and the sort orders that give risk-set sums over intervals."""
    n = stop.shape[0]
    s = np.zeros(n, dtype=np.int64) if stratum is None else np.asarray(stratum, dtype=np.int64)
    ev = np.asarray(event).astype(bool)
    stop_order = np.lexsort((stop, s))
    start_order = np.lexsort((start, s))
    pairs, inverse = np.unique(
        np.column_stack((s[ev].astype(float), stop[ev])), axis=0, return_inverse=True
    )
    g_s = pairs[:, 0].astype(np.int64)
    g_t = pairs[:, 1]
    s_sorted = s[stop_order]
    stop_sorted, start_sorted = stop[stop_order], start[start_order]
    stratum_end = np.searchsorted(s_sorted, g_s, side="right")
    stratum_first = np.searchsorted(s_sorted, g_s, side="left")
    stop_pos = np.empty(g_t.size, dtype=np.int64)
    start_pos = np.empty(g_t.size, dtype=np.int64)
    for k in np.unique(g_s):
        m = g_s == k
        lo, hi = stratum_first[m][0], stratum_end[m][0]
        stop_pos[m] = lo + np.searchsorted(stop_sorted[lo:hi], g_t[m], side="left")
        # rows that begin at or after t are not yet at risk at t
        start_pos[m] = lo + np.searchsorted(start_sorted[lo:hi], g_t[m], side="left")
    row_group = np.full(n, -1, dtype=np.int64)
    row_group[ev] = inverse.reshape(-1)
    return IntervalRiskSets(
        start, stop, ev, s, g_t, g_s, row_group,
        stop_order, start_order, stop_pos, start_pos, stratum_end,
    )  # fmt: skip
