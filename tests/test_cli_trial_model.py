"""`walkback simulate | calibrate | twin | reproduce`: outputs, determinism, exit codes 0/1/2.

Everything runs in-process through ``walkback.cli.main`` so that the calibration (several seconds)
is solved once per pytest process and reused; one test runs the real ``python -m walkback``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_run import run
from walkback.calibrate import calibration_unknowns
from walkback.cli import main
from walkback.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "data" / "synthetic" / "walkback_twin.csv"
TWIN_META = TWIN.with_suffix(".json")
REPORTS = ROOT / "reports"
SPEC_FILE = ROOT / "src" / "walkback" / "trials" / "walkback.toml"

SIM_COLUMNS = {
    "participant_id",
    "arm",
    "followup_days",
    "activity_limiting_days",
    "activity_limiting_event",
}
TARGET_KEYS = {"name", "published", "reproduced", "precision", "status", "source"}
ANALYZE_ARGS = [
    "--time-col",
    "activity_limiting_days",
    "--event-col",
    "activity_limiting_event",
    "--arm-col",
    "arm",
    "--treatment",
    "intervention",
    "--control",
    "control",
]


def assert_one_line_error(code, err, *fragments):
    """Exit 2, exactly one line on stderr in the CLI's format, no traceback."""
    assert code == 2, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(("walkback: error:", "walkback ")), err
    assert "Traceback" not in err
    for frag in fragments:
        assert frag in err, err


@pytest.fixture(scope="module")
def spec():
    return load_spec("walkback")


@pytest.fixture(scope="module")
def published(spec):
    return [t for t in spec.targets if not t.derived]


# ---- simulate ----------------------------------------------------------------------------------
def test_simulate_writes_one_row_per_participant(tmp_path, capsys):
    out = tmp_path / "tmp" / "x.csv"  # the parent folder is created
    code, stdout, err = run(["simulate", "--seed", 3, "--out", out], capsys)
    assert code == 0, err
    assert "701 participants" in stdout and "seed 3" in stdout
    text = out.read_text()
    assert text.endswith("\n") and "\r" not in text
    assert text.count("\n") == 702  # header + 701 rows
    df = pd.read_csv(out)
    assert len(df) == 701
    assert set(df.columns) >= SIM_COLUMNS
    assert df["participant_id"].is_unique
    assert set(df["arm"]) == {"intervention", "control"}
    assert set(df["activity_limiting_event"]) <= {0, 1}
    assert (df["activity_limiting_days"] >= 0).all()
    assert (df["activity_limiting_days"] <= df["followup_days"]).all()


def test_simulate_same_seed_same_bytes(tmp_path, capsys):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"]
    for path, seed in zip(paths, [3, 3, 4], strict=True):
        code, _, err = run(["simulate", "--seed", seed, "--out", path], capsys)
        assert code == 0, err
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()  # the seed matters


def test_simulate_parquet_equals_csv(tmp_path, capsys):
    csv, pq = tmp_path / "x.csv", tmp_path / "x.parquet"
    for path in (csv, pq):
        code, _, err = run(["simulate", "--seed", 3, "--out", path], capsys)
        assert code == 0, err
    assert pq.read_bytes()[:4] == b"PAR1"
    from_csv, from_pq = pd.read_csv(csv), pd.read_parquet(pq)
    assert list(from_pq.columns) == list(from_csv.columns)
    # align dtypes: CSV infers int64/object; Parquet keeps the writer's types (dates, categories)
    for col in from_pq.columns:
        if from_pq[col].dtype.kind in "iufb":
            from_pq[col] = from_pq[col].astype(float)
            from_csv[col] = from_csv[col].astype(float)
        else:
            from_pq[col] = from_pq[col].astype(str)
            from_csv[col] = from_csv[col].astype(str)
    pd.testing.assert_frame_equal(from_csv, from_pq)


def test_simulated_trial_is_analyzable(tmp_path, capsys):
    out = tmp_path / "x.csv"
    code, _, err = run(["simulate", "--seed", 3, "--out", out], capsys)
    assert code == 0, err
    code, stdout, err = run(["analyze", out, *ANALYZE_ARGS, "--json"], capsys)
    assert code == 0, err
    res = json.loads(stdout)
    df = pd.read_csv(out)
    assert res["n"]["treatment"] + res["n"]["control"] == 701
    assert res["n"]["treatment"] == (df["arm"] == "intervention").sum()
    events = res["events"]
    assert events["treatment"] + events["control"] == df["activity_limiting_event"].sum()
    assert res["source"] == "x.csv"
    assert 0 < res["hazard_ratio"]["estimate"] < 10


# ---- calibrate ---------------------------------------------------------------------------------
def test_calibrate_json(spec, capsys):
    code, stdout, err = run(["calibrate", "--json"], capsys)
    assert code == 0, err
    d = json.loads(stdout)
    assert set(d) >= {"solved", "model", "targets"}
    assert set(d["solved"]) == {k for k, _ in calibration_unknowns(spec)}
    assert all(math.isfinite(v) and v > 0 for v in d["solved"].values())
    # the committed twin was built from this calibration
    assert d["solved"] == json.loads(TWIN_META.read_text())["calibrated"]
    assert d["spec_sha256"] == spec.sha256
    rows = {r["target"]: r for r in d["targets"]}
    assert [r["target"] for r in d["targets"]] == [t.name for t in spec.targets]
    for t in spec.targets:
        r = rows[t.name]
        assert r["published"] == t.value
        if t.statistic in ("fisher_p", "prob_cost_effective"):  # a property of one dataset
            assert r["expected"] is None and "matched by the twin" in r["method"]
        else:
            assert isinstance(r["expected"], float) and math.isfinite(r["expected"])
        assert r["derived"] == t.derived
    # calibrated targets are hit exactly (to the solver's tolerance)
    for _, p in calibration_unknowns(spec):
        r = rows[p.calibrate]
        assert r["expected"] == pytest.approx(r["published"], rel=1e-3)
    assert set(d["model"]["outcomes"]) == {o.name for o in spec.latent_outcomes}


def test_calibrate_table(spec, capsys):
    code, stdout, err = run(["calibrate"], capsys)
    assert code == 0, err
    assert "Solved parameters:" in stdout and "Expected under the model vs published:" in stdout
    for t in spec.targets:
        assert t.name in stdout
    assert "(derived)" in stdout


# ---- twin --------------------------------------------------------------------------------------
def test_twin_writes_committed_bytes_and_sidecar(spec, tmp_path, capsys):
    out = tmp_path / "tmp" / "twin.csv"
    code, stdout, err = run(["twin", "--out", out], capsys)
    assert code == 0, err
    assert "701 participants" in stdout
    data = out.read_bytes()
    assert data == TWIN.read_bytes()
    meta = json.loads((tmp_path / "tmp" / "twin.json").read_text())
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["numpy_version"] == np.__version__
    assert meta["spec_sha256"] == spec.sha256
    assert meta["file"] == "twin.csv" and meta["rows"] == 701
    # the sidecar equals the committed one apart from the file name
    committed = json.loads(TWIN_META.read_text())
    assert {**meta, "file": committed["file"]} == committed


# ---- reproduce ---------------------------------------------------------------------------------
def test_reproduce_twin_json_and_reports(published, tmp_path, capsys):
    out_dir = tmp_path / "tmp" / "reports"
    code, stdout, err = run(["reproduce", "--data", TWIN, "--json", "--out-dir", out_dir], capsys)
    assert code == 0, err
    d = json.loads(stdout)
    assert d["all_passed"] is True
    assert d["counts"] == {"pass": len(published), "fail": 0, "missing": 0}
    assert [t["name"] for t in d["targets"]] == [t.name for t in published]  # no derived ones
    for t in d["targets"]:
        assert set(t) >= TARGET_KEYS
        assert t["status"] == "pass"
        assert isinstance(t["reproduced"], float) and t["source"]
    md, js = out_dir / "reproduction.md", out_dir / "reproduction.json"
    assert md.is_file() and js.is_file()
    assert js.read_text() == stdout
    assert "| FAIL |" not in md.read_text() and "| MISSING |" not in md.read_text()
    assert f"**{len(published)} passed, 0 failed, 0 not computable.**" in md.read_text()


def test_reproduce_reports_are_deterministic(tmp_path, capsys):
    dirs = [tmp_path / "one", tmp_path / "two"]
    for out_dir in dirs:
        code, _, err = run(["reproduce", "--data", TWIN, "--out-dir", out_dir], capsys)
        assert code == 0, err
    for name in ("reproduction.md", "reproduction.json"):
        assert (dirs[0] / name).read_bytes() == (dirs[1] / name).read_bytes()
        assert not re.search(r"20\d\d-\d\d-\d\d[T ]\d\d:\d\d", (dirs[0] / name).read_text())


def test_committed_reports_are_current(tmp_path, capsys, monkeypatch):
    # `make reproduce` writes reports/ from the twin given by its relative path
    monkeypatch.chdir(ROOT)
    code, _, err = run(
        ["reproduce", "--data", "data/synthetic/walkback_twin.csv", "--out-dir", tmp_path], capsys
    )
    assert code == 0, err
    for name in ("reproduction.md", "reproduction.json"):
        assert (tmp_path / name).read_text() == (REPORTS / name).read_text(), name


def test_reproduce_text_table(published, tmp_path, capsys):
    code, stdout, err = run(["reproduce", "--data", TWIN, "--out-dir", tmp_path], capsys)
    assert code == 0, err
    assert stdout.startswith("walkback reproduce: WalkBack on ")
    assert "Cox ties 'efron'" in stdout
    assert f"{len(published)} passed, 0 failed, 0 not computable: ALL TARGETS REPRODUCED" in stdout
    for t in published:
        assert t.label in stdout


def test_reproduce_parquet_data(tmp_path, capsys):
    pq = tmp_path / "twin.parquet"
    pd.read_csv(TWIN).to_parquet(pq, index=False)
    code, stdout, err = run(["reproduce", "--data", pq, "--json", "--out-dir", tmp_path], capsys)
    assert code == 0, err
    assert json.loads(stdout)["all_passed"] is True


def test_reproduce_with_a_spec_path(tmp_path, capsys):
    spec_path = tmp_path / "copy.toml"
    spec_path.write_bytes(SPEC_FILE.read_bytes())
    code, stdout, err = run(
        ["reproduce", "--spec", spec_path, "--data", TWIN, "--json", "--out-dir", tmp_path],
        capsys,
    )
    assert code == 0, err
    d = json.loads(stdout)
    assert d["all_passed"] is True and d["spec"]["source"] == str(spec_path)


def test_reproduce_without_data_builds_the_twin(published, tmp_path, capsys):
    code, stdout, err = run(["reproduce", "--json", "--out-dir", tmp_path], capsys)
    assert code == 0, err
    d = json.loads(stdout)
    assert d["all_passed"] is True
    assert d["data"] == "WalkBack synthetic twin"
    assert d["counts"]["pass"] == len(published)
    assert (tmp_path / "reproduction.json").read_text() == stdout


def test_reproduce_swapped_arms_fails_with_exit_1(tmp_path, capsys):
    df = pd.read_csv(TWIN)
    df["arm"] = df["arm"].map({"intervention": "control", "control": "intervention"})
    bad = tmp_path / "swapped.csv"
    df.to_csv(bad, index=False)
    out_dir = tmp_path / "reports"
    code, stdout, err = run(["reproduce", "--data", bad, "--json", "--out-dir", out_dir], capsys)
    assert code == 1, err
    assert err == ""
    d = json.loads(stdout)
    assert d["all_passed"] is False
    status = {t["name"]: t for t in d["targets"]}
    hr = status["hr_activity_limiting"]
    assert hr["status"] == "fail"
    assert hr["reproduced"] == pytest.approx(1 / 0.72, abs=0.05)  # the HR inverts
    assert status["n_intervention"]["status"] == "fail"  # 350 vs 351
    assert status["age_mean"]["status"] == "pass"  # arm-free targets are unaffected
    assert d["counts"]["fail"] > 0
    # the reports are written on failure too, and say so
    assert json.loads((out_dir / "reproduction.json").read_text()) == d
    assert "| FAIL |" in (out_dir / "reproduction.md").read_text()
    code, stdout, _ = run(["reproduce", "--data", bad, "--out-dir", out_dir], capsys)
    assert code == 1 and "NOT ALL TARGETS REPRODUCED" in stdout


def test_reproduce_missing_secondary_columns_is_missing_status(tmp_path, capsys):
    df = pd.read_csv(TWIN).drop(columns=["care_seeking_days", "care_seeking_event"])
    path = tmp_path / "no_care.csv"
    df.to_csv(path, index=False)
    code, stdout, err = run(["reproduce", "--data", path, "--json", "--out-dir", tmp_path], capsys)
    assert code == 1, err
    d = json.loads(stdout)
    hr = next(t for t in d["targets"] if t["name"] == "hr_care_seeking")
    assert (hr["status"], hr["reproduced"]) == ("missing", None)
    assert "care_seeking" in hr["reason"]
    assert d["counts"] == {"pass": len(d["targets"]) - 1, "fail": 0, "missing": 1}


def test_reproduce_target_subset(tmp_path, capsys):
    code, stdout, err = run(
        [
            "reproduce",
            "--data",
            TWIN,
            "--targets",
            "hr_activity_limiting, age_mean",
            "--json",
            "--out-dir",
            tmp_path,
        ],
        capsys,
    )
    assert code == 0, err
    d = json.loads(stdout)
    assert sorted(t["name"] for t in d["targets"]) == ["age_mean", "hr_activity_limiting"]
    assert d["counts"] == {"pass": 2, "fail": 0, "missing": 0}


def test_reproduce_subset_exit_code_follows_the_chosen_targets(tmp_path, capsys):
    df = pd.read_csv(TWIN)
    df["arm"] = df["arm"].map({"intervention": "control", "control": "intervention"})
    bad = tmp_path / "swapped.csv"
    df.to_csv(bad, index=False)
    argv = ["reproduce", "--data", bad, "--out-dir", tmp_path, "--targets"]
    assert run([*argv, "age_mean,female_share"], capsys)[0] == 0
    assert run([*argv, "age_mean,hr_activity_limiting"], capsys)[0] == 1


def test_reproduce_unknown_target_exit_2(tmp_path, capsys):
    out_dir = tmp_path / "reports"
    code, stdout, err = run(
        [
            "reproduce",
            "--data",
            TWIN,
            "--targets",
            "hr_activity_limiting,hr_typo",
            "--out-dir",
            out_dir,
        ],
        capsys,
    )
    assert_one_line_error(code, err, "hr_typo")
    assert "hr_activity_limiting" not in err.split("published targets:")[0]  # only the unknown one
    assert stdout == ""
    assert not out_dir.exists()  # nothing written


# ---- bad input: exit 2, one line ---------------------------------------------------------------
def _broken_spec(tmp_path: Path, old: str, new: str) -> Path:
    text = SPEC_FILE.read_text()
    assert old in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_reproduce_missing_data_file(tmp_path, capsys):
    code, stdout, err = run(
        ["reproduce", "--data", tmp_path / "nope.csv", "--out-dir", tmp_path / "r"], capsys
    )
    assert_one_line_error(code, err, "nope.csv")
    assert stdout == "" and not (tmp_path / "r").exists()


def test_reproduce_data_without_outcome_columns(tmp_path, capsys):
    path = tmp_path / "thin.csv"
    path.write_text("arm,time,event\nintervention,5,1\ncontrol,8,0\nintervention,3,1\n")
    code, _, err = run(["reproduce", "--data", path, "--out-dir", tmp_path / "r"], capsys)
    assert_one_line_error(code, err, "thin.csv", "activity_limiting_days")


def test_reproduce_data_with_bad_covariate_value(tmp_path, capsys):
    df = pd.read_csv(TWIN, dtype=str)
    df.loc[3, "age"] = "unknown"
    path = tmp_path / "bad_age.csv"
    df.to_csv(path, index=False)
    code, _, err = run(["reproduce", "--data", path, "--out-dir", tmp_path / "r"], capsys)
    assert_one_line_error(code, err, "'age'", "line 5", "unknown")


def test_spec_path_that_does_not_exist(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    code, _, err = run(
        ["reproduce", "--spec", missing, "--data", TWIN, "--out-dir", tmp_path / "r"], capsys
    )
    assert_one_line_error(code, err, "nope.toml")


def test_unknown_packaged_spec(capsys):
    code, _, err = run(["calibrate", "--spec", "no_such_trial"], capsys)
    assert_one_line_error(code, err, "no_such_trial", "walkback")


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        # n_intervention's precision removed
        ("value = 351\nprecision = 1\n", "value = 351\n", ["targets.n_intervention.precision"]),
        (
            'statistic = "cox_hr"',
            'statistic = "hazard"',
            ["targets.hr_activity_limiting", "hazard"],
        ),
        ('name = "age_sd"\n', "", ["targets[", "name", "is required"]),
        ("precision = 0.01\n", "precision = -0.01\n", ["precision", "positive"]),
        ('[[targets]]\nname = "n_control"', "[[targets]\nname", ["not valid TOML"]),
    ],
    ids=["no_precision", "bad_statistic", "no_name", "negative_precision", "bad_toml"],
)
def test_broken_spec_names_the_key(old, new, fragments, tmp_path, capsys):
    path = _broken_spec(tmp_path, old, new)
    code, _, err = run(
        ["reproduce", "--spec", path, "--data", TWIN, "--out-dir", tmp_path / "r"], capsys
    )
    assert_one_line_error(code, err, "broken.toml", *fragments)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["simulate", "--seed", "-1", "--out", "{tmp}/x.csv"], ["--seed", ">= 0"]),
        (["simulate", "--seed", "abc", "--out", "{tmp}/x.csv"], ["--seed", "abc"]),
        (["simulate", "--out", "{tmp}/x.csv"], ["--seed", "required"]),
        (["simulate", "--seed", "1", "--out", "{tmp}/x.txt"], ["--out", ".csv", "x.txt"]),
        (["twin", "--out", "{tmp}/x.txt"], ["--out", ".csv", "x.txt"]),
        (["twin"], ["--out", "required"]),
        (["reproduce", "--bogus"], ["--bogus"]),
        (["frobnicate"], ["frobnicate"]),
    ],
    ids=[
        "negative_seed",
        "text_seed",
        "no_seed",
        "simulate_txt",
        "twin_txt",
        "twin_no_out",
        "unknown_option",
        "unknown_command",
    ],
)
def test_bad_usage_one_line_exit_2(argv, fragments, tmp_path, capsys):
    code, stdout, err = run([a.format(tmp=tmp_path) for a in argv], capsys)
    assert_one_line_error(code, err, *fragments)
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []  # no output file was written


def test_no_command_exits_2(capsys):
    code, out, _ = run([], capsys)
    assert code == 2
    assert "simulate" in out and "reproduce" in out  # the help lists the commands


def test_no_command_one_line_on_stderr(capsys):
    code, _, err = run([], capsys)
    assert_one_line_error(code, err)


# ---- help --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "fragments"),
    [
        ("simulate", ["--seed", "--out", "example:", "walkback simulate --seed 7"]),
        ("calibrate", ["--spec", "--json", "published"]),
        ("twin", ["--out", "sha256", "example:", "walkback twin --out"]),
        (
            "reproduce",
            [
                "--data",
                "--targets",
                "--out-dir",
                "examples:",
                "Exit code 0 when every target passes, 1 otherwise, 2 for bad input",
            ],
        ),
    ],
)
def test_help(command, fragments, capsys):
    with pytest.raises(SystemExit) as ex:
        main([command, "--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: walkback {command}")
    for frag in fragments:
        assert frag in " ".join(out.split()), frag


def test_top_level_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as ex:
        main(["--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    for command in ("analyze", "simulate", "calibrate", "twin", "reproduce"):
        assert command in out


# ---- the real entry point ----------------------------------------------------------------------
def test_entry_point_reproduce_exit_codes(tmp_path):
    def cli(*argv):
        return subprocess.run(
            [sys.executable, "-m", "walkback", *map(str, argv)],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )

    ok = cli("reproduce", "--data", TWIN, "--json", "--out-dir", "out")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["all_passed"] is True
    assert (tmp_path / "out" / "reproduction.json").read_text() == ok.stdout

    bad = cli("reproduce", "--data", "missing.csv")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("walkback: error:")
    assert "missing.csv" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "reports").exists()


def test_reproduce_data_with_other_column_names(tmp_path, capsys):
    # e.g. a `walkback reconstruct` output: arm,time,event
    twin = pd.read_csv(TWIN)
    ipd = tmp_path / "ipd.csv"
    twin[["arm", "activity_limiting_days", "activity_limiting_event"]].rename(
        columns={"activity_limiting_days": "time", "activity_limiting_event": "event"}
    ).to_csv(ipd, index=False)
    primary = "median_activity_limiting_intervention,median_activity_limiting_control,"
    primary += "hr_activity_limiting,p_activity_limiting"
    code = main(
        [
            "reproduce",
            "--data",
            str(ipd),
            "--time-col",
            "time",
            "--event-col",
            "event",
            "--targets",
            primary,
            "--out-dir",
            str(tmp_path / "r"),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [t["status"] for t in json.loads(out)["targets"]] == ["pass"] * 4
    # every target: those the file cannot give are "missing", so not everything passes
    code = main(
        [
            "reproduce",
            "--data",
            str(ipd),
            "--time-col",
            "time",
            "--event-col",
            "event",
            "--out-dir",
            str(tmp_path / "r2"),
            "--json",
        ]
    )
    statuses = {t["status"] for t in json.loads(capsys.readouterr().out)["targets"]}
    assert code == 1 and statuses == {"pass", "missing"}
    code = main(["reproduce", "--data", str(ipd), "--time-col", "time"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--event-col" in err
