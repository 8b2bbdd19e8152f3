"""Cox model on (start, stop] data with case weights and a robust (cluster) variance.

Equal to R ``coxph(Surv(start, stop, event) ~ x + strata(s), weights = w, cluster = id)``
(Andersen-Gill for recurrent events; delayed entry is one row per participant). Efron ties with
case weights use the mean weight of the tied events, as R's ``agfit4``. The robust variance is
R's: D'D, D the weighted dfbeta residuals (score residuals times the model variance) summed
within clusters. As R, it is used when a cluster is given and, without one, when some weight is
not a whole number (each row its own cluster).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback._typing import TIES, Ties
from walkback.estimators._checks import _error, check_codes, check_event, check_time
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators._dist import chi2_sf
from walkback.estimators._intervals import (
    IntervalRiskSets,
    build_interval_risk_sets,
    check_cluster,
    check_start,
    check_weights,
    timefix_intervals,
)
from walkback.estimators.cox import CoxResult
from walkback.exceptions import ConvergenceError, EstimationError


@dataclass(frozen=True)
class IntervalCoxResult(CoxResult):
    """A Cox fit on (start, stop] data, weighted or with a robust variance.

    ``var`` is the variance every interval and Wald test uses (robust when ``robust``, as R's
    ``fit$var``); ``var_model`` is the model-based one (R's ``fit$naive.var``).
    """

    var_model: np.ndarray | None = None
    robust: bool = False
    n_clusters: int | None = None
    robust_score_chisq: float | None = None
    weighted: bool = False

    @property
    def se_model(self) -> np.ndarray:
        return np.sqrt(np.diag(self.var if self.var_model is None else self.var_model))

    @property
    def p_robust_score(self) -> float | None:
        if self.robust_score_chisq is None:
            return None
        return float(chi2_sf(self.robust_score_chisq, self.df))

    def score_residuals(self) -> np.ndarray:
        """Per-row score residuals at the fitted coefficients, rows in input order (R
        ``residuals(fit, type = "score")``); the robust variance is built from these."""
        f = self._fit
        return score_residuals(f["rs"], f["x"], f["w"], self.coef, self.ties)

    def summary(self):
        """R's ``summary(coxph)`` table: ``se`` robust when ``robust``, with ``se_model``."""
        out = super().summary()
        out.insert(out.columns.get_loc("se") + 1, "se_model", self.se_model)
        return out

    def _not_here(self, what: str):
        raise EstimationError(
            f"{what} is not available for a Cox fit on (start, stop], weighted or clustered data"
        )

    def ph_test(self, term=0):
        self._not_here("the PH test (cox.zph)")

    def zph(self, transform: str = "km", terms=None):
        self._not_here("cox.zph")

    def concordance(self):
        self._not_here("the concordance")

    def predict_survival(self, covariates=None, times=None, **kwargs):
        self._not_here("survival predicted from the model (survfit(fit, newdata))")

    def to_dict(self) -> dict:
        out = super().to_dict()
        se_model = self.se_model
        for i, t in enumerate(self.terms):
            out["terms"][t]["se_model"] = float(se_model[i])
        out["robust_score_chisq"] = self.robust_score_chisq
        out["settings"].update(
            {"robust": self.robust, "n_clusters": self.n_clusters, "weighted": self.weighted}
        )
        return out


def _derivatives(rs: IntervalRiskSets, x, w, beta, ties: str, *, parts: bool = False):
    """Weighted log partial likelihood, score and information (Efron rows: R's mean weight)."""
    eta = x @ beta
    r = np.exp(eta)
    wr = w * r
    xx = x[:, :, None] * x[:, None, :]
    s0 = rs.risk_sum(wr)
    s1 = rs.risk_sum(wr[:, None] * x)
    s2 = rs.risk_sum(wr[:, None, None] * xx)
    ev = rs.event
    evf = ev.astype(float)
    d0 = rs.event_sum(wr * evf)
    d1 = rs.event_sum((wr * evf)[:, None] * x)
    d2 = rs.event_sum((wr * evf)[:, None, None] * xx)
    nd = rs.event_sum(evf)
    dw = rs.event_sum(w * evf)
    d = np.rint(nd).astype(np.int64)
    g = np.repeat(np.arange(d.size), d)
    if ties == "efron":
        first = np.cumsum(d) - d
        f = (np.arange(g.size) - np.repeat(first, d)) / d[g]
    else:
        f = np.zeros(g.size)
    meanwt = (dw / nd)[g]
    denom = s0[g] - f * d0[g]
    # an event time whose events all weigh 0 adds nothing (R); keep its terms finite
    denom = np.where(meanwt > 0, denom, 1.0)
    a = (s1[g] - f[:, None] * d1[g]) / denom[:, None]
    c = (s2[g] - f[:, None, None] * d2[g]) / denom[:, None, None]
    v = c - a[:, :, None] * a[:, None, :]
    loglik = float(np.sum(w * eta * evf) - np.sum(meanwt * np.log(denom)))
    score = (x * (w * evf)[:, None]).sum(axis=0) - (meanwt[:, None] * a).sum(axis=0)
    info = (meanwt[:, None, None] * v).sum(axis=0)
    if not parts:
        return loglik, score, info
    return loglik, score, info, (g, f, meanwt, denom, a, d)


def score_residuals(rs: IntervalRiskSets, x, w, beta, ties: str) -> np.ndarray:
    """Per-row score residuals (unweighted), as R's ``agscore2``: rows x covariates."""
    _, _, _, (g, f, meanwt, denom, a, d) = _derivatives(rs, x, w, beta, ties, parts=True)
    r = np.exp(x @ beta)
    ngroup = rs.time.shape[0]
    h = meanwt / denom  # hazard jump of each Efron row
    temp1 = np.bincount(g, weights=h, minlength=ngroup)
    temp2 = np.bincount(g, weights=(1 - f) * h, minlength=ngroup)
    p = x.shape[1]
    mh1 = np.zeros((ngroup, p))
    mh2 = np.zeros((ngroup, p))
    mh3 = np.zeros((ngroup, p))
    np.add.at(mh1, g, a * h[:, None])
    np.add.at(mh2, g, a * ((1 - f) * h)[:, None])
    np.add.at(mh3, g, a / d[g][:, None])
    # every row at risk: -r (x * sum of hazards - sum of mean * hazard) over its risk interval
    t1 = rs.cumulative_at(temp1, rs.stop) - rs.cumulative_at(temp1, rs.start)
    m1 = rs.cumulative_at(mh1, rs.stop) - rs.cumulative_at(mh1, rs.start)
    resid = -r[:, None] * (x * t1[:, None] - m1)
    ev = np.flatnonzero(rs.event)
    ge = rs.row_group[ev]
    # an event row's own time: its Efron weights (1 - k/d) instead of 1, and its dN term
    resid[ev] += x[ev] - mh3[ge]
    resid[ev] -= r[ev, None] * (x[ev] * (temp2[ge] - temp1[ge])[:, None] - (mh2[ge] - mh1[ge]))
    return resid


def cox_intervals(
    time,
    event,
    covariates,
    strata=None,
    *,
    entry=None,
    weights=None,
    cluster=None,
    names=None,
    ties: Ties = "efron",
    conf_level: float = 0.95,
    max_iter: int = 30,
    init=None,
    timefix: bool = True,
) -> IntervalCoxResult:
    """Cox model on (entry, time] data with case weights and a cluster-robust variance.

    Parameters
    ----------
    time, event : array-like (n,)
        Stop times and 0/1 event indicators.
    covariates : array-like (n,) or (n, p)
    strata : array-like (n,), optional
    entry : array-like (n,), optional
        Start (entry) times, each < its stop time; default 0 (R ``Surv(entry, time, event)``).
    weights : array-like (n,), optional
        Case weights >= 0 (R ``weights =``).
    cluster : array-like (n,), optional
        Cluster labels (e.g. participant ids): robust variance summed within clusters (R
        ``cluster(id)``). Without it, non-integer weights give R's row-wise robust variance.
    timefix : bool, default True
        R's ``aeqSurv`` on start and stop times together.
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    stop = check_time(time)
    n = stop.shape[0]
    e = check_event(event, n)
    start = None if entry is None else check_start(entry, stop)
    w = np.ones(n) if weights is None else check_weights(weights, n)
    cl = None if cluster is None else check_cluster(cluster, n)
    x_raw = np.asarray(covariates)
    if x_raw.ndim == 1:
        x_raw = x_raw[:, None]
    if x_raw.ndim != 2 or x_raw.shape[0] != n or x_raw.dtype.kind not in "biuf":
        raise _error(f"must be numbers of shape ({n},) or ({n}, p)", "covariates")
    x = x_raw.astype(float)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        raise _error("covariates must be finite numbers (no NaN or infinity)", "covariates", bad)
    p = x.shape[1]
    names = tuple(f"x{i + 1}" for i in range(p)) if names is None else tuple(names)
    if len(names) != p:
        raise ValueError("names must have one entry per covariate column")
    if not (e * w > 0).any():
        raise EstimationError("the Cox model needs at least one event; these data have none")
    codes = None if strata is None else check_codes(strata, n, "strata")[0]
    if start is None:  # right-censored: at risk from before time 0 (a time-0 event counts)
        stop = aeq_times(stop) if timefix else stop
        start = np.full(n, -1.0)
    elif timefix:
        start, stop = timefix_intervals(start, stop)
    rs = build_interval_risk_sets(start, stop, e, codes)
    x = x - (w[:, None] * x).sum(axis=0) / w.sum()

    beta = np.zeros(p)
    loglik0, u0, i0 = _derivatives(rs, x, w, beta, ties)
    small = np.abs(np.diag(i0)) < 1e-12
    if small.any():
        bad_names = ", ".join(names[j] for j in np.flatnonzero(small))
        raise EstimationError(f"covariate {bad_names} does not vary within the risk sets")
    loglik, u, info = loglik0, u0, i0
    if init is not None:
        beta = np.asarray(init, dtype=float).reshape(-1)
        if beta.shape != (p,) or not np.isfinite(beta).all():
            raise ValueError(f"init must be {p} finite numbers, got {init!r}")
        loglik, u, info = _derivatives(rs, x, w, beta, ties)
    score_chisq = float(u @ np.linalg.solve(info, u))
    beta_init = beta.copy()
    it = 0
    while True:
        if it >= max_iter:
            raise ConvergenceError(
                f"Cox fit did not converge in {max_iter} iterations (a coefficient may be "
                "infinite: check for an arm or stratum with no events)"
            )
        it += 1
        new = beta + np.linalg.solve(info, u)
        new_ll, new_u, new_info = _derivatives(rs, x, w, new, ties)
        halvings = 0
        while not np.isfinite(new_ll) or new_ll < loglik - 1e-12 * abs(loglik):
            halvings += 1
            if halvings > 30:
                raise ConvergenceError("Cox fit failed: log-likelihood did not improve")
            new = (beta + new) / 2.0
            new_ll, new_u, new_info = _derivatives(rs, x, w, new, ties)
        done = abs(new_ll - loglik) <= 1e-13 * abs(new_ll) and np.max(np.abs(new - beta)) < 1e-9
        beta, loglik, u, info = new, new_ll, new_u, new_info
        if done:
            break
    var_model = np.linalg.inv(info)
    integer_weights = bool(np.all(w == np.floor(w)))
    robust = cl is not None or not integer_weights
    var, robust_score, n_clusters = var_model, None, None
    if robust:
        groups = np.arange(n) if cl is None else cl
        n_clusters = int(groups.max()) + 1
        dfbeta = (score_residuals(rs, x, w, beta, ties) @ var_model) * w[:, None]
        dd = _rowsum(dfbeta, groups, n_clusters)
        var = dd.T @ dd
        s0 = _rowsum(score_residuals(rs, x, w, beta_init, ties) * w[:, None], groups, n_clusters)
        u0 = s0.sum(axis=0)
        robust_score = float(u0 @ np.linalg.solve(s0.T @ s0, u0))
    return IntervalCoxResult(
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
        _fit={"rs": rs, "x": x, "w": w},
        var_model=var_model,
        robust=robust,
        n_clusters=n_clusters,
        robust_score_chisq=robust_score,
        weighted=weights is not None,
    )


def _rowsum(values: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, values.shape[1]))
    np.add.at(out, groups, values)
    return out
