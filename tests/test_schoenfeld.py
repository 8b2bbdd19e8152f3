"""Scaled Schoenfeld residuals, their smooth and the plot, against R (tests/reference/zph/plot.json,
zph_plot.R): cox.zph's x, time, y and var, and what plot.cox.zph draws (the natural-spline smooth,
its +/- 2 SE band and the time-labelled x axis), on veteran (km), colon with three arms (rank,
Breslow), gbsg stratified (identity) and veteran (log). Tolerance 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from walkback.analysis import analyze
from walkback.io import read_trial

matplotlib.use("Agg")

REF = Path(__file__).resolve().parent / "reference"
EXPECTED = json.loads((REF / "zph" / "plot.json").read_text())
CASES = {
    "veteran": ("veteran.csv", "time", "trt", "1", ["karno", "celltype"], (), "efron"),
    "colon": ("colon.csv", "time", "rx", "Obs", ["age", "sex"], (), "breslow"),
    "gbsg": ("gbsg.csv", "rfstime", "hormon", "0", ["age", "grade:1"], ("meno",), "efron"),
    "veteran_log": ("veteran.csv", "time", "trt", "1", ["karno"], (), "breslow"),
}


def _fit(case):
    file, time, arm, control, covs, strata, ties = CASES[case]
    trial = read_trial(
        REF / "subgroups" / "inputs" / file, time_col=time, event_col="status", arm_col=arm,
        control=control, covariates=covs, strata=strata,
    )  # fmt: skip
    return analyze(trial, covariates=covs, ties=ties).cox


def _close(got, want, what):
    """1e-6 relative, and 1e-6 of the array's scale absolute: a residual near 0 carries the
    rounding of its neighbours (the fit's convergence, ~1e-9 relative), not its own."""
    want = np.array([np.nan if w is None else w for w in np.atleast_1d(want)], dtype=float)
    atol = 1e-6 * np.nanmax(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=atol, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("case", sorted(CASES))
def test_scaled_residuals_and_smooth_match_r(case):
    from walkback.estimators.schoenfeld import zph_smooth

    want = EXPECTED[case]
    res = _fit(case).schoenfeld(want["transform"])
    _close(res.x, want["x"], "x")
    _close(res.time, want["time"], "time")
    assert len(res.terms) == len(want["terms"])
    for i, (term, w) in enumerate(zip(res.terms, want["terms"], strict=True)):
        _close(res.y[:, i], w["y"], f"{term} y")
        _close(res.var[i, i], w["var"], f"{term} var")
        sm = zph_smooth(res, term)
        for key in ("x", "fit", "upper", "lower"):
            _close(getattr(sm, key), w["smooth"][key], f"{term} smooth {key}")


@pytest.mark.parametrize("case", ["veteran", "colon"])
def test_plot_draws_rs_residuals_smooth_band_and_time_axis(case):
    import matplotlib.pyplot as plt

    from walkback.plotting import schoenfeld_plot

    want = EXPECTED[case]
    fit = _fit(case)
    panels = schoenfeld_plot(fit, transform=want["transform"], time_unit="days")
    try:
        assert [p.term for p in panels] == list(fit.schoenfeld().terms)
        for p, w in zip(panels, want["terms"], strict=True):
            # the points drawn are R's scaled residuals, the lines R's smooth and band
            line = p.artists["residuals"]
            _close(line.get_ydata(), [v for v in w["y"] if v is not None], "points")
            _close(p.artists["smooth"].get_ydata(), w["smooth"]["fit"], "smooth")
            band = p.artists["band"].get_paths()[0].vertices[:, 1]
            assert band.min() == pytest.approx(min(w["smooth"]["lower"]), rel=1e-6)
            assert band.max() == pytest.approx(max(w["smooth"]["upper"]), rel=1e-6)
            # x ticks where R puts them, labelled with R's rounded times
            _close(p.ticks, want["axis"]["at"], "tick positions")
            assert [float(t.get_text()) for t in p.ax.get_xticklabels()] == [
                float(s) for s in want["axis"]["labels"]
            ]
            assert p.ax.get_xlabel() == "Time, days"
            assert p.ax.get_title(loc="left").startswith(f"{p.term}: cox.zph chi-square")
    finally:
        plt.close("all")


def test_plot_takes_axes_and_checks_terms():
    import matplotlib.pyplot as plt

    from walkback.plotting import schoenfeld_plot

    fit = _fit("veteran_log")
    fig, ax = plt.subplots()
    try:
        (panel,) = schoenfeld_plot(fit, ax, transform="log", terms=["karno"])
        assert panel.ax is ax and ax.get_xscale() == "log"
        _close(panel.smooth_x, np.exp(EXPECTED["veteran_log"]["terms"][1]["smooth"]["x"]), "x")
        assert panel.coef == pytest.approx(fit.coef[fit.terms.index("karno")])
        with pytest.raises(ValueError, match="unknown term 'age'"):
            schoenfeld_plot(fit, ax, terms=["age"])
        with pytest.raises(ValueError, match="got 1 axes for 2 terms"):
            schoenfeld_plot(fit, ax)
    finally:
        plt.close(fig)
