"""Reconstruction of participant data from a digitised Kaplan-Meier figure (Guyot et al. 2012).

Validation: real trials shipped with R survival (committed copies in tests/reference/inputs) and
seeded WalkBack-like simulations are turned into a Kaplan-Meier figure, digitised the way a person
would (both corners of every step, noise of 0.2% of the time range and 0.002 in survival, 10% of
corners missed, an exact at-risk table at regular times), reconstructed, and re-analysed. The
errors against the original data are bounded here on the three large real trials (colon, gbsg,
myeloid) and on simulations; benchmarks/bench_reconstruct.py reports their distribution over many
round trips, including the smaller trials (pbc, lung, veteran), whose worst cases reach about 0.035
in log HR and 0.03 in survival.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_run import run
from walkback.cli.reconstruct import add_reconstruct_parser
from walkback.estimators import cox, kaplan_meier
from walkback.exceptions import DataError
from walkback.io import read_trial
from walkback.reconstruct import (
    clean_curve,
    mock_digitise,
    read_at_risk,
    read_curve,
    reconstruct,
    reconstruction_summary,
    write_report,
)

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference"
EXAMPLE = ROOT / "data" / "synthetic" / "km_example"
CASES = {c["id"]: c for c in json.loads((REF / "cases.json").read_text())}

HR_TOL = 0.03  # |log HR error|
SURV_TOL = 0.02  # survival at landmarks
# |median error| / original median. Medians are heavy-tailed where a curve is nearly flat around
# 0.5 (the benchmark's worst is 13%, on veteran); the typical error is about 1%.
MEDIAN_TOL = 0.10


# -- helpers -------------------------------------------------------------------------------------
def real_trial(name: str) -> tuple[pd.DataFrame, str]:
    """A real trial as (arm, time, event) and its treatment label."""
    c = CASES[name]
    trial = read_trial(
        REF / c["file"],
        time_col=c["time_col"],
        event_col=c["event_col"],
        arm_col=c["arm_col"],
        treatment=c["treatment"],
        control=c["control"],
    )
    arm = np.where(trial.treated, trial.treatment, trial.control)
    return pd.DataFrame({"arm": arm, "time": trial.time, "event": trial.event}), trial.treatment


_MODEL = {}


def walkback_trial(seed: int) -> pd.DataFrame:
    from walkback.calibrate import calibrate
    from walkback.simulate import simulate
    from walkback.spec import load_spec

    if not _MODEL:
        spec = load_spec("walkback")
        _MODEL["spec"], _MODEL["model"] = spec, calibrate(spec).model
    f = simulate(_MODEL["spec"], seed, _MODEL["model"])
    return pd.DataFrame(
        {
            "arm": f["arm"].astype(str),
            "time": f["activity_limiting_days"].astype(float),
            "event": f["activity_limiting_event"].astype(int),
        }
    )


def log_hr(ipd: pd.DataFrame, treatment: str) -> float:
    x = (ipd["arm"] == treatment).to_numpy(dtype=float)
    return float(cox(ipd["time"].to_numpy(), ipd["event"].to_numpy(), x).coef[0])


def km(ipd: pd.DataFrame, arm: str):
    m = (ipd["arm"] == arm).to_numpy()
    return kaplan_meier(ipd["time"].to_numpy()[m], ipd["event"].to_numpy()[m])


def round_trip_errors(ipd: pd.DataFrame, treatment: str, landmarks, seed: int) -> dict:
    curve, at_risk = mock_digitise(ipd, rng=np.random.default_rng(seed))
    res = reconstruct(curve, at_risk)
    rec = res.ipd
    surv, med, rows = [], [], []
    for arm in ipd["arm"].unique():
        a, b = km(ipd, arm), km(rec, arm)
        surv.append(np.abs(a.survival_at(landmarks).survival - b.survival_at(landmarks).survival))
        m, mb = a.median.estimate, b.median.estimate
        if np.isfinite(m):
            med.append(abs(mb - m) / m)  # NaN (not reached) fails the test
        rows.append((a.n, b.n))
    iv = res.intervals
    return {
        "log_hr": abs(log_hr(rec, treatment) - log_hr(ipd, treatment)),
        "surv": float(np.max(np.concatenate(surv))),
        "median": max(med) if med else 0.0,
        "rows": rows,
        "at_risk_exact": bool((iv.n_at_risk_published == iv.n_at_risk_reconstructed).all()),
    }


def frames(curve_rows, risk_rows):
    curve = pd.DataFrame(curve_rows, columns=["arm", "time", "survival"])
    risk = pd.DataFrame(risk_rows, columns=["arm", "time", "n_at_risk"])
    return curve, risk


# A small two-arm figure: 10 vs 8 participants, no censoring before the end.
SMALL_CURVE = [
    ("A", 0, 1.0),
    ("A", 1, 1.0),
    ("A", 1, 0.9),
    ("A", 3, 0.9),
    ("A", 3, 0.7),
    ("A", 6, 0.7),
    ("A", 6, 0.6),
    ("A", 9, 0.6),
    ("B", 0, 1.0),
    ("B", 2, 1.0),
    ("B", 2, 0.75),
    ("B", 4, 0.75),
    ("B", 4, 0.5),
    ("B", 8, 0.5),
]
SMALL_RISK = [("A", 0, 10), ("A", 5, 7), ("B", 0, 8), ("B", 5, 4)]


# -- validation: round trips on real trials and simulations --------------------------------------
YEARS = [365.0, 730.0, 1095.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ["colon", "gbsg", "myeloid"])
def test_round_trip_on_real_trials_keeps_errors_bounded(name, seed):
    ipd, treatment = real_trial(name)
    err = round_trip_errors(ipd, treatment, YEARS, seed)
    assert all(a == b for a, b in err["rows"]), err["rows"]
    assert err["at_risk_exact"]
    assert err["log_hr"] <= HR_TOL, err
    assert err["surv"] <= SURV_TOL, err
    assert err["median"] <= MEDIAN_TOL, err


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_round_trip_on_simulated_walkback_trials_keeps_errors_bounded(seed):
    ipd = walkback_trial(seed)
    err = round_trip_errors(ipd, "intervention", [180.0, 365.0, 730.0], 100 + seed)
    assert all(a == b for a, b in err["rows"])
    assert err["at_risk_exact"]
    assert err["log_hr"] <= HR_TOL, err
    assert err["surv"] <= SURV_TOL, err
    assert err["median"] <= MEDIAN_TOL, err


def test_perfect_digitising_without_censoring_recovers_the_data_exactly():
    rng = np.random.default_rng(5)
    t = np.concatenate([rng.integers(1, 60, 40), rng.integers(1, 90, 30)]).astype(float)
    ipd = pd.DataFrame({"arm": ["x"] * 40 + ["y"] * 30, "time": t, "event": 1})
    curve, at_risk = mock_digitise(
        ipd, rng=rng, time_sd=0.0, survival_sd=0.0, drop=0.0, at_risk_times=[0, 20, 40]
    )
    res = reconstruct(curve, at_risk)
    for arm in ("x", "y"):
        want = np.sort(ipd.loc[ipd.arm == arm, "time"].to_numpy())
        got = res.ipd[res.ipd.arm == arm]
        np.testing.assert_array_equal(got["time"].to_numpy(), want)
        assert got["event"].eq(1).all()


# -- properties of the reconstruction ------------------------------------------------------------
def test_small_figure_rows_and_numbers_at_risk():
    res = reconstruct(*frames(SMALL_CURVE, SMALL_RISK))
    assert res.arms == ("A", "B")
    assert res.n == {"A": 10, "B": 8}
    assert list(res.ipd.columns) == ["arm", "time", "event"]
    iv = res.intervals
    assert (iv.n_at_risk_reconstructed == iv.n_at_risk_published).all()
    # drops of 10% and 20% of 10 at times 1 and 3: 1 and 2 events; then 1 more of 7 at 6
    a = res.ipd[res.ipd.arm == "A"]
    assert a.loc[a.event == 1, "time"].tolist()[:3] == [1.0, 3.0, 3.0]
    b = res.ipd[res.ipd.arm == "B"]
    assert b.loc[b.event == 1, "time"].tolist() == [2.0, 2.0, 4.0, 4.0]


def test_reconstructed_curve_follows_the_digitised_points():
    ipd, _ = real_trial("colon")
    curve, at_risk = mock_digitise(ipd, rng=np.random.default_rng(3))
    res = reconstruct(curve, at_risk)
    fit = res.curve_fit()
    assert (fit.max_abs_diff < 0.02).all(), fit
    assert (fit.mean_abs_diff < 0.005).all(), fit


def test_arm_and_row_order_do_not_matter():
    ipd, _ = real_trial("gbsg")
    curve, at_risk = mock_digitise(ipd, rng=np.random.default_rng(1))
    a = reconstruct(curve, at_risk)
    rng = np.random.default_rng(2)
    b = reconstruct(
        curve.iloc[rng.permutation(len(curve))].reset_index(drop=True),
        at_risk.iloc[::-1].reset_index(drop=True),
    )
    assert b.arms == tuple(reversed(a.arms))  # the at-risk table's order of first appearance
    for arm in a.arms:
        pd.testing.assert_frame_equal(
            a.ipd[a.ipd.arm == arm].reset_index(drop=True),
            b.ipd[b.ipd.arm == arm].reset_index(drop=True),
        )


def test_percent_survival_is_divided_by_100_and_said():
    curve, risk = frames(SMALL_CURVE, SMALL_RISK)
    pct = curve.assign(survival=curve.survival * 100)
    a, b = reconstruct(curve, risk), reconstruct(pct, risk)
    pd.testing.assert_frame_equal(a.ipd, b.ipd)
    assert any("percent" in n and "'A'" in n for n in b.notes)
    assert not any("percent" in n for n in a.notes)


def test_total_events_settle_the_last_interval():
    # the at-risk table stops at 1000 days, the curves run to 2400: the total events decide how
    # many of the last interval's participants are censored
    ipd, _ = real_trial("myeloid")
    curve, at_risk = mock_digitise(
        ipd, rng=np.random.default_rng(4), at_risk_times=[0, 250, 500, 750, 1000]
    )
    truth = ipd.groupby("arm")["event"].sum().to_dict()
    res = reconstruct(curve, at_risk, events=truth)
    assert res.events == {a: int(truth[a]) for a in res.arms}
    assert not any("short of" in n for n in res.notes)
    assert res.settings["last_interval"] == {a: "total events given" for a in res.arms}


def test_total_events_out_of_reach_are_reported():
    curve, risk = frames(SMALL_CURVE, SMALL_RISK)
    res = reconstruct(curve, risk, events={"A": 7})  # the curve shows 4 events only
    assert res.events["A"] == 4 and res.n["A"] == 10
    assert any("short of" in n for n in res.notes)


def test_at_risk_times_beyond_the_last_curve_point():
    curve, _ = frames(SMALL_CURVE, SMALL_RISK)
    risk = pd.DataFrame(
        [("A", 0, 10), ("A", 5, 7), ("A", 12, 5), ("B", 0, 8), ("B", 5, 4), ("B", 10, 2)],
        columns=["arm", "time", "n_at_risk"],
    )
    res = reconstruct(curve, risk)
    assert res.n == {"A": 10, "B": 8}
    iv = res.intervals
    assert (iv.n_at_risk_reconstructed == iv.n_at_risk_published).all()
    assert any("after the curve's last point" in n and "'A'" in n for n in res.notes)
    assert res.ipd.loc[res.ipd.arm == "A", "time"].max() == 12.0  # flat to the last at-risk time


def test_events_never_exceed_what_the_at_risk_table_allows():
    # the curve drops by half by time 5, but only 2 of 10 leave the risk set before time 5
    curve = pd.DataFrame(
        [("A", 0, 1.0), ("A", 2, 1.0), ("A", 2, 0.5), ("A", 8, 0.5), ("A", 8, 0.4)],
        columns=["arm", "time", "survival"],
    )
    risk = pd.DataFrame([("A", 0, 10), ("A", 5, 8)], columns=["arm", "time", "n_at_risk"])
    res = reconstruct(curve, risk)
    assert res.n == {"A": 10}
    assert res.intervals.loc[0, "events"] == 2
    assert any("capped" in n for n in res.notes)


def test_one_at_risk_time_censors_the_rest_at_the_end_and_says_so():
    curve = pd.DataFrame(
        [("A", 0, 1.0), ("A", 2, 0.8), ("A", 5, 0.5), ("A", 9, 0.5)],
        columns=["arm", "time", "survival"],
    )
    risk = pd.DataFrame([("A", 0, 10)], columns=["arm", "time", "n_at_risk"])
    res = reconstruct(curve, risk)
    assert res.ipd["time"].tolist() == [2.0, 2.0, 5.0, 5.0, 5.0] + [9.0] * 5
    assert res.ipd["event"].tolist() == [1] * 5 + [0] * 5
    assert any("one time only" in n for n in res.notes)


def test_nobody_left_at_risk():
    curve, _ = frames(SMALL_CURVE, SMALL_RISK)
    risk = pd.DataFrame(
        [("A", 0, 10), ("A", 5, 0), ("B", 0, 8), ("B", 5, 4)], columns=["arm", "time", "n_at_risk"]
    )
    res = reconstruct(curve, risk)
    a = res.ipd[res.ipd.arm == "A"]
    assert len(a) == 10 and a["time"].max() < 5
    assert (res.intervals.n_at_risk_reconstructed == res.intervals.n_at_risk_published).all()


def test_to_dict_is_json_ready():
    res = reconstruct(*frames(SMALL_CURVE, SMALL_RISK))
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["n"] == {"A": 10, "B": 8}
    assert set(d) == {"arms", "n", "events", "curve_fit", "intervals", "notes", "settings"}
    assert d["settings"]["monotone"] == "isotonic"
    assert "<table" in res._repr_html_()


def test_summary_hazard_ratio_defaults_to_first_arm_as_treatment():
    res = reconstruct(*frames(SMALL_CURVE, SMALL_RISK))
    s = reconstruction_summary(res)
    assert (s["treatment"], s["control"]) == ("A", "B")
    flipped = reconstruction_summary(res, treatment="B")
    assert flipped["control"] == "A"
    assert flipped["hazard_ratio"]["log_hr"] == pytest.approx(-s["hazard_ratio"]["log_hr"])
    with pytest.raises(DataError, match="'C' is not in the reconstruction"):
        reconstruction_summary(res, treatment="C")


def test_summary_without_events_in_an_arm_has_no_hazard_ratio():
    curve = pd.DataFrame(
        [("A", 0, 1.0), ("A", 9, 1.0), ("B", 0, 1.0), ("B", 2, 0.5), ("B", 8, 0.5)],
        columns=["arm", "time", "survival"],
    )
    risk = pd.DataFrame([("A", 0, 10), ("B", 0, 8)], columns=["arm", "time", "n_at_risk"])
    s = reconstruction_summary(reconstruct(curve, risk))
    assert s["hazard_ratio"] is None
    assert s["notes"][-1].startswith("no hazard ratio")


# -- cleaning steps ------------------------------------------------------------------------------
def test_clean_sorts_and_starts_at_origin():
    c = clean_curve([5.0, 2.0, 2.0, 8.0], [0.5, 0.9, 0.7, 0.5], label="A")
    np.testing.assert_array_equal(c.time, [0.0, 2.0, 2.0, 5.0, 8.0])
    np.testing.assert_array_equal(c.survival, [1.0, 0.9, 0.7, 0.5, 0.5])


def test_clean_percent():
    c = clean_curve([0.0, 3.0, 6.0], [100.0, 80.0, 55.0], label="A")
    np.testing.assert_allclose(c.survival, [1.0, 0.8, 0.55])
    assert c.percent
    assert "survival read as percent" in c.notes[0]


def test_clean_forces_monotone_isotonic_or_running_min():
    t, s = [1.0, 2.0, 3.0, 4.0], [0.9, 0.8, 0.82, 0.6]
    iso = clean_curve(t, s)
    np.testing.assert_allclose(iso.survival, [1.0, 0.9, 0.81, 0.81, 0.6])
    assert np.all(np.diff(iso.survival) <= 0)
    run = clean_curve(t, s, monotone="running-min")
    np.testing.assert_allclose(run.survival, [1.0, 0.9, 0.8, 0.8, 0.6])
    assert any("monotone" in n for n in iso.notes)


def test_clean_orders_the_corners_of_a_drop_despite_time_noise():
    # the bottom corner of the drop at t=10 was clicked 0.3 before its top corner
    c = clean_curve([0.0, 10.0, 9.7, 20.0], [1.0, 0.9, 0.6, 0.6])
    np.testing.assert_allclose(c.survival, [1.0, 0.9, 0.6, 0.6])
    np.testing.assert_allclose(c.time, [0.0, 9.85, 9.85, 20.0])  # both at the mean time


def test_clean_drops_duplicates():
    c = clean_curve([0.0, 0.0, 4.0, 4.0, 4.0], [1.0, 1.0, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(c.time, [0.0, 4.0])
    assert any("3 duplicate" in n for n in c.notes)


def test_clean_clips_small_negative_times_and_survival_noise():
    c = clean_curve([-0.05, 3.0, 10.0], [1.003, 0.5, -0.002], label="A")
    assert c.time[0] == 0.0 and c.survival.max() == 1.0 and c.survival.min() == 0.0
    assert any("slightly before time 0" in n for n in c.notes)
    assert any("clipped" in n for n in c.notes)


@pytest.mark.parametrize(
    ("time", "surv", "message"),
    [
        ([], [], "has no points"),
        ([-2.0, 5.0, 10.0], [1.0, 0.8, 0.5], "negative by more than digitiser noise"),
        ([0.0, 5.0], [1.0, 1.2], r"outside \[0, 1\]"),
        ([0.0, 0.0], [1.0, 0.9], "no points after time 0"),
        ([0.0, float("nan")], [1.0, 0.9], "finite"),
    ],
)
def test_clean_rejects(time, surv, message):
    with pytest.raises(DataError, match=message):
        clean_curve(time, surv)


# -- input errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("curve_rows", "risk_rows", "message"),
    [
        (SMALL_CURVE, [("A", 2, 10), ("B", 0, 8)], "starts at time 2, not 0"),
        (SMALL_CURVE, [("A", 0, 10), ("A", 5, 12), ("B", 0, 8)], "increases from 10"),
        (SMALL_CURVE, [("A", 0, 10)], "'B' is in the curve but not in the at-risk table"),
        (SMALL_CURVE[:8], SMALL_RISK, "'B' is in the at-risk table but not in the curve"),
        ([], SMALL_RISK, "no data rows"),
        (SMALL_CURVE, [("A", 0, 10.5), ("B", 0, 8)], "whole number >= 0"),
        (SMALL_CURVE, [("A", 0, 10), ("A", 0, 9), ("B", 0, 8)], "two numbers at risk"),
        (SMALL_CURVE, [("A", 0, 0), ("B", 0, 8)], "no participants at time 0"),
        ([*SMALL_CURVE, ("A", "x", 0.5)], SMALL_RISK, "time must be a finite number"),
    ],
)
def test_reconstruct_rejects(curve_rows, risk_rows, message):
    with pytest.raises(DataError, match=message):
        reconstruct(*frames(curve_rows, risk_rows))


def test_missing_column_is_named():
    curve, risk = frames(SMALL_CURVE, SMALL_RISK)
    with pytest.raises(DataError, match="missing column 'n_at_risk'"):
        reconstruct(curve, risk.rename(columns={"n_at_risk": "n"}))


@pytest.mark.parametrize(
    ("events", "message"),
    [({"C": 3}, "arm 'C', which is not in the at-risk table"), ({"A": 11}, "from 0 to 10")],
)
def test_bad_total_events(events, message):
    with pytest.raises(DataError, match=message):
        reconstruct(*frames(SMALL_CURVE, SMALL_RISK), events=events)


def test_file_errors_name_file_column_and_line(tmp_path):
    curve = tmp_path / "curve.csv"
    risk = tmp_path / "risk.csv"
    curve.write_text("arm,time,survival\nA,0,1\nA,3,0.8\nA,6,abc\n")
    risk.write_text("arm,time,n_at_risk\nA,0,10\n")
    with pytest.raises(DataError) as ex:
        reconstruct(read_curve(curve), read_at_risk(risk))
    msg = str(ex.value)
    assert "curve.csv" in msg and "column 'survival'" in msg and "line 4" in msg and "abc" in msg
    curve.write_text("arm,time,survival\nA,0,1\nA,3,0.8\n")
    risk.write_text("arm,time,n_at_risk\nA,0,10\nA,5,4\nA,10,6\n")
    with pytest.raises(DataError, match=r"risk\.csv, column 'n_at_risk', line 4: .*increases"):
        reconstruct(read_curve(curve), read_at_risk(risk))


# -- mock digitising -----------------------------------------------------------------------------
def test_mock_digitise_prints_the_exact_at_risk_table():
    ipd, _ = real_trial("veteran")
    curve, at_risk = mock_digitise(ipd, rng=np.random.default_rng(0), percent=True)
    assert set(curve.columns) == {"arm", "time", "survival"} and curve.survival.max() > 50
    for arm, g in at_risk.groupby("arm"):
        fit = km(ipd, arm)
        want = fit.survival_at(g.time.to_numpy()).n_at_risk.to_numpy()
        np.testing.assert_array_equal(g.n_at_risk.to_numpy(), want)
    times = at_risk.time.unique()
    assert times[0] == 0 and len(times) >= 7 and np.allclose(np.diff(times), times[1])


# -- the committed example -----------------------------------------------------------------------
def test_km_example_matches_its_sidecar_and_reconstructs():
    readme = (EXAMPLE / "README.md").read_text()
    for name in ("curve.csv", "at_risk.csv"):
        digest = hashlib.sha256((EXAMPLE / name).read_bytes()).hexdigest()
        assert f"sha256 `{name}` | `{digest}`" in readme
    res = reconstruct(read_curve(EXAMPLE / "curve.csv"), read_at_risk(EXAMPLE / "at_risk.csv"))
    at_risk = pd.read_csv(EXAMPLE / "at_risk.csv")
    first = at_risk[at_risk.time == 0].set_index("arm")["n_at_risk"].to_dict()
    assert res.n == first
    assert any("percent" in n for n in res.notes)
    truth = walkback_trial(2024)  # the generator's simulated trial
    assert abs(log_hr(res.ipd, "intervention") - log_hr(truth, "intervention")) <= HR_TOL


def test_km_example_generator_reproduces_the_committed_files(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_km", EXAMPLE / "make_km_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("curve.csv", "at_risk.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name

    def without_versions(path: Path) -> list[str]:
        return [x for x in path.read_text().splitlines() if " version |" not in x]

    assert without_versions(tmp_path / "README.md") == without_versions(EXAMPLE / "README.md")


# -- report --------------------------------------------------------------------------------------
def test_report_files_are_deterministic(tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    res = reconstruct(*frames(SMALL_CURVE, SMALL_RISK))
    a = write_report(res, tmp_path / "a")
    b = write_report(res, tmp_path / "b")
    assert [p.name for p in a] == ["overlay.png", "at_risk.csv", "at_risk.md", "report.json",
                                   "report.md"]  # fmt: skip
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    assert rep["arms"]["A"]["n"] == 10 and rep["hazard_ratio"]["estimate"] > 0
    table = pd.read_csv(tmp_path / "a" / "at_risk.csv")
    assert (table["difference"] == 0).all()
    assert matplotlib.get_backend() == backend  # the report leaves pyplot's state alone


# -- command line --------------------------------------------------------------------------------
def own_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="walkback")
    add_reconstruct_parser(parser.add_subparsers(dest="command"))
    return parser


def write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    curve, risk = frames(SMALL_CURVE, SMALL_RISK)
    cp, rp = tmp_path / "curve.csv", tmp_path / "at_risk.csv"
    curve.to_csv(cp, index=False)
    risk.to_csv(rp, index=False)
    return cp, rp


def test_command_through_its_own_parser(tmp_path, capsys):
    cp, rp = write_inputs(tmp_path)
    out = tmp_path / "ipd.csv"
    args = own_parser().parse_args(
        ["reconstruct", "--curve", str(cp), "--at-risk", str(rp), "--out", str(out)]
    )
    assert args.func(args) == 0
    ipd = pd.read_csv(out)
    assert list(ipd.columns) == ["arm", "time", "event"] and len(ipd) == 18
    assert "all 4 published numbers reproduced exactly" in capsys.readouterr().out


def test_help_teaches_inputs_and_example(capsys):
    with pytest.raises(SystemExit) as ex:
        own_parser().parse_args(["reconstruct", "--help"])
    assert ex.value.code == 0
    text = capsys.readouterr().out
    for needle in ("arm,time,survival", "arm,time,n_at_risk", "percent", "example", "--events"):
        assert needle in text


def test_monotone_choices_match_the_library():
    from walkback.reconstruct import MONOTONE

    sub = own_parser()._subparsers._group_actions[0].choices["reconstruct"]
    action = next(a for a in sub._actions if a.dest == "monotone")
    assert tuple(action.choices) == MONOTONE


# The tests below go through walkback.cli.main, where the command is registered by cli.py.


def test_cli_output_goes_straight_into_analyze(tmp_path, capsys):
    out = tmp_path / "ipd.csv"
    code, stdout, err = run(
        [
            "reconstruct",
            "--curve",
            EXAMPLE / "curve.csv",
            "--at-risk",
            EXAMPLE / "at_risk.csv",
            "--out",
            out,
            "--report",
            tmp_path / "rep",
        ],
        capsys,
    )
    assert code == 0, err
    assert "Hazard ratio (intervention vs control" in stdout
    code, stdout, err = run(
        [
            "analyze",
            out,
            "--time-col",
            "time",
            "--event-col",
            "event",
            "--arm-col",
            "arm",
            "--treatment",
            "intervention",
            "--control",
            "control",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    d = json.loads(stdout)
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert d["hazard_ratio"]["estimate"] == pytest.approx(rep["hazard_ratio"]["estimate"])
    assert d["n"] == {"treatment": rep["arms"]["intervention"]["n"], "control": 352}
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {
        "overlay.png",
        "at_risk.csv",
        "at_risk.md",
        "report.json",
        "report.md",
    }


def test_cli_events_and_arm_choice(tmp_path, capsys):
    cp, rp = write_inputs(tmp_path)
    out = tmp_path / "ipd.csv"
    code, stdout, err = run(
        [
            "reconstruct",
            "--curve",
            cp,
            "--at-risk",
            rp,
            "--out",
            out,
            "--events",
            "B=4",
            "--treatment",
            "B",
            "--report",
            tmp_path / "r",
        ],
        capsys,
    )
    assert code == 0, err
    assert "Hazard ratio (B vs A" in stdout
    assert pd.read_csv(out).query("arm == 'B'")["event"].sum() == 4


@pytest.mark.parametrize(
    ("curve_text", "risk_text", "needles"),
    [
        (None, "arm,time,n_at_risk\nA,0,10\nC,0,8\n", ["'B' is in the curve", "at_risk.csv"]),
        (None, "arm,time,n_at_risk\nA,0,10\nA,5,12\nB,0,8\n", ["increases", "line 3"]),
        ("arm,time,survival\n", None, ["curve.csv", "no data rows"]),
        ("arm,time,survival\nA,0,1\nA,x,0.5\nB,0,1\n", None, ["column 'time'", "line 3", "'x'"]),
        ("arm,t,survival\nA,0,1\n", None, ["missing column 'time'", "curve.csv"]),
        (None, "arm,time,n_at_risk\nA,3,10\nB,0,8\n", ["starts at time 3"]),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, curve_text, risk_text, needles):
    cp, rp = write_inputs(tmp_path)
    if curve_text is not None:
        cp.write_text(curve_text)
    if risk_text is not None:
        rp.write_text(risk_text)
    out = tmp_path / "ipd.csv"
    code, _, err = run(["reconstruct", "--curve", cp, "--at-risk", rp, "--out", out], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("walkback: error:")
    for needle in needles:
        assert needle in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--events", "A"], "--events wants ARM=D"),
        (["--events", "A=x"], "whole number"),
        (["--events", "A=3", "--events", "A=4"], "twice"),
        (["--events", "Z=3"], "'Z'"),
        (["--treatment", "Z"], "'Z' is not in the reconstruction"),
    ],
)
def test_cli_bad_options_exit_2(tmp_path, capsys, extra, needle):
    cp, rp = write_inputs(tmp_path)
    out = tmp_path / "ipd.csv"
    code, _, err = run(
        ["reconstruct", "--curve", cp, "--at-risk", rp, "--out", out, *extra], capsys
    )
    assert code == 2
    assert err.count("\n") == 1 and needle in err, err
    assert not out.exists()


def test_cli_out_must_be_csv(tmp_path, capsys):
    cp, rp = write_inputs(tmp_path)
    code, _, err = run(
        ["reconstruct", "--curve", cp, "--at-risk", rp, "--out", tmp_path / "x.txt"], capsys
    )
    assert code == 2 and "--out must be a .csv file" in err
