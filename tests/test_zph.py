"""cox.zph per-term and global tests, four transforms, against R (tests/reference/zph, zph.R).

veteran (arm, karno, a 4-level factor: a 3-df term), colon (three arms: a 2-df term; Breslow),
gbsg (stratified by menopausal status, grade as a factor). Tolerance 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from walkback.design import CovariateSpec, build_design
from walkback.estimators import cox
from walkback.io import read_trial

HERE = Path(__file__).resolve().parent / "reference"
EXPECTED = json.loads((HERE / "zph" / "expected.json").read_text())
CASES = {
    "veteran": dict(
        file="veteran.csv",
        time="time",
        event="status",
        arm="trt",
        control="1",
        covs=["karno", "celltype"],
        ties="efron",
        strata=(),
    ),
    "colon": dict(
        file="colon.csv",
        time="time",
        event="status",
        arm="rx",
        control="Obs",
        covs=["age", "sex"],
        ties="breslow",
        strata=(),
    ),
    "gbsg": dict(
        file="gbsg.csv",
        time="rfstime",
        event="status",
        arm="hormon",
        control="0",
        covs=["age", "grade:1"],
        ties="efron",
        strata=("meno",),
    ),
}


def _fit(c):
    trial = read_trial(
        HERE / "subgroups" / "inputs" / c["file"],
        time_col=c["time"],
        event_col=c["event"],
        arm_col=c["arm"],
        control=c["control"],
        covariates=c["covs"],
        strata=c["strata"],
    )
    specs = [CovariateSpec.parse(s) for s in c["covs"]]
    design = build_design(trial.arm, trial.arms, trial.frame, specs, arm_name=trial.arm_col)
    fit = cox(trial.time, trial.event, design.x, trial.strata, names=design.names, ties=c["ties"])
    groups = {t.name: [design.names.index(col) for col in t.columns] for t in design.terms}
    return fit, groups


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
def test_zph_matches_r(case, transform):
    fit, groups = _fit(CASES[case])
    want = EXPECTED[case]["zph"][transform]
    got = fit.zph(transform, groups)
    rows = [*got["terms"], got["global"]]
    assert len(rows) == len(want)
    for g, w in zip(rows, want, strict=True):
        assert g["df"] == w["df"]
        assert g["chisq"] == pytest.approx(w["chisq"], rel=1e-6, abs=1e-10)
        assert g["p"] == pytest.approx(w["p"], rel=1e-6, abs=1e-14)


def test_single_term_ph_test_is_unchanged_and_bad_transform_refused():
    fit, groups = _fit(CASES["veteran"])
    assert fit.ph_test(0).chisq == pytest.approx(fit.zph("km")["terms"][0]["chisq"], rel=1e-12)
    with pytest.raises(ValueError, match="transform must be one of"):
        fit.zph("sqrt")
