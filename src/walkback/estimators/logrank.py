"""Two-group log-rank test, optionally stratified.

Equals R ``survdiff(Surv(t, e) ~ arm [+ strata(s)])``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from walkback.estimators._risksets import build_risk_sets


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank statistic with observed and expected events per group (summed over strata)."""

    chisq: float
    p: float
    observed: tuple[float, float]  # (treatment, control)
    expected: tuple[float, float]
    variance: float
    stratified: bool

    def to_dict(self) -> dict:
        return {
            "chisq": self.chisq,
            "p": self.p,
            "observed": {"treatment": self.observed[0], "control": self.observed[1]},
            "expected": {"treatment": self.expected[0], "control": self.expected[1]},
            "settings": {"stratified": self.stratified},
        }


def logrank(time, event, group, strata=None) -> LogRankResult:
    """Log-rank test comparing ``group == 1`` (treatment) with ``group == 0``.

    Uses the hypergeometric variance n1 n0 d (n - d) / (n^2 (n - 1)) at each event time, summed
    within and then over strata; the statistic is (O1 - E1)^2 / V on 1 degree of freedom.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(np.int64)
    grp = np.asarray(group).astype(bool)
    rs = build_risk_sets(t, e, None if strata is None else np.asarray(strata))
    x = grp[rs.order].astype(float)
    ev = rs.event.astype(float)
    n = rs.n_risk.astype(float)
    n1 = rs.risk_sum(x)
    d = rs.n_event.astype(float)
    d1 = rs.group_sum(x * ev)
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = np.where(d > 0, n1 * d / n, 0.0)
        v = np.where((d > 0) & (n > 1), n1 * (n - n1) * d * (n - d) / (n * n * (n - 1)), 0.0)
    o1, ex1, var = float(d1.sum()), float(e1.sum()), float(v.sum())
    total = float(d.sum())
    chisq = (o1 - ex1) ** 2 / var if var > 0 else float("nan")
    return LogRankResult(
        chisq=chisq,
        p=float(stats.chi2.sf(chisq, 1)) if var > 0 else float("nan"),
        observed=(o1, total - o1),
        expected=(ex1, total - ex1),
        variance=var,
        stratified=strata is not None,
    )
