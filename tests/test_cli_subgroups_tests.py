"""CLI: `walkback subgroups` and `walkback analyze --test` / milestone differences (in-process)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_run import run

REF = Path(__file__).resolve().parent / "reference"
COLON = str(REF / "subgroups" / "inputs" / "colon.csv")
VETERAN = str(REF / "subgroups" / "inputs" / "veteran.csv")
COLS = ["--time-col", "time", "--event-col", "status"]


def test_subgroups_json_matches_the_api_and_writes_the_plot(tmp_path, capsys):
    plot = tmp_path / "forest.png"
    code, out, err = run(
        [
            "subgroups",
            COLON,
            *COLS,
            "--arm-col",
            "rx",
            "--control",
            "Obs",
            "--by",
            "sex",
            "--by",
            "differ",
            "--na",
            "drop",
            "--json",
            "--plot",
            str(plot),
        ],
        capsys,
    )
    assert code == 0, err
    d = json.loads(out)
    assert {r["by"] for r in d["subgroups"]} == {"sex", "differ"}
    assert [i["by"] for i in d["interaction"]] == ["sex", "differ"]
    assert d["interaction"][1]["missing"] == 23 and d["interaction"][1]["df"] == 4
    assert plot.stat().st_size > 10_000


def test_subgroups_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    base = ["subgroups", COLON, *COLS, "--arm-col", "rx", "--control", "Obs"]
    code, _, err = run([*base, "--by", "differ"], capsys)
    assert code == 2 and "missing values in a subgroup column" in err and "--na drop" in err
    code, _, err = run([*base, "--by", "age"], capsys)
    assert code == 2 and "looks continuous" in err
    code, _, err = run([*base, "--by", "sex", "--plot", str(tmp_path / "f.txt")], capsys)
    assert code == 2 and "--plot must end in" in err
    assert len(err.strip().splitlines()) == 1


def test_analyze_tests_named_as_written_and_milestone_differences(capsys):
    code, out, err = run(
        [
            "analyze",
            VETERAN,
            *COLS,
            "--arm-col",
            "trt",
            "--control",
            "1",
            "--test",
            "fh(0,0.5)",
            "--test",
            "maxcombo",
            "--test",
            "logrank",
            "--times",
            "100,200",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    d = json.loads(out)
    assert [t["name"] for t in d["tests"]] == ["fh(0,0.5)", "maxcombo", "logrank"]
    assert abs(d["tests"][2]["chisq"] - d["logrank"]["chisq"]) < 1e-9
    assert d["tests"][1]["winner"] in {"fh(0,0)", "fh(0,1)", "fh(1,0)", "fh(1,1)"}
    rows = d["survival_difference_at"]
    sa = {
        a: {r["time"]: r["survival"] for r in d["survival_at"][a]} for a in ("treatment", "control")
    }
    for r in rows:
        assert (
            abs(r["difference"] - (sa["treatment"][r["time"]] - sa["control"][r["time"]])) < 1e-12
        )
        assert r["lower"] < r["difference"] < r["upper"]


def test_analyze_bad_test_names_exit_2(capsys):
    base = ["analyze", VETERAN, *COLS, "--arm-col", "trt", "--control", "1"]
    for bad, msg in (("fh(-1,0)", ">= 0"), ("wilcoxon", "unknown test")):
        code, _, err = run([*base, "--test", bad], capsys)
        assert code == 2 and msg in err, err
    code, _, err = run(
        ["analyze", COLON, *COLS, "--arm-col", "rx", "--control", "Obs", "--test", "maxcombo"],
        capsys,
    )
    assert code == 2 and "compares two arms" in err
