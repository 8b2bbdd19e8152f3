"""Score test of proportional hazards, as R ``cox.zph``.

``cox.zph(fit, transform = "km")`` (the score test of survival >= 3.0 for adding g(t) * x, with g
the left-continuous Kaplan-Meier transform of time, centred over the events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback._typing import Ties
from walkback.estimators._dist import average_ranks
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


#: cox.zph's time transforms
ZPH_TRANSFORMS = ("km", "rank", "identity", "log")


def _time_transform(rs: RiskSets, transform: str) -> np.ndarray:
    """g(t) at each sorted row, over all rows as R ``cox.zph`` (KM pooled over strata)."""
    if transform == "km":
        return _km_time_transform(rs)
    if transform == "rank":
        return average_ranks(rs.time)  # average ranks of all times, as R's rank()
    if transform == "identity":
        return rs.time.astype(float)
    if transform == "log":
        if np.any(rs.time <= 0):
            raise ValueError("transform 'log' needs every time > 0; use 'km' or 'rank'")
        return np.log(rs.time)
    raise ValueError(f"transform must be one of {ZPH_TRANSFORMS}, got {transform!r}")


def zph_parts(fit: dict, beta: np.ndarray, transform: str = "km"):
    """Score u (2p) and information (2p x 2p) of adding x * g(t) to the fitted model."""
    rs: RiskSets = fit["rs"]
    x, rows, frac = fit["x"], fit["rows"], fit["frac"]
    p = x.shape[1]
    g_row = _time_transform(rs, transform)
    ev = rs.event.astype(bool)
    g_row = g_row - g_row[ev].mean()
    _, _, _, a, v = derivatives(rs, x, beta, rows, frac, keep_parts=True)
    g = g_row[rs.group_start][rows]  # time weight for each event row
    u_g = (g_row[ev][:, None] * x[ev]).sum(axis=0) - (g[:, None] * a).sum(axis=0)
    imat = np.zeros((2 * p, 2 * p))
    imat[:p, :p] = v.sum(axis=0)
    imat[:p, p:] = (g[:, None, None] * v).sum(axis=0)
    imat[p:, :p] = imat[:p, p:].T
    imat[p:, p:] = (g[:, None, None] ** 2 * v).sum(axis=0)
    return np.concatenate((np.zeros(p), u_g)), imat


def zph_score(u: np.ndarray, imat: np.ndarray, columns) -> float:
    """Score test of the x * g(t) coefficients of ``columns`` (R cox.zph's per-term test)."""
    p = u.size // 2
    kk = np.concatenate((np.arange(p), p + np.asarray(columns, dtype=np.int64)))
    uu = u[kk]
    return float(uu @ np.linalg.solve(imat[np.ix_(kk, kk)], uu))


def zph_chisq(fit: dict, beta: np.ndarray, ties: Ties, j: int) -> float:
    u, imat = zph_parts(fit, beta, "km")
    return zph_score(u, imat, [j])
