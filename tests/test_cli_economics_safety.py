"""`walkback safety` and `walkback economics`: output contract, agreement with the library, and
one-line errors with exit code 2.

Each command is run in-process through walkback.cli.main on the committed WalkBack twin or on
small hand-made CSV files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_run import run
from walkback import economics
from walkback.safety import compare_proportions, rate_ratio

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "data" / "synthetic" / "walkback_twin.csv"
FAST = ["--bootstrap", "400"]  # fewer resamples where the number does not matter
HEADER = "arm,cost_total_aud,qaly_12m,adverse_event_12m,lower_limb_ae_count"
GOOD_ROWS = [
    "intervention,120.50,0.71,1,2",
    "control,80.00,0.64,0,0",
    "intervention,95.25,0.80,0,0",
    "control,60.10,0.70,1,1",
    "intervention,130.00,0.75,1,1",
    "control,75.40,0.69,0,0",
]


def write(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def replace(row: int, field: str, value: str, rows: list[str] = GOOD_ROWS) -> list[str]:
    """GOOD_ROWS with one cell changed; row 0 is on line 2 of the file."""
    names = HEADER.split(",")
    out = [r.split(",") for r in rows]
    out[row][names.index(field)] = value
    return [",".join(r) for r in out]


@pytest.fixture(scope="module")
def twin():
    frame = pd.read_csv(TWIN)
    return frame, (frame["arm"] == "intervention").to_numpy()


# ---- safety ----
def test_safety_json_matches_the_library(twin, capsys):
    code, out, err = run(["safety", TWIN, "--json"], capsys)
    assert code == 0, err
    assert err == ""
    d = json.loads(out)
    assert set(d) == {"adverse_events", "event_rate", "labels"}
    assert d["labels"] == {"treatment": "intervention", "control": "control"}
    frame, t = twin
    prop = compare_proportions(frame["adverse_event_12m"], t).to_dict()
    assert set(d["adverse_events"]) == set(prop)
    for k, v in prop.items():
        if isinstance(v, float):
            assert d["adverse_events"][k] == pytest.approx(v, rel=1e-12), k
        else:
            assert d["adverse_events"][k] == v, k
    rr = rate_ratio(frame["lower_limb_ae_count"], t).to_dict()
    assert set(d["event_rate"]) == set(rr)
    assert d["event_rate"]["model"] == "negative_binomial"
    for k in ("ratio", "lower", "upper", "p", "dispersion", "total_treatment", "total_control"):
        assert d["event_rate"][k] == pytest.approx(rr[k], rel=1e-9)
    # the published figures
    assert (d["event_rate"]["total_treatment"], d["event_rate"]["total_control"]) == (100, 54)
    assert round(d["adverse_events"]["fisher_p"], 2) == 0.60


def test_safety_text_poisson_and_alpha(twin, capsys):
    code, out, err = run(["safety", TWIN, "--model", "poisson", "--alpha", "0.1"], capsys)
    assert code == 0, err
    assert "Fisher" in out and "0.60" in out and "Newcombe" in out
    assert "rate ratio" in out and "[poisson]" in out and "90% CI" in out
    assert "100" in out and "54" in out
    code, out, _ = run(["safety", TWIN, "--model", "poisson", "--alpha", "0.1", "--json"], capsys)
    d = json.loads(out)
    frame, t = twin
    rr = rate_ratio(frame["lower_limb_ae_count"], t, "poisson", 0.9)
    assert d["event_rate"]["model"] == "poisson" and d["event_rate"]["dispersion"] is None
    assert d["event_rate"]["lower"] == pytest.approx(rr.lower, rel=1e-12)
    assert d["adverse_events"]["conf_level"] == pytest.approx(0.9)
    prop = compare_proportions(frame["adverse_event_12m"], t, 0.9)
    assert d["adverse_events"]["upper"] == pytest.approx(prop.upper, rel=1e-12)


def test_safety_custom_columns_and_labels(tmp_path, capsys):
    rows = [r.replace("intervention", "A").replace("control", "B") for r in GOOD_ROWS]
    header = "group,cost,qaly,ae,n_events"
    path = write(tmp_path, rows, header)
    code, out, err = run(
        [
            "safety",
            path,
            "--arm-col",
            "group",
            "--treatment",
            "A",
            "--control",
            "B",
            "--ae-col",
            "ae",
            "--count-col",
            "n_events",
            "--model",
            "poisson",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["labels"] == {"treatment": "A", "control": "B"}
    assert (d["adverse_events"]["events_treatment"], d["adverse_events"]["events_control"]) == (
        2,
        1,
    )
    assert (d["event_rate"]["total_treatment"], d["event_rate"]["total_control"]) == (3, 1)
    assert d["event_rate"]["ratio"] == pytest.approx(3.0, rel=1e-10)


# ---- economics ----
def test_economics_json_matches_the_library(twin, capsys):
    code, out, err = run(["economics", TWIN, "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert set(d) == {
        "mean_cost",
        "mean_qaly",
        "incremental_cost",
        "incremental_qaly",
        "incremental_cost_ci",
        "incremental_qaly_ci",
        "icer",
        "quadrant",
        "wtp",
        "net_monetary_benefit",
        "prob_cost_effective",
        "bootstrap",
        "ceac",
        "baseline_adjusted",
        "resource_use_rate_ratios",
        "labels",
    }
    frame, t = twin
    boot = economics.bootstrap(frame["cost_total_aud"], frame["qaly_12m"], t, 5000, 2024)
    pt = boot.point
    assert d["mean_cost"] == pytest.approx(
        {"treatment": pt.cost_treatment, "control": pt.cost_control}, rel=1e-12
    )
    assert d["mean_qaly"] == pytest.approx(
        {"treatment": pt.qaly_treatment, "control": pt.qaly_control}, rel=1e-12
    )
    assert d["incremental_cost"] == pytest.approx(pt.d_cost, rel=1e-12)
    assert d["incremental_qaly"] == pytest.approx(pt.d_qaly, rel=1e-12)
    assert d["icer"] == pytest.approx(pt.icer, rel=1e-12)
    assert round(d["icer"]) == 7802
    assert d["quadrant"] == "more effective, more costly"
    assert d["wtp"] == 28000
    assert d["net_monetary_benefit"] == pytest.approx(28000 * pt.d_qaly - pt.d_cost, rel=1e-12)
    assert d["prob_cost_effective"] == boot.prob_cost_effective(28000)
    assert round(d["prob_cost_effective"], 2) == 0.94
    assert d["incremental_cost_ci"] == pytest.approx(
        list(np.quantile(boot.d_cost, [0.025, 0.975])), rel=1e-12
    )
    assert d["incremental_qaly_ci"] == pytest.approx(
        list(np.quantile(boot.d_qaly, [0.025, 0.975])), rel=1e-12
    )
    assert d["bootstrap"]["resamples"] == 5000 and d["bootstrap"]["seed"] == 2024
    assert "within arm" in d["bootstrap"]["method"]
    assert d["bootstrap"]["quadrants"] == pytest.approx(boot.quadrant_shares(), abs=1e-15)
    curve = boot.ceac()
    assert d["ceac"]["wtp"] == list(curve["wtp"])
    assert d["ceac"]["prob_cost_effective"] == list(curve["prob_cost_effective"])
    assert d["baseline_adjusted"] is False
    assert d["labels"] == {"treatment": "intervention", "control": "control"}
    use = d["resource_use_rate_ratios"]
    assert set(use) == {"healthcare_visits_12m", "work_days_lost_12m"}
    for col, r in use.items():
        lib = rate_ratio(frame[col], t, "negative_binomial", 0.95)
        assert r["ratio"] == pytest.approx(lib.ratio, rel=1e-9)
        assert r["lower"] < r["ratio"] < r["upper"]


def test_economics_text_mentions_icer_and_probability(capsys):
    code, out, err = run(["economics", TWIN, *FAST], capsys)
    assert code == 0, err
    assert "ICER: 7,802 per QALY gained" in out
    assert "Probability cost-effective at 28,000" in out
    assert "400 bootstrap resamples, seed 2024" in out
    assert "Acceptability" in out
    assert "healthcare_visits_12m: rate ratio" in out and "work_days_lost_12m" in out
    assert "adjusted for baseline" not in out


def test_adjust_baseline_changes_incremental_qaly(twin, capsys):
    _, plain, _ = run(["economics", TWIN, *FAST, "--json"], capsys)
    code, out, err = run(["economics", TWIN, *FAST, "--adjust-baseline", "--json"], capsys)
    assert code == 0, err
    plain, adj = json.loads(plain), json.loads(out)
    assert plain["baseline_adjusted"] is False and adj["baseline_adjusted"] is True
    assert adj["incremental_qaly"] != pytest.approx(plain["incremental_qaly"], rel=1e-3)
    frame, t = twin
    lib = economics.incremental(
        frame["cost_total_aud"], frame["qaly_12m"], t, frame["eq5d_baseline"]
    )
    assert adj["incremental_qaly"] == pytest.approx(lib.d_qaly, rel=1e-10)
    assert adj["icer"] == pytest.approx(lib.icer, rel=1e-10)
    assert adj["incremental_cost"] == pytest.approx(plain["incremental_cost"], rel=1e-12)
    assert adj["mean_qaly"] == pytest.approx(plain["mean_qaly"], rel=1e-12)  # raw means kept
    # an explicit column name works too, and the text says the QALYs were adjusted
    _, named, _ = run(
        ["economics", TWIN, *FAST, "--adjust-baseline", "eq5d_baseline", "--json"], capsys
    )
    assert json.loads(named)["incremental_qaly"] == adj["incremental_qaly"]
    _, text, _ = run(["economics", TWIN, *FAST, "--adjust-baseline"], capsys)
    assert "adjusted for baseline utility" in text


def test_wtp_bootstrap_and_seed_are_respected(twin, capsys):
    args = ["economics", TWIN, "--wtp", "50000", "--bootstrap", "300", "--seed", "7", "--json"]
    code, out, err = run(args, capsys)
    assert code == 0, err
    d = json.loads(out)
    frame, t = twin
    boot = economics.bootstrap(frame["cost_total_aud"], frame["qaly_12m"], t, 300, 7)
    assert d["wtp"] == 50000
    assert d["bootstrap"]["resamples"] == 300 and d["bootstrap"]["seed"] == 7
    assert d["prob_cost_effective"] == boot.prob_cost_effective(50000)
    assert d["net_monetary_benefit"] == pytest.approx(boot.point.nmb(50000), rel=1e-12)
    assert d["incremental_cost_ci"] == pytest.approx(
        list(np.quantile(boot.d_cost, [0.025, 0.975])), rel=1e-12
    )
    _, again, _ = run(args, capsys)
    assert json.loads(again) == d  # same seed, same output
    _, other, _ = run([*args[:-2], "8", "--json"], capsys)
    assert json.loads(other)["incremental_cost_ci"] != d["incremental_cost_ci"]


def test_economics_alpha_sets_interval_level(twin, capsys):
    _, out, _ = run(["economics", TWIN, *FAST, "--alpha", "0.2", "--json"], capsys)
    d = json.loads(out)
    frame, t = twin
    boot = economics.bootstrap(frame["cost_total_aud"], frame["qaly_12m"], t, 400, 2024)
    assert d["incremental_qaly_ci"] == pytest.approx(
        list(np.quantile(boot.d_qaly, [0.1, 0.9])), rel=1e-12
    )
    assert d["resource_use_rate_ratios"]["healthcare_visits_12m"]["conf_level"] == pytest.approx(
        0.8
    )


def test_economics_on_a_file_without_resource_use_columns(tmp_path, capsys):
    path = write(tmp_path, GOOD_ROWS)
    code, out, err = run(["economics", path, "--bootstrap", "50", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["resource_use_rate_ratios"] == {}
    # costs: treatment 120.50, 95.25, 130.00 (sum 345.75), control 80.00, 60.10, 75.40 (215.50)
    # QALYs: treatment 0.71, 0.80, 0.75 (sum 2.26), control 0.64, 0.70, 0.69 (sum 2.03)
    assert d["incremental_cost"] == pytest.approx((345.75 - 215.5) / 3, abs=1e-9)
    assert d["incremental_qaly"] == pytest.approx(0.23 / 3, abs=1e-12)
    assert d["icer"] == pytest.approx(130.25 / 0.23, rel=1e-9)


# ---- bad input: exit 2, one line on stderr naming what is wrong ----
def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2, (out, err)
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("command", "rows", "header", "fragments"),
    [
        (
            "economics",
            GOOD_ROWS,
            "arm,cost,qaly_12m,adverse_event_12m,lower_limb_ae_count",
            ["missing column", "'cost_total_aud'"],
        ),
        (
            "economics",
            replace(2, "cost_total_aud", "about 90"),
            HEADER,
            ["'cost_total_aud'", "line 4", "'about 90'", "finite number"],
        ),
        (
            "economics",
            replace(1, "cost_total_aud", "-5.00"),
            HEADER,
            ["'cost_total_aud'", "line 3", "'-5.00'", ">= 0"],
        ),
        (
            "economics",
            replace(3, "qaly_12m", ""),
            HEADER,
            ["'qaly_12m'", "line 5", "finite number"],
        ),
        (
            "economics",
            replace(4, "arm", "placebo"),
            HEADER,
            ["'arm'", "line 6", "'placebo'", "neither"],
        ),
        (
            "economics",
            [r for r in GOOD_ROWS if r.startswith("intervention")],
            HEADER,
            ["'arm'", "no rows", "'control'"],
        ),
        (
            "safety",
            [r for r in GOOD_ROWS if r.startswith("control")],
            HEADER,
            ["'arm'", "no rows", "'intervention'"],
        ),
        (
            "safety",
            replace(5, "arm", "Intervention arm"),
            HEADER,
            ["'arm'", "line 7", "'Intervention arm'"],
        ),
        (
            "safety",
            replace(1, "adverse_event_12m", "yes"),
            HEADER,
            ["'adverse_event_12m'", "line 3", "'yes'"],
        ),
        (
            "safety",
            replace(0, "adverse_event_12m", "-1"),
            HEADER,
            ["'adverse_event_12m'", "line 2", "'-1'"],
        ),
        (
            "safety",
            replace(2, "adverse_event_12m", "0.5"),
            HEADER,
            ["'adverse_event_12m'", "line 4", "'0.5'"],
        ),
        (
            "safety",
            replace(3, "lower_limb_ae_count", "-2"),
            HEADER,
            ["'lower_limb_ae_count'", "line 5", "'-2'", ">= 0"],
        ),
        (
            "safety",
            replace(4, "lower_limb_ae_count", "1.5"),
            HEADER,
            ["'lower_limb_ae_count'", "line 6", "'1.5'", "whole number"],
        ),
        (
            "safety",
            GOOD_ROWS,
            "arm,cost_total_aud,qaly_12m,ae,lower_limb_ae_count",
            ["missing column", "'adverse_event_12m'"],
        ),
    ],
)
def test_bad_data_one_line_exit_2(command, rows, header, fragments, tmp_path, capsys):
    path = write(tmp_path, rows, header)
    err = _one_line_error(*run([command, path], capsys))
    assert "d.csv" in err
    for f in fragments:
        assert f in err, (f, err)


def test_bad_resource_use_count_in_economics(tmp_path, capsys):
    header = HEADER + ",healthcare_visits_12m"
    rows = [r + ",1" for r in GOOD_ROWS]
    rows[2] = rows[2][:-1] + "2.5"
    err = _one_line_error(
        *run(["economics", write(tmp_path, rows, header), "--bootstrap", "20"], capsys)
    )
    assert "'healthcare_visits_12m'" in err and "line 4" in err and "'2.5'" in err


def test_missing_baseline_column(tmp_path, capsys):
    err = _one_line_error(
        *run(["economics", write(tmp_path, GOOD_ROWS), "--adjust-baseline"], capsys)
    )
    assert "'eq5d_baseline'" in err


def test_adverse_event_above_one_names_line_and_value(tmp_path, capsys):
    path = write(tmp_path, replace(2, "adverse_event_12m", "2"))
    err = _one_line_error(*run(["safety", path], capsys))
    assert "adverse_event_12m" in err
    assert "line 4" in err and "'2'" in err


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--bootstrap", "0"], "--bootstrap"),
        (["--bootstrap", "1.5"], "--bootstrap"),
        (["--wtp", "-1"], "--wtp"),
        (["--wtp", "0"], "--wtp"),
        (["--wtp", "lots"], "--wtp"),
        (["--seed", "-3"], "--seed"),
        (["--alpha", "1.5"], "--alpha"),
    ],
)
def test_bad_economics_options_exit_2(extra, fragment, capsys):
    err = _one_line_error(*run(["economics", TWIN, *extra], capsys))
    assert fragment in err and "walkback economics" in err


def test_bad_safety_model_exit_2(capsys):
    err = _one_line_error(*run(["safety", TWIN, "--model", "binomial"], capsys))
    assert "--model" in err


@pytest.mark.parametrize("command", ["safety", "economics"])
def test_missing_file_exit_2(command, tmp_path, capsys):
    err = _one_line_error(*run([command, tmp_path / "nope.csv"], capsys))
    assert "nope.csv" in err and "file not found" in err


def test_economics_json_with_zero_qaly_difference(tmp_path, capsys):
    rows = GOOD_ROWS
    for i, q in enumerate(["0.5", "0.5", "0.75", "0.75", "0.25", "0.25"]):
        rows = replace(i, "qaly_12m", q, rows)  # both arms 0.5, 0.75, 0.25: dQALY exactly 0
    code, out, err = run(
        ["economics", write(tmp_path, rows), "--bootstrap", "50", "--json"], capsys
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["incremental_qaly"] == pytest.approx(0.0, abs=1e-12)
    assert d["icer"] is None


@pytest.mark.parametrize("model", ["poisson", "negative_binomial"])
def test_safety_json_with_no_events_in_one_arm(model, tmp_path, capsys):
    rows = GOOD_ROWS
    for i, c in enumerate(["0", "1", "0", "2", "0", "1"]):  # treatment arm: no events
        rows = replace(i, "lower_limb_ae_count", c, rows)
    code, out, err = run(["safety", write(tmp_path, rows), "--model", model, "--json"], capsys)
    assert code in (0, 2), err
    assert "JSON compliant" not in err
    if code == 2:
        assert "lower_limb_ae_count" in err


def _parquet(tmp_path: Path, arm) -> Path:
    frame = pd.DataFrame(
        {
            "arm": arm,
            "cost_total_aud": [120.5, 80.0, 95.25, 60.1, 130.0, 75.4],
            "qaly_12m": [0.71, 0.64, 0.80, 0.70, 0.75, 0.69],
            "adverse_event_12m": [1, 0, 0, 1, 1, 0],
            "lower_limb_ae_count": [2, 0, 0, 1, 1, 0],
        }
    )
    path = tmp_path / "d.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_parquet_with_integer_arm_codes(tmp_path, capsys):
    path = _parquet(tmp_path, [1, 0, 1, 0, 1, 0])
    code, out, err = run(
        ["safety", path, "--treatment", "1", "--control", "0", "--model", "poisson", "--json"],
        capsys,
    )
    assert code == 0, err
    d = json.loads(out)
    assert (d["event_rate"]["total_treatment"], d["event_rate"]["total_control"]) == (3, 1)
    assert d["labels"] == {"treatment": "1", "control": "0"}
    bad = _parquet(tmp_path, [1, 0, 1, 0, 7, 0])
    err = _one_line_error(*run(["safety", bad, "--treatment", "1", "--control", "0"], capsys))
    assert "row 5" in err and "'7'" in err


def test_parquet_with_float_arm_codes(tmp_path, capsys):
    path = _parquet(tmp_path, [1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    code, _, err = run(["safety", path, "--treatment", "1", "--control", "0"], capsys)
    assert code == 0, err
