"""`walkback analyze` on trials as researchers have them: k arms, R codings, missing values."""

import json
from pathlib import Path

import pandas as pd
import pytest

import walkback
from cli_run import run

REF = Path(__file__).resolve().parent / "reference" / "anytrial" / "inputs"
COLON = ["--time-col", "time", "--event-col", "status", "--arm-col", "rx", "--control", "Obs"]
LUNG = ["--time-col", "time", "--event-col", "status", "--arm-col", "sex", "--control", "1"]


def test_three_arms_with_control_alone(capsys):
    code, out, err = run(["analyze", REF / "colon3.csv", *COLON, "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert set(d["arms"]) == {"Obs", "Lev", "Lev+5FU"}  # JSON keys are sorted
    assert [d["settings"]["control"], *d["settings"]["treatments"]] == ["Obs", "Lev", "Lev+5FU"]
    assert [h["treatment"] for h in d["hazard_ratios"]] == ["Lev", "Lev+5FU"]
    assert d["logrank"]["df"] == 2 and d["arm_test"]["df"] == 2
    assert "hazard_ratio" not in d  # the two-arm contract is not faked for three arms
    code, out, _ = run(["analyze", REF / "colon3.csv", *COLON], capsys)
    assert "HR < 1 favours Lev+5FU" in out and "chi-square" in out and "on 2 df" in out


def test_unnamed_arm_is_an_error_unless_dropped(capsys):
    code, _, err = run(["analyze", REF / "colon3.csv", *COLON, "--treatment", "Lev"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "column 'rx'" in err and "lines" in err and "'Lev+5FU'" in err
    assert "--other-arms drop" in err
    args = [*COLON, "--treatment", "Lev", "--other-arms", "drop", "--json"]
    code, out, err = run(["analyze", REF / "colon3.csv", *args], capsys)
    assert code == 0, err
    d = json.loads(out)
    dropped = d["settings"]["other_arms_dropped"]["rows"]
    assert dropped > 0 and d["n"]["treatment"] + d["n"]["control"] + dropped == 929
    assert "excluded" in err and "arm not named" in err


def test_r_status_coding_needs_the_event_value(capsys):
    code, _, err = run(["analyze", REF / "lung12.csv", *LUNG], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "column 'status'" in err and "lines 2, 3" in err and "values found: '1', '2'" in err
    assert "--event-value 2 --censor-value 1" in err
    code, out, err = run(
        [
            "analyze",
            REF / "lung12.csv",
            *LUNG,
            "--event-value",
            "2",
            "--censor-value",
            "1",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    assert json.loads(out)["events"] == {"treatment": 53, "control": 112}


def test_missing_covariate_needs_na_drop(capsys):
    args = [*LUNG, "--event-value", "2", "--censor-value", "1", "--covariate", "ph.ecog"]
    code, _, err = run(["analyze", REF / "lung12.csv", *args], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "column 'ph.ecog'" in err and "line 15" in err and "--na drop" in err
    code, out, err = run(["analyze", REF / "lung12.csv", *args, "--na", "drop", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["settings"]["dropped"] == {"rows": 1, "columns": ["ph.ecog"], "lines": [15]}
    assert d["n"]["treatment"] + d["n"]["control"] + 1 == 228
    assert "excluded 1 of 228 rows" in err and "line" in err


def test_timefix_is_recorded_and_can_be_turned_off(capsys):
    args = [
        "--time-col",
        "time",
        "--event-col",
        "status",
        "--arm-col",
        "celltype",
        "--control",
        "squamous",
        "--json",
    ]
    outs = []
    for extra in ([], ["--no-timefix"]):
        code, out, err = run(["analyze", REF / "neartie.csv", *args, *extra], capsys)
        assert code == 0, err
        outs.append(json.loads(out))
    assert [o["settings"]["timefix"] for o in outs] == [True, False]
    assert outs[0]["logrank"]["chisq"] != outs[1]["logrank"]["chisq"]


def test_factor_covariate_rows_name_column_and_level(capsys):
    args = [
        "--time-col",
        "time",
        "--event-col",
        "status",
        "--arm-col",
        "trt",
        "--control",
        "1",
        "--covariate",
        "celltype:large",
        "--json",
    ]
    code, out, err = run(["analyze", REF / "veteran_factor.csv", *args], capsys)
    assert code == 0, err
    terms = [c["term"] for c in json.loads(out)["covariates"]]
    assert terms == ["celltype=adeno", "celltype=smallcell", "celltype=squamous"]
    code, _, err = run(
        ["analyze", REF / "veteran_factor.csv", *args[:-3], "--covariate", "celltype:huge"], capsys
    )
    assert code == 2 and "reference level 'huge'" in err and "'large'" in err


def test_dataframe_api_names_index_labels():
    df = pd.read_csv(REF / "lung12.csv").set_index(pd.RangeIndex(100, 328))
    with pytest.raises(ValueError, match=r"<DataFrame>, column 'ph.ecog', row 113"):
        walkback.analyze(
            df,
            time="time",
            event="status",
            arm="sex",
            control=1,
            event_value=2,
            censor_value=1,
            covariates=["ph.ecog"],
        )
    res = walkback.analyze(
        df,
        time="time",
        event="status",
        arm="sex",
        control=1,
        event_value=2,
        censor_value=1,
        covariates=["ph.ecog"],
        na="drop",
    )
    assert res.to_dict()["settings"]["dropped"]["lines"] == [113]
    assert res.hazard_ratios()[0]["estimate"] == pytest.approx(0.5752389407, rel=1e-8)
