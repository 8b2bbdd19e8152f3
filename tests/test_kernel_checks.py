"""The array kernels refuse inputs that would give a plausible but wrong answer; R's timefix."""

import numpy as np
import pytest

from walkback.estimators import concordance, cox, kaplan_meier, logrank, logrank_k, timefix
from walkback.exceptions import DataError

rng = np.random.default_rng(11)
N = 60
TIME = rng.exponential(100.0, N).round(1)
EVENT = (rng.random(N) < 0.7).astype(int)
GROUP = np.arange(N) % 2


@pytest.mark.parametrize(
    "call",
    [
        lambda ev: kaplan_meier(TIME, ev),
        lambda ev: logrank(TIME, ev, GROUP),
        lambda ev: cox(TIME, ev, GROUP),
        lambda ev: logrank_k(TIME, ev, GROUP),
        lambda ev: concordance(TIME, ev, GROUP.astype(float)),
    ],
)
def test_r_status_coding_is_refused(call):
    with pytest.raises(DataError, match=r"argument 'event'.*1 = censored, 2 = event.*status == 2"):
        call(EVENT + 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: kaplan_meier(t, EVENT),
        lambda t: logrank(t, EVENT, GROUP),
        lambda t: cox(t, EVENT, GROUP),
    ],
)
@pytest.mark.parametrize("bad, rule", [(-5.0, ">= 0"), (np.nan, "finite")])
def test_negative_or_nan_times_are_refused(call, bad, rule):
    t = TIME.copy()
    t[[3, 7]] = bad
    with pytest.raises(DataError, match=rf"argument 'time', positions 3, 7: times must be.*{rule}"):
        call(t)


def test_two_group_logrank_refuses_other_codes():
    with pytest.raises(DataError, match="coded 0/1.*values found: 1, 2"):
        logrank(TIME, EVENT, GROUP + 1)
    with pytest.raises(DataError, match="dtype <U"):
        logrank(TIME, EVENT, np.where(GROUP == 1, "a", "b"))
    with pytest.raises(DataError, match="both groups must be present"):
        logrank(TIME, EVENT, np.zeros(N, dtype=int))


def test_mismatched_lengths_are_refused():
    with pytest.raises(DataError, match="length 60"):
        kaplan_meier(TIME, EVENT[:-1])
    with pytest.raises(DataError, match="argument 'covariates'"):
        cox(TIME, EVENT, GROUP[:-1])
    with pytest.raises(DataError, match="argument 'covariates', position 4: .*finite"):
        cox(TIME, EVENT, np.where(np.arange(N) == 4, np.nan, GROUP))


def test_booleans_equal_zero_one():
    a = cox(TIME, EVENT.astype(bool), GROUP.astype(bool))
    b = cox(TIME, EVENT, GROUP)
    assert a.coef[0] == b.coef[0]


def test_k_group_logrank_on_two_groups_equals_two_group_test():
    two = logrank(TIME, EVENT, GROUP)
    k = logrank_k(TIME, EVENT, np.where(GROUP == 1, "b", "a"))
    assert k.df == 1 and k.groups == ("a", "b")
    assert k.chisq == pytest.approx(two.chisq, rel=1e-12)
    # labels relabelled or reordered do not change the test
    k3 = logrank_k(TIME, EVENT, np.arange(N) % 3)
    k3r = logrank_k(TIME, EVENT, (np.arange(N) % 3) * 10 + 1, levels=[21, 1, 11])
    assert k3.df == 2 and k3r.chisq == pytest.approx(k3.chisq, rel=1e-12)


def test_timefix_merges_as_aeqsurv():
    t = np.array([1.0, 1.0 + 1e-9, 2.0, 3.0, 3.0 + 3e-8, 10.0])
    fixed = timefix(t)
    assert fixed.tolist() == [1.0, 1.0, 2.0, 3.0, 3.0, 10.0]
    assert timefix(np.array([1.0, 2.0])).tolist() == [1.0, 2.0]
    ev = np.ones(6, dtype=int)
    assert kaplan_meier(t, ev).time.size == 4
    assert kaplan_meier(t, ev, timefix=False).time.size == 6


def test_concordance_is_invariant_to_score_scale_and_flips_with_sign():
    x = rng.normal(size=N)
    c = concordance(TIME, EVENT, x)
    assert concordance(TIME, EVENT, 3 * x + 1).estimate == pytest.approx(c.estimate, rel=1e-14)
    assert concordance(TIME, EVENT, -x).estimate == pytest.approx(1 - c.estimate, rel=1e-12)
    assert 0 < c.se < 0.2
