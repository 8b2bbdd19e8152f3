"""Harrell's concordance with its standard error, as R ``coxph`` reports it (``fit$concordance``).

A pair is comparable when one member has an event while the other is still at risk (a longer
time, or censored at the same time); pairs of events at the same time are not compared. The
concordance is (concordant + tied/2) / comparable, counting a pair concordant when the member
with the event has the higher risk score (R's ``reverse = TRUE``, what ``coxph`` uses). Its
variance is R's infinitesimal-jackknife estimate, the sum over participants of the squared
influence ((C_i - D_i) - (C_i + D_i + T_i) * somers_d) / (2 * comparable), with C_i, D_i, T_i the
concordant, discordant and score-tied comparable pairs participant i belongs to. Counts are
within strata and summed. Pairs are counted with a Fenwick tree over score ranks, O(n log n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback.estimators._checks import _error, check_codes, check_event, check_time
from walkback.estimators._checks import timefix as aeq_times


@dataclass(frozen=True)
class ConcordanceResult:
    """Concordance estimate, its SE and the pair counts (R's ``concordance`` vector)."""

    estimate: float
    se: float
    concordant: float
    discordant: float
    tied_x: float
    tied_y: float
    tied_xy: float

    def to_dict(self) -> dict:
        return {
            "estimate": self.estimate,
            "se": self.se,
            "concordant": self.concordant,
            "discordant": self.discordant,
            "tied_risk": self.tied_x,
            "tied_time": self.tied_y,
            "tied_both": self.tied_xy,
        }


def _kernel():
    from numba import njit

    @njit(cache=True)
    def add(tree, i, w):
        i += 1
        while i < tree.shape[0]:
            tree[i] += w
            i += i & (-i)

    @njit(cache=True)
    def below(tree, i):  # total weight at ranks < i
        s = 0.0
        while i > 0:
            s += tree[i]
            i -= i & (-i)
        return s

    @njit(cache=True)
    def counts(time, event, rank, m, pos, out):
        """time sorted ascending. Adds row i's (concordant, discordant, tied) pair counts to
        ``out[pos[i]]`` (pos: the rows' places in the caller's order)."""
        n = time.shape[0]
        tree = np.zeros(m + 1)
        total = 0.0
        # pass 1, descending time: each event against the rows still at risk
        hi = n
        while hi > 0:
            lo = hi - 1
            while lo > 0 and time[lo - 1] == time[hi - 1]:
                lo -= 1
            for i in range(lo, hi):
                if event[i] == 0:
                    add(tree, rank[i], 1.0)
                    total += 1.0
            for i in range(lo, hi):
                if event[i] == 1:
                    less = below(tree, rank[i])
                    upto = below(tree, rank[i] + 1)
                    out[pos[i], 0] += less
                    out[pos[i], 1] += total - upto
                    out[pos[i], 2] += upto - less
            for i in range(lo, hi):
                if event[i] == 1:
                    add(tree, rank[i], 1.0)
                    total += 1.0
            hi = lo
        # pass 2, ascending time: each row against the earlier events whose risk set held it
        tree[:] = 0.0
        total = 0.0
        lo = 0
        while lo < n:
            hi = lo + 1
            while hi < n and time[hi] == time[lo]:
                hi += 1
            for phase in range(3):
                for i in range(lo, hi):
                    if phase == 1:
                        if event[i] == 1:
                            add(tree, rank[i], 1.0)
                            total += 1.0
                    elif (phase == 0 and event[i] == 1) or (phase == 2 and event[i] == 0):
                        less = below(tree, rank[i])
                        upto = below(tree, rank[i] + 1)
                        out[pos[i], 0] += total - upto  # the event had the higher score
                        out[pos[i], 1] += less
                        out[pos[i], 2] += upto - less
            lo = hi
        return 0

    return counts


_COUNTS = None


def _pair_counts(time: np.ndarray, event: np.ndarray, score: np.ndarray) -> np.ndarray:
    global _COUNTS
    if _COUNTS is None:
        _COUNTS = _kernel()
    order = np.argsort(time, kind="stable")
    uniq, rank = np.unique(score[order], return_inverse=True)
    m = uniq.size
    del uniq  # large inputs: free each temporary before the next is made
    rank = rank.astype(np.int64, copy=False)
    out = np.zeros((time.shape[0], 3))  # filled in the input's row order by the kernel
    pos = order.astype(np.int64, copy=False)
    _COUNTS(time[order], event[order].astype(np.int64), rank, m, pos, out)
    return out


def _tied_events(time: np.ndarray, event: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """Pairs of events at the same time, and those also tied on the score."""
    ev = event == 1
    _, c_t = np.unique(time[ev], return_counts=True)
    _, c_ts = np.unique(np.column_stack((time[ev], score[ev])), axis=0, return_counts=True)
    pairs = lambda c: float((c * (c - 1) / 2).sum())  # noqa: E731
    return pairs(c_t) - pairs(c_ts), pairs(c_ts)


def concordance(time, event, score, strata=None, *, timefix: bool = True) -> ConcordanceResult:
    """Concordance of a risk score with survival, as the concordance R's ``coxph`` prints.

    Parameters
    ----------
    time, event : array-like (n,)
        Follow-up times and 0/1 event indicators.
    score : array-like (n,)
        Risk score (e.g. the Cox linear predictor): higher = expected to fail sooner.
    strata : array-like (n,), optional
        Pairs are compared only within a stratum.
    timefix : bool, default True
        Merge near-tied times as R's ``aeqSurv``.
    """
    t = check_time(time)
    n = t.shape[0]
    e = check_event(event, n)
    x = np.asarray(score, dtype=float)
    if x.shape != (n,) or not np.isfinite(x).all():
        raise _error(f"must be {n} finite numbers", "score")
    if timefix:
        t = aeq_times(t)
    codes = np.zeros(n, dtype=np.int64) if strata is None else check_codes(strata, n, "strata")[0]
    tied_y = tied_xy = 0.0
    levels = np.unique(codes)
    if levels.size == 1 and e.sum() > 0:  # one stratum: no per-stratum copies of the data
        per_row = _pair_counts(t, e, x)
        tied_y, tied_xy = _tied_events(t, e, x)
        levels = levels[:0]
    else:
        per_row = np.zeros((n, 3))
    for s in levels:
        m = codes == s
        if e[m].sum() == 0:
            continue
        per_row[m] = _pair_counts(t[m], e[m], x[m])
        ty, txy = _tied_events(t[m], e[m], x[m])
        tied_y, tied_xy = tied_y + ty, tied_xy + txy
    # every comparable pair is counted once from each member's side
    c, d, tx = (per_row.sum(axis=0) / 2.0).tolist()
    npair = c + d + tx
    if npair == 0:
        nan = float("nan")
        return ConcordanceResult(nan, nan, c, d, tx, tied_y, tied_xy)
    somers = (c - d) / npair
    # dfbeta = ((concordant - discordant) - all pairs * somers) / (2 npair), in place: the same
    # operations in the same order as the plain expression, without its temporaries
    dfbeta = per_row[:, 0] - per_row[:, 1]
    pairs = per_row.sum(axis=1)
    del per_row
    pairs *= somers
    dfbeta -= pairs
    dfbeta /= 2.0 * npair
    np.square(dfbeta, out=dfbeta)
    return ConcordanceResult(
        estimate=(somers + 1.0) / 2.0,
        se=float(np.sqrt(np.sum(dfbeta))),
        concordant=c,
        discordant=d,
        tied_x=tx,
        tied_y=tied_y,
        tied_xy=tied_xy,
    )
