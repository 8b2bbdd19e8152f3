"""Gray's (1988) test comparing the cumulative incidence of one cause between groups, as R
``cmprsk::cuminc(...)$Tests`` (Fortran ``crstm``/``crst``), optionally stratified.

The score for each group but the last is sum over times of w(t) (d_gk - d_k R_g / R), with
R_g = n_g(t) (1 - F_g(t-)) / S_g(t-) Gray's risk set and w = (1 - F(t-))^rho; its variance is
Gray's estimate. Strata add their scores and variances. The statistic s' V^-1 s is chi-square
on (groups - 1) df; a singular V gives NaN (``cuminc`` prints -1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from walkback.estimators._checks import check_codes, check_time
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators.competing._status import CAUSE, OTHER, cause_codes, code_text
from walkback.exceptions import EstimationError

__all__ = ["GrayTestResult", "gray_test"]


@dataclass(frozen=True)
class GrayTestResult:
    """Gray's test of equal cumulative incidence of ``cause`` across groups."""

    chisq: float
    df: int
    p: float
    score: np.ndarray
    var: np.ndarray
    cause: str
    rho: float
    groups: tuple
    stratified: bool

    def to_dict(self) -> dict:
        ok = np.isfinite(self.chisq)
        return {
            "chisq": float(self.chisq) if ok else None,
            "df": self.df,
            "p": float(self.p) if ok else None,
            "rho": self.rho,
            "cause": self.cause,
            "stratified": self.stratified,
        }


def _crst(time: np.ndarray, m: np.ndarray, g: np.ndarray, ng: int, rho: float):
    """Score and variance of one stratum (``crst``); ``time`` sorted, ``g`` in 0..ng-1."""
    ng1 = ng - 1
    rs = np.bincount(g, minlength=ng).astype(float)
    f1m = np.zeros(ng)
    skmm = np.ones(ng)
    skm = np.ones(ng)
    v3 = np.zeros(ng)
    v2 = np.zeros((ng1, ng))
    c = np.zeros((ng, ng))
    s = np.zeros(ng1)
    v = np.zeros((ng1, ng1))
    fm = 0.0
    utime, start = np.unique(time, return_index=True)
    stop = np.append(start[1:], time.size)
    for lo, hi in zip(start, stop, strict=True):
        gg, mm = g[lo:hi], m[lo:hi]
        d1 = np.bincount(gg[mm == CAUSE], minlength=ng).astype(float)
        d2 = np.bincount(gg[mm == OTHER], minlength=ng).astype(float)
        nd1, nd2 = d1.sum(), d2.sum()
        if nd1 > 0 or nd2 > 0:
            at = rs > 0
            skm = np.where(at, skmm * (rs - d1 - d2) / np.where(at, rs, 1.0), skm)
            f1 = np.where(at, f1m + skmm * d1 / np.where(at, rs, 1.0), f1m)
            h = np.where(at, rs / np.where(at, skmm, 1.0), 0.0)
            tr = h.sum()
            tq = np.sum(np.where(at, rs * (1.0 - f1m) / np.where(at, skmm, 1.0), 0.0))
            f = fm + nd1 / tr
            fb = (1.0 - fm) ** rho
            a = fb * (np.diag(h) - np.outer(h, h) / tr)
            c = c + np.where(a != 0, a * nd1 / (tr * (1.0 - fm)), 0.0)
            safe = np.where(at, skmm * tq, 1.0)
            s += np.where(at, fb * (d1 - nd1 * rs * (1.0 - f1m) / safe), 0.0)[:ng1]
            if nd1 > 0:
                for k in np.flatnonzero(at):
                    t4 = 1.0 - (1.0 - f) / skm[k] if skm[k] > 0 else 1.0
                    t5 = 1.0 - (nd1 - 1.0) / (tr * skmm[k] - 1.0) if nd1 > 1 else 1.0
                    t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                    v3[k] += t4 * t4 * t3
                    t1 = a[:ng1, k] - t4 * c[:ng1, k]
                    v2[:, k] += t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            if nd2 > 0:
                for k in np.flatnonzero((skm > 0) & (d2 > 0)):
                    t4 = (1.0 - f) / skm[k]
                    t5 = 1.0 - (d2[k] - 1.0) / (rs[k] - 1.0) if d2[k] > 1 else 1.0
                    t3 = t5 * skmm[k] ** 2 * d2[k] / rs[k] ** 2
                    v3[k] += t4 * t4 * t3
                    t1 = t4 * c[:ng1, k]
                    v2[:, k] -= t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            fm = f
            f1m = f1
            skmm = skm.copy()
        rs -= np.bincount(gg, minlength=ng)
    cc = c[:ng1]
    v += cc @ np.diag(v3) @ cc.T + cc @ v2.T + v2 @ cc.T
    return s, v


def gray_test(
    time,
    status,
    group,
    cause,
    censor=0,
    strata=None,
    *,
    rho: float = 0.0,
    timefix: bool = True,
) -> GrayTestResult:
    """Gray's k-sample test for the cumulative incidence of ``cause`` (R ``cuminc`` Tests).

    Parameters
    ----------
    time, status : array-like (n,)
        Follow-up times and status codes (``censor`` = censored, any other code a cause).
    group : array-like (n,)
        Group labels (two or more); groups are ordered as sorted labels (R's factor levels); the
        statistic does not depend on the order.
    cause, censor : codes
        The cause compared (it must occur) and the censoring code.
    strata : array-like (n,), optional
        Strata: scores and variances are computed within strata and summed (``cuminc(strata=)``).
    rho : float, default 0
        Power of the weight (1 - F(t-))^rho.
    timefix : bool, default True
        Merge near-tied times as R's ``aeqSurv`` (``cuminc`` compares times exactly).
    """
    t = check_time(time)
    n = t.size
    codes = cause_codes(status, n, cause, censor)
    gcodes, levels = check_codes(group, n, "group")
    if levels.size < 2:
        raise EstimationError("Gray's test needs at least two groups")
    scodes = np.zeros(n, dtype=np.int64) if strata is None else check_codes(strata, n, "strata")[0]
    if not np.isfinite(rho):
        raise ValueError(f"rho must be a finite number, got {rho!r}")
    if timefix:
        t = aeq_times(t)
    ng = int(levels.size)
    score = np.zeros(ng - 1)
    var = np.zeros((ng - 1, ng - 1))
    for st in np.unique(scodes):
        rows = np.flatnonzero(scodes == st)
        order = rows[np.argsort(t[rows], kind="stable")]
        s, v = _crst(t[order], codes[order], gcodes[order], ng, float(rho))
        score += s
        var += v
    if np.linalg.matrix_rank(var) < ng - 1:
        chisq = float("nan")
    else:
        chisq = float(score @ np.linalg.solve(var, score))
    return GrayTestResult(
        chisq=chisq,
        df=ng - 1,
        p=float(stats.chi2.sf(chisq, ng - 1)),
        score=score,
        var=var,
        cause=code_text(cause, "cause"),
        rho=float(rho),
        groups=tuple(levels.tolist()),
        stratified=strata is not None,
    )
