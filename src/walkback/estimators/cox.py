"""Cox proportional-hazards model (Efron or Breslow ties, optional strata).

Matches R ``coxph`` (Newton-Raphson from beta = 0 or ``init``, step-halving, model-based
variance, ``timefix``); the PH test is in :mod:`walkback.estimators.ph_test`, the concordance in
:mod:`walkback.estimators.concordance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from walkback._typing import CONF_TYPES, TIES, ConfType, Ties
from walkback.design import Term, encode_row, numeric_terms
from walkback.estimators._checks import _error, check_codes, check_event, check_time
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators._dist import chi2_sf, norm_sf
from walkback.estimators._partial_likelihood import derivatives
from walkback.estimators._risksets import build_risk_sets, efron_rows
from walkback.estimators._wald import WaldRatios
from walkback.estimators.concordance import ConcordanceResult, checked_concordance
from walkback.estimators.cox_survival import CoxSurvival, baseline_hazard, predict_curve
from walkback.estimators.ph_test import PHTestResult, zph_chisq, zph_parts, zph_score
from walkback.estimators.schoenfeld import ScaledSchoenfeld, scaled_schoenfeld
from walkback.exceptions import ConvergenceError, EstimationError


@dataclass(frozen=True)
class CoxResult(WaldRatios):
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
    model_terms: tuple[Term, ...] = field(default=(), repr=False, compare=False)

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

    def schoenfeld(self, transform: str = "km", terms=None) -> ScaledSchoenfeld:
        """Scaled Schoenfeld residuals per term, R ``cox.zph(fit, transform)``'s ``x``, ``y``.

        ``terms`` maps a term name to its coefficient indices; default the model's terms (a
        factor or k arms is one term, collapsed to its linear predictor, as R's ``terms = TRUE``).
        Smooth them with :func:`walkback.estimators.schoenfeld.zph_smooth`; draw them with
        :func:`walkback.plotting.schoenfeld_plot`.
        """
        if terms is None:
            terms = {t.name: [self.terms.index(c) for c in t.columns] for t in self.model_terms}
        return scaled_schoenfeld(self._fit, self.coef, transform, dict(terms))

    def predict_survival(
        self,
        covariates=None,
        times=None,
        *,
        conf_type: ConfType = "log",
        stratum=None,
    ) -> CoxSurvival:
        """Survival predicted for one covariate pattern, as R ``survfit(fit, newdata)``.

        Parameters
        ----------
        covariates : mapping, optional
            One value per model term, on the data's own scale: numbers for numeric terms, a
            level for a factor or the arm (e.g. ``{"rx": "Lev", "age": 60, "sex": 1}``), as R's
            ``newdata``. R centres the model at ``fit$means`` and ``newdata`` at the same means;
            the curve does not depend on the centre, so nothing here is centred by the caller.
            None gives R's curve without ``newdata``: numeric columns at their means, columns
            holding only -1/0/1 (factor levels, 0/1 codes) at 0.
        times : array-like, optional
            Times (>= 0) to report (R ``summary(sf, times, extend = TRUE)``: the curve's value
            at the last time <= t, 1 before the first); default every distinct observed time.
        conf_type : {"log", "log-log", "plain"}
            CI transform (R ``survfit.coxph``'s default is "log").
        stratum : optional
            For a stratified fit, the stratum (a value of ``strata`` as given to :func:`cox`)
            whose curve to give, as a strata variable in R's ``newdata``; default every stratum.
        """
        if conf_type not in CONF_TYPES:
            raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
        fit = self._fit
        means = fit["means"]
        if covariates is None:
            x0 = np.where(fit["zero_one"], 0.0, means)
            shown = dict(zip(self.terms, x0.tolist(), strict=True))
        else:
            x0 = encode_row(self.model_terms, self.terms, covariates)
            shown = dict(covariates)
        t = None
        if times is not None:
            t = np.atleast_1d(np.asarray(times, dtype=float))
            if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(t < 0):
                raise ValueError(f"times must be finite numbers >= 0, got {times!r}")
        labels = fit["strata_labels"]
        codes = list(range(len(labels))) if labels is not None else [0]
        if stratum is not None:
            if labels is None:
                raise ValueError("stratum given, but the model has no strata; leave it out")
            text = [str(v) for v in labels]
            if str(stratum) not in text:
                raise ValueError(
                    f"stratum {stratum!r} is not a stratum of the model; strata are "
                    + ", ".join(repr(v) for v in text)
                )
            codes = [text.index(str(stratum))]
        return predict_curve(
            baseline_hazard(fit["rs"], fit["x"], self.coef, fit["rows"], fit["frac"]),
            x0 - means,
            self.coef,
            self.var,
            strata=codes,
            labels=None if labels is None else [str(v) for v in labels],
            times=t,
            conf_type=conf_type,
            conf_level=self.conf_level,
            ties=self.ties,
            covariates=shown,
        )

    def concordance(self) -> ConcordanceResult:
        """Harrell's concordance of the linear predictor with its SE, as R ``coxph`` reports it."""
        fit = self._fit
        rs = fit["rs"]
        strata = rs.stratum if self.stratified else None
        return checked_concordance(rs.time, rs.event, fit["x"] @ self.coef, strata)

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
    model_terms=None,
    entry=None,
    weights=None,
    cluster=None,
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
    model_terms : sequence of walkback.design.Term, optional
        How values on the data's scale map to the columns (arm and factor levels, numbers), for
        :meth:`CoxResult.predict_survival`; default one numeric term per column, named by
        ``names``.
    entry, weights, cluster : array-like (n,), optional
        (entry, time] data (delayed entry, or counting-process rows), case weights and clusters
        of the robust variance: fitted by :func:`walkback.estimators.cox_intervals.cox_intervals`
        (R ``coxph(Surv(entry, time, event) ~ ..., weights = w, cluster = id)``).
    """
    if entry is not None or weights is not None or cluster is not None:
        from walkback.estimators.cox_intervals import cox_intervals

        return cox_intervals(
            time, event, covariates, strata, entry=entry, weights=weights, cluster=cluster,
            names=names, ties=ties, conf_level=conf_level, max_iter=max_iter, init=init,
            timefix=timefix,
        )  # fmt: skip
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
    x_raw = x_raw.astype(float, copy=False)  # only read: float input is not copied
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
    codes, strata_labels = (None, None) if strata is None else check_codes(strata, n, "strata")
    terms_map = numeric_terms(names) if model_terms is None else tuple(model_terms)
    if sorted(c for t in terms_map for c in t.columns) != sorted(names):
        raise ValueError("model_terms must cover each covariate column exactly once")
    if timefix:
        t = aeq_times(t)

    rs = build_risk_sets(t, e, codes)
    n_events = int(e.sum())
    # R's fit$means: 0 for columns holding only -1/0/1 (nocenter), else the column mean
    zero_one = np.isin(x_raw, (-1.0, 0.0, 1.0)).all(axis=0)
    x = x_raw[rs.order]
    del t, e, x_raw  # the sorted copies in rs and x are what the fit reads
    means = x.mean(axis=0)
    x -= means  # centring, as coxph, keeps exp(eta) well scaled (in place: a fresh copy)
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
    fit = {
        "rs": rs,
        "x": x,
        "rows": rows,
        "frac": frac,
        "means": means,
        "zero_one": zero_one,
        "strata_labels": None if strata_labels is None else strata_labels.tolist(),
    }
    return CoxResult(
        terms=names,
        coef=beta,
        var=var,
        loglik_null=loglik0,
        loglik=loglik,
        score_chisq=score_chisq,
        iterations=it,
        n=n,
        n_events=n_events,
        ties=ties,
        stratified=strata is not None,
        conf_level=float(conf_level),
        _fit=fit,
        model_terms=terms_map,
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
