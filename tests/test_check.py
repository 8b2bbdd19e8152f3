"""`walkback check`: exit codes 0/1/2, deterministic JSON, --expect ranges, progress bar."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from cli_run import run
from walkback.checks.montecarlo import (
    EXTRA_QUANTITIES,
    median_mcse,
    quantity_names,
    summarise,
)
from walkback.cli.check import progress_bar
from walkback.spec import load_spec

N = 256  # small: the CLI contract, not the statistics, is under test here
KEYS = {"name", "published", "mean", "mcse", "lower", "upper", "status"}


@pytest.fixture(scope="module")
def spec():
    return load_spec("walkback")


def _check(capsys, *extra):
    return run(["check", "--replicates", N, "--seed", 3, "--json", *extra], capsys)


def test_check_passes_on_the_packaged_spec_and_is_byte_identical(spec, capsys):
    code, out, err = _check(capsys)
    assert code == 0, err
    code2, out2, _ = _check(capsys)
    assert code2 == 0 and out2 == out  # same inputs, same bytes
    d = json.loads(out)
    assert d["all_in_range"] is True and d["out_of_range"] == []
    assert d["replicates"] == N and d["seed"] == 3 and "seconds" not in d
    names = [t["name"] for t in d["targets"]]
    assert names == quantity_names(spec)
    assert {"hr_activity_limiting", "median_activity_limiting_control", "n_intervention"} <= set(
        names
    )
    for t in d["targets"]:
        assert set(t) >= KEYS
        assert t["status"] in ("pass", "reported")
    by = {t["name"]: t for t in d["targets"]}
    assert by["hr_activity_limiting"]["published"] == 0.72
    assert by["hr_activity_limiting"]["lower"] < 0.72 < by["hr_activity_limiting"]["upper"]
    assert by["hr_ci_coverage"]["status"] == "pass"
    assert by["power_logrank"]["status"] == "reported"


def test_timing_only_when_asked(capsys):
    code, out, _ = _check(capsys, "--timing")
    assert code == 0 and json.loads(out)["seconds"] > 0


def test_an_expect_range_that_cannot_hold_exits_1_and_names_it(tmp_path, capsys):
    f = tmp_path / "expect.toml"
    f.write_text("[expect]\nhr_mean = [0.90, 0.95]\npower_logrank = [0.5, 1.0]\n")
    code, out, err = _check(capsys, "--expect", f)
    assert code == 1
    d = json.loads(out)
    assert d["out_of_range"] == ["hr_mean"]
    by = {t["name"]: t for t in d["targets"]}
    assert by["hr_mean"]["status"] == "fail" and by["hr_mean"]["allowed"] == [0.9, 0.95]
    assert by["power_logrank"]["status"] == "pass"
    assert err.count("\n") == 1 and "out of range: hr_mean" in err and "[0.9, 0.95]" in err


def test_text_output_names_the_quantity_out_of_range(tmp_path, capsys):
    f = tmp_path / "expect.toml"
    f.write_text("[expect]\nmedian_activity_limiting_control = [150, 160]\n")
    code, out, err = run(["check", "--replicates", N, "--seed", 3, "--expect", f], capsys)
    assert code == 1
    assert "OUT OF RANGE: median_activity_limiting_control" in out
    assert "out of range: median_activity_limiting_control" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[expect]\nhr_maen = [0.7, 0.8]\n", "did you mean 'hr_mean'"),
        ("[expect]\nhr_mean = [0.8, 0.7]\n", "lower <= upper"),
        ("[expect]\nhr_mean = 0.7\n", "[lower, upper]"),
        ("[expect]\nhr_mean = ['a', 'b']\n", "[lower, upper]"),
        ("[expectations]\nhr_mean = [0.7, 0.8]\n", "one [expect] table"),
        ("[expect\n", "not valid TOML"),
    ],
)
def test_bad_expect_files_exit_2_with_one_line(tmp_path, capsys, content, message):
    f = tmp_path / "expect.toml"
    f.write_text(content)
    code, out, err = run(["check", "--replicates", 64, "--seed", 1, "--expect", f], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and str(f) in err


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--replicates", "0", "--seed", "1"],
        ["check", "--replicates", "10", "--seed", "-1"],
        ["check", "--seed", "1"],
        ["check", "--replicates", "10", "--seed", "1", "--expect", "/nonexistent/e.toml"],
        ["check", "--replicates", "10", "--seed", "1", "--spec", "nope"],
    ],
)
def test_bad_arguments_exit_2(capsys, argv):
    code, out, err = run(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_progress_bar_draws_on_its_stream():
    s = io.StringIO()
    show = progress_bar(s)
    show(64, 128)
    show(128, 128)
    text = s.getvalue()
    assert "64/128 simulated trials" in text and text.endswith("128/128 simulated trials\n")


def _table(n, hr, lo, hi, p=0.01, med_t=200.0, med_c=110.0, events=250):
    return {
        "n_treatment": np.full(n, 351),
        "n_control": np.full(n, 350),
        "events_treatment": np.full(n, events),
        "events_control": np.full(n, events),
        "median_treatment": np.full(n, med_t),
        "median_control": np.full(n, med_c),
        "hr": np.asarray(hr, float),
        "hr_lower": np.asarray(lo, float),
        "hr_upper": np.asarray(hi, float),
        "p_cox": np.full(n, p),
        "p_logrank": np.full(n, p),
    }


def test_a_model_far_from_the_paper_fails_the_default_checks(spec):
    n = 400
    rng = np.random.default_rng(1)
    hr = np.exp(rng.normal(np.log(0.9), 0.09, n))  # the paper says 0.72
    tab = _table(n, hr, hr * 0.84, hr * 1.19)
    q = {x.name: x for x in summarise(spec, tab, 0.72, 0.05)}
    assert q["hr_activity_limiting"].status == "fail"
    assert q["hr_ci_coverage"].status == "fail"  # 0.72 is rarely inside CIs centred on 0.9
    assert q["n_intervention"].status == "pass"
    assert set(EXTRA_QUANTITIES) <= set(q)


def testmedian_mcse_is_close_to_the_normal_theory_value():
    x = np.random.default_rng(4).normal(size=20000)
    # the MCSE of a normal sample's median is sqrt(pi / 2) / sqrt(n)
    assert median_mcse(x) == pytest.approx(np.sqrt(np.pi / 2 / x.size), rel=0.1)
