"""Score test of proportional hazards, as R ``cox.zph``.

``cox.zph(fit, transform = "km")`` (the score test of survival >= 3.0 for adding g(t) * x, with g
the left-continuous Kaplan-Meier transform of time, centred over the events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback._typing import Ties
from walkback.estimators._partial_likelihood import derivatives
from walkback.estimators._risksets import RiskSets
from walkback.estimators.kaplan_meier import _km_kernel


@dataclass(frozen=True)
class PHTestResult:
    """Score test of proportional hazards for one term (R ``cox.zph``)."""

    term: str
    chisq: float
    df: int
    p: float
    transform: str = "km"

    def to_dict(self) -> dict:
        return {
            "term": self.term,
            "chisq": self.chisq,
            "df": self.df,
            "p": self.p,
            "transform": self.transform,
        }


def _km_time_transform(rs: RiskSets) -> np.ndarray:
    """1 - S(t-) of the pooled (unstratified) KM at each sorted row's time (cox.zph's "km")."""
    utime, inverse = np.unique(rs.time, return_inverse=True)
    n_at = np.bincount(inverse, minlength=utime.size)
    d = np.bincount(inverse, weights=rs.event, minlength=utime.size)
    n_risk = (rs.time.size - np.concatenate(([0], np.cumsum(n_at)[:-1]))).astype(float)
    surv, _ = _km_kernel(n_risk, d)
    s_left = np.concatenate(([1.0], surv))[inverse]  # S just before each row's own time
    return 1.0 - s_left


def zph_chisq(fit: dict, beta: np.ndarray, ties: Ties, j: int) -> float:
    rs: RiskSets = fit["rs"]
    x, rows, frac = fit["x"], fit["rows"], fit["frac"]
    p = x.shape[1]
    g_row = _km_time_transform(rs)
    ev = rs.event.astype(bool)
    g_row = g_row - g_row[ev].mean()
    _, _, _, a, v = derivatives(rs, x, beta, rows, frac, keep_parts=True)
    g = g_row[rs.group_start][rows]  # time weight for each event row
    u_g = (g_row[ev][:, None] * x[ev]).sum(axis=0) - (g[:, None] * a).sum(axis=0)
    i_bb = v.sum(axis=0)
    i_bg = (g[:, None, None] * v).sum(axis=0)
    i_gg = (g[:, None, None] ** 2 * v).sum(axis=0)
    imat = np.zeros((p + 1, p + 1))
    imat[:p, :p] = i_bb
    imat[:p, p] = i_bg[:, j]
    imat[p, :p] = i_bg[j, :]
    imat[p, p] = i_gg[j, j]
    u = np.zeros(p + 1)
    u[p] = u_g[j]
    return float(u @ np.linalg.solve(imat, u))
