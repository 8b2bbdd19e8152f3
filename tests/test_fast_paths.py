"""Fast paths equal the general code they stand in for, exactly (not within a tolerance)."""

from __future__ import annotations

import importlib

import numpy as np

from walkback.estimators import kaplan_meier
from walkback.estimators.kaplan_meier import kaplan_meier_days

KM = importlib.import_module("walkback.estimators.kaplan_meier")


def _general_findq(x, y, p, tol=KM.QUANTILE_TOL):
    """R's findq as the general path computes it (unique values, sorted look-ups)."""
    finite = y[~np.isnan(y)]
    if finite.size == 0 or finite.max() < p:
        return float("nan")
    xmax = x[-1]
    keep = np.zeros(y.size, dtype=bool)
    keep[np.unique(y, return_index=True, equal_nan=True)[1]] = True
    x, y = x[keep], y[keep]
    if p == 0:
        return float(x[0])
    i1 = KM._approx_const_right(y + tol, p)
    i2 = KM._approx_const_right(y - tol, p)
    quant = np.nan if (i1 < 0 or i2 < 0) else (x[i1] + x[i2]) / 2.0
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        quant = np.nan if i1 < 0 else (x[i1] + xmax) / 2.0
    return float(quant)


def test_quantiles_of_monotone_curves_equal_the_general_rule():
    """Curves and bands that never rise skip the sorting; flat stretches at exactly 0.5 (n = 4,
    two events) included."""
    rng = np.random.default_rng(3)
    compared = 0
    for _ in range(1500):
        m = int(rng.integers(1, 40))
        t = rng.integers(0, 100, m).astype(float)
        e = (rng.random(m) < 0.7).astype(float)
        for ct in ("log", "log-log", "plain"):
            km = kaplan_meier(t, e, conf_type=ct)
            x = np.concatenate(([0.0], km.time))
            for arr in (km.survival, km.lower, km.upper):
                y = np.concatenate(([0.0], 1 - arr))
                for p in (0.5, 0.25, 0.75, 0.0, 1.0, float(rng.random())):
                    a, b = _general_findq(x, y, p), KM._findq(x, y, p)
                    assert (np.isnan(a) and np.isnan(b)) or a == b
                    compared += 1
    assert compared > 50_000


def test_whole_day_curves_equal_kaplan_meier():
    """The twin's arm builder reads its curve from day counts (kaplan_meier_days)."""
    rng = np.random.default_rng(1)
    for _ in range(400):
        n = int(rng.integers(1, 60))
        t = rng.integers(0, int(rng.integers(1, 400)), n)
        e = rng.random(n) < rng.random()
        for ct in ("log", "log-log", "plain"):
            a = kaplan_meier(t.astype(float), e.astype(float), conf_type=ct)
            b = kaplan_meier_days(t, e, ct, 0.95)
            for f in ("time", "survival", "std_err", "lower", "upper", "n_risk", "n_event"):
                assert np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True), f
            ma, mb = a.median, b.median
            assert np.array_equal(
                [ma.estimate, ma.lower, ma.upper], [mb.estimate, mb.lower, mb.upper], equal_nan=True
            )
            q = rng.random(3) * 400
            for x, y in zip(a.survival_ci_at(q), b.survival_ci_at(q), strict=True):
                assert np.array_equal(x, y, equal_nan=True)
