"""Numbers at risk as published figures (the table under a Kaplan-Meier figure): the ``at_risk``
target statistic, its R convention, its large-sample value, and twins that meet a risk table."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkback.calibrate import calibrate
from walkback.expected import ExpectedTrial
from walkback.io import read_trial
from walkback.reproduce import reproduce
from walkback.simulate import simulate
from walkback.spec import SpecError, load_spec
from walkback.targets import TrialArrays, target_value
from walkback.twin import make_twin

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference"
REAL = ROOT / "tests" / "specs" / "real"
sys.path.insert(0, str(REAL))
from heldout import compare  # noqa: E402


def _risk_targets(trial: str, days: list[int]) -> str:
    """``[[targets]]`` of a risk table at ``days``, counted from the real participants."""
    fig = json.loads((REAL / f"{trial}_figures.json").read_text())
    real = pd.read_csv(REAL / "data" / f"{trial}.csv")
    out = []
    for day in days:
        for role in ("control", "treatment"):
            n = int((real.time[real.arm == fig["arms"][role]] >= day).sum())
            out.append(
                f'\n[[targets]]\nname = "risk{day}_{role}"\nstatistic = "at_risk"\n'
                f'outcome = "{fig["outcome"]}"\narm = "{role}"\ntime = {day}\nvalue = {n}\n'
                'precision = 1\nsource = "counted from the real data"\nconfidence = "high"\n'
            )
    return "".join(out)


def _with_risk_table(tmp_path: Path, trial: str, days: list[int]) -> Path:
    path = tmp_path / f"{trial}_risk.toml"
    path.write_text((REAL / f"{trial}.toml").read_text() + _risk_targets(trial, days))
    return path


def test_at_risk_equals_r_n_risk_on_every_reference_case():
    """R's ``summary(survfit, times)$n.risk`` (tests/reference/expected) per arm and time."""
    spec = load_spec(REAL / "veteran.toml")  # conventions only: at_risk uses none of them
    proto = dataclasses.replace(spec.target("surv90_control"), ci=None, precision=1.0)
    compared = 0
    for case in json.loads((REF / "cases.json").read_text()):
        expected = json.loads((REF / "expected" / f"{case['id']}.json").read_text())["results"][0]
        trial = read_trial(
            REF / case["file"],
            time_col=case["time_col"],
            event_col=case["event_col"],
            arm_col=case["arm_col"],
            treatment=case["treatment"],
            control=case["control"],
        )
        data = TrialArrays(
            trial.treated.astype(bool),
            {"death": (trial.time.astype(float), trial.event.astype(float))},
            {},
        )
        for arm in ("treatment", "control"):
            for row in expected["survival_at"][arm]:
                t = dataclasses.replace(
                    proto, statistic="at_risk", arm=arm, time=float(row["time"])
                )
                got = target_value(spec, t, data).estimate
                assert got == row["n_at_risk"], (case["id"], arm, row["time"], got)
                compared += 1
    assert compared >= 100


@pytest.mark.parametrize(
    "old,new,message",
    [
        (r"time = 90\n", "", r"risk90_control\.time\] is required for statistic 'at_risk'"),
        (r"value = \d+\n", "value = -1\n", r"risk90_control\.value\] a number at risk must be 0"),
        (r"(value = \d+\n)", r"\1ci = [60, 75]\n", r"'at_risk' has no CI \(only km_median"),
    ],
)
def test_risk_table_typos_are_errors_naming_the_key(tmp_path, old, new, message):
    text = (REAL / "veteran.toml").read_text() + _risk_targets("veteran", [90])
    head, tail = text.split('name = "risk90_control"')
    path = tmp_path / "spec.toml"
    path.write_text(head + 'name = "risk90_control"' + re.sub(old, new, tail, count=1))
    with pytest.raises(SpecError, match=message):
        load_spec(path)


def test_a_ci_on_a_figure_without_one_is_an_error(tmp_path):
    text = (REAL / "rhDNase.toml").read_text()
    path = tmp_path / "spec.toml"
    with_ci = 'statistic = "logrank_p"\nci = [0.001, 0.01]\n'
    path.write_text(text.replace('statistic = "logrank_p"\n', with_ci, 1))
    with pytest.raises(SpecError, match=r"statistic 'logrank_p' has no CI"):
        load_spec(path)


def test_expected_numbers_at_risk_agree_with_simulated_trials(tmp_path):
    """The large-sample number at risk (n S(k-1) G(k)) the fit uses equals the mean over
    simulated trials of the spec's design, within Monte Carlo error."""
    spec = load_spec(_with_risk_table(tmp_path, "veteran", [60, 200]))
    cal = calibrate(spec)
    assert {r.target: r.method for r in cal.rows}["risk60_control"].startswith("large-sample")
    from walkback.calibration_pool import pooled_population

    pool = pooled_population(spec, 50, 3)
    exp = ExpectedTrial(spec, np.rint(pool.base["admin_months"] * spec.days_per_month))
    dist = cal.model.outcomes["death"]
    names = ["risk60_control", "risk60_treatment", "risk200_control", "risk200_treatment"]
    expected = {n: exp.value(spec.target(n), dist, cal.model.dropout_rate)[0] for n in names}
    sims: dict[str, list[float]] = {n: [] for n in names}
    for seed in range(40):
        rep = reproduce(spec, simulate(spec, seed), names=names, data_label="sim")
        for r in rep.results:
            sims[r.target.name].append(r.value.estimate)
    for n in names:
        x = np.asarray(sims[n])
        se = x.std(ddof=1) / math.sqrt(x.size)
        assert abs(x.mean() - expected[n]) < 4 * se + 1e-9, (n, x.mean(), expected[n], se)


def test_a_twin_meets_a_published_risk_table(tmp_path):
    """rhDNase with its risk table at 4, 12 and 20 weeks: the twin reproduces every figure,
    the risk table included, and stays as close to the real curves as without it."""
    spec = load_spec(_with_risk_table(tmp_path, "rhDNase", [28, 84, 140]))
    twin = make_twin(spec)
    rep = reproduce(spec, twin.frame, data_label="twin")
    failed = [r.target.name for r in rep.results if r.status != "pass"]
    assert failed == []
    assert sum(r.target.statistic == "at_risk" for r in rep.results) == 6
    fig = json.loads((REAL / "rhDNase_figures.json").read_text())
    res = compare(
        twin.frame,
        REAL / "data" / "rhDNase.csv",
        "exacerbation_days",
        "exacerbation_event",
        "arm",
        [fig["arms"]["control"], fig["arms"]["treatment"]],
        fig["heldout"]["rmst_tau"],
    )
    assert all(a["km_gap"] <= 0.07 for a in res["arms"].values()), res


def test_a_landmark_printed_without_width_does_not_dominate_the_fit():
    """A landmark before any event prints as 1.00 (1.00 to 1.00): its CI implies no standard
    error, so the fit weighs it as one participant's step (R survival's ovarian, 13 per arm,
    gave a Weibull shape of 19.6 when it was weighted by the CI's zero width)."""
    from walkback.fit import _pieces

    spec = load_spec(REAL / "bladder.toml")
    flat = dataclasses.replace(spec.target("surv365_treatment"), value=1.0, ci=(1.0, 1.0))
    pieces = _pieces(spec, [flat, spec.target("surv365_control"), spec.target("hr")])
    assert [p.scale for p in pieces[:3]] == [1 / 38] * 3
    ci_scale = (0.68 - 0.38) / (2 * 1.959963984540054)  # from the printed CI, unchanged
    assert pieces[3].scale == pytest.approx(ci_scale)
    assert pieces[6].scale == pytest.approx((math.log(1.25) - math.log(0.38)) / (2 * 1.96), 1e-3)
