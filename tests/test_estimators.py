"""Estimator kernels: hand-checked cases, invariants, cross-checks with lifelines and statsmodels.

Parity with R survival itself is in test_reference_parity.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import restricted_mean_survival_time
from statsmodels.duration.hazard_regression import PHReg

from walkback.estimators import confint, cox, kaplan_meier, logrank, rmst_difference
from walkback.exceptions import ConvergenceError, EstimationError


def _trial(seed: int = 1, n: int = 300, hr: float = 0.7, ties: bool = True):
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    stratum = rng.integers(0, 3, n)
    t = rng.exponential(100 / np.where(arm == 1, hr, 1.0) * (1 + 0.3 * stratum))
    c = rng.uniform(50, 400, n)
    time = np.minimum(t, c)
    if ties:
        time = np.ceil(time / 7)  # weeks: plenty of ties, including censorings at event times
    return time, (t <= c).astype(int), arm, stratum


# ---- Kaplan-Meier --------------------------------------------------------------------------------
def test_km_hand_computed():
    km = kaplan_meier([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(km.time, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(km.n_risk, [6, 5, 3, 2, 1])
    np.testing.assert_array_equal(km.n_event, [1, 1, 1, 0, 1])
    expected = np.cumprod([5 / 6, 4 / 5, 2 / 3, 1, 0])
    np.testing.assert_allclose(km.survival, expected)
    green = np.cumsum([1 / 30, 1 / 20, 1 / 6, 0, np.inf])
    np.testing.assert_allclose(km.std_err[:4], np.sqrt(green[:4]))
    assert np.isinf(km.std_err[4])
    # median: S drops from 0.667 to 0.444 at t=3
    assert km.median.estimate == 3.0


def test_km_matches_lifelines_with_log_log_band():
    time, event, _, _ = _trial(2)
    km = kaplan_meier(time, event, conf_type="log-log")
    kmf = KaplanMeierFitter().fit(time, event)
    sf = kmf.survival_function_.loc[km.time].to_numpy().ravel()
    np.testing.assert_allclose(km.survival, sf, rtol=1e-12)
    ci = kmf.confidence_interval_.loc[km.time].to_numpy()
    ok = (km.survival > 0) & (km.survival < 1)
    np.testing.assert_allclose(km.lower[ok], ci[ok, 0], rtol=1e-9)
    np.testing.assert_allclose(km.upper[ok], ci[ok, 1], rtol=1e-9)


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_km_invariants(conf_type):
    time, event, _, _ = _trial(3)
    km = kaplan_meier(time, event, conf_type=conf_type)
    assert np.all(np.diff(km.survival) <= 0)
    ok = ~np.isnan(km.lower)
    assert np.all(km.lower[ok] <= km.survival[ok] + 1e-15)
    assert np.all(km.upper[ok] >= km.survival[ok] - 1e-15)
    assert np.all((km.lower[ok] >= 0) & (km.upper[ok] <= 1))
    # shuffling rows changes nothing; rescaling time rescales times and medians only
    perm = np.random.default_rng(0).permutation(time.size)
    km2 = kaplan_meier(time[perm], event[perm], conf_type=conf_type)
    np.testing.assert_array_equal(km.survival, km2.survival)
    km3 = kaplan_meier(time * 7, event, conf_type=conf_type)
    np.testing.assert_allclose(km3.time, km.time * 7)
    np.testing.assert_array_equal(km3.survival, km.survival)
    m, m3 = km.median, km3.median
    for a, b in [(m.estimate, m3.estimate), (m.lower, m3.lower), (m.upper, m3.upper)]:
        assert (np.isnan(a) and np.isnan(b)) or b == pytest.approx(7 * a)


def test_confint_rejects_unknown_transform():
    with pytest.raises(ValueError, match="conf_type"):
        confint(np.array([0.5]), np.array([0.1]), "logit", 0.95)


def test_median_flat_at_half_uses_midpoint():
    # 10 people, 5 events at 1..5 -> S = 0.5 exactly from t=5 until the next event at t=9
    time = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11]
    event = [1, 1, 1, 1, 1, 0, 0, 1, 1, 1]
    km = kaplan_meier(time, event)
    assert km.survival[4] == 0.5
    assert km.median.estimate == pytest.approx((5 + 9) / 2)


def test_median_curve_ending_at_half_uses_last_time():
    time = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    event = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    km = kaplan_meier(time, event)
    assert km.survival[-1] == 0.5
    assert km.median.estimate == pytest.approx((5 + 10) / 2)


def test_median_not_reached_is_nan():
    km = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 0, 0, 0, 0, 0])
    assert np.isnan(km.median.estimate) and np.isnan(km.median.upper)
    assert km.median.to_dict()["estimate"] is None


def test_quantile_rejects_bad_prob():
    km = kaplan_meier([1, 2, 3], [1, 1, 1])
    with pytest.raises(ValueError, match="prob"):
        km.quantile(1.5)


def test_survival_at_before_between_and_after():
    km = kaplan_meier([2, 4, 6, 8], [1, 0, 1, 0])
    tab = km.survival_at([0, 2, 5, 100])
    np.testing.assert_allclose(tab.survival, [1.0, 0.75, 0.75, 0.375])
    np.testing.assert_array_equal(tab.n_at_risk, [4, 4, 2, 0])


# ---- RMST --------------------------------------------------------------------------------------
def test_rmst_matches_lifelines_and_hand_case():
    time, event, arm, _ = _trial(4)
    km = kaplan_meier(time, event)
    kmf = KaplanMeierFitter().fit(time, event)
    tau = 30.0
    assert km.rmst(tau).estimate == pytest.approx(
        restricted_mean_survival_time(kmf, t=tau), rel=1e-10
    )
    # hand case: S=1 on [0,2), 0.75 on [2,6), 0.375 on [6,8]; tau = 8
    hand = kaplan_meier([2, 4, 6, 8], [1, 0, 1, 0]).rmst(8)
    assert hand.estimate == pytest.approx(2 + 0.75 * 4 + 0.375 * 2)
    # variance: A(2)^2 * 1/(4*3) + A(6)^2 * 1/(2*1), A = area after the event time up to tau
    assert hand.se == pytest.approx(
        np.sqrt((0.75 * 4 + 0.375 * 2) ** 2 / 12 + (0.375 * 2) ** 2 / 2)
    )
    diff = rmst_difference(
        kaplan_meier(time[arm == 1], event[arm == 1]),
        kaplan_meier(time[arm == 0], event[arm == 0]),
        tau,
    )
    assert diff.lower < diff.difference < diff.upper
    assert diff.difference == pytest.approx(diff.treatment.estimate - diff.control.estimate)


def test_rmst_rejects_bad_tau():
    with pytest.raises(ValueError, match="tau"):
        kaplan_meier([1, 2], [1, 1]).rmst(-1)


# ---- log-rank ----------------------------------------------------------------------------------
def test_logrank_matches_lifelines():
    time, event, arm, _ = _trial(5)
    ours = logrank(time, event, arm)
    theirs = logrank_test(time[arm == 1], time[arm == 0], event[arm == 1], event[arm == 0])
    assert ours.chisq == pytest.approx(theirs.test_statistic, rel=1e-10)
    assert ours.p == pytest.approx(theirs.p_value, rel=1e-8)
    assert sum(ours.observed) == event.sum()
    assert sum(ours.expected) == pytest.approx(event.sum())


def test_stratified_logrank_sums_strata():
    time, event, arm, stratum = _trial(6)
    strat = logrank(time, event, arm, stratum)
    parts = [logrank(time[stratum == s], event[stratum == s], arm[stratum == s]) for s in range(3)]
    o_e = sum(p.observed[0] - p.expected[0] for p in parts)
    assert strat.chisq == pytest.approx(o_e**2 / sum(p.variance for p in parts), rel=1e-12)


# ---- Cox ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("stratified", [False, True])
def test_cox_matches_statsmodels(ties, stratified):
    time, event, arm, stratum = _trial(7)
    age = np.random.default_rng(7).normal(50, 10, time.size)
    x = np.column_stack((arm, age))
    ours = cox(time, event, x, stratum if stratified else None, ties=ties)
    sm = PHReg(time, x, status=event, ties=ties, strata=stratum if stratified else None).fit()
    np.testing.assert_allclose(ours.coef, sm.params, rtol=1e-6)
    np.testing.assert_allclose(ours.se, sm.bse, rtol=1e-6)


def test_cox_efron_matches_lifelines():
    time, event, arm, stratum = _trial(8)
    df = pd.DataFrame({"t": time, "e": event, "arm": arm, "s": stratum})
    ours = cox(time, event, arm, stratum, ties="efron")
    cph = CoxPHFitter().fit(df, "t", "e", strata=["s"])
    assert ours.coef[0] == pytest.approx(cph.params_["arm"], rel=1e-6)
    assert ours.se[0] == pytest.approx(cph.standard_errors_["arm"], rel=1e-6)


def test_cox_invariants():
    time, event, arm, _ = _trial(9)
    a = cox(time, event, arm)
    b = cox(time, event, 1 - arm)
    assert a.hazard_ratio[0] == pytest.approx(1 / b.hazard_ratio[0], rel=1e-9)
    assert a.conf_int()[0, 0] == pytest.approx(1 / b.conf_int()[0, 1], rel=1e-9)
    perm = np.random.default_rng(1).permutation(time.size)
    c = cox(time[perm] * 3.5, event[perm], arm[perm])
    assert c.coef[0] == pytest.approx(a.coef[0], rel=1e-10)
    assert a.loglik >= a.loglik_null
    lo, hi = a.conf_int()[0]
    assert lo < a.hazard_ratio[0] < hi


def test_cox_without_ties_efron_equals_breslow():
    time, event, arm, _ = _trial(10, ties=False)
    assert cox(time, event, arm, ties="efron").coef[0] == pytest.approx(
        cox(time, event, arm, ties="breslow").coef[0], rel=1e-12
    )


def test_cox_errors_are_clear():
    with pytest.raises(EstimationError, match="no"):
        cox([1, 2, 3], [0, 0, 0], [0, 1, 1])
    with pytest.raises(EstimationError, match="does not vary"):
        cox([1, 2, 3, 4], [1, 1, 0, 1], [1, 1, 1, 1])
    with pytest.raises(ValueError, match="ties"):
        cox([1, 2, 3], [1, 1, 1], [0, 1, 1], ties="exact")
    # every event in one arm: the HR is infinite and the fit says so instead of printing nonsense
    with pytest.raises(ConvergenceError, match="infinite"):
        cox([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0])


def test_ph_test_flags_crossing_hazards():
    rng = np.random.default_rng(11)
    n = 2000
    arm = rng.integers(0, 2, n)
    # treatment: early benefit that reverses (Weibull shapes differ) -> non-proportional
    t = np.where(arm == 1, rng.weibull(2.0, n) * 100, rng.exponential(100, n))
    ph = cox(t, np.ones(n, dtype=int), arm).ph_test(0)
    assert ph.p < 1e-6
    t0 = rng.exponential(100 / np.where(arm == 1, 0.7, 1.0))
    assert cox(t0, np.ones(n, dtype=int), arm).ph_test(0).p > 1e-3
