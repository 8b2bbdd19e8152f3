"""CLI: `walkback competing` (in-process): JSON contract, table, figure, and every bad input
as one line on stderr with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_run import run

REF = Path(__file__).resolve().parent / "reference" / "competing"
MGUS2 = REF / "inputs" / "mgus2.csv"
MGUS2_ARGS = [
    "--time-col", "etime", "--event-col", "event", "--arm-col", "sex",
    "--treatment", "M", "--control", "F", "--censor-value", "censor",
]  # fmt: skip


def test_json_equals_the_r_reference_and_the_plot_is_written(tmp_path, capsys):
    ref = json.loads((REF / "expected" / "mgus2_pcm.json").read_text())
    plot = tmp_path / "cif.png"
    times = ",".join(str(t) for t in ref["settings"]["times"])
    argv = ["competing", MGUS2, *MGUS2_ARGS, "--cause", "pcm", "--times", times]
    code, out, err = run([*argv, "--json", "--plot", plot], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["causes"] == ["death", "pcm"] and d["arms"] == {"treatment": "M", "control": "F"}
    for arm in ("treatment", "control"):
        for got, want in zip(d["cif"][arm], ref["cif"][arm], strict=True):
            assert set(got) == {"time", "cif", "variance", "lower", "upper"}
            assert got["cif"] == pytest.approx(want["cif"], rel=1e-6)
            assert got["variance"] == pytest.approx(want["variance"], rel=1e-6)
    assert d["gray"]["chisq"] == pytest.approx(ref["gray"]["chisq"], rel=1e-5)
    for key in ("estimate", "lower", "upper", "p"):
        assert d["fine_gray"][key] == pytest.approx(ref["fine_gray"][key], rel=1e-5)
        assert d["cause_specific_hr"][key] == pytest.approx(ref["cause_specific_hr"][key], rel=1e-6)
    assert d["source"] == "mgus2.csv" and d["settings"]["conf_type"] == "log-log"
    assert plot.stat().st_size > 10_000
    code, text, err = run(argv, capsys)
    assert code == 0, err
    assert "Gray's test" in text and "Fine-Gray subdistribution HR, M vs F" in text


def test_without_times_the_table_is_the_full_curve(capsys):
    code, out, err = run(["competing", MGUS2, *MGUS2_ARGS, "--cause", "pcm", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    ref = json.loads((REF / "expected" / "mgus2_pcm.json").read_text())
    assert [r["time"] for r in d["cif"]["control"]] == ref["curve"]["control"]["time"]
    code, text, err = run(["competing", MGUS2, *MGUS2_ARGS, "--cause", "pcm"], capsys)
    assert code == 0, err
    assert "F at 373 days: 0.199 (0.111 to 0.305)" in text and "--times gives a table" in text
    assert "Conventions: Aalen-Johansen CIF with Gray's variance" in text


def test_no_event_of_the_cause_in_an_arm_gives_a_note_not_a_number(tmp_path, capsys):
    f = tmp_path / "t.csv"
    f.write_text("t,e,arm\n1,1,a\n2,2,a\n3,0,a\n1,2,b\n2,2,b\n4,0,b\n5,1,a\n")
    code, out, err = run(
        ["competing", f, "--time-col", "t", "--event-col", "e", "--arm-col", "arm",
         "--treatment", "b", "--control", "a", "--cause", "1", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    d = json.loads(out)
    assert d["fine_gray"] is None and d["cause_specific_hr"] is None
    assert "no '1' events in arm 'b'" in d["note"]


BAD = {
    "undeclared_code": (
        "t,e,arm\n1,1,a\n2,3,b\n3,0,a\n4,2,b\n",
        ["--causes", "1,2"],
        ["line 3", "neither the censoring code '0' nor a declared cause", "'3'"],
    ),
    "cause_not_present": (
        "t,e,arm\n1,1,a\n2,2,b\n3,0,a\n",
        ["--cause", "7"],
        ["cause '7' does not occur", "codes found: '0', '1', '2'"],
    ),
    "censor_value_not_present": (
        "t,e,arm\n1,1,a\n2,2,b\n3,2,a\n",
        ["--censor-value", "9"],
        ["censoring code '9' does not occur", "--causes"],
    ),
    "negative_time": (
        "t,e,arm\n1,1,a\n-2,2,b\n3,0,a\n-1,0,b\n",
        [],
        ["column 't'", "lines 3, 5", "must be >= 0"],
    ),
    "missing_time": (
        "t,e,arm\n1,1,a\n,2,b\n3,0,a\n",
        [],
        ["column 't'", "line 3", "finite number"],
    ),
    "missing_status": (
        "t,e,arm\n1,1,a\n2,,b\n3,0,a\n",
        [],
        ["column 'e'", "line 3", "status is missing"],
    ),
    "na_status": (
        "t,e,arm\n1,1,a\n2,NA,b\n3,0,a\n4,2,b\n",
        [],
        ["column 'e'", "line 3", "status is missing"],
    ),
    "cause_equals_censor": (
        "t,e,arm\n1,1,a\n2,2,b\n3,0,a\n",
        ["--cause", "0"],
        ["--cause and --censor-value are both '0'"],
    ),
    "cause_not_declared": (
        "t,e,arm\n1,1,a\n2,2,b\n3,0,a\n",
        ["--causes", "2"],
        ["cause '1' is not among the declared causes"],
    ),
    "censor_declared_a_cause": (
        "t,e,arm\n1,1,a\n2,2,b\n3,0,a\n",
        ["--causes", "0,1,2"],
        ["censoring code '0' is also declared a cause"],
    ),
    "other_arm": (
        "t,e,arm\n1,1,a\n2,2,b\n3,0,c\n",
        [],
        ["column 'arm'", "line 4", "neither treatment 'b' nor control 'a'"],
    ),
    "missing_column": (
        "time,e,arm\n1,1,a\n2,2,b\n",
        [],
        ["missing column 't'"],
    ),
    "missing_stratum": (
        "t,e,arm,s\n1,1,a,x\n2,2,b,\n3,0,a,y\n",
        ["--strata", "s"],
        ["column 's'", "line 3", "stratum is missing"],
    ),
    "bad_times": (
        "t,e,arm\n1,1,a\n2,2,b\n",
        ["--times", "30,abc"],
        ["--times wants comma-separated numbers"],
    ),
    "bad_plot_suffix": (
        "t,e,arm\n1,1,a\n2,2,b\n3,0,a\n",
        ["--plot", "cif.txt"],
        ["--plot must end in .png, .svg or .pdf"],
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_line_and_exit_2(name, tmp_path, capsys):
    text, extra, needles = BAD[name]
    f = tmp_path / "trial.csv"
    f.write_text(text)
    base = ["competing", f, "--time-col", "t", "--event-col", "e", "--arm-col", "arm"]
    args = [*base, "--treatment", "b", "--control", "a"]
    if "--cause" not in extra:
        args += ["--cause", "1"]
    code, out, err = run([*args, *extra], capsys)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_other_arms_drop_excludes_and_reports(tmp_path, capsys):
    f = tmp_path / "t.csv"
    f.write_text("t,e,arm\n1,1,a\n2,2,b\n3,0,c\n4,1,b\n5,0,a\n6,1,a\n7,0,b\n")
    code, out, err = run(
        ["competing", f, "--time-col", "t", "--event-col", "e", "--arm-col", "arm",
         "--treatment", "b", "--control", "a", "--cause", "1", "--other-arms", "drop", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "excluded 1 rows of other arms (lines 4)" in err
    d = json.loads(out)
    assert d["n"] == {"treatment": 3, "control": 3}
    assert d["settings"]["dropped"] == {"rows": 1, "lines": [4]}
