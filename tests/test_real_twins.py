"""Twins of real trials built from their printed figures only (issue 12's development set).

For each trial with participant data in R survival, tests/specs/real/<trial>.toml holds the figures
its paper would print (derived by derive_figures.py) and a design written from them. The twin must
reproduce every figure, and match the real participants on what no figure fixed: the largest
vertical gap between the Kaplan-Meier curves per arm (up to the 90th percentile of follow-up) and
RMST at a horizon no target uses.

Measured (closing note of issue 12, constructed twins, the specs' seeds): rhDNase gaps 0.025 /
0.025, RMST errors -0.4% / -0.1%; myeloid 0.039 / 0.049, -0.6% / +2.5%; veteran 0.058 / 0.050,
+0.7% / +0.1%. bladder's twin reproduces every figure with RMST errors +0.8% / +2.1%, but its
held-out gaps are 0.17 / 0.11: the real first recurrences are whole months from cystoscopies
(placebo: one in the first 60 days, then 4 and 7 at months 2 and 3), a shape no printed figure
shows. The figures cannot fix it: the real data and the twin reproduce the same 16 figures yet
their placebo curves are 0.17 apart, so whatever dataset a method builds from those figures alone
is more than 0.07 from one of the two (the sup distance is a metric: it cannot be within 0.07 of
both when they are 0.14 or more apart). ``test_the_figures_do_not_fix_bladders_curve`` keeps
that witness.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from walkback.reproduce import load_data, reproduce
from walkback.spec import load_spec
from walkback.twin import TwinError, make_twin

REAL = Path(__file__).resolve().parent / "specs" / "real"
sys.path.insert(0, str(REAL))
from heldout import compare  # noqa: E402

#: the largest held-out KM gap each twin may reach (issue 12 asks for 0.07)
GAP = {"rhDNase": 0.07, "myeloid": 0.07, "veteran": 0.07}
TRIALS = [*GAP, "bladder"]


@pytest.fixture(scope="module")
def twins():
    return {t: make_twin(load_spec(REAL / f"{t}.toml")) for t in TRIALS}


@pytest.mark.parametrize("trial", TRIALS)
def test_the_twin_reproduces_every_printed_figure(twins, trial):
    spec = load_spec(REAL / f"{trial}.toml")
    rep = reproduce(spec, twins[trial].frame, data_label=f"{trial} twin")
    failed = [r.target.name for r in rep.results if r.status != "pass"]
    assert failed == []
    assert len(rep.results) >= 15


def _heldout(twins, trial: str) -> dict:
    fig = json.loads((REAL / f"{trial}_figures.json").read_text())
    out = fig["outcome"]
    return compare(
        twins[trial].frame,
        REAL / "data" / f"{trial}.csv",
        f"{out}_days",
        f"{out}_event",
        "arm",
        [fig["arms"]["control"], fig["arms"]["treatment"]],
        fig["heldout"]["rmst_tau"],
    )


@pytest.mark.parametrize("trial", TRIALS)
def test_the_twin_matches_the_real_participants_where_nothing_was_targeted(twins, trial):
    for arm, r in _heldout(twins, trial)["arms"].items():
        if trial in GAP:
            assert r["km_gap"] <= GAP[trial], (arm, r)
        assert abs(r["rmst_rel_error"]) <= 0.05, (arm, r)


def test_the_figures_do_not_fix_bladders_curve(twins):
    """Two datasets that reproduce all of bladder's printed figures (the real one, see
    test_trial_model_any, and its twin) whose placebo curves are more than twice 0.07 apart:
    no dataset built from those figures alone is within 0.07 of both."""
    spec = load_spec(REAL / "bladder.toml")
    frame = load_data(spec, REAL / "data" / "bladder.csv", time_col="time", event_col="event")
    real = reproduce(spec, frame, data_label="bladder")
    twin = reproduce(spec, twins["bladder"].frame, data_label="bladder twin")
    assert all(r.status == "pass" for r in [*real.results, *twin.results])
    assert _heldout(twins, "bladder")["arms"]["placebo"]["km_gap"] > 2 * 0.07


@pytest.mark.parametrize("trial", TRIALS)
def test_the_twin_is_a_plausible_dataset(twins, trial):
    spec = load_spec(REAL / f"{trial}.toml")
    frame = twins[trial].frame
    out = spec.primary.name
    days = frame[f"{out}_days"]
    events = frame[f"{out}_event"] == 1
    # no pile-ups: no event day shared by more than a few participants
    assert days[events].value_counts().max() <= 6
    # censoring by the follow-up rule: nobody is followed past the longest follow-up
    assert days.max() <= round(spec.max_months * spec.days_per_month)


def test_a_search_cut_short_says_why():
    """bladder's twin takes a dozen attempts; cut to a few, the failure names the hardest
    targets (with how often they passed and the closest values) or why no arm could be built."""
    text = (REAL / "bladder.toml").read_text().replace("max_attempts = 4000", "max_attempts = 8")
    spec = load_spec_text(text)
    with pytest.raises(TwinError) as err:
        make_twin(spec)
    msg = str(err.value)
    assert "no twin outcome recurrence within 8 attempts" in msg
    assert "Hardest:" in msg or "no curve through the read-outs" in msg
    assert "\n" not in msg


def load_spec_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "spec.toml"
        path.write_text(text)
        return load_spec(path)
