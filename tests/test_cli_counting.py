"""`walkback analyze` with --start-col, --entry-col, --weights-col, --cluster-col: R parity of the
JSON (tests/reference/counting) and one test per bad input (exit 2, one line naming the rows)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import walkback
from cli_run import run

HERE = Path(__file__).resolve().parent / "reference" / "counting"
EXPECTED = json.loads((HERE / "expected.json").read_text())
REL = 1e-6


def _args(case: str, adjusted: bool = False) -> list:
    c = EXPECTED[case]["case"]
    out = ["analyze", HERE / "inputs" / f"{case}.csv", "--time-col", c["stop"]]
    out += ["--event-col", c["event"], "--arm-col", c["arm"], "--control", c["control"]]
    if "start" in c:
        # one row per participant: delayed entry; several: (start, stop] rows
        out += ["--start-col" if c.get("id_col") else "--entry-col", c["start"]]
    for key, opt in [("weights", "--weights-col"), ("cluster", "--cluster-col")]:
        if key in c:
            out += [opt, c[key]]
    if "id_col" in c:
        out += ["--id-col", c["id_col"]]
    if "strata" in c:
        out += ["--strata", c["strata"]]
    if adjusted:
        covs = c["covs"]  # R's auto_unbox writes a one-covariate list as a string
        for cov in [covs] if isinstance(covs, str) else covs:
            out += ["--covariate", cov]
    return [*out, "--json"]


def _near(got, want):
    return abs(got - want) <= REL * abs(want)


@pytest.mark.parametrize("case", sorted(EXPECTED))
@pytest.mark.parametrize("adjusted", [False, True])
def test_cli_hazard_ratio_and_medians_equal_r(case, adjusted, capsys):
    code, out, err = run(_args(case, adjusted), capsys)
    assert code == 0, err
    d = json.loads(out)
    r = next(
        f
        for f in EXPECTED[case]["cox"]
        if f["model"] == ("adjusted" if adjusted else "arm") and f["ties"] == "efron"
    )
    hr = d["hazard_ratio"]
    assert hr["robust"] == r["robust"]
    assert _near(hr["log_hr"], r["coef"][0]) and _near(hr["estimate"], np.exp(r["coef"][0]))
    assert _near(hr["se"], r["se"][0]) and _near(hr["se_model"], r["se_model"][0])
    z = 1.959963984540054
    assert _near(hr["lower"], np.exp(r["coef"][0] - z * r["se"][0]))  # the CI uses the robust SE
    assert _near(d["model"]["wald_chisq"], r["wald"])
    assert _near(d["model"]["score_chisq"], r["score"])
    assert _near(d["model"]["loglik"], r["loglik"][1])
    if r["robust"]:
        assert _near(d["model"]["robust_score_chisq"], r["rscore"])
    if "logrank" in EXPECTED[case]:  # right-censored, unweighted: R's survdiff
        want = EXPECTED[case]["logrank"]
        assert _near(d["logrank"]["chisq"], want["chisq"])
        arms = sorted(EXPECTED[case]["km"])
        assert [d["logrank"]["observed"][a] for a in arms] == want["observed"]
        assert all(
            _near(d["logrank"]["expected"][a], x)
            for a, x in zip(arms, want["expected"], strict=True)
        )
    else:
        assert d["logrank"] is None and "survdiff" in d["settings"]["logrank"]
    for arm, km in EXPECTED[case]["km"].items():
        got = d["arms"][arm]["median"]
        for k in ("estimate", "lower", "upper"):
            want = km["median"][k]
            assert (got[k] is None) if want is None else _near(got[k], want), (arm, k)


@pytest.mark.parametrize("case", ["bladder2", "cgd", "cgd_weighted", "rhdnase"])
def test_cli_mcf_equals_r(case, capsys):
    code, out, err = run(_args(case), capsys)
    assert code == 0, err
    d = json.loads(out)
    for arm, want in EXPECTED[case]["mcf"].items():
        curve = d["arms"][arm]["mcf"]["curve"]
        ev = np.array(want["n_event"]) > 0
        assert [c["time"] for c in curve] == list(np.array(want["time"])[ev])
        for c, m, s in zip(
            curve, np.array(want["cumhaz"])[ev], np.array(want["std_chaz"])[ev], strict=True
        ):
            assert _near(c["mcf"], m) and _near(c["se"], s)
            assert c["lower"] <= c["mcf"] <= c["upper"]
    assert set(d["mcf"]) == {"treatment", "control"}


def test_python_api_takes_the_same_options():
    df = pd.read_csv(HERE / "inputs" / "bladder2.csv")
    res = walkback.analyze(
        df, time="stop", event="event", arm="rx", control=1, start="start", id_col="id"
    )
    r = EXPECTED["bladder2"]["cox"][0]
    assert _near(res.hazard_ratios()[0]["se"], r["se"][0])
    assert res.cox.robust and res.arms["1"].mcf is not None
    df = pd.read_csv(HERE / "inputs" / "rotterdam_ipw.csv")
    res = walkback.analyze(df, time="rtime", event="recur", arm="hormon", control=0, weights="ipw")
    assert _near(res.hazard_ratios()[0]["se"], EXPECTED["rotterdam_ipw"]["cox"][0]["se"][0])


# -- bad input: exit 2, one line that names the column and the lines -------------------------------

BASE = ["--time-col", "stop", "--event-col", "event", "--arm-col", "arm", "--control", "c"]


def _csv(tmp_path, rows: str) -> Path:
    p = tmp_path / "d.csv"
    p.write_text("id,arm,start,stop,event,w,entry\n" + rows)
    return p


GOOD = "1,c,0,5,1,1,0\n1,c,5,9,0,1,0\n2,t,0,4,1,2,1\n3,t,0,7,0,1,2\n4,c,0,3,1,1,0\n"


def _bad(capsys, path, *opts):
    code, out, err = run(["analyze", path, *BASE, *opts], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1, (code, err)
    return err


def test_good_file_runs(tmp_path, capsys):
    code, out, err = run(
        ["analyze", _csv(tmp_path, GOOD), *BASE, "--start-col", "start", "--id-col", "id"], capsys
    )
    assert code == 0, err


def test_stop_not_after_start(tmp_path, capsys):
    err = _bad(capsys, _csv(tmp_path, GOOD + "5,t,4,4,0,1,0\n"), "--start-col", "start")
    assert "column 'start'" in err and "line 7" in err and "(start, time]" in err


def test_entry_not_before_time(tmp_path, capsys):
    err = _bad(capsys, _csv(tmp_path, GOOD + "5,t,0,4,0,1,6\n"), "--entry-col", "entry")
    assert "column 'entry'" in err and "line 7" in err and "entry must be <" in err


def test_negative_weight(tmp_path, capsys):
    err = _bad(capsys, _csv(tmp_path, GOOD + "5,t,0,4,0,-1,0\n"), "--weights-col", "w")
    assert "column 'w'" in err and "line 7" in err and "negative" in err


def test_overlapping_intervals_of_one_id(tmp_path, capsys):
    rows = GOOD + "2,t,3,6,0,1,0\n"
    err = _bad(capsys, _csv(tmp_path, rows), "--start-col", "start", "--id-col", "id")
    assert "column 'id'" in err and "lines 4, 7" in err and "overlap" in err


@pytest.mark.parametrize(
    ("opt", "col"),
    [("--start-col", "start"), ("--entry-col", "entry"), ("--weights-col", "w"),
     ("--cluster-col", "id")],
)  # fmt: skip
def test_missing_value_in_the_new_columns(tmp_path, capsys, opt, col):
    cells = {"id": "5", "start": "0", "w": "1", "entry": "0"}
    cells[col] = ""
    row = f"{cells['id']},t,{cells['start']},4,0,{cells['w']},{cells['entry']}\n"
    err = _bad(capsys, _csv(tmp_path, GOOD + row), opt, col)
    assert f"column '{col}'" in err and "line 7" in err and "missing" in err
    # --na drop excludes the row instead, and says so
    code, out, err = run(
        ["analyze", _csv(tmp_path, GOOD + row), *BASE, opt, col, "--na", "drop", "--json"], capsys
    )
    assert code == 0 and json.loads(out)["settings"]["dropped"]["lines"] == [7]


def test_missing_id_with_start_col(tmp_path, capsys):
    err = _bad(
        capsys, _csv(tmp_path, GOOD + ",t,0,4,0,1,0\n"), "--start-col", "start", "--id-col", "id"
    )
    assert "column 'id'" in err and "line 7" in err and "missing" in err


def test_non_numeric_start(tmp_path, capsys):
    err = _bad(capsys, _csv(tmp_path, GOOD + "5,t,abc,4,0,1,0\n"), "--start-col", "start")
    assert "column 'start'" in err and "line 7" in err and "number" in err


def test_start_and_entry_together(tmp_path, capsys):
    err = _bad(capsys, _csv(tmp_path, GOOD), "--start-col", "start", "--entry-col", "entry")
    assert "not both" in err


def test_options_not_defined_for_intervals(tmp_path, capsys):
    err = _bad(capsys, _csv(tmp_path, GOOD), "--start-col", "start", "--test", "logrank")
    assert "--test" in err


def test_repeated_id_with_entry_col(tmp_path, capsys):
    err = _bad(capsys, _csv(tmp_path, GOOD), "--entry-col", "entry", "--id-col", "id")
    assert "column 'id'" in err and "duplicate id" in err
