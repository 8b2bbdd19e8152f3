"""Cox proportional-hazards model (Efron or Breslow ties, optional strata).

Matches R ``coxph`` (Newton-Raphson from beta = 0 or ``init``, step-halving, model-based
variance, ``timefix``); the PH test is in :mod:`walkback.estimators.ph_test`, the concordance in
:mod:`walkback.estimators.concordance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from walkback._typing import TIES, Ties
from walkback.estimators._checks import _error, check_codes, check_event, check_time
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators._dist import chi2_sf, norm_sf
from walkback.estimators._partial_likelihood import derivatives
from walkback.estimators._risksets import build_risk_sets, efron_rows
from walkback.estimators.concordance import ConcordanceResult, concordance
from walkback.estimators.kaplan_meier import z_value
from walkback.estimators.ph_test import PHTestResult, zph_chisq, zph_parts, zph_score
from walkback.exceptions import ConvergenceError, EstimationError


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
        return 2.0 * norm_sf(np.abs(self.coef / self.se))

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
        return float(chi2_sf(self.lr_chisq, self.df))

    @property
    def p_score(self) -> float:
        return float(chi2_sf(self.score_chisq, self.df))

    @property
    def p_wald_global(self) -> float:
        return float(chi2_sf(self.wald_chisq, self.df))

    def ph_test(self, term: int | str = 0) -> PHTestResult:
        """PH test for one term, equal to R ``cox.zph(fit, transform = "km")`` for that term."""
        j = self.terms.index(term) if isinstance(term, str) else int(term)
        chisq = zph_chisq(self._fit, self.coef, self.ties, j)
        return PHTestResult(self.terms[j], chisq, 1, float(chi2_sf(chisq, 1)))

    def zph(self, transform: str = "km", terms=None) -> dict:
        """R ``cox.zph(fit, transform, terms = TRUE)``: per-term and global tests.

        ``terms`` maps a term name to its coefficient indices (e.g. a factor's columns, one
        multi-df test); default one term per coefficient. Returns ``{"terms": [{"term", "chisq",
        "df", "p"}], "global": {"chisq", "df", "p"}, "transform"}``.
        """
        u, imat = zph_parts(self._fit, self.coef, transform)
        groups = {t: [i] for i, t in enumerate(self.terms)} if terms is None else dict(terms)
        rows = []
        for name, cols in groups.items():
            chisq = zph_score(u, imat, cols)
            rows.append(
                {
                    "term": name,
                    "chisq": chisq,
                    "df": len(cols),
                    "p": float(chi2_sf(chisq, len(cols))),
                }
            )
        p = self.coef.size
        g = zph_score(u, imat, range(p))
        return {
            "terms": rows,
            "global": {"chisq": g, "df": p, "p": float(chi2_sf(g, p))},
            "transform": transform,
        }

    def concordance(self) -> ConcordanceResult:
        """Harrell's concordance of the linear predictor with its SE, as R ``coxph`` reports it."""
        fit = self._fit
        rs = fit["rs"]
        return concordance(rs.time, rs.event, fit["x"] @ self.coef, rs.stratum, timefix=False)

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
                    "z": float(self.coef[i] / self.se[i]),
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
    init=None,
    timefix: bool = True,
) -> CoxResult:
    """Fit a Cox model by Newton-Raphson, as R ``coxph(..., ties=ties)``.

    Parameters
    ----------
    time, event : array-like (n,)
        Follow-up times (finite, >= 0) and 0/1 (or boolean) event indicators.
    covariates : array-like (n,) or (n, p)
        Finite numbers; the first column is the term of interest (e.g. the treatment indicator).
    strata : array-like (n,), optional
        Stratum labels: separate baseline hazards per stratum (R ``+ strata(s)``).
    ties : {"efron", "breslow"}
    init : array-like (p,), optional
        Starting coefficients (R ``init``); ``score_chisq`` is the score test at ``init``, as R's
        ``fit$score``. ``loglik_null`` is always at beta = 0.
    timefix : bool, default True
        Treat times closer than R's ``aeqSurv`` tolerance as ties, as R's ``coxph`` does.
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    t = check_time(time)
    n = t.shape[0]
    e = check_event(event, n)
    x_raw = np.asarray(covariates)
    if x_raw.ndim == 1:
        x_raw = x_raw[:, None]
    if x_raw.ndim != 2 or x_raw.shape[0] != n or x_raw.dtype.kind not in "biuf":
        raise _error(
            f"must be numbers of shape ({n},) or ({n}, p); got shape {x_raw.shape}, dtype "
            f"{x_raw.dtype}",
            "covariates",
            fix="code text covariates as 0/1 indicator columns",
        )
    x_raw = x_raw.astype(float)
    bad = np.flatnonzero(~np.isfinite(x_raw).all(axis=1))
    if bad.size:
        raise _error("covariates must be finite numbers (no NaN or infinity)", "covariates", bad)
    p = x_raw.shape[1]
    if names is None:
        names = tuple(f"x{i + 1}" for i in range(p))
    names = tuple(names)
    if len(names) != p:
        raise ValueError("names must have one entry per covariate column")
    if e.sum() == 0:
        raise EstimationError("the Cox model needs at least one event; these data have none")
    codes = None if strata is None else check_codes(strata, n, "strata")[0]
    if timefix:
        t = aeq_times(t)

    rs = build_risk_sets(t, e, codes)
    x = x_raw[rs.order]
    x = x - x.mean(axis=0)  # centring, as coxph, keeps exp(eta) well scaled
    rows, frac = efron_rows(rs, ties)

    beta = np.zeros(p)
    loglik0, u0, i0 = derivatives(rs, x, beta, rows, frac)
    if np.any(np.abs(np.diag(i0)) < 1e-12):
        bad = [names[j] for j in np.flatnonzero(np.abs(np.diag(i0)) < 1e-12)]
        raise EstimationError(
            f"covariate {', '.join(bad)} does not vary within the risk sets; it cannot be estimated"
        )
    loglik, u, info = loglik0, u0, i0
    if init is not None:
        beta = np.asarray(init, dtype=float).reshape(-1)
        if beta.shape != (p,) or not np.isfinite(beta).all():
            raise ValueError(f"init must be {p} finite numbers, got {init!r}")
        loglik, u, info = derivatives(rs, x, beta, rows, frac)
    score_chisq = float(u @ np.linalg.solve(info, u))
    converged = False
    it = 0
    while it < max_iter:
        it += 1
        step = np.linalg.solve(info, u)
        new = beta + step
        new_ll, new_u, new_info = derivatives(rs, x, new, rows, frac)
        halvings = 0
        while not np.isfinite(new_ll) or new_ll < loglik - 1e-12 * abs(loglik):
            halvings += 1
            if halvings > 30:
                raise ConvergenceError("Cox fit failed: log-likelihood did not improve")
            new = (beta + new) / 2.0
            new_ll, new_u, new_info = derivatives(rs, x, new, rows, frac)
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


# Kept importable from here (calibration imports them from this module).
from walkback.estimators.cox_counts import (  # noqa: E402
    BinaryCoxResult,
    counts_by_time,
    cox_binary_counts,
)

__all__ = [
    "BinaryCoxResult",
    "CoxResult",
    "PHTestResult",
    "counts_by_time",
    "cox",
    "cox_binary_counts",
]
