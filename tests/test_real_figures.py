"""The real-trial development set (tests/specs/real/): exported data, derived figures, specs and the
held-out comparison of a twin with the real participants."""

from __future__ import annotations

import importlib
import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkback.estimators import kaplan_meier

REAL = Path(__file__).resolve().parent / "specs" / "real"
sys.path.insert(0, str(REAL))
derive_figures = importlib.import_module("derive_figures")
heldout = importlib.import_module("heldout")

TRIALS = ("veteran", "myeloid", "rhDNase", "bladder")

# Participants and events per arm (control, treatment) as R survival's data give them: veteran
# 137 patients (Kalbfleisch & Prentice), myeloid 646 subjects (?myeloid), rhDNase 647 subjects in
# 767 rows (?rhDNase), bladder the 85 subjects with follow-up (?bladder). Events: deaths; first
# exacerbations after enrollment; first recurrences.
COUNTS = {
    "veteran": {"standard": (69, 64), "test": (68, 64)},
    "myeloid": {"A": (317, 171), "B": (329, 149)},
    "rhDNase": {"placebo": (325, 139), "rhDNase": (322, 104)},
    "bladder": {"placebo": (47, 29), "thiotepa": (38, 18)},
}


def _real(trial: str) -> pd.DataFrame:
    return pd.read_csv(REAL / "data" / f"{trial}.csv")


def _figures(trial: str) -> dict:
    return json.loads((REAL / f"{trial}_figures.json").read_text())


def _labels(fig: dict) -> list[str]:
    return [fig["arms"]["control"], fig["arms"]["treatment"]]


# ---- exported data -------------------------------------------------------------------------------
@pytest.mark.parametrize("trial", TRIALS)
def test_exported_csv_has_documented_counts(trial):
    d = _real(trial)
    assert list(d.columns) == ["arm", "time", "event"]
    assert d["event"].isin([0, 1]).all() and (d["time"] >= 0).all()
    assert d["time"].dtype.kind == "i"  # whole days
    got = {a: (len(g), int(g["event"].sum())) for a, g in d.groupby("arm")}
    assert got == COUNTS[trial]


def test_bladder_times_are_whole_months_in_days():
    months = _real("bladder")["time"] / 30.4375
    assert np.allclose(months, np.round(months), atol=0.5 / 30.4375)
    assert _real("bladder")["time"].max() == round(59 * 30.4375)


# ---- derived figures -----------------------------------------------------------------------------
@pytest.mark.parametrize("trial", TRIALS)
def test_derive_reproduces_committed_json_byte_for_byte(trial):
    fig = derive_figures.derive(trial)
    assert derive_figures.dumps(fig) == (REAL / f"{trial}_figures.json").read_text()
    assert derive_figures.dumps(derive_figures.derive(trial)) == derive_figures.dumps(fig)


@pytest.mark.parametrize("trial", TRIALS)
def test_spec_targets_are_the_derived_ones(trial):
    spec = tomllib.loads((REAL / f"{trial}.toml").read_text())
    fig = _figures(trial)
    assert spec["targets"] == fig["targets"]
    assert {a: spec["arms"][a]["label"] for a in ("control", "treatment")} == fig["arms"]
    assert list(spec["outcomes"]) == [fig["outcome"]]
    used = {t.get("time") for t in fig["targets"]} | {t.get("tau") for t in fig["targets"]}
    assert fig["heldout"]["rmst_tau"] not in used
    assert not any(t["statistic"] == "rmst" for t in fig["targets"])


@pytest.mark.parametrize("trial", TRIALS)
def test_printed_figures_round_the_raw_estimates(trial):
    fig = _figures(trial)
    by_name = {t["name"]: t for t in fig["targets"]}
    for role in ("control", "treatment"):
        med = fig["raw"]["median"][role]
        t = by_name[f"median_{role}"]
        for raw, shown in zip(
            (med["estimate"], med["lower"], med["upper"]), [t["value"], *t["ci"]], strict=True
        ):
            if raw is None:
                assert shown == "NR"
            else:
                assert abs(raw - shown) <= 0.5
        assert by_name[f"n_{role}"]["value"] == fig["raw"]["n"][role]
    hr = by_name["hr"]
    assert abs(hr["value"] - fig["raw"]["cox_hr"]["estimate"]) <= 0.005 + 1e-12
    p = fig["raw"]["logrank_p"]
    assert abs(by_name["logrank_p"]["value"] - p) <= by_name["logrank_p"]["precision"] / 2 + 1e-15
    assert by_name["logrank_p"]["precision"] <= p  # at least one significant figure


def test_printed_rounds_half_away_from_zero_and_marks_not_reached():
    printed = derive_figures.printed
    assert printed(52.5, 1) == 53 and isinstance(printed(52.5, 1), int)
    assert printed(0.125, 0.01) == 0.13
    assert printed(float("nan"), 1) == "NR"
    assert derive_figures.p_precision(0.0047287) == 0.001  # journals' style: p = 0.005
    assert derive_figures.p_precision(0.00047) == 0.0001
    assert derive_figures.p_precision(0.93) == 0.01


def test_veteran_figures_match_r_survival():
    """R 4.x survival: survfit / coxph / survdiff on data/veteran.csv (printed by R)."""
    raw = _figures("veteran")["raw"]
    assert raw["median"]["control"] == {"estimate": 103.0, "lower": 59.0, "upper": 132.0}
    assert raw["median"]["treatment"] == {"estimate": 52.5, "lower": 44.0, "upper": 95.0}
    assert raw["cox_hr"]["estimate"] == pytest.approx(1.0179009, rel=1e-6)
    assert raw["logrank_p"] == pytest.approx(0.9277272, rel=1e-6)
    assert raw["median_followup"]["estimate"] is None  # reverse KM never reaches 0.5


def test_derive_main_rejects_unknown_trial(capsys):
    assert derive_figures.main(["colon"]) == 2
    assert "unknown trial 'colon'" in capsys.readouterr().err


# ---- held-out comparison -------------------------------------------------------------------------
@pytest.mark.parametrize("trial", TRIALS)
def test_compare_real_with_itself_is_exact(trial):
    fig = _figures(trial)
    res = heldout.compare(
        _real(trial), REAL / "data" / f"{trial}.csv", "time", "event", "arm", _labels(fig),
        fig["heldout"]["rmst_tau"],
    )  # fmt: skip
    assert res["horizon"] == fig["heldout"]["followup_p90"]
    for role, label in fig["arms"].items():
        r = res["arms"][label]
        assert r["km_gap"] == 0.0
        assert r["rmst_rel_error"] == 0.0
        assert r["rmst_real"] == fig["heldout"]["rmst_real"][role]


def _brute_gap(a: pd.DataFrame, b: pd.DataFrame, horizon: float) -> float:
    """sup |S_a - S_b| on [0, horizon] for whole-day data: the curves are constant between days."""
    grid = np.arange(0, int(np.floor(horizon)) + 1)
    sa = kaplan_meier(a["time"], a["event"]).survival_at(grid)["survival"].to_numpy()
    sb = kaplan_meier(b["time"], b["event"]).survival_at(grid)["survival"].to_numpy()
    return float(np.abs(sa - sb).max())


@pytest.mark.parametrize("trial", TRIALS)
def test_compare_sees_a_perturbed_arm(trial):
    fig = _figures(trial)
    real = _real(trial)
    control, treatment = _labels(fig)
    twin = real.rename(columns={"time": "x_days", "event": "x_event", "arm": "group"})
    hit = twin["group"] == control
    ev = hit & (twin["x_event"] == 1)
    twin.loc[ev, "x_days"] = np.ceil(twin.loc[ev, "x_days"] * 0.8).astype(int)  # earlier events
    res = heldout.compare(
        twin, _real(trial), "x_days", "x_event", "group", [control, treatment],
        fig["heldout"]["rmst_tau"],
    )  # fmt: skip
    ctl = res["arms"][control]
    assert ctl["km_gap"] > 0.01
    assert ctl["rmst_rel_error"] < 0
    perturbed = twin[hit].rename(columns={"x_days": "time", "x_event": "event"})
    assert ctl["km_gap"] == pytest.approx(
        _brute_gap(perturbed, real[real["arm"] == control], res["horizon"]), abs=1e-15
    )
    assert res["arms"][treatment]["km_gap"] == 0.0
    assert res["arms"][treatment]["rmst_rel_error"] == 0.0


def test_gap_uses_right_continuous_curves_and_the_horizon():
    # real: events on days 10 and 40 (n = 2); twin: events on days 20 and 40. S_real = 0.5 on
    # [10, 40), S_twin = 1 on [0, 20) and 0.5 on [20, 40): the gap is 0.5, first at day 10.
    real = pd.DataFrame({"arm": ["a", "a"], "time": [10, 40], "event": [1, 1]})
    twin = pd.DataFrame({"arm": ["a", "a"], "time": [20, 40], "event": [1, 1]})
    res = heldout.compare(twin, real, "time", "event", "arm", ["a"], 30)
    assert res["horizon"] == pytest.approx(37.0)  # 90th percentile of (10, 40)
    assert res["arms"]["a"]["km_gap"] == 0.5 and res["arms"]["a"]["gap_at"] == 10.0
    # RMST to 30: real 10 + 0.5 x 20 = 20, twin 20 + 0.5 x 10 = 25
    assert res["arms"]["a"]["rmst_real"] == 20.0 and res["arms"]["a"]["rmst_twin"] == 25.0
    assert res["arms"]["a"]["rmst_rel_error"] == 0.25
    # a mapping twin label -> real label
    twin["arm"] = "b"
    assert (
        heldout.compare(twin, real, "time", "event", "arm", {"b": "a"}, 30)["arms"]["a"]["km_gap"]
        == 0.5
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_col": "days"}, "twin: no column 'days'"),
        ({"labels": ["standard", "nobody"]}, "no participant in arm 'nobody'"),
        ({"tau": 5000}, "tau 5000 is beyond"),
        ({"tau": 0}, "tau must be a positive number"),
    ],
)
def test_compare_rejects_bad_input(kwargs, message):
    args = {
        "twin_csv_or_frame": _real("veteran"),
        "real_csv": REAL / "data" / "veteran.csv",
        "time_col": "time",
        "event_col": "event",
        "arm_col": "arm",
        "labels": ["standard", "test"],
        "tau": 140,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        heldout.compare(**args)


def test_heldout_cli_prints_a_table_and_fails_cleanly(tmp_path, capsys):
    twin = _real("rhDNase").rename(
        columns={"time": "exacerbation_days", "event": "exacerbation_event"}
    )
    path = tmp_path / "twin.csv"
    twin.to_csv(path, index=False)
    assert heldout.main(["rhDNase", str(path)]) == 0
    out = capsys.readouterr().out
    assert "RMST to tau = 160 days" in out and "placebo" in out and "0.000" in out
    assert heldout.main(["rhDNase", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("heldout: twin: no such file") and err.count("\n") == 1
    assert heldout.main(["colon", str(path)]) == 2
    assert "no figures for trial 'colon'" in capsys.readouterr().err
