"""`walkback reproduce --tolerance sampling`: trials simulated from the model pass (family-wise
about 95% of the time), a dataset that contradicts the paper fails; --out-dir is the only place
reports are written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_run import run
from walkback.checks.sampling import sidak_z, target_miss
from walkback.checks.spread import model_spread
from walkback.reproduce import reproduce
from walkback.simulate import simulate
from walkback.spec import load_spec
from walkback.targets import TargetResult, TargetValue, arrays_from_frame

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "data" / "synthetic" / "walkback_twin.csv"


@pytest.fixture(scope="module")
def spec():
    return load_spec("walkback")


@pytest.fixture(scope="module")
def spread(spec):
    return model_spread(spec)  # the shipped entry (tests/test_cache.py checks it is current)


def test_sidak_levels():
    each, z = sidak_z(1)
    assert each == pytest.approx(0.05) and z == pytest.approx(1.959964, abs=1e-6)
    each, z = sidak_z(19)
    assert 1 - (1 - each) ** 19 == pytest.approx(0.05)
    assert z == pytest.approx(3.00, abs=0.01)


def test_trials_simulated_from_the_model_pass(spec, spread):
    passed = []
    for seed in range(1, 21):
        rep = reproduce(
            spec, simulate(spec, seed), f"seed {seed}", tolerance="sampling", spread=spread
        )
        assert rep.family["targets"] == 19
        passed.append(rep.all_passed)
    assert sum(passed) >= 17, passed


def test_the_twin_with_its_arms_swapped_fails(tmp_path, capsys):
    df = pd.read_csv(TWIN)
    df["arm"] = df["arm"].map({"intervention": "control", "control": "intervention"})
    bad = tmp_path / "swapped.csv"
    df.to_csv(bad, index=False)
    code, out, err = run(["reproduce", "--data", bad, "--tolerance", "sampling", "--json"], capsys)
    assert code == 1, err
    d = json.loads(out)
    assert d["tolerance"] == "sampling" and d["family"]["method"] == "Sidak"
    by = {t["name"]: t for t in d["targets"]}
    hr = by["hr_activity_limiting"]
    assert hr["status"] == "fail" and hr["miss_se"] < -5 and hr["se_source"] == "CI of this dataset"
    assert by["median_activity_limiting_intervention"]["status"] == "fail"
    assert by["age_mean"]["status"] == "pass"  # baseline figures do not depend on the arm labels


def test_the_twin_passes_and_the_table_shows_misses_in_se(capsys):
    code, out, err = run(["reproduce", "--data", TWIN, "--tolerance", "sampling"], capsys)
    assert code == 0, err
    assert "Miss (SE)" in out and "Sidak" in out
    assert out.splitlines()[1].startswith("The data are the WalkBack synthetic twin, constructed")


def test_another_hazard_ratio_fails(spec, spread):
    t = spec.target("hr_activity_limiting")
    r = TargetResult(t, TargetValue(1.0, 0.85, 1.18), False)
    m = target_miss(spec, r, spread)
    assert m.miss_se < -3 and m.se_source == "CI of this dataset"
    near = target_miss(spec, TargetResult(t, TargetValue(0.75, 0.63, 0.89), False), spread)
    assert abs(near.miss_se) < 1


def test_fieller_miss_is_zero_when_the_icer_is_the_published(spec, spread):
    frame = pd.read_csv(TWIN)
    data = arrays_from_frame(spec, frame)
    t = spec.target("icer")
    m = target_miss(spec, TargetResult(t, TargetValue(7802.0), True), spread, data)
    assert m.scale == "fieller" and abs(m.miss_se) < 1e-3
    # a cheaper programme: the same QALYs at lower cost give a lower ICER, a positive miss
    cost = data.columns["cost_total_aud"] - np.where(data.treated, 300.0, 0.0)
    cheaper = arrays_from_frame(spec, frame.assign(cost_total_aud=cost))
    assert target_miss(spec, TargetResult(t, TargetValue(0.0), True), spread, cheaper).miss_se > 1


def test_reproduce_writes_reports_only_to_out_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["reproduce", "--data", TWIN], capsys)
    assert code == 0, err
    assert list(tmp_path.iterdir()) == []  # nothing written without --out-dir
    code, _, err = run(["reproduce", "--data", TWIN, "--out-dir", "out"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "reproduction.json",
        "reproduction.md",
        "spec.toml",
    ]
    md = (tmp_path / "out" / "reproduction.md").read_text().splitlines()
    assert md[2].startswith("The data are the WalkBack synthetic twin, constructed")
    assert "[spec.toml](spec.toml)" in md[4]
    assert (tmp_path / "out" / "spec.toml").read_bytes() == (
        ROOT / "src" / "walkback" / "trials" / "walkback.toml"
    ).read_bytes()


def test_data_that_are_not_the_twin_say_so(tmp_path, capsys, spec):
    f = tmp_path / "trial.csv"
    simulate(spec, 7).to_csv(f, index=False)
    code, out, _ = run(["reproduce", "--data", f, "--tolerance", "sampling", "--json"], capsys)
    assert "not the synthetic twin" in json.loads(out)["provenance"]


def test_bad_tolerance_exits_2(capsys):
    code, _, err = run(["reproduce", "--data", TWIN, "--tolerance", "loose"], capsys)
    assert code == 2 and "--tolerance" in err and err.count("\n") == 1


def test_not_reached_in_both_passes_and_in_one_fails(spec, spread):
    import dataclasses

    t = spec.target("median_activity_limiting_intervention")
    nr = dataclasses.replace(t, value=float("nan"), ci=None)
    assert (
        target_miss(spec, TargetResult(nr, TargetValue(float("nan")), False), spread).miss_se == 0
    )
    one = target_miss(spec, TargetResult(nr, TargetValue(300.0, 200.0, 400.0), False), spread)
    assert one.miss_se is None
    other = target_miss(spec, TargetResult(t, TargetValue(float("nan")), False), spread)
    assert other.miss_se is None
