"""Parity with R survival on real trials as researchers have them (tests/reference/anytrial).

Three arms (colon), R's 1/2 status coding and missing covariates (lung), text factor covariates
with a chosen reference (veteran), near-tied times with and without timefix, adjusted models'
arm tests, concordance and median follow-up. Reference JSON from anytrial.R; tolerance 1e-6.

Run as a script to print the parity summary:  python tests/test_anytrial_parity.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_reference_parity import RTOL, compare
from walkback.analysis import analyze
from walkback.io import read_trial

REF = Path(__file__).resolve().parent / "reference" / "anytrial"


def _params():
    for case in json.loads((REF / "cases.json").read_text()):
        expected = json.loads((REF / "expected" / f"{case['id']}.json").read_text())
        for i, res in enumerate(expected["results"]):
            yield pytest.param(case, res, id=f"{case['id']}-{i}")


def run_case(case: dict, s: dict) -> dict:
    trial = read_trial(
        REF / case["file"],
        time_col=case["time_col"],
        event_col=case["event_col"],
        arm_col=case["arm_col"],
        control=case["control"],
        treatment=case["treatments"],
        strata=tuple(s["strata"]),
        covariates=tuple(s["covariates"]),
        na=s["na"],
        event_value=case["event_value"],
        censor_value=case["censor_value"],
    )
    res = analyze(
        trial,
        conf_type=s["conf_type"],
        ties=s["ties"],
        times=case["times"],
        tau=case["tau"],
        covariates=tuple(s["covariates"]),
        timefix=s["timefix"],
    ).to_dict()
    res["dropped"] = res["settings"]["dropped"]
    return res


def _expected(res: dict) -> dict:
    out = {k: v for k, v in res.items() if k != "settings"}
    out["covariates"] = [{k: v for k, v in c.items() if k != "r_term"} for c in res["covariates"]]
    return out


@pytest.mark.parametrize(("case", "expected"), list(_params()))
def test_analyze_matches_r_on_real_trials(case, expected):
    actual = run_case(case, expected["settings"])
    bad = [c for c in compare(_expected(expected), actual) if not c[3] <= RTOL]
    assert not bad, "\n".join(f"{p}: R {e!r} vs walkback {a!r} (rel {r:.2g})" for p, e, a, r in bad)


def test_the_cases_cover_what_they_promise():
    params = [p.values for p in _params()]
    assert any(len(c["treatments"]) >= 2 for c, _ in params)  # three or more arms
    assert any(c["event_value"] == "2" for c, _ in params)  # R's 1/2 coding
    assert any(r["dropped"]["rows"] > 0 for _, r in params)  # missing covariates dropped
    assert any(":" in cov for _, r in params for cov in r["settings"]["covariates"])
    assert {r["settings"]["timefix"] for c, r in params if c["id"] == "neartie"} == {True, False}


def test_lung_arm_test_is_not_the_whole_model_test():
    case, res = next(p.values for p in _params() if p.id == "lung12-1")
    out = run_case(case, res["settings"])
    assert out["arm_test"]["p"] == pytest.approx(0.0016688, rel=1e-4)
    assert out["model"]["p_lr"] == pytest.approx(0.00085744, rel=1e-4)


if __name__ == "__main__":
    total, worst, runs = 0, (0.0, ""), 0
    for p in _params():
        case, expected = p.values
        runs += 1
        for path, _e, _a, rel in compare(_expected(expected), run_case(case, expected["settings"])):
            total += 1
            if rel > worst[0]:
                worst = (rel, f"{p.id}{path}")
    print(f"{runs} case x settings runs, {total} quantities compared")
    print(f"worst relative error {worst[0]:.3g} at {worst[1]}")
