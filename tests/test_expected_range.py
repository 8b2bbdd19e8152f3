"""Expected-range checks: over many seeded simulated WalkBack trials, each headline estimate's
sampling distribution centres on its published target and the HR's 95% CI covers the generating HR
at about the nominal rate. These catch a simulator or calibration that drifts.

Tolerances are several Monte Carlo standard errors wide (stated beside each check), so the test is
stable for these fixed seeds yet fails on a real shift (e.g. a 2% change in the HR).
"""

from __future__ import annotations

import numpy as np
import pytest

from walkback.calibrate import calibrate
from walkback.estimators import cox, kaplan_meier
from walkback.simulate import simulate
from walkback.spec import load_spec

REPLICATES = 300


@pytest.fixture(scope="module")
def draws():
    spec = load_spec("walkback")
    model = calibrate(spec).model
    rows = []
    for seed in range(REPLICATES):
        df = simulate(spec, 10_000 + seed, model)
        treated = (df["arm"] == "intervention").to_numpy()
        rec = {"n_treated": int(treated.sum())}
        for k in ("activity_limiting", "care_seeking", "any"):
            t = df[f"{k}_days"].to_numpy(float)
            e = df[f"{k}_event"].to_numpy()
            fit = cox(t, e, treated.astype(float))
            lo, hi = fit.conf_int()[0]
            rec[f"hr_{k}"], rec[f"lo_{k}"], rec[f"hi_{k}"] = fit.hazard_ratio[0], lo, hi
            rec[f"events_{k}"] = int(e.sum())
        t, e = (
            df["activity_limiting_days"].to_numpy(float),
            df["activity_limiting_event"].to_numpy(),
        )
        rec["median_t"] = kaplan_meier(t[treated], e[treated]).median.estimate
        rec["median_c"] = kaplan_meier(t[~treated], e[~treated]).median.estimate
        rec["age_mean"], rec["age_sd"] = df["age"].mean(), df["age"].std()
        rec["female"] = (df["sex"] == "female").mean()
        rows.append(rec)
    return {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}, model


def test_primary_hr_centres_on_target_and_ci_covers(draws):
    d, model = draws
    gen = model.outcomes["activity_limiting"].hr
    assert gen == 0.72
    # MC SE of the median HR ~ 0.005; a +-0.02 band is 4 SEs
    assert np.median(d["hr_activity_limiting"]) == pytest.approx(0.72, abs=0.02)
    coverage = np.mean((d["lo_activity_limiting"] <= gen) & (gen <= d["hi_activity_limiting"]))
    assert 0.91 <= coverage <= 0.985  # nominal 0.95; MC SE 0.013 at 300 replicates


def test_medians_centre_on_published(draws):
    d, _ = draws
    # MC SE of the median of medians ~ 2.5 days (intervention), 1.5 days (control)
    assert np.median(d["median_t"]) == pytest.approx(208, abs=10)
    assert np.median(d["median_c"]) == pytest.approx(112, abs=6)


def test_event_counts_centre_on_calibration_targets(draws):
    d, _ = draws
    # the implied ~507 activity-limiting events (SD ~ 12 per trial, MC SE ~0.7)
    assert d["events_activity_limiting"].mean() == pytest.approx(507, abs=5)
    assert d["events_any"].mean() == pytest.approx(596, abs=5)


def test_secondary_hrs_centre_on_published(draws):
    d, _ = draws
    assert np.median(d["hr_any"]) == pytest.approx(0.80, abs=0.02)
    assert np.median(d["hr_care_seeking"]) == pytest.approx(0.57, abs=0.025)


def test_baseline_summaries_centre_on_published(draws):
    d, _ = draws
    assert d["n_treated"].mean() == pytest.approx(701 / 2, abs=1.0)
    assert d["age_mean"].mean() == pytest.approx(54, abs=0.15)
    assert d["age_sd"].mean() == pytest.approx(12, abs=0.15)
    assert d["female"].mean() == pytest.approx(0.81, abs=0.005)
