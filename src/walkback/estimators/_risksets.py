"""Risk-set bookkeeping shared by the log-rank test, the Cox model and its PH test.

Rows are sorted by (stratum, time). A *tie group* is a run of rows with the same stratum and time.
The risk set of a group is every row of its stratum from the group's first row onwards (time >= t),
so risk-set sums are reverse cumulative sums, cut at the stratum's end. Everything is vectorised:
no Python loop runs over times or strata, which is what lets these kernels scale to many replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RiskSets:
    """Sorted layout of one dataset for risk-set sums.

    Attributes
    ----------
    order : row permutation that sorts by (stratum, time)
    time, event, stratum : sorted copies
    group_start : first sorted row of each tie group
    group_end : one past the last row of each tie group
    stratum_end : one past the last row of each group's stratum (the risk set is start..stratum_end)
    n_event : events in each tie group
    """

    order: np.ndarray
    time: np.ndarray
    event: np.ndarray
    stratum: np.ndarray
    group_start: np.ndarray
    group_end: np.ndarray
    stratum_end: np.ndarray
    n_event: np.ndarray

    @property
    def n_risk(self) -> np.ndarray:
        """Number at risk at each tie group."""
        return self.stratum_end - self.group_start

    @property
    def event_groups(self) -> np.ndarray:
        """Indices of the tie groups that hold at least one event."""
        return np.flatnonzero(self.n_event > 0)

    def risk_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (sorted order, leading axis = rows) over each group's risk set."""
        rc = _reverse_cumsum(values)
        return rc[self.group_start] - rc[self.stratum_end]

    def group_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (sorted order) over the rows of each tie group."""
        c = _cumsum0(values)
        return c[self.group_end] - c[self.group_start]


def _reverse_cumsum(values: np.ndarray) -> np.ndarray:
    """Reverse cumulative sum along axis 0, with a trailing zero row (so index n gives 0)."""
    out = np.zeros((values.shape[0] + 1,) + values.shape[1:], dtype=float)
    np.cumsum(values[::-1], axis=0, out=out[-2::-1])  # written in place, no n-row temporary
    return out


def _cumsum0(values: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 0 with a leading zero row."""
    out = np.zeros((values.shape[0] + 1,) + values.shape[1:], dtype=float)
    np.cumsum(values, axis=0, out=out[1:])
    return out


def build_risk_sets(
    time: np.ndarray, event: np.ndarray, stratum: np.ndarray | None = None
) -> RiskSets:
    """Sort one dataset by (stratum, time) and find its tie groups and strata boundaries."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event)
    n = time.shape[0]
    # 0/1 events as int8 (an eighth of the memory; every use is a comparison, a product with
    # floats or a sum, which numpy accumulates in int64): the same numbers
    small = event.size == 0 or (event.min() >= 0 and event.max() <= 1)
    event = event.astype(np.int8 if small else np.int64, copy=False)
    if stratum is None:  # one stratum: a stable sort by time is lexsort's order, and the
        order = np.argsort(time, kind="stable")  # stratum codes one read-only zero (no copies)
        s = np.broadcast_to(np.zeros(1, dtype=np.int64), (n,))
    else:
        stratum = np.asarray(stratum, dtype=np.int64)
        order = np.lexsort((time, stratum))
        s = stratum[order]
    t, e = time[order], event[order]

    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (t[1:] != t[:-1]) | (s[1:] != s[:-1])
    group_start = np.flatnonzero(new_group)
    group_end = np.append(group_start[1:], n)

    new_stratum = np.ones(n, dtype=bool)
    new_stratum[1:] = s[1:] != s[:-1]
    s_start = np.flatnonzero(new_stratum)
    s_end = np.append(s_start[1:], n)
    # which stratum run each group belongs to
    run = np.searchsorted(s_start, group_start, side="right") - 1
    stratum_end = s_end[run]

    c = _cumsum0(e.astype(float))
    n_event = np.rint(c[group_end] - c[group_start]).astype(np.int64)
    return RiskSets(order, t, e, s, group_start, group_end, stratum_end, n_event)


def efron_rows(rs: RiskSets, ties: str) -> tuple[np.ndarray, np.ndarray]:
    """Expand each event group into one row per event.

    Returns the group index of each row and its tie fraction: k/d for the k-th of d tied events
    (k = 0..d-1) under Efron, 0 under Breslow.
    """
    d = rs.n_event
    groups = np.repeat(np.arange(d.shape[0]), d)
    if ties == "breslow":
        return groups, np.zeros(groups.shape[0])
    first = np.cumsum(d) - d
    k = np.arange(groups.shape[0]) - np.repeat(first, d)
    return groups, k / d[groups]
