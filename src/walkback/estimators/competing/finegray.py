"""Fine-Gray proportional subdistribution hazards model, as R ``cmprsk::crr`` (cmprsk 2.2).

Conventions (read from crr's R code and Fortran ``crrfsv``/``crrvv``):

* risk set at a cause time t: everyone still followed (time >= t), plus those who failed from
  another cause before t, weighted by G(t-)/G(s-), G the Kaplan-Meier curve of censoring (one
  censoring group) read just before each time; censored rows leave the risk set;
* tied cause times enter as Breslow's (d log S0); the pseudo log-likelihood is maximised by crr's
  Newton-Raphson from beta = 0 with its backtracking line search and convergence rule
  (max |score| max(|beta|, 1) < max(|loglik|, 1) gtol, gtol = 1e-6, at most 10 iterations);
* the variance is crr's sandwich I^-1 (sum of eta_i + psi_i squared) I^-1, psi being the
  contribution of estimating G; Wald CI exp(b -/+ z se) and p = 2 (1 - Phi(|b| / se)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from walkback.estimators._checks import _error, check_time
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators._wald import WaldRatios
from walkback.estimators.competing._status import CAUSE, CENSORED, OTHER, cause_codes, code_text
from walkback.estimators.kaplan_meier import kaplan_meier
from walkback.exceptions import ConvergenceError, EstimationError

__all__ = ["FineGrayResult", "fine_gray"]

_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class FineGrayResult(WaldRatios):
    """A fitted Fine-Gray model; the first term is the one reported as the subdistribution HR."""

    terms: tuple[str, ...]
    coef: np.ndarray
    var: np.ndarray
    information: np.ndarray
    loglik: float
    loglik_null: float
    iterations: int
    n: int
    n_events: int
    n_competing: int
    cause: str
    conf_level: float

    @property
    def wald_p(self) -> np.ndarray:
        """Two-sided Wald p-value of each coefficient (crr's ``2 (1 - pnorm(|b| / se))``)."""
        return 2.0 * stats.norm.sf(np.abs(self.coef / self.se))

    def summary(self) -> pd.DataFrame:
        ci = self.conf_int()
        return pd.DataFrame(
            {
                "term": self.terms,
                "coef": self.coef,
                "se": self.se,
                "hazard_ratio": self.hazard_ratio,
                "lower": ci[:, 0],
                "upper": ci[:, 1],
                "p": self.wald_p,
            }
        )

    def to_dict(self) -> dict:
        """The first term: estimate (subdistribution HR), CI, p, coef and se."""
        ci = self.conf_int()
        return {
            "estimate": float(self.hazard_ratio[0]),
            "lower": float(ci[0, 0]),
            "upper": float(ci[0, 1]),
            "p": float(self.wald_p[0]),
            "coef": float(self.coef[0]),
            "se": float(self.se[0]),
            "term": self.terms[0],
            "loglik": self.loglik,
            "loglik_null": self.loglik_null,
            "iterations": self.iterations,
            "conf_level": self.conf_level,
        }


def censoring_weights(time: np.ndarray, codes: np.ndarray, timefix: bool) -> np.ndarray:
    """G(t-) for each (sorted) row: the Kaplan-Meier curve of censoring just before its time,
    read as crr does (``approx(..., xout = t (1 - 100 eps), method = "constant")``)."""
    km = kaplan_meier(time, (codes == CENSORED).astype(np.int64), timefix=timefix)
    knots = np.concatenate(
        ([min(0.0, km.time[0]) - 10 * _EPS], km.time, [km.time[-1] * (1 + 10 * _EPS)])
    )
    values = np.concatenate(([1.0], km.survival, [0.0]))
    idx = np.searchsorted(knots, time * (1 - 100 * _EPS), side="right") - 1
    return values[np.clip(idx, 0, None)]


def _cumsum0(a: np.ndarray) -> np.ndarray:
    """Cumulative sums along the first axis with a leading zero row: entry i sums rows < i."""
    return np.concatenate((np.zeros((1,) + a.shape[1:]), np.cumsum(a, axis=0)))


class _Data:
    """Sorted rows and the per-cause-time bookkeeping of crr."""

    def __init__(self, t: np.ndarray, codes: np.ndarray, x: np.ndarray, g: np.ndarray):
        self.t, self.codes, self.x, self.g = t, codes, x, g
        self.other = codes == OTHER
        fail = codes == CAUSE
        self.tau = np.unique(t[fail])
        self.first = np.searchsorted(t, self.tau, side="left")  # first row of each tie block
        self.d = np.bincount(np.searchsorted(self.tau, t[fail]), minlength=self.tau.size)
        self.g_tau = g[self.first]
        self.x_fail_sum = x[fail].sum(axis=0)

    def sums(self, b: np.ndarray):
        """S0, S1, S2 over the weighted risk set at each cause time."""
        x = self.x
        e = np.exp(x @ b)
        ex = e[:, None] * x
        exx = ex[:, :, None] * x[:, None, :]

        def at_or_after(a):  # sum over rows with time >= tau: reverse cumulative sums
            rc = np.cumsum(a[::-1], axis=0)[::-1]
            return rc[self.first]

        def before_other(a):  # sum over other-cause rows with time < tau, divided by G(s-)
            w = np.where(self.other, 1.0 / self.g, 0.0).reshape((-1,) + (1,) * (a.ndim - 1))
            return _cumsum0(a * w)[self.first]

        gt1 = self.g_tau[:, None]
        s0 = at_or_after(e) + self.g_tau * before_other(e)
        s1 = at_or_after(ex) + gt1 * before_other(ex)
        s2 = at_or_after(exx) + gt1[:, :, None] * before_other(exx)
        return s0, s1, s2

    def objective(self, b: np.ndarray):
        """Negative pseudo log-likelihood, its gradient and Hessian (crr's ``crrfsv``)."""
        s0, s1, s2 = self.sums(b)
        ebar = s1 / s0[:, None]
        f = -float(self.x_fail_sum @ b) + float(np.sum(self.d * np.log(s0)))
        grad = -self.x_fail_sum + (self.d[:, None] * ebar).sum(axis=0)
        hess = np.einsum(
            "k,kij->ij", self.d, s2 / s0[:, None, None] - ebar[:, :, None] * ebar[:, None, :]
        )
        return f, grad, hess, (s0, ebar)

    def value(self, b: np.ndarray) -> float:
        s0 = self.sums(b)[0]
        return -float(self.x_fail_sum @ b) + float(np.sum(self.d * np.log(s0)))

    def score_terms(self, b: np.ndarray, s0: np.ndarray, ebar: np.ndarray) -> np.ndarray:
        """eta_i + psi_i per row (crr's ``crrvv``): the score of row i and the part from G."""
        t, x, codes, g = self.t, self.x, self.codes, self.g
        e = np.exp(x @ b)
        da = self.d / s0
        # eta: dN part minus the integral of the row's weighted at-risk indicator against dLambda
        k_le = np.searchsorted(self.tau, t, side="right")  # cause times <= t_i
        a0, a1 = _cumsum0(da)[k_le], _cumsum0(da[:, None] * ebar)[k_le]
        dg = da * self.g_tau
        c0_all = np.concatenate((np.cumsum(dg[::-1])[::-1], [0.0]))
        c1_all = np.concatenate(
            (np.cumsum((dg[:, None] * ebar)[::-1], axis=0)[::-1], np.zeros((1, x.shape[1])))
        )
        c0, c1 = c0_all[k_le], c1_all[k_le]  # cause times > t_i
        eta = -e[:, None] * (x * a0[:, None] - a1)
        oth = self.other
        eta[oth] -= e[oth, None] * (x[oth] * c0[oth, None] - c1[oth]) / g[oth, None]
        fail = codes == CAUSE
        eta[fail] += x[fail] - ebar[np.searchsorted(self.tau, t[fail])]
        # psi: the censoring martingale part, q(u) at each distinct time u
        ut, start = np.unique(t, return_index=True)
        risk = t.size - start
        n_cens = np.bincount(np.searchsorted(ut, t[codes == CENSORED]), minlength=ut.size)
        eo = np.where(oth, e / g, 0.0)
        h0, h1 = _cumsum0(eo)[start], _cumsum0(eo[:, None] * x)[start]  # other causes before u
        k_ge = np.searchsorted(self.tau, ut, side="left")  # cause times >= u
        q = h1 * c0_all[k_ge, None] - h0[:, None] * c1_all[k_ge]
        ss2 = -np.cumsum(n_cens[:, None] * q / (risk[:, None] ** 2.0), axis=0)
        block = np.searchsorted(ut, t)
        psi = ss2[block]
        cens = codes == CENSORED
        psi[cens] += q[block[cens]] / risk[block[cens], None]
        return eta + psi


def fine_gray(
    time,
    status,
    covariates,
    cause,
    censor=0,
    *,
    names: list[str] | tuple[str, ...] | None = None,
    conf_level: float = 0.95,
    gtol: float = 1e-6,
    max_iter: int = 10,
    timefix: bool = True,
) -> FineGrayResult:
    """Fit the Fine-Gray model for ``cause`` as R ``crr(time, status, covariates, failcode =
    cause, cencode = censor)``.

    Parameters
    ----------
    time, status : array-like (n,)
        Follow-up times and status codes (``censor`` = censored, any other code a cause).
    covariates : array-like (n,) or (n, p)
        Finite numbers; the first column is the term reported (e.g. the treatment indicator).
    cause, censor : codes
        The cause modelled (it must occur) and the censoring code.
    gtol, max_iter : crr's convergence tolerance and iteration limit.
    timefix : bool, default True
        Merge near-tied times as R's ``aeqSurv`` (crr compares times exactly, but its censoring
        Kaplan-Meier comes from ``survfit``).
    """
    t = check_time(time)
    n = t.size
    codes = cause_codes(status, n, cause, censor)
    x = np.asarray(covariates)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != n or x.dtype.kind not in "biuf":
        raise _error(
            f"must be numbers of shape ({n},) or ({n}, p); got shape {x.shape}", "covariates"
        )
    x = x.astype(float)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        raise _error("covariates must be finite numbers (no NaN or infinity)", "covariates", bad)
    p = x.shape[1]
    names = tuple(names) if names is not None else tuple(f"x{i + 1}" for i in range(p))
    if len(names) != p:
        raise ValueError("names must have one entry per covariate column")
    if timefix:
        t = aeq_times(t)
    order = np.argsort(t, kind="stable")
    t, codes, x = t[order], codes[order], x[order]
    data = _Data(t, codes, x, censoring_weights(t, codes, timefix))
    b = np.zeros(p)
    iterations = 0
    for ll in range(max_iter + 1):
        f, grad, hess, _ = data.objective(b)
        if np.max(np.abs(grad) * np.maximum(np.abs(b), 1.0)) < max(abs(f), 1.0) * gtol:
            break
        if ll == max_iter:
            raise ConvergenceError(f"the Fine-Gray fit did not converge in {max_iter} iterations")
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            raise EstimationError(
                "the Fine-Gray information matrix is singular (is a covariate constant?)"
            ) from None
        for _halving in range(22):
            bn = b + step
            fbn = data.value(bn)
            if np.isfinite(fbn) and not fbn > f + 1e-4 * float(step @ grad):
                break
            step = step * 0.5
        else:
            raise ConvergenceError("the Fine-Gray fit did not converge (line search failed)")
        b = bn
        iterations += 1
    f, grad, info, (s0, ebar) = data.objective(b)
    if not np.all(np.isfinite(info)) or np.linalg.matrix_rank(info) < p:
        raise EstimationError(
            "the Fine-Gray information matrix is singular (is a covariate constant?)"
        )
    r = data.score_terms(b, s0, ebar)
    inv = np.linalg.inv(info)
    var = inv @ (r.T @ r) @ inv.T
    return FineGrayResult(
        terms=names,
        coef=b,
        var=var,
        information=info,
        loglik=-f,
        loglik_null=-data.value(np.zeros(p)),
        iterations=iterations,
        n=n,
        n_events=int((codes == CAUSE).sum()),
        n_competing=int((codes == OTHER).sum()),
        cause=code_text(cause, "cause"),
        conf_level=float(conf_level),
    )
