"""`walkback analyze`: output contract, conventions, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cli_run import run
from walkback.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "synthetic" / "example_trial.csv"
ARGS = [
    "--time-col",
    "days",
    "--event-col",
    "event",
    "--arm-col",
    "arm",
    "--treatment",
    "intervention",
    "--control",
    "control",
]
GOOD = "id,t,e,arm\n1,5,1,A\n2,8,0,B\n3,3,1,A\n4,9,1,B\n5,2,0,A\n6,4,1,B\n"
COLS = [
    "--time-col",
    "t",
    "--event-col",
    "e",
    "--arm-col",
    "arm",
    "--treatment",
    "A",
    "--control",
    "B",
]


def test_json_contract_keys(capsys):
    code, out, err = run(
        ["analyze", EXAMPLE, *ARGS, "--times", "90,180", "--tau", "365", "--json"], capsys
    )
    assert code == 0, err
    d = json.loads(out)
    assert set(d) >= {
        "n",
        "events",
        "median",
        "survival_at",
        "hazard_ratio",
        "logrank",
        "ph_test",
        "rmst",
        "settings",
    }
    assert set(d["hazard_ratio"]) >= {"estimate", "lower", "upper", "p", "log_hr", "se"}
    assert set(d["rmst"]) >= {
        "tau",
        "treatment",
        "treatment_se",
        "control",
        "control_se",
        "difference",
        "lower",
        "upper",
    }
    assert set(d["median"]["treatment"]) == {"estimate", "lower", "upper"}
    assert [r["time"] for r in d["survival_at"]["control"]] == [90.0, 180.0]
    assert set(d["survival_at"]["control"][0]) == {
        "time",
        "survival",
        "lower",
        "upper",
        "n_at_risk",
        "events",
        "censored",
    }
    s = d["settings"]
    assert (s["conf_type"], s["ties"], s["strata"], s["alpha"]) == ("log", "efron", [], 0.05)
    assert d["n"]["treatment"] + d["n"]["control"] == 701
    assert d["rmst"]["tau"] == 365.0


def test_convention_sets_both_defaults_and_explicit_flags_override(capsys):
    _, out, _ = run(["analyze", EXAMPLE, *ARGS, "--convention", "sas", "--json"], capsys)
    s = json.loads(out)["settings"]
    assert (s["conf_type"], s["ties"]) == ("log-log", "breslow")
    _, out, _ = run(
        ["analyze", EXAMPLE, *ARGS, "--convention", "stata", "--ties", "efron", "--json"], capsys
    )
    s = json.loads(out)["settings"]
    assert (s["conf_type"], s["ties"]) == ("log-log", "efron")


def test_strata_give_stratified_cox_and_logrank(capsys):
    _, plain, _ = run(["analyze", EXAMPLE, *ARGS, "--json"], capsys)
    _, strat, _ = run(
        ["analyze", EXAMPLE, *ARGS, "--strata", "episodes_gt2", "--strata", "referral", "--json"],
        capsys,
    )
    p, s = json.loads(plain), json.loads(strat)
    assert s["settings"]["strata"] == ["episodes_gt2", "referral"]
    assert s["hazard_ratio"]["estimate"] != p["hazard_ratio"]["estimate"]
    assert s["logrank"]["chisq"] != p["logrank"]["chisq"]
    assert s["median"] == p["median"]  # medians are per arm, never stratified


def test_table_states_conventions(capsys):
    code, out, _ = run(["analyze", EXAMPLE, *ARGS, "--times", "365"], capsys)
    assert code == 0
    assert "Conventions: KM CI transform 'log', Cox ties 'efron' (R survival defaults)" in out
    assert "Hazard ratio" in out and "Median (95% CI)" in out and "Survival at 365" in out


def test_console_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "walkback", "analyze", str(EXAMPLE), *ARGS, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    arms = pd.read_csv(EXAMPLE)["arm"].value_counts()
    n = json.loads(proc.stdout)["n"]
    assert n == {"treatment": arms["intervention"], "control": arms["control"]}


def test_help_teaches(capsys):
    with pytest.raises(SystemExit) as ex:
        main(["analyze", "--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    assert "--convention" in out and "log-log" in out and "examples:" in out


BAD_FILES = {
    # name: (content, expected fragments of the one-line message)
    "missing_column": ("id,time,e,arm\n1,5,1,A\n", ["'t'"]),
    "empty_time": ("id,t,e,arm\n1,5,1,A\n2,,1,B\n", ["'t'", "line 3"]),
    "text_time": ("id,t,e,arm\n1,5,1,A\n2,soon,1,B\n", ["'t'", "line 3", "soon"]),
    "nan_time": ("id,t,e,arm\n1,5,1,A\n2,NaN,1,B\n", ["'t'", "line 3", "NaN"]),
    "inf_time": ("id,t,e,arm\n1,inf,1,A\n2,4,1,B\n", ["'t'", "line 2", "inf"]),
    "negative_time": ("id,t,e,arm\n1,5,1,A\n2,-4,1,B\n", ["'t'", "line 3", "-4"]),
    "bad_event": ("id,t,e,arm\n1,5,1,A\n2,4,2,B\n", ["'e'", "line 3", "2"]),
    "bad_arm": ("id,t,e,arm\n1,5,1,A\n2,4,1,C\n3,4,1,B\n", ["'arm'", "line 3", "C"]),
    "one_arm": ("id,t,e,arm\n1,5,1,A\n2,4,1,A\n", ["'arm'", "B"]),
    "empty_file": ("", ["empty"]),
    "header_only": ("id,t,e,arm\n", ["no data rows"]),
    "semicolon": ("id;t;e;arm\n1;5;1;A\n2;4;1;B\n", ["semicolon"]),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_input_one_line_exit_2(name, tmp_path, capsys):
    content, fragments = BAD_FILES[name]
    path = tmp_path / f"{name}.csv"
    path.write_text(content)
    code, out, err = run(["analyze", path, *COLS], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("walkback: error:")
    for frag in fragments:
        assert frag.lower() in err.lower(), err


def test_duplicate_ids_exit_2(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("id,t,e,arm\n1,5,1,A\n2,4,1,B\n1,3,0,B\n")
    code, _, err = run(["analyze", path, *COLS, "--id-col", "id"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "'id'" in err and "line 4" in err


def test_binary_file_exit_2(tmp_path, capsys):
    path = tmp_path / "blob.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x01")
    code, _, err = run(["analyze", path, *COLS], capsys)
    assert code == 2 and err.count("\n") == 1 and "text" in err


def test_missing_file_exit_2(tmp_path, capsys):
    code, _, err = run(["analyze", tmp_path / "nope.csv", *COLS], capsys)
    assert code == 2 and err.count("\n") == 1 and "nope.csv" in err


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--times", "90,abc"], "--times"),
        (["--times", "-5"], "--times"),
        (["--alpha", "1.5"], "--alpha"),
        (["--tau", "0"], "positive"),
        (["--conf-type", "logit"], "--conf-type"),
        (["--ties", "exact"], "--ties"),
        (["--covariate", "arm"], "arm"),
    ],
)
def test_bad_options_one_line_exit_2(extra, fragment, tmp_path, capsys):
    path = tmp_path / "good.csv"
    path.write_text(GOOD)
    code, _, err = run(["analyze", path, *COLS, *extra], capsys)
    assert code == 2
    assert err.count("\n") == 1 and fragment in err, err


def test_missing_required_option_exit_2(tmp_path, capsys):
    path = tmp_path / "good.csv"
    path.write_text(GOOD)
    code, _, err = run(["analyze", path, "--time-col", "t"], capsys)
    assert code == 2 and err.count("\n") == 1 and "required" in err
