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

The kernels live in ``_sim_kernel`` (one trial's simulation), ``_km_kernels`` (Kaplan-Meier median
and RMST per arm) and ``_cox_kernels`` (the Cox fit); this module holds the per-replicate analysis
and the block entry points. numba's on-disk cache (``cache=True``) is keyed on each function's own
file: after editing a kernel in one of those modules, touch this file (or clear ``__pycache__``)
so that the entry points here are recompiled with it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from walkback.montecarlo._cox_kernels import _cox
from walkback.montecarlo._km_kernels import CONF_LOG, CONF_LOGLOG, CONF_PLAIN, TOL, _arm_curve
from walkback.montecarlo._sim_kernel import _simulate_one
from walkback.montecarlo._test_kernels import weighted_tests

__all__ = [
    "COLUMNS",
    "CONF_LOG",
    "CONF_LOGLOG",
    "CONF_PLAIN",
    "NCOL",
    "TOL",
    "analyse_block",
    "p_values",
    "simulate_and_analyse",
]


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


# ---- one replicate
@njit(cache=True, error_model="numpy")
def _analyse_one(time, event, treated, ndays, conf, z, efron, tau, out, work, tests, tout):
    """Analyse one replicate into ``out`` and the weighted tests ``tests`` (kinds, rhos, gammas,
    MaxCombo's rhos and gammas) into ``tout``; ``work`` is scratch of shape (15, ndays + 1)."""
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
    kinds, rhos, gammas, combo_rho, combo_gamma = tests
    weighted_tests(kinds, rhos, gammas, combo_rho, combo_gamma, n1, n0, d1, d0, nd, tout)


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
    delay_h,
    ndays,
    conf,
    z,
    efron,
    tau,
    tests,
    keep_data,
    lanes,
):
    """Simulate and analyse a block of replicates (rows of the random-number arrays)."""
    b, n = u_cell.shape
    out = np.full((b, NCOL), np.nan)
    tout = np.full((b, tests[0].shape[0], 4), np.nan)
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
                delay_h,
                time,
                event,
                treated,
            )
            _analyse_one(
                time, event, treated, ndays, conf, z, efron, tau, out[r], work, tests, tout[r]
            )
            if keep_data:
                times[r] = time
                events[r] = event
                arms[r] = treated
    return out, tout, times, events, arms


@njit(parallel=True, cache=True, error_model="numpy")
def analyse_block(time, event, treated, ndays, conf, z, efron, tau, tests, lanes):
    """Analyse given data: rows are replicates, integer times (days) in [0, ndays)."""
    b = time.shape[0]
    out = np.full((b, NCOL), np.nan)
    tout = np.full((b, tests[0].shape[0], 4), np.nan)
    lanes = max(1, min(b, lanes))
    for lane in prange(lanes):
        work = np.empty((15, ndays + 1))
        for r in range(lane, b, lanes):
            _analyse_one(
                time[r],
                event[r],
                treated[r],
                ndays,
                conf,
                z,
                efron,
                tau,
                out[r],
                work,
                tests,
                tout[r],
            )
    return out, tout


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
