"""Compiled Cox model for the treatment indicator (numba): score and information of the partial
likelihood (Efron or Breslow ties) and Newton-Raphson with step-halving."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def _cox_score(beta, n1, n0, d1, d0, nd, efron):
    """Score and information of the partial likelihood in the treatment coefficient."""
    w = math.exp(beta)
    u = 0.0
    info = 0.0
    for j in range(nd):
        dd = d1[j] + d0[j]
        u += d1[j]
        if efron and dd > 1.0:
            # Efron: the k-th of dd tied events sees the risk set less k/dd of the tied ones
            step1 = d1[j] * w / dd
            step0 = d0[j] / dd
            num = n1[j] * w
            den = num + n0[j]
            for _k in range(int(dd)):
                a = num / den
                u -= a
                info += a * (1.0 - a)
                num -= step1
                den -= step1 + step0
        else:  # one event, or Breslow: every tied event shares the full risk set
            num = n1[j] * w
            a = num / (num + n0[j])
            u -= dd * a
            info += dd * a * (1.0 - a)
    return u, info


@njit(cache=True, error_model="numpy")
def _cox(n1, n0, d1, d0, nd, efron, start, out, col):
    """Newton-Raphson for the treatment log HR from ``start``; the log partial likelihood is
    concave, so a step that makes the score larger in size is halved (as coxph halves a step that
    lowers the likelihood). Converged when the step is below 1e-10 (the SE then uses the
    information at the last evaluated point, 1e-10 away)."""
    beta = start if math.isfinite(start) else 0.0
    u, info = _cox_score(beta, n1, n0, d1, d0, nd, efron)
    for it in range(1, 41):
        if not info > 0.0:
            break
        step = u / info
        if abs(beta) > 30.0:  # exp(30) ~ 1e13: every weight saturates; the maximum is at infinity
            break
        if abs(step) < 1e-10:
            out[col] = beta + step
            out[col + 1] = 1.0 / math.sqrt(info)
            out[col + 2] = it
            return
        nu, ninfo = _cox_score(beta + step, n1, n0, d1, d0, nd, efron)
        halvings = 0
        while (math.isnan(nu) or abs(nu) > abs(u)) and halvings < 40:
            step /= 2.0
            nu, ninfo = _cox_score(beta + step, n1, n0, d1, d0, nd, efron)
            halvings += 1
        beta, u, info = beta + step, nu, ninfo
    out[col] = np.nan  # no finite maximum (e.g. no events in one arm)
    out[col + 1] = np.nan
    out[col + 2] = -1
