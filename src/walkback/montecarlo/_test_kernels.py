"""Compiled weighted log-rank tests and MaxCombo for one replicate (numba), as
:mod:`walkback.estimators.weighted` computes them on one dataset (two groups, unstratified).

From the per-event-day numbers at risk and events by arm (latest day first, as ``_kernels``
builds them): the pooled left-continuous Kaplan-Meier S(t-) and Peto-Peto S~(t-), the weights,
U = sum w (d_1 - n_1 d / n), V = sum w^2 n_1 n_0 d (n - d) / (n^2 (n - 1)), z = U / sqrt(V),
chisq = U^2 / V and p = P(chi2_1 > chisq). As ``weighted_logrank``: a group with no (weighted)
expected events leaves no test (chisq 0, p NaN), and V = 0 gives z NaN, chisq 0. MaxCombo: the
four FH(rho, gamma) z's and their correlation, m = max |z| over those with variance, and the p
of :func:`walkback.max_abs_normal.max_abs_normal_sf_low_rank`, the same function the
single-dataset ``maxcombo`` calls.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from walkback.max_abs_normal import max_abs_normal_sf_low_rank

# test kinds (codes passed to the kernels)
LOGRANK, FH, GEHAN, TARONE_WARE, PETO, MAXCOMBO = 0, 1, 2, 3, 4, 5
KIND_CODES = {
    "logrank": LOGRANK,
    "fh": FH,
    "gehan": GEHAN,
    "tarone-ware": TARONE_WARE,
    "peto": PETO,
    "maxcombo": MAXCOMBO,
}


@njit(cache=True, error_model="numpy")
def _pow(x, e):
    """x ** e, with e = 0 and 1 short-cut (exactly what pow returns: 1 and x), as MaxCombo's
    exponents are; numpy's array ** scalar takes the same short-cuts."""
    if e == 0.0:
        return 1.0
    if e == 1.0:
        return x
    return x**e


@njit(cache=True, error_model="numpy")
def _weight(kind, rho, gamma, n, km, peto):
    if kind == FH:
        return _pow(km, rho) * _pow(1.0 - km, gamma)
    if kind == GEHAN:
        return n
    if kind == TARONE_WARE:
        return math.sqrt(n)
    if kind == PETO:
        return peto
    return 1.0


@njit(cache=True, error_model="numpy")
def _one_test(kind, rho, gamma, n1, n0, d1, d0, nd, out):
    u = 0.0
    v = 0.0
    e1 = 0.0
    e0 = 0.0
    km = 1.0
    peto = 1.0
    for j in range(nd - 1, -1, -1):  # in time order
        n = n1[j] + n0[j]
        d = d1[j] + d0[j]
        w = _weight(kind, rho, gamma, n, km, peto)
        u += w * (d1[j] - n1[j] * d / n)
        e1 += w * n1[j] * d / n
        e0 += w * n0[j] * d / n
        if n > 1:
            v += w * w * n1[j] * n0[j] * d * (n - d) / (n * n * (n - 1.0))
        km *= (n - d) / n
        peto *= 1.0 - d / (n + 1.0)
    out[0] = u / math.sqrt(v) if v > 0.0 else np.nan
    if e1 > 0.0 and e0 > 0.0:
        out[1] = u * u / v if v != 0.0 else 0.0
        out[2] = math.erfc(math.sqrt(out[1] / 2.0))
    else:
        out[1] = 0.0
        out[2] = np.nan


@njit(cache=True, error_model="numpy")
def _maxcombo(rhos, gammas, n1, n0, d1, d0, nd, out):
    k = rhos.shape[0]
    u = np.zeros(k)
    cov = np.zeros((k, k))
    w = np.empty(k)
    km = 1.0
    for j in range(nd - 1, -1, -1):
        n = n1[j] + n0[j]
        d = d1[j] + d0[j]
        frac = n1[j] / n
        hyper = d * (n - d) / (n - 1.0) if n > 1 else 0.0
        v1 = hyper * frac * (1.0 - frac)
        for a in range(k):
            w[a] = _pow(km, rhos[a]) * _pow(1.0 - km, gammas[a])
            u[a] += w[a] * (d1[j] - n1[j] * d / n)
        for a in range(k):
            wv = w[a] * v1
            for b in range(a, k):
                cov[a, b] += wv * w[b]
        km *= (n - d) / n
    for a in range(k):
        for b in range(a):
            cov[a, b] = cov[b, a]
    ok = np.zeros(k, np.bool_)
    nok = 0
    best = -1
    zbest = np.nan
    for a in range(k):
        if cov[a, a] > 0.0:
            za = u[a] / math.sqrt(cov[a, a])
            if math.isfinite(za):
                ok[a] = True
                nok += 1
                if best < 0 or abs(za) > abs(zbest):
                    best = a
                    zbest = za
    out[0] = zbest
    out[1] = zbest * zbest
    out[2] = np.nan
    out[3] = np.nan
    if nok == 0:
        return
    corr = np.empty((nok, nok))
    ia = 0
    for a in range(k):
        if not ok[a]:
            continue
        ib = 0
        for b in range(k):
            if not ok[b]:
                continue
            corr[ia, ib] = cov[a, b] / (math.sqrt(cov[a, a]) * math.sqrt(cov[b, b]))
            ib += 1
        ia += 1
    out[2] = max_abs_normal_sf_low_rank(abs(zbest), corr)
    out[3] = best


@njit(cache=True, error_model="numpy")
def weighted_tests(kinds, rhos, gammas, combo_rho, combo_gamma, n1, n0, d1, d0, nd, out):
    """Each test t (kind code, rho, gamma) into ``out[t]`` (z, chisq, p, winner)."""
    for t in range(kinds.shape[0]):
        if kinds[t] == MAXCOMBO:
            _maxcombo(combo_rho, combo_gamma, n1, n0, d1, d0, nd, out[t])
        else:
            _one_test(kinds[t], rhos[t], gammas[t], n1, n0, d1, d0, nd, out[t])
            out[t, 3] = np.nan
