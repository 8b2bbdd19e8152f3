"""Peers' cases with delayed entry, (start, stop] rows and weights, which walkback now runs.

statsmodels ships R survival results for Cox models with entry times, with and without strata
(statsmodels/duration/tests/results: survival.R wrote survival_r_results.py, 7 significant
digits), on five data files; its own suite compares at 1e-3. lifelines' CoxTimeVaryingFitter
fits (start, stop] rows with Efron ties and case weights (model-based SE).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkback.estimators import cox

R = importlib.import_module("statsmodels.duration.tests.results.survival_r_results")
DATA = Path(R.__file__).resolve().parent
FILES = ["20_1", "50_1", "50_2", "100_5", "1000_10"]
COUNTING = Path(__file__).resolve().parent / "reference" / "counting" / "inputs"


@pytest.mark.parametrize("size", FILES)
@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("stratified", [False, True])
def test_statsmodels_r_results_with_entry_times(size, ties, stratified):
    d = pd.read_csv(DATA / f"survival_data_{size}.csv", delimiter=" ", header=None).to_numpy()
    time, status, entry, x = d[:, 0], d[:, 1].astype(int), d[:, 2], d[:, 3:]
    n = time.size
    strata = np.kron(range(5), np.ones(n // 5)) if stratified else None  # as survival.R
    fit = cox(time, status, x, strata, entry=entry, ties=ties)
    tag = f"{size}_{'et_st' if stratified else 'et'}_{ties[:3]}"
    # R's numbers are printed to 7 significant digits: rounding is below 1e-6 relative
    np.testing.assert_allclose(fit.coef, getattr(R, f"coef_{tag}"), rtol=1e-6)
    np.testing.assert_allclose(fit.se, getattr(R, f"se_{tag}"), rtol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_lifelines_time_varying_fitter(weighted):
    from lifelines import CoxTimeVaryingFitter

    d = pd.read_csv(COUNTING / ("cgd_weighted.csv" if weighted else "cgd.csv"))
    d["arm"] = (d.treat == "rIFN-g").astype(float)
    cols = ["id", "arm", "age", "tstart", "tstop", "status"] + (["w"] if weighted else [])
    ctv = CoxTimeVaryingFitter().fit(
        d[cols], id_col="id", event_col="status", start_col="tstart", stop_col="tstop",
        weights_col="w" if weighted else None,
    )  # fmt: skip
    w = d.w.to_numpy() if weighted else None
    ours = cox(d.tstop, d.status, d[["arm", "age"]].to_numpy(float), entry=d.tstart, weights=w)
    np.testing.assert_allclose(ours.coef, ctv.params_[["arm", "age"]], rtol=1e-6)
    np.testing.assert_allclose(ours.se_model, ctv.standard_errors_[["arm", "age"]], rtol=1e-6)
