"""Subgroup analysis against R survival (tests/reference/subgroups, written by subgroups.R).

Per level of each variable: n and events per arm, HR, CI and Wald p of ``coxph(..., subset =)``;
per variable: the interaction LR test of ``anova(coxph(~ arm + by), coxph(~ arm * by))``, on
colon (three arms), veteran, gbsg (stratified, adjusted), myeloid, pbc (1/2 coding, missing)
and rotterdam. Tolerance 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_reference_parity import RTOL, compare
from walkback.analysis.subgroups import subgroups
from walkback.exceptions import DataError
from walkback.io import read_trial

REF = Path(__file__).resolve().parent / "reference" / "subgroups"
CASES = sorted((REF / "expected").glob("*.json"))


def run(expected: dict) -> dict:
    s = expected["settings"]
    trial = read_trial(
        REF / expected["file"],
        time_col=s["time_col"],
        event_col=s["event_col"],
        arm_col=s["arm_col"],
        control=s["control"],
        treatment=s["treatments"],
        strata=tuple(s["strata"]),
        covariates=tuple(s["covariates"]),
        na="drop",
        other_arms="drop",
        event_value=s["event_value"],
        censor_value=s["censor_value"],
    )
    return subgroups(
        trial, s["by"], ties=s["ties"], covariates=tuple(s["covariates"]), na="drop"
    ).to_dict()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_subgroups_match_r(path):
    expected = json.loads(path.read_text())
    actual = run(expected)
    want = {"subgroups": expected["subgroups"], "interaction": expected["interaction"]}
    got = {
        "subgroups": [{k: r[k] for k in want["subgroups"][0]} for r in actual["subgroups"]],
        "interaction": [{k: r[k] for k in want["interaction"][0]} for r in actual["interaction"]],
    }
    bad = [c for c in compare(want, got) if not c[3] <= RTOL]
    assert not bad, "\n".join(f"{p}: R {e!r} vs walkback {a!r} (rel {r:.2g})" for p, e, a, r in bad)


def test_the_cases_cover_what_they_promise():
    cases = [json.loads(p.read_text()) for p in CASES]
    assert any(len(c["settings"]["treatments"]) >= 2 for c in cases)  # three arms
    assert any(c["settings"]["strata"] for c in cases)
    assert any(c["settings"]["covariates"] for c in cases)
    assert any(i["missing"] > 0 for c in cases for i in c["interaction"])


def _pbc(**kw):
    return read_trial(
        REF / "inputs" / "pbc.csv",
        time_col="time",
        event_col="status",
        arm_col="trt",
        control="1",
        na="drop",
        event_value="2",
        censor_value="1",
        **kw,
    )


def test_missing_by_values_are_an_error_unless_dropped():
    trial = read_trial(
        REF / "inputs" / "colon.csv",
        time_col="time",
        event_col="status",
        arm_col="rx",
        control="Obs",
    )
    with pytest.raises(DataError, match=r"column 'differ'.*missing values.*na='drop'"):
        subgroups(trial, ["differ"])
    res = subgroups(trial, ["differ", "sex"], na="drop").to_dict()
    assert [i["missing"] for i in res["interaction"]] == [23, 0]  # per variable, as R's na.omit


def test_continuous_and_unknown_columns_are_refused():
    trial = _pbc()
    with pytest.raises(DataError, match="looks continuous"):
        subgroups(trial, ["age"])
    with pytest.raises(DataError, match="subgroup column not found"):
        subgroups(trial, ["nope"])


def test_an_arm_without_events_gives_a_note_not_a_number():
    res = subgroups(_pbc(), ["stage"]).to_dict()
    blank = [r for r in res["subgroups"] if r["hazard_ratio"] is None]
    assert [r["level"] for r in blank] == ["1"]
    assert blank[0]["note"] == "hazard ratio not estimable: no events in arm '2'"
    assert blank[0]["events"] == {"1": 1, "2": 0}
    # the interaction model has an infinite coefficient: no number rather than a wrong one
    assert res["interaction"][0]["chisq"] is None
    assert "not estimable" in res["interaction"][0]["note"]


def test_forest_plot_labels_come_from_the_data():
    import matplotlib

    matplotlib.use("Agg")
    from walkback.plotting import style, subgroup_forest

    trial = read_trial(
        REF / "inputs" / "colon.csv",
        time_col="time",
        event_col="status",
        arm_col="rx",
        control="Obs",
    )
    res = subgroups(trial, ["sex", "differ"], na="drop")
    with style():
        fig = subgroup_forest(res, treatment="Lev+5FU")
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"Lev+5FU", "Obs", "sex", "differ", "All participants"} <= texts
    inter = res.to_dict()["interaction"]
    assert any(t.startswith("interaction p") for t in texts) and len(inter) == 2
    assert "123/304" in texts  # events/n of the treatment arm overall
    with pytest.raises(ValueError, match="treatment must be one of"):
        subgroup_forest(res, treatment="Obs")
