"""(start, stop] data, recurrent events, weights, delayed entry and robust variances against R.

References: tests/reference/counting (counting.R; R survival's bladder2, cgd, heart, rhDNase in
counting form, mgus2 on the age scale, rotterdam with IPW weights, veteran with seeded frequency
weights and with a seeded entry time). Cox fits (arm alone and adjusted, Efron and Breslow, with
the case's strata, weights and cluster), Kaplan-Meier and Nelson-Aalen curves per arm with their
SEs (Greenwood or R's infinitesimal jackknife), medians, survival at three times, and the mean
cumulative function per arm. Tolerance 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkback.estimators import cox, kaplan_meier, mean_cumulative_function

HERE = Path(__file__).resolve().parent / "reference" / "counting"
EXPECTED = json.loads((HERE / "expected.json").read_text())
REL = 1e-6


def _data(case: str) -> tuple[pd.DataFrame, dict]:
    c = EXPECTED[case]["case"]
    return pd.read_csv(HERE / "inputs" / f"{case}.csv"), c


def _col(d: pd.DataFrame, c: dict, key: str):
    name = c.get(key)
    return None if name is None else d[name].to_numpy()


def _close(got, want, what: str) -> None:
    want = np.array([np.nan if v is None else v for v in np.atleast_1d(want)], dtype=float)
    got = np.atleast_1d(np.asarray(got, dtype=float))
    assert got.shape == want.shape, what
    both_nan = ~np.isfinite(got) & np.isnan(want)  # JSON null is R's NA, NaN or Inf
    ok = both_nan | (np.abs(got - want) <= REL * np.abs(want) + 1e-12)
    assert ok.all(), (
        f"{what}: first mismatch at {np.flatnonzero(~ok)[:3]}: {got[~ok][:3]} vs {want[~ok][:3]}"
    )


def _fit(case: str, r: dict):
    d, c = _data(case)
    arm = (d[c["arm"]].astype(str) != c["control"]).astype(float).to_numpy()
    x = arm[:, None] if r["model"] == "arm" else np.column_stack([arm, d[c["covs"]]])
    return cox(
        d[c["stop"]],
        d[c["event"]],
        x,
        _col(d, c, "strata"),
        entry=_col(d, c, "start"),
        weights=_col(d, c, "weights"),
        cluster=_col(d, c, "cluster"),
        ties=r["ties"],
    )


COX = [(case, i) for case in EXPECTED for i in range(len(EXPECTED[case]["cox"]))]


@pytest.mark.parametrize(("case", "i"), COX, ids=[f"{c}-{i}" for c, i in COX])
def test_cox_matches_r(case, i):
    r = EXPECTED[case]["cox"][i]
    fit = _fit(case, r)
    assert fit.robust == r["robust"]
    _close(fit.coef, r["coef"], "coef")
    _close(fit.se, r["se"], "se")
    _close(fit.se_model, r["se_model"], "se_model")
    _close([fit.loglik_null, fit.loglik], r["loglik"], "loglik")
    _close(fit.score_chisq, r["score"], "score")
    _close(fit.wald_chisq, r["wald"], "wald")
    if r["robust"]:
        _close(fit.robust_score_chisq, r["rscore"], "robust score")
    assert fit.n == r["n"] and fit.n_events == r["nevent"]


def _arms(case: str):
    d, c = _data(case)
    labels = d[c["arm"]].astype(str)
    for a in EXPECTED[case]["km"]:
        yield a, d[labels == a], c


KM = [(case, a) for case in EXPECTED for a in EXPECTED[case]["km"]]


@pytest.mark.parametrize(("case", "arm"), KM, ids=[f"{c}-{a}" for c, a in KM])
def test_survfit_matches_r(case, arm):
    d, c = next((dd, cc) for a, dd, cc in _arms(case) if a == arm)
    want = EXPECTED[case]["km"][arm]
    fit = kaplan_meier(
        d[c["stop"]],
        d[c["event"]],
        entry=_col(d, c, "start"),
        weights=_col(d, c, "weights"),
        id=_col(d, c, "id_col"),
        cluster=_col(d, c, "cluster") if c.get("cluster") != c.get("id_col") else None,
    )
    assert fit.robust == want["robust"]
    for ours, theirs in [
        ("time", "time"),
        ("n_risk", "n_risk"),
        ("n_event", "n_event"),
        ("n_censor", "n_censor"),
        ("survival", "surv"),
        ("std_err", "std_err"),
        ("lower", "lower"),
        ("upper", "upper"),
        ("cumhaz", "cumhaz"),
        ("std_chaz", "std_chaz"),
    ]:
        _close(getattr(fit, ours), want[theirs], theirs)
    m = fit.median
    _close(
        [m.estimate, m.lower, m.upper],
        [want["median"][k] for k in ("estimate", "lower", "upper")],
        "median",
    )
    at = fit.survival_at(EXPECTED[case]["times"])
    for k, col in [
        ("surv", "survival"),
        ("lower", "lower"),
        ("upper", "upper"),
        ("n_risk", "n_at_risk"),
    ]:
        _close(at[col], want["at"][k], f"at {k}")


MCF = [(case, a) for case in EXPECTED for a in EXPECTED[case].get("mcf", {})]


@pytest.mark.parametrize(("case", "arm"), MCF, ids=[f"{c}-{a}" for c, a in MCF])
def test_mcf_matches_r(case, arm):
    d, c = next((dd, cc) for a, dd, cc in _arms(case) if a == arm)
    want = EXPECTED[case]["mcf"][arm]
    m = mean_cumulative_function(
        d[c["stop"]], d[c["event"]], d[c["id_col"]], entry=d[c["start"]],
        weights=_col(d, c, "weights"),
    )  # fmt: skip
    _close(m.time, want["time"], "time")
    _close(m.n_risk, want["n_risk"], "n_risk")
    _close(m.mcf, want["cumhaz"], "cumhaz")
    _close(m.se, want["std_chaz"], "std_chaz")
    assert np.all(np.diff(m.mcf) >= 0) and np.all(m.lower <= m.mcf) and np.all(m.mcf <= m.upper)


def test_reference_covers_what_the_issue_asks():
    """Cluster-robust AG fits, weighted fits, left-truncated fits and curves are all present."""
    kinds = {
        "cluster": any(EXPECTED[c]["case"].get("cluster") for c in EXPECTED),
        "weights": any(EXPECTED[c]["case"].get("weights") for c in EXPECTED),
        "entry": sum(1 for c in EXPECTED if "start" in EXPECTED[c]["case"]) >= 5,
        "mcf": sum(1 for c in EXPECTED if "mcf" in EXPECTED[c]) >= 3,
        "robust_km": any(k["robust"] for c in EXPECTED for k in EXPECTED[c]["km"].values()),
    }
    assert all(kinds.values()), kinds
