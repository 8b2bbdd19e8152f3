"""Weighted log-rank tests, MaxCombo and milestone differences vs R (tests/reference/nonph).

Reference JSON from nonph.R: survdiff(rho = 0 / 1), weighted tests computed in plain R from
survfit() (checked there against survdiff), MaxCombo p from mvtnorm::pmvnorm, milestones from
summary(survfit, times, extend = TRUE). Tolerance 1e-6 relative (MaxCombo p: 2e-5 absolute, two
independent quasi-Monte Carlo integrals). Also: MaxCombo's null calibration, its joint-normal p
against a direct simulation, sign conventions and bad input.

Run as a script to print the parity summary:  python tests/test_weighted_tests.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from test_reference_parity import RTOL, compare
from walkback.estimators import kaplan_meier, logrank, logrank_k
from walkback.estimators.weighted import (
    MILESTONE_TRANSFORM,
    WEIGHTS,
    max_abs_normal_sf,
    maxcombo,
    survival_difference,
    weighted_logrank,
)
from walkback.exceptions import DataError

REF = Path(__file__).resolve().parent / "reference" / "nonph"
P_ATOL = 2e-5


def _expected_cases() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((REF / "expected").glob("*.json"))]


def _data(case: dict) -> pd.DataFrame:
    return pd.read_csv(REF / case["file"])


def _params():
    for case in _expected_cases():
        for res in case["results"]:
            yield pytest.param(
                case, res, id=f"{case['id']}-{'strat' if res['stratified'] else 'all'}"
            )


def _args(case: dict, res: dict):
    d = _data(case)
    strata = d["strata"].to_numpy() if res["stratified"] else None
    return d["time"].to_numpy(), d["event"].to_numpy(), d["group"].to_numpy(), strata


def _as_r(r) -> dict:
    return {
        "name": r.name,
        "z": r.to_dict()["z"],
        "chisq": r.chisq,
        "df": r.df,
        "p": r.p,
        "U": r.score.tolist(),
        "V": r.variance.tolist(),
        "observed": r.observed.tolist(),
        "expected": r.expected.tolist(),
    }


def run_setting(case: dict, res: dict) -> list[tuple[str, object, object, float]]:
    """Every (path, R, walkback, relative error) of one case and setting."""
    t, e, g, s = _args(case, res)
    out = []
    for key, rho in (("rho0", 0.0), ("rho1", 1.0)):
        r = weighted_logrank(t, e, g, s, weights="fh", rho=rho)
        assert r.groups == tuple(case["groups"])
        got = {"chisq": r.chisq, "observed": r.observed.tolist(), "expected": r.expected.tolist()}
        out += compare(res["survdiff"][key], got, f".survdiff.{key}")
    for i, spec in enumerate(res["tests"]):
        r = weighted_logrank(
            t, e, g, s, weights=spec["weights"], rho=spec["rho"], gamma=spec["gamma"]
        )
        exp = {k: v for k, v in spec.items() if k not in ("weights", "rho", "gamma")}
        out += compare(exp, _as_r(r), f".tests[{i}]")
    if res["maxcombo"] is not None:
        got = maxcombo(t, e, g, s).to_dict()
        exp = {k: v for k, v in res["maxcombo"].items() if k not in ("p", "p_error")}
        exp["components"] = [
            {k: c[k] for k in ("name", "z", "u", "variance")} for c in exp["components"]
        ]
        out += compare(exp, got, ".maxcombo")
    return out


@pytest.mark.parametrize(("case", "res"), list(_params()))
def test_weighted_tests_match_r(case, res):
    bad = [c for c in run_setting(case, res) if not c[3] <= RTOL]
    assert not bad, "\n".join(f"{p}: R {e!r} vs walkback {a!r} (rel {r:.2g})" for p, e, a, r in bad)


@pytest.mark.parametrize(("case", "res"), [p for p in _params() if p.values[1]["maxcombo"]])
def test_maxcombo_p_matches_mvtnorm(case, res):
    t, e, g, s = _args(case, res)
    assert maxcombo(t, e, g, s).p == pytest.approx(res["maxcombo"]["p"], abs=P_ATOL)


def run_milestones(case: dict) -> list[dict]:
    d = _data(case)
    ms = case["milestones"]
    arm = d["group"].astype(str)
    kms = [
        kaplan_meier(d.time[arm == lab], d.event[arm == lab])
        for lab in (ms["treatment"], ms["control"])
    ]
    times = [r["time"] for r in ms["rows"]]
    return survival_difference(*kms, times, conf_level=ms["conf_level"])


@pytest.mark.parametrize("case", _expected_cases(), ids=lambda c: c["id"])
def test_milestone_differences_match_r(case):
    bad = [c for c in compare(case["milestones"]["rows"], run_milestones(case)) if not c[3] <= RTOL]
    assert not bad, "\n".join(f"{p}: R {e!r} vs walkback {a!r} (rel {r:.2g})" for p, e, a, r in bad)


def test_reference_covers_what_it_promises():
    cases = _expected_cases()
    assert len(cases) >= 9
    assert any(len(c["groups"]) == 3 for c in cases)
    assert sum(r["stratified"] for c in cases for r in c["results"]) >= 3
    assert any(row["se"] is None for c in cases for row in c["milestones"]["rows"])  # S = 0
    names = {t["name"] for c in cases for r in c["results"] for t in r["tests"]}
    assert {"fh(0,1)", "fh(1,1)", "fh(0.5,0.5)", "gehan", "tarone-ware", "peto"} <= names
    assert MILESTONE_TRANSFORM == "linear"


# -- agreement with the existing kernels and conventions -----------------------------------------
def _veteran():
    d = _data({"file": "inputs/veteran.csv"})
    return (
        d["time"].to_numpy(),
        d["event"].to_numpy(),
        d["group"].to_numpy(),
        d["strata"].to_numpy(),
    )


def test_logrank_weights_equal_walkback_logrank():
    t, e, g, s = _veteran()
    for strata in (None, s):
        w = weighted_logrank(t, e, g, strata)
        assert w.chisq == pytest.approx(logrank_k(t, e, g, strata).chisq, rel=1e-12)
        assert w.chisq == pytest.approx(logrank(t, e, g == 2, strata).chisq, rel=1e-12)
        assert w.z**2 == pytest.approx(w.chisq, rel=1e-12)


def test_two_group_sign_and_codings():
    t, e, g, _ = _veteran()
    by_label = weighted_logrank(t, e, g, weights="fh", rho=0, gamma=1)
    by_bool = weighted_logrank(t, e, g == 2, weights="fh", rho=0, gamma=1)
    by_01 = weighted_logrank(t, e, (g == 2).astype(int), weights="fh", rho=0, gamma=1)
    by_text = weighted_logrank(t, e, np.where(g == 2, "b", "a"), weights="fh", rho=0, gamma=1)
    assert by_label.z == by_bool.z == by_01.z == by_text.z
    flipped = weighted_logrank(t, e, g == 1, weights="fh", rho=0, gamma=1)
    assert flipped.z == pytest.approx(-by_bool.z, rel=1e-12)
    # higher hazard in the group of interest -> z > 0
    rng = np.random.default_rng(7)
    grp = np.repeat([False, True], 150)
    tt = rng.exponential(np.where(grp, 0.5, 1.0))
    assert weighted_logrank(tt, np.ones(300, int), grp).z > 2
    assert maxcombo(tt, np.ones(300, int), grp).z > 2


def test_k_groups_have_no_z_and_peto_is_not_survdiff_rho1():
    d = _data({"file": "inputs/colon.csv"})
    r = weighted_logrank(d.time, d.event, d.group, weights="peto")
    assert r.z is None and r.df == 2 and r.to_dict()["z"] is None
    fh = weighted_logrank(d.time, d.event, d.group, weights="fh", rho=1)
    assert r.chisq != fh.chisq and r.chisq == pytest.approx(fh.chisq, rel=0.05)
    assert set(r.to_dict()) >= {"name", "z", "chisq", "df", "p"}


def test_timefix_merges_near_ties_as_r():
    case = next(c for c in _expected_cases() if c["id"] == "veteran_neartie")
    t, e, g, _ = _args(case, case["results"][0])
    r_chisq = case["results"][0]["survdiff"]["rho1"]["chisq"]
    assert weighted_logrank(t, e, g, weights="fh", rho=1).chisq == pytest.approx(r_chisq, rel=1e-9)
    unfixed = weighted_logrank(t, e, g, weights="fh", rho=1, timefix=False).chisq
    assert unfixed != pytest.approx(r_chisq, rel=1e-9)


# -- MaxCombo: the joint-normal p -----------------------------------------------------------------
def test_joint_normal_p_agrees_with_direct_simulation():
    t, e, g, s = _veteran()
    corr = maxcombo(t, e, g, s).correlation
    rng = np.random.default_rng(11)
    draws = np.abs(rng.multivariate_normal(np.zeros(4), corr, size=1_000_000)).max(axis=1)
    for m in (1.0, 1.96, 2.5, 3.0):
        p = max_abs_normal_sf(m, corr)
        sim = float(np.mean(draws >= m))
        assert abs(p - sim) <= 4 * np.sqrt(sim * (1 - sim) / draws.size) + 1e-6, (m, p, sim)
    # and scipy's Genz integral (corr has rank 3: w(0,0) = w(1,0) + w(0,1) exactly)
    assert np.linalg.matrix_rank(corr, tol=1e-10) == 3
    m = 2.2
    exact = 1 - stats.multivariate_normal.cdf(
        np.full(4, m),
        cov=corr,
        allow_singular=True,
        lower_limit=np.full(4, -m),
        rng=np.random.default_rng(1),
    )
    assert max_abs_normal_sf(m, corr) == pytest.approx(exact, abs=5e-5)
    assert max_abs_normal_sf(2.0, corr) == max_abs_normal_sf(2.0, corr)  # deterministic


def test_joint_normal_p_with_singular_correlation():
    assert max_abs_normal_sf(1.5, np.ones((3, 3))) == pytest.approx(2 * stats.norm.sf(1.5))
    rho = 0.6
    c = np.array([[1, rho, rho], [rho, 1, rho], [rho, rho, 1]])
    two = np.array([[1, rho], [rho, 1]])
    inside = stats.multivariate_normal.cdf([2, 2], cov=two, lower_limit=[-2, -2])
    stacked = np.block([[two, two], [two, two]])  # each test twice: the same maximum
    assert max_abs_normal_sf(2.0, stacked) == pytest.approx(1 - inside, abs=2e-5)
    assert 0 < max_abs_normal_sf(2.0, c) < 1


def test_maxcombo_is_calibrated_under_the_null():
    rng = np.random.default_rng(20240611)
    reps, n = 4000, 200
    grp = np.repeat([False, True], n // 2)
    p = np.empty(reps)
    for i in range(reps):
        t = rng.exponential(1.0, n)
        c = np.minimum(rng.exponential(2.0, n), 1.5)  # exponential and administrative
        p[i] = maxcombo(np.minimum(t, c), (t <= c).astype(int), grp, abseps=1e-3).p
    lo, hi = stats.binom.ppf([0.005, 0.995], reps, 0.05) / reps
    rate = float(np.mean(p < 0.05))
    assert lo <= rate <= hi, (rate, lo, hi)
    for q in (0.01, 0.1, 0.25, 0.5, 0.75):
        qlo, qhi = stats.binom.ppf([0.005, 0.995], reps, q) / reps
        assert qlo <= np.mean(p < q) <= qhi, q
    assert stats.kstest(p, "uniform").pvalue > 0.01


def test_maxcombo_drops_components_without_variance():
    t = np.array([1.0, 1, 1, 1, 2, 2, 3, 3])
    e = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    g = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    r = maxcombo(t, e, g)  # one event time: S(t-) = 1, so gamma > 0 weighs it 0
    assert [c["z"] for c in r.components][1] is None
    assert r.winner in ("fh(0,0)", "fh(1,0)") and np.isfinite(r.p)


# -- milestones -----------------------------------------------------------------------------------
def test_milestones_outside_the_data_follow_survival_at():
    km1 = kaplan_meier([5.0, 8, 12, 20], [1, 0, 1, 0])
    km0 = kaplan_meier([3.0, 6, 9], [1, 1, 0])
    rows = survival_difference(km1, km0, [1.0, 15.0, 100.0])
    assert rows[0] == {"time": 1.0, "difference": 0.0, "se": 0.0, "lower": 0.0, "upper": 0.0}
    s1 = km1.survival_at([100.0])["survival"].iloc[0]
    s0 = km0.survival_at([100.0])["survival"].iloc[0]
    assert rows[2]["difference"] == pytest.approx(s1 - s0)
    assert rows[2]["se"] == pytest.approx(rows[1]["se"])  # both arms past their last time


# -- bad input -----------------------------------------------------------------------------------
def test_bad_input_names_the_argument():
    t, e, g, _ = _veteran()
    with pytest.raises(DataError, match="'event'.*1 = censored, 2 = event"):
        weighted_logrank(t, e + 1, g)
    with pytest.raises(DataError, match="'group'.*two groups"):
        weighted_logrank(t, e, np.ones_like(g))
    with pytest.raises(DataError, match="'rho'.*>= 0"):
        weighted_logrank(t, e, g, weights="fh", rho=-1)
    with pytest.raises(DataError, match="'gamma'"):
        weighted_logrank(t, e, g, weights="fh", gamma=float("nan"))
    with pytest.raises(DataError, match="'rho'"):
        maxcombo(t, e, g, combos=((0, 0), (-0.5, 1)))
    with pytest.raises(DataError, match="'group'.*two groups"):
        maxcombo(t, e, np.arange(t.size) % 3)
    with pytest.raises(DataError, match="'time'"):
        weighted_logrank(-t, e, g)
    with pytest.raises(ValueError, match="weights must be one of") as err:
        weighted_logrank(t, e, g, weights="wilcoxon")
    assert all(w in str(err.value) for w in WEIGHTS)
    with pytest.raises(ValueError, match="weights='fh' only"):
        weighted_logrank(t, e, g, weights="gehan", rho=1)
    km = kaplan_meier(t, e)
    with pytest.raises(DataError, match="'km_control'"):
        survival_difference(km, {"time": t}, [10])
    with pytest.raises(DataError, match="'times'"):
        survival_difference(km, km, [-1.0])
    with pytest.raises(ValueError, match="conf_level"):
        survival_difference(km, km, [10], conf_level=95)


if __name__ == "__main__":
    total, worst, runs = 0, (0.0, ""), 0
    for p in _params():
        case, res = p.values
        runs += 1
        for path, _e, _a, rel in run_setting(case, res):
            total += 1
            if rel > worst[0]:
                worst = (rel, f"{p.id}{path}")
    for case in _expected_cases():
        for path, _e, _a, rel in compare(case["milestones"]["rows"], run_milestones(case)):
            total += 1
            if rel > worst[0]:
                worst = (rel, f"{case['id']}.milestones{path}")
    print(f"{runs} case x settings runs (+ milestones), {total} quantities compared")
    print(f"worst relative error {worst[0]:.3g} at {worst[1]}")
