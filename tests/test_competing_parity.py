"""Competing risks equal R: cmprsk's cuminc (CIF, Gray's variance, Gray's test) and crr
(Fine-Gray), survival's coxph (cause-specific HR) and multi-state survfit (the same CIF).

References: tests/reference/competing (competing.R writes inputs/ and expected/; never edit them).
CIF, variance, CI and the cause-specific HR at 1e-6 relative; Fine-Gray and Gray at 1e-5.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkback.analysis.competing import competing_risks
from walkback.competing_data import read_competing
from walkback.estimators.competing import cumulative_incidence, fine_gray, gray_test

HERE = Path(__file__).resolve().parent / "reference" / "competing"
CASES = sorted(p.stem for p in (HERE / "expected").glob("*.json"))


def _load(case_id: str):
    ref = json.loads((HERE / "expected" / f"{case_id}.json").read_text())
    s = ref["settings"]
    data = read_competing(
        HERE / ref["file"],
        time_col=s["time_col"],
        event_col=s["event_col"],
        arm_col=s["arm_col"],
        treatment=s["treatment"],
        control=s["control"],
        cause=s["cause"],
        censor_value=s["censor_value"],
        strata=s.get("strata"),
        other_arms="drop",
    )
    res = competing_risks(
        data,
        times=s["times"],
        conf_type=s["conf_type"],
        conf_level=1 - s["alpha"],
        ties=s["ties"],
        rho=s["rho"],
    )
    return ref, data, res


def _close(got, want, rel):
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want, rel=rel, abs=1e-12)


def test_there_are_real_cases():
    assert len(CASES) >= 6
    files = {json.loads((HERE / "expected" / f"{c}.json").read_text())["file"] for c in CASES}
    assert len(files) == 3


@pytest.mark.parametrize("case_id", CASES)
def test_cif_variance_and_ci_equal_cuminc(case_id):
    ref, _, res = _load(case_id)
    out = res.to_dict()
    for arm in ("treatment", "control"):
        assert len(out["cif"][arm]) == len(ref["cif"][arm])
        for got, want in zip(out["cif"][arm], ref["cif"][arm], strict=True):
            assert got["time"] == want["time"]
            for key in ("cif", "variance", "lower", "upper"):
                _close(got[key], want[key], 1e-6)


@pytest.mark.parametrize("case_id", CASES)
def test_full_curve_equals_cuminc_and_survfit_pstate(case_id):
    ref, _, res = _load(case_id)
    for arm in ("treatment", "control"):
        curve = res.cif(arm)
        np.testing.assert_array_equal(curve.time, ref["curve"][arm]["time"])
        np.testing.assert_allclose(curve.cif, ref["curve"][arm]["cif"], rtol=1e-6)
        np.testing.assert_allclose(curve.variance, ref["curve"][arm]["variance"], rtol=1e-6)
        sf = ref["survfit"][arm]
        at = curve.at([r["time"] for r in sf])
        np.testing.assert_allclose(at["cif"], [r["pstate"] for r in sf], rtol=1e-6, atol=1e-14)


@pytest.mark.parametrize("case_id", CASES)
def test_gray_fine_gray_and_cause_specific_hr_equal_r(case_id):
    ref, _, res = _load(case_id)
    out = res.to_dict()
    _close(out["gray"]["chisq"], ref["gray"]["chisq"], 1e-5)
    _close(out["gray"]["p"], ref["gray"]["p"], 1e-5)
    assert out["gray"]["df"] == ref["gray"]["df"]
    for key in ("coef", "se", "estimate", "lower", "upper", "p"):
        _close(out["fine_gray"][key], ref["fine_gray"][key], 1e-5)
        _close(out["cause_specific_hr"][key], ref["cause_specific_hr"][key], 1e-6)
    assert res.fine_gray.loglik == pytest.approx(ref["fine_gray"]["loglik"], rel=1e-8)
    assert out["n"] == ref["n"]


def test_gray_variance_differs_from_survfit_infinitesimal_jackknife():
    """The two R packages agree on the CIF and not on its variance: cuminc reports Gray's
    delta-method variance, survfit the infinitesimal jackknife; they differ by a few per cent."""
    ref, _, res = _load("pbc_death")
    sf = ref["survfit"]["treatment"]
    at = res.cif("treatment").at([r["time"] for r in sf])
    ratio = np.sqrt(at["variance"].to_numpy()) / np.array([r["std_err"] for r in sf])
    assert np.all(np.abs(ratio - 1) < 0.1) and np.any(np.abs(ratio - 1) > 1e-3)


def test_invariants_shuffle_rescale_and_arm_swap():
    _, data, res = _load("pbc_death")
    rng = np.random.default_rng(7)
    perm = rng.permutation(data.n)
    t, st, arm = data.time[perm], data.status[perm], data.treated[perm]
    fg = fine_gray(t * 3.0, st, arm.astype(float), "2", "0")
    assert fg.coef[0] == pytest.approx(res.fine_gray.coef[0], rel=1e-9)
    swapped = fine_gray(t, st, (~arm).astype(float), "2", "0")
    assert swapped.coef[0] == pytest.approx(-res.fine_gray.coef[0], rel=1e-9)
    assert swapped.se[0] == pytest.approx(res.fine_gray.se[0], rel=1e-9)
    g = gray_test(t / 7.0, st, ~arm, "2", "0")
    assert g.chisq == pytest.approx(res.gray.chisq, rel=1e-9)
    # the CIFs of all causes and the KM of any event add up to one
    rows = arm
    km_free = 1.0 - sum(
        cumulative_incidence(t[rows], st[rows], k, "0").at([2000.0])["cif"].iloc[0]
        for k in ("1", "2")
    )
    from walkback.estimators import kaplan_meier

    km = kaplan_meier(t[rows], (st[rows] != "0").astype(int)).survival_at([2000.0])
    assert km_free == pytest.approx(km["survival"].iloc[0], rel=1e-12)


def test_cif_curve_is_monotone_and_inside_its_ci():
    _, _, res = _load("colon_recurrence")
    c = res.cif("control")
    assert np.all(np.diff(c.cif) > 0)
    ok = np.isfinite(c.lower)
    assert np.all(c.lower[ok] <= c.cif[ok]) and np.all(c.cif[ok] <= c.upper[ok])


def test_fine_gray_with_a_further_covariate_equals_crr():
    ref, data, _ = _load("mgus2_pcm")
    adj = ref["fine_gray_adjusted"]
    frame = pd.read_csv(HERE / ref["file"])
    x = np.column_stack([data.treated.astype(float), frame["age"].to_numpy(dtype=float)])
    fg = fine_gray(data.time, data.status, x, "pcm", "censor", names=adj["covariates"])
    np.testing.assert_allclose(fg.coef, adj["coef"], rtol=1e-5)
    np.testing.assert_allclose(fg.se, adj["se"], rtol=1e-5)
    assert fg.loglik == pytest.approx(adj["loglik"], rel=1e-8)
