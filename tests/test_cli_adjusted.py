"""CLI: `walkback analyze --adjusted-at NAME=VALUE[,...]` with --times (in-process).

The numbers themselves are checked against R in test_adjusted_survival.py; here: the JSON shape
(roles for two arms, labels for three, strata), that it equals the Python API, the text table,
and every bad input exits 2 with one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_run import run

INPUTS = Path(__file__).resolve().parent / "reference" / "adjusted" / "inputs"
LUNG = [
    "analyze", INPUTS / "lung.csv", "--time-col", "time", "--event-col", "status",
    "--arm-col", "sex", "--control", "1", "--event-value", "2", "--censor-value", "1",
    "--covariate", "age", "--covariate", "ph.ecog", "--na", "drop",
]  # fmt: skip
GBSG = [
    "analyze", INPUTS / "gbsg.csv", "--time-col", "rfstime", "--event-col", "status",
    "--arm-col", "hormon", "--control", "0", "--covariate", "age", "--covariate", "grade:1",
    "--strata", "meno",
]  # fmt: skip
COLON = [
    "analyze", INPUTS / "colon.csv", "--time-col", "time", "--event-col", "status",
    "--arm-col", "rx", "--control", "Obs", "--covariate", "age", "--covariate", "sex",
]  # fmt: skip


def test_two_arms_keyed_by_role_and_equal_to_the_api(capsys):
    import pandas as pd

    import walkback

    code, out, err = run(
        [*LUNG, "--times", "180,365", "--adjusted-at", "age=60,ph.ecog=1", "--json",
         "--convention", "sas"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    d = json.loads(out)
    adj = d["adjusted_survival_at"]
    assert set(adj) == {"treatment", "control"}
    assert [r["time"] for r in adj["treatment"]] == [180.0, 365.0]
    assert set(adj["control"][0]) == {"time", "survival", "lower", "upper"}
    assert d["settings"]["adjusted_at"]["values"] == {"age": "60", "ph.ecog": "1"}
    res = walkback.analyze(
        pd.read_csv(INPUTS / "lung.csv"), time="time", event="status", arm="sex", control=1,
        event_value=2, censor_value=1, covariates=["age", "ph.ecog"], na="drop",
        times=[180, 365], adjusted_at={"age": 60, "ph.ecog": 1}, conf_type="log-log",
        ties="breslow",
    )  # fmt: skip
    for role, label in (("treatment", "2"), ("control", "1")):
        api = res.adjusted_survival[label]
        assert [r["survival"] for r in adj[role]] == pytest.approx(api.survival, rel=1e-12)
        assert [r["lower"] for r in adj[role]] == pytest.approx(api.lower, rel=1e-12)
    # women (2) do better at the same age and ECOG score
    assert adj["treatment"][1]["survival"] > adj["control"][1]["survival"]


def test_three_arms_keyed_by_label_and_text_table(capsys):
    code, out, err = run(
        [*COLON, "--times", "365,1000", "--adjusted-at", "age=60,sex=1", "--json"], capsys
    )
    assert code == 0, err
    adj = json.loads(out)["adjusted_survival_at"]
    assert set(adj) == {"Obs", "Lev", "Lev+5FU"}
    code, out, err = run([*COLON, "--times", "365,1000", "--adjusted-at", "age=60,sex=1"], capsys)
    assert code == 0, err
    block = out[out.index("Adjusted survival") :].splitlines()
    assert "at age=60, sex=1" in block[0]
    assert block[1].split() == ["Time,", "days", "Obs", "(control)", "Lev", "Lev+5FU"]
    assert block[3].split()[0] == "1000"
    assert f"{adj['Lev+5FU'][1]['survival']:.3f}" in block[3]


def test_strata_give_a_curve_per_stratum_or_the_one_named(capsys):
    code, out, err = run(
        [*GBSG, "--times", "365", "--adjusted-at", "age=50,grade=2", "--json"], capsys
    )
    assert code == 0, err
    rows = json.loads(out)["adjusted_survival_at"]["treatment"]
    assert [r["stratum"] for r in rows] == ["meno=0", "meno=1"]
    code, out, err = run(
        [*GBSG, "--times", "365", "--adjusted-at", "age=50,grade=2,meno=1", "--json"], capsys
    )
    assert code == 0, err
    one = json.loads(out)["adjusted_survival_at"]["treatment"]
    assert len(one) == 1 and one[0]["stratum"] == "meno=1"
    assert one[0]["survival"] == pytest.approx(rows[1]["survival"], rel=1e-12)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--adjusted-at", "age=50,grade=2"], "--adjusted-at needs --times"),
        (["--times", "365", "--adjusted-at", "age=50,grade=2,bmi=3"], "column 'bmi'"),
        (["--times", "365", "--adjusted-at", "age=old,grade=2"], "not a finite number"),
        (["--times", "365", "--adjusted-at", "age=50"], "no value for covariate 'grade'"),
        (["--times", "365", "--adjusted-at", "age=50,grade=7"], "choose one of '1', '2', '3'"),
        (["--times", "365", "--adjusted-at", "age50"], "NAME=VALUE pairs"),
        (["--times", "365", "--adjusted-at", "age=5,age=6,grade=2"], "names 'age' twice"),
        (["--times", "365", "--adjusted-at", "age=50,grade=2,hormon=1"], "the arm is not given"),
        (["--times", "365", "--adjusted-at", "age=50,grade=2,meno=4"], "no such stratum"),
    ],
)
def test_bad_adjusted_at_exits_2_with_one_line(extra, message, capsys):
    code, out, err = run([*GBSG, *extra], capsys)
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and out == ""
