"""`walkback montecarlo | power`: output contracts, per-replicate files, and one-line errors.

Everything runs in-process through ``walkback.cli.main`` (the calibration and the compiled kernels
are loaded once per pytest process).
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cli_run import run
from walkback.cli import main
from walkback.montecarlo.engine import run as run_engine
from walkback.montecarlo.engine import settings_from_spec
from walkback.spec import load_spec

MC_KEYS = {
    "replicates",
    "seed",
    "power_logrank",
    "power_cox",
    "hr_mean",
    "hr_median",
    "hr_ci_coverage",
    "median_intervention_mean",
    "median_control_mean",
    "seconds",
}
GRID_KEYS = {"power_logrank", "power_cox", "power_schoenfeld", "events_mean", "n", "hr"}


def assert_one_line_error(code, err, *fragments, codes=(2,)):
    """The expected exit code, exactly one line on stderr in the CLI's format, no traceback."""
    assert code in codes, (code, err)
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(("walkback: error:", "walkback ")), err
    assert "Traceback" not in err
    for frag in fragments:
        assert frag in err, err


@pytest.fixture(scope="module")
def mc_json():
    """`montecarlo --replicates 2000 --seed 1 --json`, run once for the module (capsys is
    function-scoped, so output is captured by hand)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["montecarlo", "--replicates", "2000", "--seed", "1", "--json"])
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


# ---- montecarlo ----------------------------------------------------------------------------------
def test_montecarlo_json_contract(mc_json):
    d = mc_json
    assert set(d) >= MC_KEYS
    assert d["replicates"] == 2000 and d["seed"] == 1
    assert d["spec"] == "WalkBack"
    assert d["settings"]["n"] == 701 and d["settings"]["hr"] == 0.72
    # sane values for the WalkBack trial (MC SEs at 2,000 replicates: power 0.005, coverage 0.005)
    assert 0.9 < d["power_logrank"] <= 1 and 0.9 < d["power_cox"] <= 1
    assert abs(d["power_logrank"] - d["power_cox"]) < 0.02
    assert abs(d["hr_median"] - 0.72) < 0.02 and abs(d["hr_mean"] - 0.72) < 0.02
    assert 0.93 <= d["hr_ci_coverage"] <= 0.97
    assert abs(d["median_intervention_mean"] - 210) < 10
    assert abs(d["median_control_mean"] - 113) < 6
    assert d["seconds"] > 0


def test_montecarlo_json_equals_the_engine(mc_json):
    spec = load_spec("walkback")
    direct = run_engine(settings_from_spec(spec, 1), 2000, block=4096).to_dict()
    timing = {"seconds", "seconds_per_replicate"}
    assert {k: v for k, v in mc_json.items() if k not in timing | {"spec"}} == {
        k: v for k, v in direct.items() if k not in timing
    }


def test_montecarlo_text_summary(capsys):
    code, out, err = run(["montecarlo", "--replicates", 500, "--seed", 1], capsys)
    assert code == 0, err
    low = out.lower()
    assert "power" in low and "coverage" in low
    assert "log-rank" in low and "cox" in low and "500 replicates" in low
    assert err == ""


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_montecarlo_out_writes_one_row_per_replicate(tmp_path, capsys, suffix):
    path = tmp_path / "sub" / f"reps{suffix}"
    code, out, err = run(
        ["montecarlo", "--replicates", 300, "--seed", 4, "--block", 128, "--out", path], capsys
    )
    assert code == 0, err
    assert str(path) in out
    frame = pd.read_csv(path) if suffix == ".csv" else pq.read_table(path).to_pandas()
    assert len(frame) == 300
    np.testing.assert_array_equal(frame["replicate"], np.arange(300))
    assert {"hr", "hr_lower", "hr_upper", "p_logrank", "p_cox", "median_treatment"} <= set(frame)
    assert frame["hr"].between(0.3, 1.5).all()


def test_montecarlo_out_csv_and_parquet_agree(tmp_path, capsys):
    for name in ("a.csv", "a.parquet"):
        code, _, err = run(
            ["montecarlo", "--replicates", 100, "--seed", 2, "--out", tmp_path / name], capsys
        )
        assert code == 0, err
    a = pd.read_csv(tmp_path / "a.csv", float_precision="round_trip")
    b = pq.read_table(tmp_path / "a.parquet").to_pandas()
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("name", ["x.txt", "x", "x.parquet.gz"])
def test_montecarlo_bad_out_extension_exits_2(tmp_path, capsys, name):
    path = tmp_path / name
    code, out, err = run(["montecarlo", "--replicates", 10, "--seed", 1, "--out", path], capsys)
    assert_one_line_error(code, err, ".parquet or .csv")
    assert out == "" and not path.exists()


def test_montecarlo_n_and_hr_change_the_settings(capsys):
    code, out, err = run(
        ["montecarlo", "--replicates", 200, "--seed", 1, "--n", 300, "--hr", 0.8, "--json"], capsys
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["settings"]["n"] == 300 and d["settings"]["hr"] == 0.8
    assert d["generating_hr"] == 0.8
    assert d["power_logrank"] < 0.8  # a smaller trial with a weaker effect


def test_montecarlo_analysis_options(capsys):
    argv = ["montecarlo", "--replicates", 100, "--seed", 1, "--json"]
    code, out, err = run(
        [*argv, "--conf-type", "log-log", "--ties", "breslow", "--alpha", 0.1, "--tau", 200],
        capsys,
    )
    assert code == 0, err
    st = json.loads(out)["settings"]
    assert (st["conf_type"], st["ties"], st["alpha"], st["tau"]) == ("log-log", "breslow", 0.1, 200)


# ---- power ---------------------------------------------------------------------------------------
def test_power_over_sample_sizes(capsys):
    code, out, err = run(
        ["power", "--n", "300,600", "--replicates", 500, "--seed", 1, "--json"], capsys
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["replicates"] == 500 and d["seed"] == 1
    rows = d["grid"]
    assert [r["n"] for r in rows] == [300, 600]
    for r in rows:
        assert set(r) >= GRID_KEYS
        assert r["hr"] == 0.72
        for k in ("power_logrank", "power_cox", "power_schoenfeld"):
            assert 0 < r[k] < 1, (k, r)
        # Schoenfeld at the simulated events; MC SE of the power <= 0.022 at 500 replicates
        assert abs(r["power_logrank"] - r["power_schoenfeld"]) < 0.08
    assert rows[0]["events_mean"] < rows[1]["events_mean"]
    assert rows[0]["power_logrank"] < rows[1]["power_logrank"]


def test_power_over_hazard_ratios(capsys):
    code, out, err = run(
        ["power", "--hr", "0.7,0.8", "--replicates", 500, "--seed", 1, "--json"], capsys
    )
    assert code == 0, err
    rows = json.loads(out)["grid"]
    assert [r["hr"] for r in rows] == [0.7, 0.8]
    assert all(set(r) >= GRID_KEYS and r["n"] == 701 for r in rows)
    assert rows[0]["power_logrank"] > rows[1]["power_logrank"]
    assert rows[0]["power_schoenfeld"] > rows[1]["power_schoenfeld"]


def test_power_text_table(capsys):
    code, out, err = run(["power", "--n", "300,400", "--replicates", 200, "--seed", 1], capsys)
    assert code == 0, err
    assert "Schoenfeld" in out and "log-rank" in out
    assert len([line for line in out.splitlines() if line.strip().startswith(("300", "400"))]) == 2


# ---- bad input: one line, exit 2 -----------------------------------------------------------------
MC = ["montecarlo", "--replicates", "10", "--seed", "1"]
PW = ["power", "--replicates", "10", "--seed", "1"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["power", "--n", "300", "--hr", "0.7", "--replicates", "10", "--seed", "1"], "--hr"),
        ([*PW, "--n", "3"], "--n"),
        ([*PW, "--n", "300,2"], "--n"),
        ([*PW, "--n", "abc"], "--n"),
        ([*PW, "--n", "300.5"], "--n"),
        ([*PW, "--hr", "0,0.7"], "--hr"),
        ([*PW, "--hr", "x"], "--hr"),
        (["power", "--replicates", "10", "--seed", "1"], "--n"),  # a grid is required
        (["power", "--n", "300", "--replicates", "0", "--seed", "1"], "--replicates"),
        (["power", "--n", "300", "--replicates", "-1", "--seed", "1"], "--replicates"),
        (["power", "--n", "300", "--replicates", "ten", "--seed", "1"], "--replicates"),
        (["power", "--n", "300", "--replicates", "10", "--seed", "-1"], "--seed"),
        ([*PW, "--n", "300", "--alpha", "1.5"], "--alpha"),
        (["montecarlo", "--replicates", "0", "--seed", "1"], "--replicates"),
        (["montecarlo", "--replicates", "-1", "--seed", "1"], "--replicates"),
        (["montecarlo", "--replicates", "ten", "--seed", "1"], "--replicates"),
        (["montecarlo", "--replicates", "10", "--seed", "-1"], "--seed"),
        (["montecarlo", "--replicates", "10", "--seed", "x"], "--seed"),
        (["montecarlo", "--seed", "1"], "--replicates"),  # required
        ([*MC, "--alpha", "1.5"], "--alpha"),
        ([*MC, "--alpha", "0"], "--alpha"),
        ([*MC, "--n", "abc"], "--n"),
        ([*MC, "--n", "0"], "--n"),
        ([*MC, "--hr", "-0.5"], "--hr"),
        ([*MC, "--block", "0"], "--block"),
        ([*MC, "--workers", "0"], "--workers"),
        ([*MC, "--ties", "exact"], "--ties"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, fragment, capsys):
    code, out, err = run(argv, capsys)
    assert_one_line_error(code, err, fragment)
    assert out == ""


def test_montecarlo_n_below_four_exits_2(capsys):
    code, out, err = run([*MC, "--n", 3], capsys)
    assert_one_line_error(code, err, "4")
    assert out == ""


def test_unreachable_scheduler_fails_cleanly(capsys):
    # the CLI gives a scheduler 10 s (Dask's default is 30 s); shorten it so the test stays
    # bounded. Import distributed first: dask.config.set removes on exit any key that did not
    # exist when it was entered, and distributed registers its defaults on import.
    import dask
    import distributed  # noqa: F401

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code, out, err = run([*MC, "--scheduler", "tcp://127.0.0.1:1"], capsys)
    assert_one_line_error(code, err, "tcp://127.0.0.1:1", codes=(2,))
    assert "internal error" not in err
    assert out == ""


# ---- help ----------------------------------------------------------------------------------------
def help_text(command, capsys) -> str:
    with pytest.raises(SystemExit) as ex:
        main([command, "--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: walkback {command}")
    return " ".join(out.split())


def test_montecarlo_help_documents_keys_and_examples(capsys):
    text = help_text("montecarlo", capsys)
    assert "JSON keys" in text
    for key in sorted(MC_KEYS):
        assert key in text, key
    for frag in ("examples:", "walkback montecarlo --replicates", "--out", "--scheduler", "--n"):
        assert frag in text, frag


def test_power_help_documents_examples(capsys):
    text = help_text("power", capsys)
    for frag in ("examples:", "walkback power --n", "walkback power --hr", "Schoenfeld"):
        assert frag in text, frag


def test_power_help_documents_json_keys(capsys):
    text = help_text("power", capsys)
    assert "JSON keys" in text
    for key in sorted(GRID_KEYS | {"grid"}):
        assert key in text, key


def test_top_level_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as ex:
        main(["--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    assert "montecarlo" in out and "power" in out
