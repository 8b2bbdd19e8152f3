"""Cox proportional-hazards model (Efron or Breslow ties, optional strata) and its PH test.

Matches R ``coxph`` (Newton-Raphson from beta = 0, step-halving, model-based variance) and
``cox.zph(fit, transform = "km")`` (the score test of survival >= 3.0 for adding g(t) * x, with
g the left-continuous Kaplan-Meier transform of time, centred over the events).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from walkback._typing import TIES, Ties
from walkback.estimators._risksets import RiskSets, build_risk_sets, efron_rows
from walkback.estimators.kaplan_meier import _km_kernel, z_value
from walkback.exceptions import ConvergenceError, EstimationError


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


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model. The first term is the one reported as the hazard ratio."""

    terms: tuple[str, ...]
    coef: np.ndarray
    var: np.ndarray
    loglik_null: float
    loglik: float
    score_chisq: float
    iterations: int
    n: int
    n_events: int
    ties: Ties
    stratified: bool
    conf_level: float
    _fit: dict = field(repr=False, compare=False)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.var))

    @property
    def hazard_ratio(self) -> np.ndarray:
        return np.exp(self.coef)

    def conf_int(self) -> np.ndarray:
        """Wald CI for the hazard ratios, shape (terms, 2)."""
        z = z_value(self.conf_level)
        return np.exp(np.column_stack((self.coef - z * self.se, self.coef + z * self.se)))

    @property
    def wald_p(self) -> np.ndarray:
        """Two-sided Wald p-value of each coefficient (R's ``Pr(>|z|)``)."""
        return 2.0 * stats.norm.sf(np.abs(self.coef / self.se))

    @property
    def wald_chisq(self) -> float:
        """Global Wald statistic b' V^-1 b."""
        return float(self.coef @ np.linalg.solve(self.var, self.coef))

    @property
    def lr_chisq(self) -> float:
        return 2.0 * (self.loglik - self.loglik_null)

    @property
    def df(self) -> int:
        return len(self.terms)

    @property
    def p_lr(self) -> float:
        return float(stats.chi2.sf(self.lr_chisq, self.df))

    @property
    def p_score(self) -> float:
        return float(stats.chi2.sf(self.score_chisq, self.df))

    @property
    def p_wald_global(self) -> float:
        return float(stats.chi2.sf(self.wald_chisq, self.df))

    def ph_test(self, term: int | str = 0) -> PHTestResult:
        """PH test for one term, equal to R ``cox.zph(fit, transform = "km")`` for that term."""
        j = self.terms.index(term) if isinstance(term, str) else int(term)
        chisq = _zph_chisq(self._fit, self.coef, self.ties, j)
        return PHTestResult(self.terms[j], chisq, 1, float(stats.chi2.sf(chisq, 1)))

    def summary(self) -> pd.DataFrame:
        ci = self.conf_int()
        return pd.DataFrame(
            {
                "coef": self.coef,
                "hazard_ratio": self.hazard_ratio,
                "se": self.se,
                "lower": ci[:, 0],
                "upper": ci[:, 1],
                "z": self.coef / self.se,
                "p": self.wald_p,
            },
            index=pd.Index(self.terms, name="term"),
        )

    def to_dict(self) -> dict:
        ci = self.conf_int()
        return {
            "terms": {
                t: {
                    "coef": float(self.coef[i]),
                    "hazard_ratio": float(self.hazard_ratio[i]),
                    "se": float(self.se[i]),
                    "lower": float(ci[i, 0]),
                    "upper": float(ci[i, 1]),
                    "p": float(self.wald_p[i]),
                }
                for i, t in enumerate(self.terms)
            },
            "loglik_null": self.loglik_null,
            "loglik": self.loglik,
            "lr_chisq": self.lr_chisq,
            "score_chisq": self.score_chisq,
            "wald_chisq": self.wald_chisq,
            "settings": {
                "ties": self.ties,
                "stratified": self.stratified,
                "conf_level": self.conf_level,
            },
        }

    def _repr_html_(self) -> str:
        return (
            f"<p>Cox model: n={self.n}, events={self.n_events}, ties <code>{self.ties}</code>"
            f"{', stratified' if self.stratified else ''}</p>" + self.summary().to_html()
        )


def _derivatives(
    rs: RiskSets,
    x: np.ndarray,
    beta: np.ndarray,
    rows: np.ndarray,
    frac: np.ndarray,
    *,
    keep_parts: bool = False,
):
    """Log partial likelihood, score and information at ``beta`` (x sorted, centred)."""
    eta = x @ beta
    w = np.exp(eta)
    ev = rs.event.astype(float)
    s0 = rs.risk_sum(w)
    s1 = rs.risk_sum(w[:, None] * x)
    xx = x[:, :, None] * x[:, None, :]
    s2 = rs.risk_sum(w[:, None, None] * xx)
    d0 = rs.group_sum(w * ev)
    d1 = rs.group_sum((w * ev)[:, None] * x)
    d2 = rs.group_sum((w * ev)[:, None, None] * xx)
    g, f = rows, frac
    denom = s0[g] - f * d0[g]
    a = (s1[g] - f[:, None] * d1[g]) / denom[:, None]
    c = (s2[g] - f[:, None, None] * d2[g]) / denom[:, None, None]
    v = c - a[:, :, None] * a[:, None, :]
    loglik = float(np.sum(eta * ev) - np.sum(np.log(denom)))
    score = (x * ev[:, None]).sum(axis=0) - a.sum(axis=0)
    info = v.sum(axis=0)
    if keep_parts:
        return loglik, score, info, a, v
    return loglik, score, info


def cox(
    time,
    event,
    covariates,
    strata=None,
    *,
    names: list[str] | tuple[str, ...] | None = None,
    ties: Ties = "efron",
    conf_level: float = 0.95,
    max_iter: int = 30,
) -> CoxResult:
    """Fit a Cox model by Newton-Raphson, as R ``coxph(..., ties=ties)``.

    Parameters
    ----------
    time, event : array-like (n,)
    covariates : array-like (n,) or (n, p)
        The first column is the term of interest (e.g. the treatment indicator).
    strata : array-like (n,) of integer codes, optional
        Separate baseline hazards per stratum (R ``+ strata(s)``).
    ties : {"efron", "breslow"}
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(np.int64)
    x_raw = np.asarray(covariates, dtype=float)
    if x_raw.ndim == 1:
        x_raw = x_raw[:, None]
    n, p = x_raw.shape
    if names is None:
        names = tuple(f"x{i + 1}" for i in range(p))
    names = tuple(names)
    if len(names) != p:
        raise ValueError("names must have one entry per covariate column")
    if e.sum() == 0:
        raise EstimationError("the Cox model needs at least one event; these data have none")

    rs = build_risk_sets(t, e, None if strata is None else np.asarray(strata))
    x = x_raw[rs.order]
    x = x - x.mean(axis=0)  # centring, as coxph, keeps exp(eta) well scaled
    rows, frac = efron_rows(rs, ties)

    beta = np.zeros(p)
    loglik0, u0, i0 = _derivatives(rs, x, beta, rows, frac)
    if np.any(np.abs(np.diag(i0)) < 1e-12):
        bad = [names[j] for j in np.flatnonzero(np.abs(np.diag(i0)) < 1e-12)]
        raise EstimationError(
            f"covariate {', '.join(bad)} does not vary within the risk sets; it cannot be estimated"
        )
    score_chisq = float(u0 @ np.linalg.solve(i0, u0))
    loglik, u, info = loglik0, u0, i0
    converged = False
    it = 0
    while it < max_iter:
        it += 1
        step = np.linalg.solve(info, u)
        new = beta + step
        new_ll, new_u, new_info = _derivatives(rs, x, new, rows, frac)
        halvings = 0
        while not np.isfinite(new_ll) or new_ll < loglik - 1e-12 * abs(loglik):
            halvings += 1
            if halvings > 30:
                raise ConvergenceError("Cox fit failed: log-likelihood did not improve")
            new = (beta + new) / 2.0
            new_ll, new_u, new_info = _derivatives(rs, x, new, rows, frac)
        done = abs(new_ll - loglik) <= 1e-13 * abs(new_ll) and np.max(np.abs(new - beta)) < 1e-9
        beta, loglik, u, info = new, new_ll, new_u, new_info
        if done:
            converged = True
            break
    if not converged:
        raise ConvergenceError(
            f"Cox fit did not converge in {max_iter} iterations (a coefficient may be infinite: "
            "check for an arm or stratum with no events)"
        )
    var = np.linalg.inv(info)
    fit = {"rs": rs, "x": x, "rows": rows, "frac": frac}
    return CoxResult(
        terms=names,
        coef=beta,
        var=var,
        loglik_null=loglik0,
        loglik=loglik,
        score_chisq=score_chisq,
        iterations=it,
        n=n,
        n_events=int(e.sum()),
        ties=ties,
        stratified=strata is not None,
        conf_level=float(conf_level),
        _fit=fit,
    )


def _km_time_transform(rs: RiskSets) -> np.ndarray:
    """1 - S(t-) of the pooled (unstratified) KM at each sorted row's time (cox.zph's "km")."""
    utime, inverse = np.unique(rs.time, return_inverse=True)
    n_at = np.bincount(inverse, minlength=utime.size)
    d = np.bincount(inverse, weights=rs.event, minlength=utime.size)
    n_risk = (rs.time.size - np.concatenate(([0], np.cumsum(n_at)[:-1]))).astype(float)
    surv, _ = _km_kernel(n_risk, d)
    s_left = np.concatenate(([1.0], surv))[inverse]  # S just before each row's own time
    return 1.0 - s_left


def _zph_chisq(fit: dict, beta: np.ndarray, ties: Ties, j: int) -> float:
    rs: RiskSets = fit["rs"]
    x, rows, frac = fit["x"], fit["rows"], fit["frac"]
    p = x.shape[1]
    g_row = _km_time_transform(rs)
    ev = rs.event.astype(bool)
    g_row = g_row - g_row[ev].mean()
    _, _, _, a, v = _derivatives(rs, x, beta, rows, frac, keep_parts=True)
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


@dataclass(frozen=True)
class BinaryCoxResult:
    """Cox fit for one binary covariate from event/at-risk counts per distinct time."""

    coef: float
    se: float
    loglik_null: float
    loglik: float
    ties: Ties

    @property
    def hazard_ratio(self) -> float:
        return float(np.exp(self.coef))


def cox_binary_counts(
    n1: np.ndarray,
    n0: np.ndarray,
    d1: np.ndarray,
    d0: np.ndarray,
    ties: Ties = "efron",
    max_iter: int = 30,
    start: float = 0.0,
) -> BinaryCoxResult:
    """Cox model for a 0/1 covariate from counts at each distinct event time (one stratum).

    ``n1, n0``: numbers at risk with covariate 1 and 0; ``d1, d0``: events. Exactly the partial
    likelihood that :func:`cox` maximises for these data, at a cost set by the number of distinct
    times rather than participants (useful for large pooled or integer-day data). ``start`` is
    the Newton-Raphson starting value (a warm start when fitting many similar datasets).
    """
    n1, n0, d1, d0 = (np.asarray(a, dtype=float) for a in (n1, n0, d1, d0))
    keep = (d1 + d0) > 0
    n1, n0, d1, d0 = n1[keep], n0[keep], d1[keep], d0[keep]
    d = (d1 + d0).astype(np.int64)
    if d.sum() == 0:
        raise EstimationError("the Cox model needs at least one event; these data have none")
    rows = np.repeat(np.arange(d.size), d)
    if ties == "efron":
        first = np.cumsum(d) - d
        frac = (np.arange(rows.size) - np.repeat(first, d)) / d[rows]
    else:
        frac = np.zeros(rows.size)

    def derivs(beta: float):
        w = np.exp(beta)
        num = (n1[rows] - frac * d1[rows]) * w
        denom = num + n0[rows] - frac * d0[rows]
        a = num / denom
        ll = float(beta * d1.sum() - np.log(denom).sum())
        return ll, float(d1.sum() - a.sum()), float((a * (1 - a)).sum())

    ll0 = derivs(0.0)[0]
    beta = float(start)
    ll, u, info = derivs(beta)
    for _ in range(max_iter):
        step = u / info
        new = beta + step
        new_ll, new_u, new_info = derivs(new)
        while new_ll < ll - 1e-12 * abs(ll):
            new = (beta + new) / 2
            new_ll, new_u, new_info = derivs(new)
        done = abs(new - beta) < 1e-10
        beta, ll, u, info = new, new_ll, new_u, new_info
        if done:
            return BinaryCoxResult(beta, float(1 / np.sqrt(info)), ll0, ll, ties)
    raise ConvergenceError("Cox fit did not converge (a coefficient may be infinite)")


def counts_by_time(time, event, group) -> tuple[np.ndarray, ...]:
    """Distinct times with numbers at risk and events per group (1 and 0), for the count kernels.

    Non-negative integer times (days) are binned directly, which avoids a sort.
    """
    t = np.asarray(time)
    e = np.asarray(event).astype(bool)
    g = np.asarray(group).astype(bool)
    if t.dtype.kind in "iu" and t.size and t.min() >= 0 and t.max() <= 16 * t.size + 1024:
        inv = t
        k = int(t.max()) + 1
        utime = np.arange(k)
    else:
        utime, inv = np.unique(t, return_inverse=True)
        k = utime.size
    c1 = np.bincount(inv, weights=g, minlength=k)
    c0 = np.bincount(inv, weights=~g, minlength=k)
    d1 = np.bincount(inv, weights=g & e, minlength=k)
    d0 = np.bincount(inv, weights=~g & e, minlength=k)
    n1 = np.cumsum(c1[::-1])[::-1]
    n0 = np.cumsum(c0[::-1])[::-1]
    present = (c1 + c0) > 0
    return utime[present], n1[present], n0[present], d1[present], d0[present]
