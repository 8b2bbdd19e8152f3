"""The few distribution functions the estimators need, from the standard library's ``math``:
importing ``scipy.stats`` costs a command's start-up about a second, more than the analysis.

Exact closed forms (to double precision): the normal tail by ``erfc``, its quantile by
``statistics.NormalDist`` (Wichura's AS241), and the chi-squared tail for whole degrees of
freedom by the finite series of the regularised incomplete gamma function:
Q(k/2, x/2) = exp(-x/2) sum_{j<k/2} (x/2)^j / j! for even k, and
erfc(sqrt(x/2)) + exp(-x/2) sum_{j=1}^{(k-1)/2} (x/2)^(j-1/2) / Gamma(j+1/2) for odd k.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_N = NormalDist()


def norm_sf(x):
    """P(Z > x) for a standard normal Z; a float for a scalar, an array for an array."""
    if np.ndim(x) == 0:
        return 0.5 * math.erfc(float(x) / math.sqrt(2.0))
    a = np.asarray(x, dtype=float)
    return np.array([0.5 * math.erfc(v / math.sqrt(2.0)) for v in a.ravel()]).reshape(a.shape)


def norm_ppf(p: float) -> float:
    """The standard normal quantile at ``p`` (0 < p < 1)."""
    return _N.inv_cdf(float(p))


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for X chi-squared with ``df`` degrees of freedom (whole df from the series;
    others from scipy)."""
    x = float(x)
    if math.isnan(x) or math.isnan(df):
        return math.nan
    if x <= 0:
        return 1.0
    if x == math.inf:
        return 0.0
    if df != int(df) or df < 1:
        from scipy import stats

        return float(stats.chi2.sf(x, df))
    k, h = int(df), x / 2.0
    if k % 2 == 0:
        term, total = 1.0, 1.0
        for j in range(1, k // 2):
            term *= h / j
            total += term
        return float(math.exp(-h) * total) if h < 745 else 0.0
    total = math.erfc(math.sqrt(h))
    term = math.sqrt(h) / math.gamma(1.5)  # (x/2)^(1/2) / Gamma(3/2)
    for j in range(1, (k - 1) // 2 + 1):
        if j > 1:
            term *= h / (j - 0.5)
        total += math.exp(-h) * term
    return float(total)


def average_ranks(x) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (R's ``rank()``, scipy's ``rankdata``)."""
    a = np.asarray(x, dtype=float)
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    first = np.r_[True, s[1:] != s[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0  # mean of ranks start+1 .. end
    out = np.empty(a.size)
    out[order] = avg[group]
    return out
