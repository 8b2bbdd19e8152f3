"""Fast start-up: `walkback analyze` imports neither scipy.stats nor numba; the replacements it
uses instead (closed-form distribution functions, numpy pair counting for the concordance) equal
what they replace."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from walkback.estimators import concordance

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "data" / "synthetic" / "walkback_twin.csv"
dist = importlib.import_module("walkback.estimators._dist")
conc_module = importlib.import_module("walkback.estimators.concordance")


def test_analyze_does_not_import_scipy_stats_or_numba():
    script = f"""
import sys
from walkback.cli import main
code = main(["analyze", {str(TWIN)!r}, "--time-col", "activity_limiting_days",
             "--event-col", "activity_limiting_event", "--arm-col", "arm",
             "--treatment", "intervention", "--control", "control", "--json"])
heavy = sorted(m for m in sys.modules if m in ("scipy.stats", "numba", "matplotlib"))
print("HEAVY", heavy, code, file=sys.stderr)
"""
    err = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stderr
    assert "HEAVY [] 0" in err


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8, 11])
def test_chi2_tail_equals_scipy(df):
    for x in np.r_[1e-6, np.linspace(0.01, 80, 300), 200.0, 600.0]:
        ref = stats.chi2.sf(x, df)
        assert dist.chi2_sf(x, df) == pytest.approx(ref, rel=1e-12, abs=1e-300)


def test_normal_functions_and_ranks_equal_scipy():
    x = np.linspace(-8, 30, 500)
    np.testing.assert_allclose(dist.norm_sf(x), stats.norm.sf(x), rtol=1e-12)
    for p in (1e-10, 0.025, 0.5, 0.975, 1 - 1e-10):
        assert dist.norm_ppf(p) == pytest.approx(stats.norm.ppf(p), rel=1e-14)
    rng = np.random.default_rng(3)
    for _ in range(50):
        v = rng.integers(0, 9, rng.integers(1, 40)).astype(float)
        np.testing.assert_array_equal(dist.average_ranks(v), stats.rankdata(v))


def test_concordance_numpy_and_compiled_paths_agree(monkeypatch):
    rng = np.random.default_rng(5)
    cases = []
    for k in range(40):
        n = int(rng.integers(5, 200))
        t = rng.integers(1, 25, n).astype(float)
        e = rng.integers(0, 2, n)
        x = rng.integers(0, 4, n).astype(float) if k % 2 else rng.normal(size=n)
        s = rng.integers(0, 3, n) if k % 3 == 0 else None
        cases.append((t, e, x, s))
    small = [concordance(*c[:3], c[3]) for c in cases]
    monkeypatch.setattr(conc_module, "NUMPY_MAX_ROWS", 0)  # force the compiled kernel
    large = [concordance(*c[:3], c[3]) for c in cases]
    assert small == large  # whole-number pair counts: bit-identical
