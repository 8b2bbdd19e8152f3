"""Adjusted survival curves (CoxResult.predict_survival, analyze(adjusted_at=...)) against R.

tests/reference/adjusted (adjusted.R): survfit(coxph_fit, newdata) on lung (status 1/2, missing
ph.ecog dropped), colon (three arms), veteran (celltype a text factor; also R's curve without
newdata) and gbsg (stratified by menopause: a curve per stratum, and one named stratum); Efron
and Breslow ties; log, log-log and plain CIs. Whole curves (time, survival, std.err, CI) and
summary(times, extend = TRUE) compared at 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from walkback.analysis import analyze
from walkback.io import read_trial

HERE = Path(__file__).resolve().parent / "reference" / "adjusted"
EXPECTED = json.loads((HERE / "expected.json").read_text())
RTOL = 1e-6
RUNS = [(case, i) for case in sorted(EXPECTED) for i in range(len(EXPECTED[case]["settings"]))]


def _trial(c):
    return read_trial(
        HERE / c["file"],
        time_col=c["time_col"],
        event_col=c["event_col"],
        arm_col=c["arm_col"],
        control=c["control"],
        treatment=c["treatments"],
        covariates=c["covariates"],
        strata=tuple(c["strata"]),
        event_value=c["event_value"],
        censor_value=c["censor_value"],
        na="drop",
    )


def _close(got, want, what):
    want = np.array([np.nan if w is None else w for w in want], dtype=float)
    got = np.asarray(got, dtype=float)
    assert got.shape == want.shape, what
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12, equal_nan=True, err_msg=what)


@pytest.mark.parametrize(("case", "k"), RUNS, ids=[f"{c}-{k}" for c, k in RUNS])
def test_adjusted_curves_match_r(case, k):
    c = EXPECTED[case]
    s = c["settings"][k]
    trial = _trial(c)
    at = {**c["at"], **(s["stratum"] or {})} if s["newdata"] else None
    res = analyze(
        trial,
        ties=s["ties"],
        conf_type=s["conf_type"],
        times=c["times"],
        covariates=c["covariates"],
        adjusted_at=at,
    )
    assert res.cox.n == c["n_used"]
    _close(res.cox.coef, s["coef"], "coef")
    stratum = None  # a named stratum, by its label ("meno=1")
    if s["stratum"]:
        stratum = ", ".join(f"{k}={v}" for k, v in s["stratum"].items())
    for want in s["curves"]:
        arm = want["arm"]
        if arm is None:  # R's survfit(fit) without newdata: the curve at fit$means
            got_curve = res.cox.predict_survival(None, conf_type=s["conf_type"])
            got_at = res.cox.predict_survival(None, c["times"], conf_type=s["conf_type"])
        else:
            values = {**c["at"], c["arm_col"]: arm}
            got_curve = res.cox.predict_survival(values, conf_type=s["conf_type"], stratum=stratum)
            got_at = res.adjusted_survival[arm]
        where = f"{case} {s['ties']} {s['conf_type']} arm {arm}"
        w = want["curve"]
        _close(got_curve.time, w["time"], f"{where} time")
        _close(got_curve.survival, w["surv"], f"{where} survival")
        _close(got_curve.std_err, w["std_err"], f"{where} std.err")
        _close(got_curve.lower, w["lower"], f"{where} lower")
        _close(got_curve.upper, w["upper"], f"{where} upper")
        a = want["at"]
        _close(got_at.time, a["time"], f"{where} times")
        _close(got_at.survival, a["surv"], f"{where} survival at times")
        _close(got_at.survival * got_at.std_err, a["std_err_surv"], f"{where} summary std.err")
        _close(got_at.lower, a["lower"], f"{where} lower at times")
        _close(got_at.upper, a["upper"], f"{where} upper at times")
        if c["strata"] and stratum is None:
            # a curve per stratum, labelled as R's strata(meno): "meno=0", "meno=1"
            assert list(got_at.stratum) == a["stratum"]


# -- the kernel API: values on the data's scale, checked -----------------------------------------
def _veteran_fit():
    c = EXPECTED["veteran"]
    return analyze(_trial(c), covariates=c["covariates"]).cox


def test_plain_matrix_fit_takes_column_names():
    """A fit on a numeric matrix predicts from {column name: number}, equal to the factor fit."""
    from walkback.design import CovariateSpec, build_design
    from walkback.estimators import cox

    c = EXPECTED["veteran"]
    trial = _trial(c)
    specs = [CovariateSpec.parse(s) for s in c["covariates"]]
    design = build_design(trial.arm, trial.arms, trial.frame, specs, arm_name="trt")
    plain = cox(trial.time, trial.event, design.x, names=design.names)
    row = dict.fromkeys(design.names, 0)
    row.update({"trt=2": 1, "celltype=large": 1, "karno": 60})
    got = plain.predict_survival(row, [30, 100, 400])
    want = _veteran_fit().predict_survival(
        {"trt": 2, "celltype": "large", "karno": 60}, [30, 100, 400]
    )
    np.testing.assert_allclose(got.survival, want.survival, rtol=1e-12)
    np.testing.assert_allclose(got.std_err, want.std_err, rtol=1e-12)
    np.testing.assert_allclose(got.lower, want.lower, rtol=1e-12)


def test_shuffled_rows_give_the_same_curve():
    c = EXPECTED["colon"]
    df = _trial(c).frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    import walkback

    kw = dict(
        time="time",
        event="status",
        arm="rx",
        control="Obs",
        covariates=c["covariates"],
        times=c["times"],
        adjusted_at=c["at"],
    )
    a = walkback.analyze(_trial(c).frame, **kw).adjusted_survival
    b = walkback.analyze(df, **kw).adjusted_survival
    for arm in a:
        np.testing.assert_allclose(a[arm].survival, b[arm].survival, rtol=1e-10)
        np.testing.assert_allclose(a[arm].upper, b[arm].upper, rtol=1e-10)


def test_curve_is_non_increasing_and_ci_contains_it():
    cur = _veteran_fit().predict_survival({"trt": "1", "celltype": "squamous", "karno": 80})
    assert np.all(np.diff(cur.survival) <= 0)
    assert np.all(cur.lower <= cur.survival + 1e-15) and np.all(cur.survival <= cur.upper)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"trt": "1", "celltype": "large", "karno": 60, "age": 3}, "column 'age': not a term"),
        ({"trt": "1", "celltype": "large"}, "no value given for 'karno'"),
        ({"trt": "1", "celltype": "large", "karno": "sixty"}, "not a finite number"),
        ({"trt": "1", "celltype": "large", "karno": float("nan")}, "not a finite number"),
        ({"trt": "1", "celltype": "giant", "karno": 60}, "choose one of 'adeno', 'large'"),
        ({"trt": "3", "celltype": "large", "karno": 60}, "column 'trt': not a level"),
    ],
)
def test_bad_values_are_errors_naming_the_term(values, message):
    from walkback.exceptions import DataError

    with pytest.raises(DataError, match=message):
        _veteran_fit().predict_survival(values, [100])


def test_bad_times_stratum_and_conf_type():
    fit = _veteran_fit()
    x0 = {"trt": "1", "celltype": "large", "karno": 60}
    with pytest.raises(ValueError, match="times must be finite numbers >= 0"):
        fit.predict_survival(x0, [-1, 30])
    with pytest.raises(ValueError, match="the model has no strata"):
        fit.predict_survival(x0, [30], stratum=1)
    with pytest.raises(ValueError, match="conf_type must be one of"):
        fit.predict_survival(x0, [30], conf_type="logit")
    with pytest.raises(TypeError, match="mapping"):
        fit.predict_survival([1, 0, 0, 60], [30])
    c = EXPECTED["gbsg"]
    res = analyze(_trial(c), covariates=c["covariates"])
    with pytest.raises(ValueError, match="stratum 'meno=3' is not a stratum of the model"):
        res.cox.predict_survival({"hormon": "1", "age": 50, "grade": "2"}, [365], stratum="meno=3")
    one = res.cox.predict_survival(
        {"hormon": "1", "age": 50, "grade": "2"}, [365], stratum="meno=1"
    )
    assert one.stratum == ("meno=1",)


def test_analyze_adjusted_at_errors():
    from walkback.exceptions import DataError

    c = EXPECTED["gbsg"]
    trial = _trial(c)
    run = dict(covariates=c["covariates"], times=[365])
    with pytest.raises(ValueError, match="needs times"):
        analyze(trial, covariates=c["covariates"], adjusted_at={"age": 50, "grade": 2})
    with pytest.raises(DataError, match="the arm is not given"):
        analyze(trial, adjusted_at={"hormon": 1, "age": 50, "grade": 2}, **run)
    with pytest.raises(DataError, match="names some strata columns but not all|no such stratum"):
        analyze(trial, adjusted_at={"age": 50, "grade": 2, "meno": 7}, **run)


if __name__ == "__main__":  # python tests/test_adjusted_survival.py: the parity summary
    worst, count, check = 0.0, 0, _close

    def _close(got, want, what):  # noqa: F811 - counts and measures, then checks
        global worst, count
        w = np.array([np.nan if v is None else v for v in want], dtype=float)
        g = np.asarray(got, dtype=float)
        ok = np.isfinite(w) & (w != 0)
        count += int(np.isfinite(w).sum())
        if ok.any():
            worst = max(worst, float(np.max(np.abs(g[ok] - w[ok]) / np.abs(w[ok]))))
        check(got, want, what)

    for case, k in RUNS:
        test_adjusted_curves_match_r(case, k)
    print(f"{len(RUNS)} case x settings runs, {count} quantities, worst relative error {worst:.2g}")
