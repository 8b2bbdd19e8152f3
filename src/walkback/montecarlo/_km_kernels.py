"""Compiled Kaplan-Meier read-outs for one arm (numba): the median with its CI limits (R survival's
``findq`` quantile rule) and the RMST with its SE (R's ``survmean``), from per-day counts."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CONF_LOG, CONF_LOGLOG, CONF_PLAIN = 0, 1, 2
TOL = math.sqrt(np.finfo(float).eps)


@njit(cache=True, error_model="numpy")
def _confint(s, se, conf, z):
    if conf == CONF_LOG:
        if s == 0.0:
            return np.nan, np.nan
        e = math.exp(z * se)  # exp(log S -/+ z se) = S / e, S * e (one exp instead of three)
        hi = s * e
        return s / e, (hi if hi < 1.0 else 1.0)
    if conf == CONF_LOGLOG:
        if s == 0.0 or s == 1.0:
            return np.nan, np.nan
        se2 = z * se / math.log(s)
        ll = math.log(-math.log(s))
        return math.exp(-math.exp(ll - se2)), math.exp(-math.exp(ll + se2))
    se2 = se * s * z
    lo = s - se2
    hi = s + se2
    if not math.isnan(lo) and lo < 0.0:
        lo = 0.0
    if not math.isnan(hi) and hi > 1.0:
        hi = 1.0
    return lo, hi


@njit(cache=True, error_model="numpy")
def _findq(x, y, m, p):
    """R survival's findq on the first m points of (x, y) (x[0] = 0, y[0] = 0), in one pass.

    R drops repeated y values (keeping the first; NaN repeats NaN) before interpolating. Within
    runs that is what the run check below does; a repeat of a non-adjacent earlier value would
    keep the earlier point anyway (the minimum below is strict, so the first of equal values
    wins), and can matter only for R's "last point" rule, which is checked afterwards.
    """
    ymax = -np.inf
    ymin = np.inf
    i1 = -1
    i2 = -1
    y1 = 0.0
    y2 = 0.0
    prev = np.nan
    first = True
    for j in range(m):
        v = y[j]
        if not first and (v == prev or (math.isnan(v) and math.isnan(prev))):
            continue
        first = False
        prev = v
        if math.isnan(v):
            continue
        if v > ymax:
            ymax = v
        if v < ymin:
            ymin = v
        if v + TOL >= p and (i1 < 0 or v < y1):
            i1 = j
            y1 = v
        if v - TOL >= p and (i2 < 0 or v < y2):
            i2 = j
            y2 = v
    if ymax < p:
        return np.nan
    if p == 0.0:
        return x[0]
    if p < ymin + TOL:  # below the first point of the y + tol curve
        i1 = -1
    if p < ymin - TOL:
        i2 = -1
    quant = np.nan
    if i1 >= 0 and i2 >= 0:
        quant = (x[i1] + x[i2]) / 2.0
    # R's last point: the last value that is not a repeat of an earlier one. Only a clamped band
    # (0 or 1) or NaN can repeat a non-adjacent value; other values are new by construction.
    last_j = m - 1
    while last_j > 0 and (
        y[last_j] == y[last_j - 1] or (math.isnan(y[last_j]) and math.isnan(y[last_j - 1]))
    ):
        last_j -= 1
    last = y[last_j]
    if math.isnan(last) or last == 0.0 or last == 1.0:
        while last_j > 0 and _repeats_earlier(y, last_j):
            last_j -= 1
            while last_j > 0 and (
                y[last_j] == y[last_j - 1] or (math.isnan(y[last_j]) and math.isnan(y[last_j - 1]))
            ):
                last_j -= 1
        last = y[last_j]
    if not math.isnan(last) and abs(p - last) < TOL:
        quant = (x[i1] + x[m - 1]) / 2.0 if i1 >= 0 else np.nan
    return quant


@njit(cache=True, error_model="numpy")
def _repeats_earlier(values, j):
    v = values[j]
    for i in range(j):
        if values[i] == v or (math.isnan(v) and math.isnan(values[i])):
            return True
    return False


@njit(cache=True, error_model="numpy")
def _arm_curve(c, d, last_day, conf, z, tau, out, col, xs, ys, ylo, yhi, n_risk_buf, d_buf, sv):
    """KM of one arm from per-day counts: median with CI (into out[col..col+2]) and RMST."""
    n_total = 0.0
    for t in range(last_day + 1):
        n_total += c[t]
    m = 1
    xs[0] = 0.0
    ys[0] = 0.0
    ylo[0] = 0.0
    yhi[0] = 0.0
    km = 1.0
    v = 0.0
    lo = np.nan
    hi = np.nan
    at_risk = n_total
    for t in range(last_day + 1):
        if c[t] == 0:
            continue
        dt = d[t]
        if dt > 0 or m == 1:  # the CI changes only where the curve does
            if dt > 0:
                km *= (at_risk - dt) / at_risk
                v += dt / (at_risk * (at_risk - dt))
            lo, hi = _confint(km, math.sqrt(v), conf, z)
        xs[m] = t
        ys[m] = 1.0 - km
        ylo[m] = 1.0 - lo
        yhi[m] = 1.0 - hi
        n_risk_buf[m] = at_risk
        d_buf[m] = dt
        sv[m] = km
        m += 1
        at_risk -= c[t]
    out[col] = _findq(xs, ys, m, 0.5)
    out[col + 1] = _findq(xs, ylo, m, 0.5)
    out[col + 2] = _findq(xs, yhi, m, 0.5)
    # RMST to tau (R survmean): rectangles under the curve, variance from the tail areas
    k = 0
    for j in range(1, m):
        if xs[j] <= tau:
            k = j
    if k == 0:
        return tau, 0.0
    # points 1..k are curve times <= tau, then tau itself
    area = 0.0
    prev_t = 0.0
    prev_s = 1.0
    for j in range(1, k + 1):
        area += (xs[j] - prev_t) * prev_s
        prev_t = xs[j]
        prev_s = sv[j]
    area += (tau - prev_t) * prev_s
    var = 0.0
    tail = 0.0
    # tail area after point j accumulates from the end: rect after j = (x_{j+1} - x_j) * S_j
    nxt = tau
    for j in range(k, 0, -1):
        tail += (nxt - xs[j]) * sv[j]
        nxt = xs[j]
        nr = n_risk_buf[j]
        dj = d_buf[j]
        if dj > 0 and nr - dj != 0:
            var += tail * tail * dj / (nr * (nr - dj))
    return area, math.sqrt(var)
