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
    """Log partial likelihood, score and information at ``beta`` (x sorted, centred)."""
    eta = x @ beta
    w = np.exp(eta)
    ev = rs.event.astype(float)
    s0 = rs.risk_sum(w)
    s1 = rs.risk_sum(w[:, None] * x)
    xx = x[:, :, None] * x[:, None, :]
    s2 = rs.risk_sum(w[:, None, None] * xx)
    d0 = rs.group_sum(w * ev)
    d1 = rs.group_sum((w * ev)[:, None] * x)
    d2 = rs.group_sum((w * ev)[:, None, None] * xx)
    g, f = rows, frac
    denom = s0[g] - f * d0[g]
    a = (s1[g] - f[:, None] * d1[g]) / denom[:, None]
    c = (s2[g] - f[:, None, None] * d2[g]) / denom[:, None, None]
    v = c - a[:, :, None] * a[:, None, :]
    loglik = float(np.sum(eta * ev) - np.sum(np.log(denom)))
    score = (x * ev[:, None]).sum(axis=0) - a.sum(axis=0)
    info = v.sum(axis=0)
    if keep_parts:
        return loglik, score, info, a, v
    return loglik, score, info
