"""Harrell's concordance with its standard error, as R ``coxph`` reports it (``fit$concordance``).

A pair is comparable when one member has an event while the other is still at risk (a longer
time, or censored at the same time); pairs of events at the same time are not compared. The
concordance is (concordant + tied/2) / comparable, counting a pair concordant when the member
with the event has the higher risk score (R's ``reverse = TRUE``, what ``coxph`` uses). Its
variance is R's infinitesimal-jackknife estimate, the sum over participants of the squared
influence ((C_i - D_i) - (C_i + D_i + T_i) * somers_d) / (2 * comparable), with C_i, D_i, T_i the
concordant, discordant and score-tied comparable pairs participant i belongs to. Counts are
within strata and summed. Pairs are counted pair by pair with numpy in small strata and with a
compiled Fenwick tree over score ranks, O(n log n), in large ones.
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


# below this many rows per stratum, pairs are counted with numpy in blocks (no numba import,
# which costs a command's start-up more than the counting); above, the compiled Fenwick kernel
NUMPY_MAX_ROWS = 4000
_BLOCK = 512


def _pair_counts_numpy(time: np.ndarray, event: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Per-row (concordant, discordant, tied-score) counts of comparable pairs, pair by pair.

    Pair (i, j) is comparable when i has an event and j is still at risk (a later time, or
    censored at the same time); it is concordant when score_i > score_j. Both members count
    it. Counts are whole numbers, so the sums equal the compiled kernel's exactly.
    """
    n = time.shape[0]
    out = np.zeros((n, 3))
    events = np.flatnonzero(event == 1)
    for k in range(0, events.size, _BLOCK):
        i = events[k : k + _BLOCK]
        ti, xi = time[i][:, None], score[i][:, None]
        comparable = (time[None, :] > ti) | ((time[None, :] == ti) & (event[None, :] == 0))
        for col, rel in enumerate((xi > score[None, :], xi < score[None, :])):
            hit = comparable & rel
            out[i, col] += hit.sum(axis=1)
            out[:, col] += hit.sum(axis=0)
        hit = comparable & (xi == score[None, :])
        out[i, 2] += hit.sum(axis=1)
        out[:, 2] += hit.sum(axis=0)
    return out


def _pair_counts(time: np.ndarray, event: np.ndarray, score: np.ndarray) -> np.ndarray:
    if time.shape[0] <= NUMPY_MAX_ROWS:
        return _pair_counts_numpy(time, event, score)
    from walkback.estimators._concordance_kernel import pair_counts

    order = np.argsort(time, kind="stable")
    uniq, rank = np.unique(score[order], return_inverse=True)
    out = np.empty((time.shape[0], 3))
    out[order] = pair_counts(
        time[order], event[order].astype(np.int64), rank.astype(np.int64), uniq.size
    )
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
