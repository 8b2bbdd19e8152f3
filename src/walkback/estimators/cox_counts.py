"""Cox model for one binary covariate from event and at-risk counts per distinct time.

The same partial likelihood as :func:`walkback.estimators.cox`, at a cost set by the number of
distinct times rather than participants: used by calibration, which fits many large pooled trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback._typing import Ties
from walkback.exceptions import ConvergenceError, EstimationError


@dataclass(frozen=True)
class BinaryCoxResult:
    """Cox fit for one binary covariate from event/at-risk counts per distinct time."""

    coef: float
    se: float
    loglik_null: float
    loglik: float
    ties: Ties

    @property
    def hazard_ratio(self) -> float:
        return float(np.exp(self.coef))


def cox_binary_counts(
    n1: np.ndarray,
    n0: np.ndarray,
    d1: np.ndarray,
    d0: np.ndarray,
    ties: Ties = "efron",
    max_iter: int = 30,
    start: float = 0.0,
) -> BinaryCoxResult:
    """Cox model for a 0/1 covariate from counts at each distinct event time (one stratum).

    ``n1, n0``: numbers at risk with covariate 1 and 0; ``d1, d0``: events. Exactly the partial
    likelihood that :func:`cox` maximises for these data, at a cost set by the number of distinct
    times rather than participants (useful for large pooled or integer-day data). ``start`` is
    the Newton-Raphson starting value (a warm start when fitting many similar datasets).
    """
    n1, n0, d1, d0 = (np.asarray(a, dtype=float) for a in (n1, n0, d1, d0))
    keep = (d1 + d0) > 0
    n1, n0, d1, d0 = n1[keep], n0[keep], d1[keep], d0[keep]
    d = (d1 + d0).astype(np.int64)
    if d.sum() == 0:
        raise EstimationError("the Cox model needs at least one event; these data have none")
    rows = np.repeat(np.arange(d.size), d)
    if ties == "efron":
        first = np.cumsum(d) - d
        frac = (np.arange(rows.size) - np.repeat(first, d)) / d[rows]
    else:
        frac = np.zeros(rows.size)

    def derivs(beta: float):
        w = np.exp(beta)
        num = (n1[rows] - frac * d1[rows]) * w
        denom = num + n0[rows] - frac * d0[rows]
        a = num / denom
        ll = float(beta * d1.sum() - np.log(denom).sum())
        return ll, float(d1.sum() - a.sum()), float((a * (1 - a)).sum())

    ll0 = derivs(0.0)[0]
    beta = float(start)
    ll, u, info = derivs(beta)
    for _ in range(max_iter):
        step = u / info
        new = beta + step
        new_ll, new_u, new_info = derivs(new)
        while new_ll < ll - 1e-12 * abs(ll):
            new = (beta + new) / 2
            new_ll, new_u, new_info = derivs(new)
        done = abs(new - beta) < 1e-10
        beta, ll, u, info = new, new_ll, new_u, new_info
        if done:
            return BinaryCoxResult(beta, float(1 / np.sqrt(info)), ll0, ll, ties)
    raise ConvergenceError("Cox fit did not converge (a coefficient may be infinite)")


def counts_by_time(time, event, group) -> tuple[np.ndarray, ...]:
    """Distinct times with numbers at risk and events per group (1 and 0), for the count kernels.

    Non-negative integer times (days) are binned directly, which avoids a sort.
    """
    t = np.asarray(time)
    e = np.asarray(event).astype(bool)
    g = np.asarray(group).astype(bool)
    if t.dtype.kind in "iu" and t.size and t.min() >= 0 and t.max() <= 16 * t.size + 1024:
        inv = t
        k = int(t.max()) + 1
        utime = np.arange(k)
    else:
        utime, inv = np.unique(t, return_inverse=True)
        k = utime.size
    c1 = np.bincount(inv, weights=g, minlength=k)
    c0 = np.bincount(inv, weights=~g, minlength=k)
    d1 = np.bincount(inv, weights=g & e, minlength=k)
    d0 = np.bincount(inv, weights=~g & e, minlength=k)
    n1 = np.cumsum(c1[::-1])[::-1]
    n0 = np.cumsum(c0[::-1])[::-1]
    present = (c1 + c0) > 0
    return utime[present], n1[present], n0[present], d1[present], d0[present]
