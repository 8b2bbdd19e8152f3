"""Invariants of the (start, stop], weighted and clustered kernels, and their argument checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkback.estimators import (
    cox,
    kaplan_meier,
    logrank,
    logrank_k,
    mean_cumulative_function,
)
from walkback.exceptions import DataError, EstimationError

HERE = Path(__file__).resolve().parent / "reference"
VET = pd.read_csv(HERE / "counting" / "inputs" / "veteran_freq.csv")
BLADDER = pd.read_csv(HERE / "counting" / "inputs" / "bladder2.csv")


def _vet():
    return VET.time.to_numpy(float), VET.status.to_numpy(), (VET.trt == 2).to_numpy(float)


def test_entry_zero_and_unit_weights_equal_the_right_censored_fit():
    t, e, x = _vet()
    plain = cox(t, e, x)
    for kw in (dict(entry=np.zeros(t.size)), dict(weights=np.ones(t.size))):
        other = cox(t, e, x, **kw)
        np.testing.assert_allclose(other.coef, plain.coef, rtol=1e-10)
        np.testing.assert_allclose(other.se, plain.se, rtol=1e-10)
        assert other.loglik == pytest.approx(plain.loglik, rel=1e-12)
    km = kaplan_meier(t, e)
    km2 = kaplan_meier(t, e, entry=np.zeros(t.size) - 0.0, weights=np.ones(t.size))
    np.testing.assert_allclose(km2.survival, km.survival, rtol=1e-13)
    np.testing.assert_allclose(km2.std_err, km.std_err, rtol=1e-12)
    np.testing.assert_array_equal(km2.n_risk, km.n_risk)


def test_time_zero_events_are_at_risk_without_entry():
    t, e, x = _vet()
    t = t.copy()
    t[:5] = 0.0  # events at time 0: at risk at 0 in right-censored data, as R
    plain = cox(t, e, x)
    weighted = cox(t, e, x, weights=np.ones(t.size))
    assert weighted.loglik == pytest.approx(plain.loglik, rel=1e-12)
    np.testing.assert_allclose(weighted.coef, plain.coef, rtol=1e-10)
    km = kaplan_meier(t, e, weights=np.ones(t.size))
    np.testing.assert_allclose(km.survival, kaplan_meier(t, e).survival, rtol=1e-13)


def test_integer_weights_equal_repeated_rows():
    t, e, x = _vet()
    w = VET.freq.to_numpy()
    rep = np.repeat(np.arange(t.size), w)
    # Breslow only: Efron treats a weighted row as one tied event, not w of them (as R)
    a = cox(t, e, x, weights=w, ties="breslow")
    b = cox(t[rep], e[rep], x[rep], ties="breslow")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-9)
    np.testing.assert_allclose(a.se_model, b.se, rtol=1e-9)
    assert not a.robust
    assert cox(t, e, x, weights=w).coef[0] != pytest.approx(cox(t[rep], e[rep], x[rep]).coef[0])
    ka, kb = kaplan_meier(t, e, weights=w), kaplan_meier(t[rep], e[rep])
    np.testing.assert_allclose(ka.survival, kb.survival, rtol=1e-12)
    np.testing.assert_allclose(ka.std_err, kb.std_err, rtol=1e-12)


def test_zero_weight_rows_are_left_out():
    t, e, x = _vet()
    w = np.ones(t.size)
    w[::7] = 0.0
    keep = w > 0
    a = cox(t, e, x, weights=w, ties="breslow")  # Efron counts zero-weight ties too, as R
    b = cox(t[keep], e[keep], x[keep], ties="breslow")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-9)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    ka, kb = kaplan_meier(t, e, weights=w), kaplan_meier(t[keep], e[keep])
    np.testing.assert_allclose(ka.survival[ka.n_event > 0], kb.survival[kb.n_event > 0])


def test_robust_fit_does_not_depend_on_row_order_or_time_scale():
    b = BLADDER
    x = b[["rx", "size", "number"]].to_numpy(float)
    fit = cox(b.stop, b.event, x, entry=b.start, cluster=b.id)
    perm = np.random.default_rng(3).permutation(len(b))
    bp = b.iloc[perm]
    f2 = cox(bp.stop * 7.0, bp.event, x[perm], entry=bp.start * 7.0, cluster=bp.id.astype(str))
    np.testing.assert_allclose(f2.coef, fit.coef, rtol=1e-9)
    np.testing.assert_allclose(f2.se, fit.se, rtol=1e-9)
    assert fit.robust and fit.n_clusters == b.id.nunique()
    assert np.all(fit.se != fit.se_model)


def test_timefix_merges_near_ties_in_start_and_stop():
    b = BLADDER
    x = b.rx.to_numpy(float)
    nudged_stop = b.stop.to_numpy(float) * (1 + 1e-12)
    nudged_start = b.start.to_numpy(float) * (1 + 1e-12)
    base = cox(b.stop, b.event, x, entry=b.start, cluster=b.id)
    fixed = cox(nudged_stop, b.event, x, entry=nudged_start, cluster=b.id)
    assert fixed.coef[0] == pytest.approx(base.coef[0], rel=1e-9)
    # without timefix each nudged stop is a different time from the next row's start
    raw = cox(nudged_stop, b.event, x, entry=b.start, cluster=b.id, timefix=False)
    assert raw.coef[0] != pytest.approx(base.coef[0], rel=1e-6)


def test_mcf_is_the_nelson_aalen_of_all_rows():
    b = BLADDER[BLADDER.rx == 1]
    m = mean_cumulative_function(b.stop, b.event, b.id, entry=b.start)
    km = kaplan_meier(b.stop, b.event, entry=b.start, id=b.id)
    np.testing.assert_allclose(m.mcf, km.cumhaz, rtol=1e-14)
    at = m.at([0.5, 10, 1e6])
    assert at.mcf.iloc[0] == 0 and at.mcf.iloc[2] == m.mcf[-1]
    assert m.n_participants == b.id.nunique()


def test_bad_arguments_are_refused():
    t, e, x = _vet()
    with pytest.raises(DataError, match="must be < the stop time"):
        cox(t, e, x, entry=t)
    with pytest.raises(DataError, match="weights must be >= 0"):
        kaplan_meier(t, e, weights=-np.ones(t.size))
    with pytest.raises(DataError, match="at least one weight"):
        cox(t, e, x, weights=np.zeros(t.size))
    with pytest.raises(EstimationError, match="survdiff"):
        logrank(t, e, x, weights=np.ones(t.size))
    with pytest.raises(EstimationError, match="survdiff"):
        logrank_k(t, e, x, entry=np.zeros(t.size))
    b = BLADDER
    start = b.start.to_numpy(float).copy()
    second = int(np.flatnonzero(b.start.to_numpy() > 0)[0])  # a participant's second row
    start[second] = 0.0  # now overlaps the first
    with pytest.raises(DataError, match="overlap"):
        mean_cumulative_function(b.stop, b.event, b.id, entry=start)
    fit = cox(b.stop, b.event, b.rx, entry=b.start)
    with pytest.raises(EstimationError, match="not available"):
        fit.zph()


def test_mcf_plot_draws_each_arm_from_the_data(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from walkback.plotting import mcf_plot, style

    curves = {
        str(a): mean_cumulative_function(g.stop, g.event, g.id, entry=g.start)
        for a, g in BLADDER.groupby("rx")
    }
    with style():
        out = mcf_plot(curves, xlabel="Months")
    ys = out.lines["1"].get_ydata()
    assert ys[0] == 0 and ys[-1] == pytest.approx(curves["1"].mcf[-1])
    assert set(out.bands) == {"1", "2"} and out.ax.get_xlabel() == "Months"
    assert [t.get_text() for t in out.ax.get_legend().get_texts()] == ["1", "2"]
    out.ax.figure.savefig(tmp_path / "mcf.png")
    plt.close(out.ax.figure)
