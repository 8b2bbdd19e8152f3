"""R survival's own tests of (start, stop] Cox fits, ported: Therneau & Grambsch appendix E,
data set 2, solved by hand (survival's tests/book3.R, Breslow, and tests/book4.R, Efron).

The closed forms (log-likelihood, score, information and per-row score residuals as functions of
beta) are independent of any fitting code, R's included; the stratified copy (times offset per
stratum) checks that strata keep their risk sets apart.
"""

from __future__ import annotations

import numpy as np
import pytest

from walkback.estimators import cox

START = np.array([1, 2, 5, 2, 1, 7, 3, 4, 8, 8], float)
STOP = np.array([2, 3, 6, 7, 8, 9, 9, 9, 14, 17], float)
EVENT = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
X = np.array([1, 0, 0, 1, 0, 1, 1, 1, 0, 0], float)

# at-risk indicators, one row per observation, one column per death time 2, 3, 6, 7, 8, 9
AT_RISK = np.array(
    [
        [1, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        [0, 1, 0, 1, 1, 0, 0, 0, 0, 0],
        [0, 0, 1, 1, 1, 0, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 0, 1, 1, 0, 0],
        [0, 0, 0, 0, 1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
    ],
    float,
).T


def _residuals(r, wtmat, hazard, observed):
    wtmat = np.diag(np.where(X == 1, r, 1.0)) @ wtmat
    xbar = (wtmat * X[:, None]).sum(axis=0) / wtmat.sum(axis=0)
    dm = -wtmat * hazard[None, :] + observed
    return (dm * (X[:, None] - xbar[None, :])).sum(axis=1)


def breslow_by_hand(beta):
    r = np.exp(beta)
    loglik = (
        4 * beta - np.log(r + 1) - np.log(r + 2) - 3 * np.log(3 * r + 2) - 2 * np.log(3 * r + 1)
    )
    u = (
        1 / (r + 1)
        + 1 / (3 * r + 1)
        + 4 / (3 * r + 2)
        - (r / (r + 2) + 3 * r / (3 * r + 2) + 3 * r / (3 * r + 1))
    )
    imat = (
        r / (r + 1) ** 2 + 2 * r / (r + 2) ** 2 + 6 * r / (3 * r + 2) ** 2
        + 6 * r / (3 * r + 1) ** 2 + 12 * r / (3 * r + 2) ** 2
    )  # fmt: skip
    hazard = np.array([1 / (r + 1), 1 / (r + 2), 1 / (3 * r + 2), 1 / (3 * r + 1),
                       1 / (3 * r + 1), 2 / (3 * r + 2)])  # fmt: skip
    observed = np.zeros((10, 6))
    observed[np.arange(6), np.arange(6)] = 1
    observed[6, 5] = 1
    return loglik, u, imat, _residuals(r, AT_RISK, hazard, observed)


def efron_by_hand(beta):
    r = np.exp(beta)
    loglik = 4 * beta - (
        np.log(r + 1) + np.log(r + 2) + 2 * np.log(3 * r + 2) + 2 * np.log(3 * r + 1)
        + np.log(2 * r + 2)
    )  # fmt: skip
    u = (
        1 / (r + 1)
        + 1 / (3 * r + 1)
        + 2 * (1 / (3 * r + 2) + 1 / (2 * r + 2))
        - (r / (r + 2) + 3 * r / (3 * r + 2) + 3 * r / (3 * r + 1))
    )
    imat = r * (
        1 / (r + 1) ** 2 + 2 / (r + 2) ** 2 + 6 / (3 * r + 2) ** 2 + 6 / (3 * r + 1) ** 2
        + 6 / (3 * r + 2) ** 2 + 4 / (2 * r + 2) ** 2
    )  # fmt: skip
    hazard = np.array([1 / (r + 1), 1 / (r + 2), 1 / (3 * r + 2), 1 / (3 * r + 1),
                       1 / (3 * r + 1), 1 / (3 * r + 2), 1 / (2 * r + 2)])  # fmt: skip
    # the two deaths at 9 split into two terms; the dying count 1/2 in the second
    second = np.array([0, 0, 0, 0, 0, 0.5, 0.5, 1, 1, 1])
    wtmat = np.column_stack((AT_RISK, second))
    observed = np.zeros((10, 7))
    observed[np.arange(5), np.arange(5)] = 1
    observed[5:7, 5:7] = 0.5
    return loglik, u, imat, _residuals(r, wtmat, hazard, observed)


BY_HAND = {"breslow": breslow_by_hand, "efron": efron_by_hand}


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_appendix_data_set_2(ties):
    truth = BY_HAND[ties]
    fit = cox(STOP, EVENT, X, entry=START, ties=ties, weights=np.ones(10))
    ll0, u0, i0, _ = truth(0.0)
    assert fit.loglik_null == pytest.approx(ll0, rel=1e-12)
    assert fit.score_chisq == pytest.approx(u0**2 / i0, rel=1e-12)
    ll, u, imat, score = truth(float(fit.coef[0]))
    assert abs(u) < 1e-9  # the fit solved the score equation
    assert fit.loglik == pytest.approx(ll, rel=1e-12)
    assert fit.var[0, 0] == pytest.approx(1 / imat, rel=1e-9)
    np.testing.assert_allclose(fit.score_residuals()[:, 0], score, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_appendix_data_set_2_in_three_offset_strata(ties):
    truth = BY_HAND[ties]
    group = np.repeat([1, 2, 3], 10)
    fit = cox(
        np.tile(STOP, 3) + group, np.tile(EVENT, 3), np.tile(X, 3), group,
        entry=np.tile(START, 3) + group, ties=ties, weights=np.ones(30),
    )  # fmt: skip
    ll0, *_ = truth(0.0)
    ll, _, imat, score = truth(float(fit.coef[0]))
    assert fit.loglik_null == pytest.approx(3 * ll0, rel=1e-12)
    assert fit.loglik == pytest.approx(3 * ll, rel=1e-12)
    assert fit.var[0, 0] == pytest.approx(1 / (3 * imat), rel=1e-9)
    np.testing.assert_allclose(fit.score_residuals()[:, 0], np.tile(score, 3), rtol=1e-9)


# survival's tests/doweight.R: case weights equal replicated rows (Breslow), and the same data
# split into (start, stop] rows (testw3) give the same fit
W1 = dict(
    time=np.array([1, 1, 2, 2, 2, 2, 3, 4, 5], float),
    status=np.array([1, 0, 1, 1, 1, 0, 0, 1, 0]),
    x=np.array([2, 0, 1, 1, 0, 1, 0, 1, 0], float),
    wt=np.array([1, 2, 3, 4, 3, 2, 1, 2, 1], float),
)
W3 = dict(
    id=np.array([1, 1, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8, 8, 9]),
    begin=np.array([0, 5, 0, 0, 10, 15, 0, 0, 14, 0, 0, 0, 23, 0], float),
    time=np.array([5, 10, 10, 10, 15, 20, 20, 14, 20, 20, 30, 23, 40, 50], float),
    status=np.array([0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0]),
    x=np.array([2, 2, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0], float),
    wt=np.array([1, 1, 2, 3, 3, 3, 4, 3, 3, 2, 1, 2, 2, 1], float),
)


def test_weights_equal_replicated_rows_and_their_score_residuals():
    w = W1["wt"].astype(int)
    rep = np.repeat(np.arange(9), w)
    fit = cox(W1["time"], W1["status"], W1["x"], weights=W1["wt"], ties="breslow")
    fitb = cox(
        W1["time"][rep], W1["status"][rep], W1["x"][rep], ties="breslow", weights=np.ones(rep.size)
    )
    assert fit.coef[0] == pytest.approx(fitb.coef[0], rel=1e-10)
    first = np.searchsorted(rep, np.arange(9))  # R's indx: each subject's first replicate
    np.testing.assert_allclose(
        fit.score_residuals()[:, 0], fitb.score_residuals()[first, 0], rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_weighted_counting_form_gives_the_same_solution(ties):
    """testw3 is testw1 on a stretched time scale, split into (begin, time] rows."""
    a = cox(W1["time"], W1["status"], W1["x"], weights=W1["wt"], ties=ties)
    b = cox(W3["time"], W3["status"], W3["x"], entry=W3["begin"], weights=W3["wt"], ties=ties)
    assert b.coef[0] == pytest.approx(a.coef[0], rel=1e-9)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-12)
    assert b.se_model[0] == pytest.approx(a.se_model[0], rel=1e-9)
