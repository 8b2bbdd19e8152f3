"""Compiled per-replicate kernels for the Monte Carlo engine (numba).

Why compiled loops rather than replicate x day array operations: a WalkBack-sized replicate has
~700 participants but ~1,100 follow-up days, and a Kaplan-Meier median with both CI limits, Cox
Newton-Raphson with Efron ties, the log-rank test and RMST touch each day dozens of times as whole-
array numpy operations (measured ~150 us per replicate), while one compiled pass over the sorted
days does the same work in ~10 us. Random numbers are drawn in numpy from ``SeedSequence`` streams
and passed in, so the kernels hold no random state and results do not depend on threads.

Every kernel mirrors the single-dataset estimators in :mod:`walkback.estimators` (and so R):
Kaplan-Meier products in the same order (``km *= (n - d) / n``), Greenwood sums, R's ``findq``
quantile rule (duplicates dropped, NaN skipped, flat-at-p midpoint, end-of-curve rule), the
survmean RMST, the hypergeometric log-rank variance, and a Cox model for the treatment indicator
maximised by Newton-Raphson with step-halving.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

CONF_LOG, CONF_LOGLOG, CONF_PLAIN = 0, 1, 2
TOL = math.sqrt(np.finfo(float).eps)

# columns of the per-replicate result matrix
COLUMNS = (
    "n_treatment",
    "n_control",
    "events_treatment",
    "events_control",
    "median_treatment",
    "median_treatment_lower",
    "median_treatment_upper",
    "median_control",
    "median_control_lower",
    "median_control_upper",
    "log_hr",
    "se_log_hr",
    "cox_iterations",
    "logrank_o_minus_e",
    "logrank_var",
    "rmst_treatment",
    "rmst_treatment_se",
    "rmst_control",
    "rmst_control_se",
)
NCOL = len(COLUMNS)


# ---- simulation
@njit(cache=True, error_model="numpy")
def _simulate_one(
    spacing,
    u_cell,
    u_block,
    u_assign,
    e_drop,
    e_event,
    cum_rate,
    rate_edges,
    window,
    admin_by_offset,
    cell_cum,
    block_sizes,
    ratio_t,
    ratio_sum,
    months_per_drop_unit,
    every,
    fu_by_months,
    threshold_by_months,
    inv_shape,
    scale,
    hr,
    time_out,
    event_out,
    treated_out,
):
    """One trial, as simulate.simulate: recruitment order statistics, stratified permuted blocks
    (sequential draws within a block: P(treatment) = treatment slots left / slots left), monthly
    follow-up with dropout, and the primary outcome's event day ceil(t) if within follow-up.
    Lookup tables (by recruitment day and by months followed) replace repeated arithmetic."""
    n = u_cell.shape[0]
    ncell = cell_cum.shape[0]
    total = 0.0
    for j in range(n + 1):
        total += spacing[j]
    inv_total = 1.0 / total
    remaining = np.zeros(ncell, np.int64)
    t_left = np.zeros(ncell, np.int64)
    nseg = cum_rate.shape[0] - 1
    acc = 0.0
    nsizes = block_sizes.shape[0]
    nb = 0  # block-size draws used
    inv_width = np.empty(nseg)
    for j in range(nseg):
        inv_width[j] = 1.0 / (cum_rate[j + 1] - cum_rate[j])
    no_dropout = not months_per_drop_unit > 0.0
    # written without data-dependent branches where possible: the draws are random, so
    # branches on them are mispredicted about half the time
    for i in range(n):
        # recruitment: uniform order statistics (exponential spacings), then the inverse CDF
        acc += spacing[i]
        u = acc * inv_total
        k = 0
        for j in range(1, nseg):
            k += cum_rate[j] <= u
        frac = (u - cum_rate[k]) * inv_width[k]
        offset = min(int(rate_edges[k] + frac * (rate_edges[k + 1] - rate_edges[k])), window)
        admin = admin_by_offset[offset]
        # stratum cell, then permuted blocks within the cell in recruitment order
        uc = u_cell[i]
        c = 0
        for j in range(ncell - 1):
            c += cell_cum[j] <= uc
        if remaining[c] == 0:
            size = block_sizes[min(int(u_block[nb] * nsizes), nsizes - 1)]
            nb += 1
            remaining[c] = size
            t_left[c] = size // ratio_sum * ratio_t
        treated = u_assign[i] * remaining[c] < t_left[c]
        t_left[c] -= treated
        remaining[c] -= 1
        # follow-up: last completed report before dropout or the administrative end
        months = admin if no_dropout else min(admin, int(e_drop[i] * months_per_drop_unit) * every)
        fu = fu_by_months[months]
        rate = 1.0 + (hr - 1.0) * treated
        # event day ceil(t); an event when it is at or before the last report
        latent = scale * (e_event[i] / rate) ** inv_shape
        day = math.ceil(min(latent, fu + 1.0))
        time_out[i] = min(day, fu)
        event_out[i] = day <= fu
        treated_out[i] = treated


# ---- Kaplan-Meier read-outs
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


# ---- Cox for the treatment indicator
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


# ---- one replicate
@njit(cache=True, error_model="numpy")
def _analyse_one(time, event, treated, ndays, conf, z, efron, tau, out, work):
    """Analyse one replicate into ``out``; ``work`` is scratch space of shape (15, ndays + 1)."""
    c1 = work[0]
    c0 = work[1]
    e1 = work[2]
    e0 = work[3]
    for t in range(ndays):
        c1[t] = 0.0
        c0[t] = 0.0
        e1[t] = 0.0
        e0[t] = 0.0
    last1 = -1
    last0 = -1
    for i in range(time.shape[0]):
        t = time[i]
        if treated[i]:
            c1[t] += 1.0
            e1[t] += event[i]
            if t > last1:
                last1 = t
        else:
            c0[t] += 1.0
            e0[t] += event[i]
            if t > last0:
                last0 = t
    nt = 0.0
    nc = 0.0
    et = 0.0
    ec = 0.0
    for t in range(ndays):
        nt += c1[t]
        nc += c0[t]
        et += e1[t]
        ec += e0[t]
    out[0] = nt
    out[1] = nc
    out[2] = et
    out[3] = ec
    xs = work[4]
    ys = work[5]
    ylo = work[6]
    yhi = work[7]
    nr = work[8]
    dd = work[9]
    sv = work[10]
    if last1 >= 0:
        a, s = _arm_curve(c1, e1, last1, conf, z, tau, out, 4, xs, ys, ylo, yhi, nr, dd, sv)
        out[15] = a
        out[16] = s
    if last0 >= 0:
        a, s = _arm_curve(c0, e0, last0, conf, z, tau, out, 7, xs, ys, ylo, yhi, nr, dd, sv)
        out[17] = a
        out[18] = s
    # risk sets over days with events: numbers at risk by arm (reverse accumulation)
    n1 = work[11]
    n0 = work[12]
    d1 = work[13]
    d0 = work[14]
    r1 = 0.0
    r0 = 0.0
    nd = 0
    for t in range(ndays - 1, -1, -1):
        r1 += c1[t]
        r0 += c0[t]
        if e1[t] + e0[t] > 0:
            n1[nd] = r1
            n0[nd] = r0
            d1[nd] = e1[t]
            d0[nd] = e0[t]
            nd += 1
    # log-rank (hypergeometric variance), summed in time order
    o_e = 0.0
    var = 0.0
    for j in range(nd - 1, -1, -1):
        n = n1[j] + n0[j]
        d = d1[j] + d0[j]
        o_e += d1[j] - n1[j] * d / n
        if n > 1:
            var += n1[j] * n0[j] * d * (n - d) / (n * n * (n - 1))
    out[13] = o_e
    out[14] = var
    # start Newton at the one-step (log-rank) estimate of the log HR: fewer iterations, same optimum
    _cox(n1, n0, d1, d0, nd, efron, o_e / var if var > 0 else 0.0, out, 10)


@njit(parallel=True, cache=True, error_model="numpy")
def simulate_and_analyse(
    spacing,
    u_cell,
    u_block,
    u_assign,
    e_drop,
    e_event,
    cum_rate,
    rate_edges,
    window,
    admin_by_offset,
    cell_cum,
    block_sizes,
    ratio_t,
    ratio_sum,
    months_per_drop_unit,
    every,
    fu_by_months,
    threshold_by_months,
    inv_shape,
    scale,
    hr,
    ndays,
    conf,
    z,
    efron,
    tau,
    keep_data,
    lanes,
):
    """Simulate and analyse a block of replicates (rows of the random-number arrays)."""
    b, n = u_cell.shape
    out = np.full((b, NCOL), np.nan)
    times = np.zeros((b, n if keep_data else 1), np.int64)
    events = np.zeros((b, n if keep_data else 1), np.int64)
    arms = np.zeros((b, n if keep_data else 1), np.bool_)
    lanes = max(1, min(b, lanes))
    for lane in prange(lanes):  # each lane owns its scratch space and every lanes-th replicate
        time = np.empty(n, np.int64)
        event = np.empty(n, np.int64)
        treated = np.empty(n, np.bool_)
        work = np.empty((15, ndays + 1))
        for r in range(lane, b, lanes):
            _simulate_one(
                spacing[r],
                u_cell[r],
                u_block[r],
                u_assign[r],
                e_drop[r],
                e_event[r],
                cum_rate,
                rate_edges,
                window,
                admin_by_offset,
                cell_cum,
                block_sizes,
                ratio_t,
                ratio_sum,
                months_per_drop_unit,
                every,
                fu_by_months,
                threshold_by_months,
                inv_shape,
                scale,
                hr,
                time,
                event,
                treated,
            )
            _analyse_one(time, event, treated, ndays, conf, z, efron, tau, out[r], work)
            if keep_data:
                times[r] = time
                events[r] = event
                arms[r] = treated
    return out, times, events, arms


@njit(parallel=True, cache=True, error_model="numpy")
def analyse_block(time, event, treated, ndays, conf, z, efron, tau, lanes):
    """Analyse given data: rows are replicates, integer times (days) in [0, ndays)."""
    b = time.shape[0]
    out = np.full((b, NCOL), np.nan)
    lanes = max(1, min(b, lanes))
    for lane in prange(lanes):
        work = np.empty((15, ndays + 1))
        for r in range(lane, b, lanes):
            _analyse_one(time[r], event[r], treated[r], ndays, conf, z, efron, tau, out[r], work)
    return out


@njit(cache=True, error_model="numpy")
def p_values(log_hr, se, o_minus_e, var):
    """Two-sided Wald p of the Cox coefficient and log-rank chi-square with its p (1 df):
    2 * (1 - Phi(|b / se|)) = erfc(|b / se| / sqrt 2) and P(chi2_1 > x) = erfc(sqrt(x / 2))."""
    n = log_hr.shape[0]
    p_cox = np.empty(n)
    chisq = np.empty(n)
    p_lr = np.empty(n)
    for i in range(n):
        p_cox[i] = math.erfc(abs(log_hr[i] / se[i]) / math.sqrt(2.0))
        chisq[i] = o_minus_e[i] * o_minus_e[i] / var[i]
        p_lr[i] = math.erfc(math.sqrt(chisq[i] / 2.0))
    return p_cox, chisq, p_lr
