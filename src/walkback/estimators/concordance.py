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
_ROWS = 1 << 16  # rows per block of the variance sum's terms


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


def _pair_counts(
    time: np.ndarray, event: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (concordant - discordant, comparable) pair counts and the (concordant,
    discordant, tied) totals over rows: whole numbers, so every path gives the same floats."""
    if time.shape[0] <= NUMPY_MAX_ROWS:
        three = _pair_counts_numpy(time, event, score)
        per_row = np.column_stack((three[:, 0] - three[:, 1], three.sum(axis=1)))
        return per_row, three.sum(axis=0)
    from walkback.estimators._concordance_kernel import pair_counts

    if (time[1:] >= time[:-1]).all():  # sorted already (a Cox fit's rows): no sorted copies
        rank = _ranks(score)
        return pair_counts(time, event.astype(np.int8, copy=False), rank, int(rank.max()) + 1)
    order = np.argsort(time, kind="stable")
    per_row = np.empty((time.shape[0], 2))
    rank = _ranks(score[order])
    per_row[order], totals = pair_counts(
        time[order], event[order].astype(np.int8), rank, int(rank.max()) + 1
    )
    return per_row, totals


def _ranks(score: np.ndarray) -> np.ndarray:
    """Dense ranks 0..m-1 of the scores (np.unique's inverse, without its sorted copies)."""
    return np.searchsorted(np.unique(score), score).astype(np.int64, copy=False)


def _tied_events(time: np.ndarray, event: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """Pairs of events at the same time, and those also tied on the score."""
    ev = np.flatnonzero(event == 1)
    t, x = time[ev], score[ev]
    del ev
    order = np.lexsort((x, t))
    t, x = t[order], x[order]
    del order
    same_t = t[1:] == t[:-1]
    same_tx = same_t & (x[1:] == x[:-1])
    return _tied_pairs(same_t) - _tied_pairs(same_tx), _tied_pairs(same_tx)


def _tied_pairs(same: np.ndarray) -> float:
    """Pairs within runs of equal sorted values; ``same[k]``: value k+1 equals value k."""
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    c = np.diff(np.append(starts, same.size + 1))  # run lengths, in sorted order (np.unique's)
    return float((c * (c - 1) / 2).sum())


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
    codes = None if strata is None else check_codes(strata, n, "strata")[0]
    return checked_concordance(t, e, x, codes)


def checked_concordance(
    time: np.ndarray, event: np.ndarray, score: np.ndarray, codes: np.ndarray | None = None
) -> ConcordanceResult:
    """:func:`concordance` of arrays already checked (float times, 0/1 integer events, finite
    scores, integer stratum codes or None), without copies of them: a Cox fit's sorted rows."""
    t, e, x = time, event, score
    n = t.shape[0]
    tied_y = tied_xy = 0.0
    levels = np.zeros(1, dtype=np.int64) if codes is None else np.unique(codes)
    if levels.size == 1 and e.sum() > 0:  # one stratum: no per-stratum copies of the data
        tied_y, tied_xy = _tied_events(t, e, x)  # first: per_row is large
        per_row, totals = _pair_counts(t, e, x)
        levels = levels[:0]
    else:
        per_row, totals = np.zeros((n, 2)), np.zeros(3)
    for s in levels:
        m = np.ones(n, dtype=bool) if codes is None else codes == s
        if e[m].sum() == 0:
            continue
        per_row[m], part = _pair_counts(t[m], e[m], x[m])
        totals += part
        ty, txy = _tied_events(t[m], e[m], x[m])
        tied_y, tied_xy = tied_y + ty, tied_xy + txy
    # every comparable pair is counted once from each member's side
    c, d, tx = (totals / 2.0).tolist()
    npair = c + d + tx
    if npair == 0:
        nan = float("nan")
        return ConcordanceResult(nan, nan, c, d, tx, tied_y, tied_xy)
    somers = (c - d) / npair
    # dfbeta = ((concordant - discordant) - all pairs * somers) / (2 npair), squared, a block
    # of rows at a time: the same operations on the same values, without row-length temporaries
    dfbeta = np.empty(n)
    for k in range(0, n, _ROWS):
        part = per_row[k : k + _ROWS, 0].copy()
        part -= per_row[k : k + _ROWS, 1] * somers
        part /= 2.0 * npair
        np.square(part, out=dfbeta[k : k + _ROWS])
    del per_row
    return ConcordanceResult(
        estimate=(somers + 1.0) / 2.0,
        se=float(np.sqrt(np.sum(dfbeta))),
        concordant=c,
        discordant=d,
        tied_x=tx,
        tied_y=tied_y,
        tied_xy=tied_xy,
    )
