"""Cox partial likelihood, its score and information (Efron or Breslow ties), on sorted risk sets.

Shared by the Cox fit and its proportional-hazards test.
"""

from __future__ import annotations

import numpy as np

from walkback.estimators._risksets import RiskSets


def derivatives(
    rs: RiskSets,
    x: np.ndarray,
    beta: np.ndarray,
    rows: np.ndarray,
    frac: np.ndarray,
    *,
    keep_parts: bool = False,
):
    """Log partial likelihood, score and information at ``beta`` (x sorted, centred).

    Row-length temporaries are reused and freed as soon as they are summed (in place: the same
    operations on the same values, so the same numbers, in a fraction of the memory).
    """
    eta = x @ beta
    w = np.exp(eta)
    ev = rs.event.astype(float)
    wev = w * ev
    eta *= ev
    event_eta = np.sum(eta)  # sum of eta over the events
    del eta
    tmp = x * ev[:, None]
    x_events = tmp.sum(axis=0)
    del ev
    s0 = rs.risk_sum(w)
    d0 = rs.group_sum(wev)
    np.multiply(w[:, None], x, out=tmp)
    s1 = rs.risk_sum(tmp)
    np.multiply(wev[:, None], x, out=tmp)
    d1 = rs.group_sum(tmp)
    del tmp
    # second moments one pair of columns at a time (each lane's sums as over the n x p x p
    # array, and x_a x_b = x_b x_a exactly): two row-length buffers instead of three n x p x p
    p, k = x.shape[1], rs.group_start.size
    s2, d2 = np.empty((k, p, p)), np.empty((k, p, p))
    for i in range(p):
        for j in range(i + 1):
            xx = x[:, i] * x[:, j]
            prod = wev * xx
            d2[:, i, j] = d2[:, j, i] = rs.group_sum(prod)
            np.multiply(w, xx, out=prod)
            s2[:, i, j] = s2[:, j, i] = rs.risk_sum(prod)
    del wev, w
    g, f = rows, frac
    denom = s0[g]
    denom -= f * d0[g]
    a = s1[g]
    a -= f[:, None] * d1[g]
    a /= denom[:, None]
    v = s2[g]  # c = (s2 - f d2) / denom, then v = c - a a'
    tmp = d2[g]
    tmp *= f[:, None, None]
    v -= tmp
    v /= denom[:, None, None]
    np.multiply(a[:, :, None], a[:, None, :], out=tmp)
    v -= tmp
    del tmp
    loglik = float(event_eta - np.sum(np.log(denom)))
    score = x_events - a.sum(axis=0)
    info = v.sum(axis=0)
    if keep_parts:
        return loglik, score, info, a, v
    return loglik, score, info
