"""Kaplan-Meier estimator with Greenwood variance, pointwise CIs and quantiles, as R survival.

Conventions follow R ``survfit`` / ``summary.survfit`` / ``quantile.survfit`` (survival 3.x):

* the curve is reported at every distinct observed time (events and censorings);
* ``std_err`` is the Greenwood standard error of -log S (R's ``std.err``); it is infinite once the
  curve reaches zero;
* CI transforms: ``log`` (R's default) ``exp(log S -/+ z se)`` with the upper limit capped at 1;
  ``log-log`` ``S^exp(-/+ z se / log S)``, undefined (NaN) where S is 0 or 1; ``plain``
  ``S -/+ z se S`` clipped to [0, 1]. Undefined limits are NaN here and null in JSON, as NA in R;
* quantiles invert the curve and its bands with R's ``findq`` rule: where the curve lies within
  ``sqrt(machine eps)`` of the target over an interval, the quantile is the interval's midpoint
  (or the midpoint to the last observed time when the flat part ends the curve); not reached is NaN.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from walkback._typing import CONF_TYPES, ConfType
from walkback.estimators._checks import check_event, check_time
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators._dist import norm_ppf
from walkback.exceptions import EstimationError

#: R's tolerance in quantile.survfit: sqrt(.Machine$double.eps)
QUANTILE_TOL = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class QuantileResult:
    """A survival-time quantile with its CI (NaN = not reached)."""

    prob: float
    estimate: float
    lower: float
    upper: float
    conf_type: ConfType
    conf_level: float

    def to_dict(self) -> dict[str, float | None]:
        return {k: _none_if_nan(getattr(self, k)) for k in ("estimate", "lower", "upper")}


@dataclass(frozen=True)
class RMSTResult:
    """Restricted mean survival time up to ``tau`` with its standard error (R ``rmean``)."""

    tau: float
    estimate: float
    se: float


@dataclass(frozen=True)
class KaplanMeierResult:
    """A Kaplan-Meier curve with its settings.

    Arrays are indexed by the distinct observed times in ``time``.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int
    conf_type: ConfType
    conf_level: float
    # the distinct times and how many rows have a smaller time (a leading 0, then cumulative
    # counts): the number at risk at any time, without keeping every row's time
    _time_counts: tuple[np.ndarray, np.ndarray] = field(repr=False)

    # -- read-outs -------------------------------------------------------------------------------
    @property
    def n_events(self) -> int:
        return int(self.n_event.sum())

    def survival_at(self, times) -> pd.DataFrame:
        """Survival, CI and number at risk at ``times`` (R ``summary(fit, times, extend=TRUE)``).

        Before the first observed time the curve is 1 with CI (1, 1), as R reports the curve's
        start for every transform; after the last time it keeps its last value, with nobody at risk.
        ``events`` and ``censored`` count those at or before each time (cumulative).
        """
        t = np.atleast_1d(np.asarray(times, dtype=float))
        surv, lo, hi = self.survival_ci_at(t)
        idx = np.searchsorted(self.time, t, side="right") - 1
        distinct, before = self._time_counts
        n_risk = self.n - before[np.searchsorted(distinct, t, side="left")]
        events = np.concatenate(([0], np.cumsum(self.n_event)))[idx + 1]
        censored = np.concatenate(([0], np.cumsum(self.n_censor)))[idx + 1]
        return pd.DataFrame(
            {
                "time": t,
                "survival": surv,
                "lower": lo,
                "upper": hi,
                "n_at_risk": n_risk,
                "events": events,
                "censored": censored,
            }
        )

    def survival_ci_at(self, times) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Survival and its CI at ``times`` as :meth:`survival_at` gives them, as arrays (no
        table: for callers that read many curves)."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        idx = np.searchsorted(self.time, t, side="right") - 1
        before = idx < 0
        j = np.where(before, 0, idx)
        surv = np.where(before, 1.0, self.survival[j])
        se = np.where(before, 0.0, self.std_err[j])
        lo, hi = confint(surv, se, self.conf_type, self.conf_level)
        return surv, np.where(before, 1.0, lo), np.where(before, 1.0, hi)

    def quantile(self, prob: float = 0.5) -> QuantileResult:
        """Time by which a share ``prob`` has had the event, with CI (R ``quantile.survfit``)."""
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        x = np.concatenate(([0.0], self.time))
        est = _findq(x, np.concatenate(([0.0], 1.0 - self.survival)), prob)
        lo = _findq(x, np.concatenate(([0.0], 1.0 - self.lower)), prob)
        hi = _findq(x, np.concatenate(([0.0], 1.0 - self.upper)), prob)
        return QuantileResult(prob, est, lo, hi, self.conf_type, self.conf_level)

    @property
    def median(self) -> QuantileResult:
        return self.quantile(0.5)

    def rmst(self, tau: float) -> RMSTResult:
        """Restricted mean survival time to ``tau`` and its SE (R ``print(fit, rmean=tau)``)."""
        est, se = rmst_from_curve(self.time, self.survival, self.n_risk, self.n_event, tau)
        return RMSTResult(float(tau), est, se)

    # -- rendering -------------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "n_censor": self.n_censor,
                "survival": self.survival,
                "std_err": self.std_err,
                "lower": self.lower,
                "upper": self.upper,
            }
        )

    def to_dict(self) -> dict:
        return {
            "settings": {"conf_type": self.conf_type, "conf_level": self.conf_level},
            "n": self.n,
            "events": self.n_events,
            "median": self.median.to_dict(),
            "curve": {
                k: [_none_if_nan(v) for v in np.asarray(col, dtype=float)]
                for k, col in self.summary().items()
            },
        }

    def _repr_html_(self) -> str:
        m = self.median
        head = (
            f"<p>Kaplan-Meier: n={self.n}, events={self.n_events}, median {_fmt(m.estimate)} "
            f"({100 * self.conf_level:g}% CI {_fmt(m.lower)} to {_fmt(m.upper)}); "
            f"CI transform <code>{self.conf_type}</code></p>"
        )
        return head + self.summary().to_html(index=False, max_rows=20)


def _fmt(x: float) -> str:
    return "not reached" if not np.isfinite(x) else f"{x:g}"


def _none_if_nan(x: float) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


@functools.lru_cache(maxsize=64)
def z_value(conf_level: float) -> float:
    """Two-sided normal quantile for a confidence level, as R ``qnorm(1 - (1 - level)/2)``."""
    return norm_ppf(1.0 - (1.0 - conf_level) / 2.0)


def confint(
    surv: np.ndarray, std_err: np.ndarray, conf_type: ConfType, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI for survival values, R ``survfit_confint`` with ``logse=TRUE``."""
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    z = z_value(conf_level)
    p = np.asarray(surv, dtype=float)
    se = np.asarray(std_err, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se * p * z
            return np.maximum(p - se2, 0.0), np.minimum(p + se2, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            lo = np.exp(np.log(xx) - z * se)
            hi = np.minimum(np.exp(np.log(xx) + z * se), 1.0)
            hi = np.where(np.isnan(xx), np.nan, hi)
            return lo, hi
        xx = np.where((p == 0) | (p == 1), np.nan, p)
        se2 = z * se / np.log(xx)
        loglog = np.log(-np.log(xx))
        return np.exp(-np.exp(loglog - se2)), np.exp(-np.exp(loglog + se2))


def kaplan_meier(
    time,
    event,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    *,
    timefix: bool = True,
    entry=None,
    weights=None,
    cluster=None,
    id=None,
) -> KaplanMeierResult:
    """Kaplan-Meier estimate of one group's survival curve.

    Parameters
    ----------
    time, event : array-like
        Follow-up times (finite, >= 0) and event indicators (1 or True = event, 0 or False =
        censored). Any other event coding (e.g. R's 1/2) is an error, never a guess.
    conf_type : {"log", "log-log", "plain"}
        Pointwise CI transform; "log" is R's default, "log-log" SAS's and Stata's.
    conf_level : float
        Confidence level of the pointwise intervals.
    timefix : bool, default True
        Treat times closer than R's ``aeqSurv`` tolerance as ties, as R's ``survfit`` does.
    entry, weights, cluster, id : array-like (n,), optional
        (entry, time] rows, case weights, robust-variance clusters and participant ids: the curve
        of :func:`walkback.estimators.kaplan_meier_intervals.survfit_intervals` (R ``survfit``).
    """
    if entry is not None or weights is not None or cluster is not None or id is not None:
        from walkback.estimators.kaplan_meier_intervals import survfit_intervals

        return survfit_intervals(
            time, event, entry=entry, weights=weights, id=id, cluster=cluster,
            conf_type=conf_type, conf_level=conf_level, timefix=timefix,
        )  # fmt: skip
    t = check_time(time)
    e = check_event(event, t.shape[0])
    if t.size == 0:
        raise EstimationError("cannot estimate a survival curve from zero observations")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    if timefix:
        t = aeq_times(t)
    utime, inverse = np.unique(t, return_inverse=True)
    n_at = np.bincount(inverse, minlength=utime.size)
    d = np.bincount(inverse, weights=e, minlength=utime.size)
    return _from_counts(utime, n_at, d, conf_type, conf_level)


def kaplan_meier_days(days: np.ndarray, event: np.ndarray, conf_type: ConfType, conf_level: float):
    """:func:`kaplan_meier` of whole-day times (non-negative int64) without its input checks:
    day counts instead of sorting, for callers that read one arm's curve thousands of times (the
    twin's arm builder). Whole days need no ``timefix``; the result is the same, bit for bit."""
    counts = np.bincount(days)
    utime = np.flatnonzero(counts)
    d = np.bincount(days, weights=event.astype(float), minlength=counts.size)[utime]
    return _from_counts(utime.astype(float), counts[utime], d, conf_type, conf_level)


def _from_counts(utime, n_at, d, conf_type: ConfType, conf_level: float) -> KaplanMeierResult:
    """The curve from its distinct times, rows per time and events per time."""
    n = int(n_at.sum())
    n_risk = (n - np.concatenate(([0], np.cumsum(n_at)[:-1]))).astype(float)
    surv, std_err = _km_kernel(n_risk, d)
    lo, hi = confint(surv, std_err, conf_type, conf_level)
    return KaplanMeierResult(
        time=utime,
        n_risk=n_risk.astype(np.int64),
        n_event=d.astype(np.int64),
        n_censor=(n_at - d).astype(np.int64),
        survival=surv,
        std_err=std_err,
        lower=lo,
        upper=hi,
        n=n,
        conf_type=conf_type,
        conf_level=float(conf_level),
        _time_counts=time_counts(utime, n_at),
    )


def time_counts(distinct: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``KaplanMeierResult._time_counts`` from the distinct sorted times and their counts."""
    return distinct, np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def _km_kernel(n_risk: np.ndarray, n_event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Product-limit survival and Greenwood SE of -log S along the last axis.

    Accumulates in time order with the same floating-point operations as R's survfitkm.c
    (``km *= (n - d)/n``; ``v += d/(n (n - d))``), so curves that sit exactly at 0.5 compare equal.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_event > 0, (n_risk - n_event) / n_risk, 1.0)
        term = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    return np.cumprod(factor, axis=-1), np.sqrt(np.cumsum(term, axis=-1))


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = QUANTILE_TOL) -> float:
    """Where a horizontal line at ``p`` meets a CDF step curve (R survival's ``findq``).

    ``x`` are the step times (first the origin), ``y`` the CDF values 1 - S (NaN where a CI limit
    is undefined; such points are skipped, as R's ``approx`` drops NA pairs).
    """
    finite = y[~np.isnan(y)]
    if finite.size == 0 or finite.max() < p:
        return float("nan")
    xmax = x[-1]
    # drop repeated CDF values (censor-only times), keep the first; NaN repeats NaN, as R
    ordered = finite.size == y.size and bool(np.all(y[1:] >= y[:-1]))
    if ordered:  # a curve (or band) that never rises: repeats are runs, the first of each kept
        keep = np.concatenate(([True], y[1:] != y[:-1]))
    else:
        keep = np.zeros(y.size, dtype=bool)
        keep[np.unique(y, return_index=True, equal_nan=True)[1]] = True
    x, y = x[keep], y[keep]
    if p == 0:
        return float(x[0])
    where = _sorted_const_right if ordered else _approx_const_right
    i1 = where(y + tol, p)
    i2 = where(y - tol, p)
    quant = np.nan if (i1 < 0 or i2 < 0) else (x[i1] + x[i2]) / 2.0
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        quant = np.nan if i1 < 0 else (x[i1] + xmax) / 2.0
    return float(quant)


def _sorted_const_right(yy: np.ndarray, p: float) -> int:
    """:func:`_approx_const_right` for strictly increasing ``yy`` without NaN (no sorting)."""
    if p < yy[0] or p > yy[-1]:
        return -1
    return int(np.searchsorted(yy, p, side="left"))


def _approx_const_right(yy: np.ndarray, p: float) -> int:
    """Index returned by R ``approx(yy, seq_along(yy), p, method="constant", f=1)`` (-1 for NA)."""
    pos = np.flatnonzero(~np.isnan(yy))
    if pos.size == 0:
        return -1
    order = np.argsort(yy[pos], kind="stable")
    xs, idx = yy[pos][order], pos[order]
    if p < xs[0] or p > xs[-1]:
        return -1
    j = int(np.searchsorted(xs, p, side="left"))
    return int(idx[j])  # exact hit returns its own index; otherwise the right-hand neighbour


def rmst_from_curve(
    time: np.ndarray, surv: np.ndarray, n_risk: np.ndarray, n_event: np.ndarray, tau: float
) -> tuple[float, float]:
    """Area under a KM step curve from 0 to ``tau`` and its SE, as R's ``survmean``.

    The variance is sum over times t_j <= tau of A_j^2 d_j / (n_j (n_j - d_j)), where A_j is the
    area between t_j and tau (the term is 0 where n_j = d_j).
    """
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number, got {tau}")
    # work on times divided by a power of two near tau (exact in floating point, so ordinary data
    # give the same bits) so that areas squared neither overflow (x 1e300) nor underflow (x 1e-300)
    k = int(np.frexp(tau)[1])
    time, tau_s = np.ldexp(np.asarray(time, dtype=float), -k), float(np.ldexp(tau, -k))
    keep = time <= tau_s
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n_risk - n_event == 0, 0.0, n_event / (n_risk * (n_risk - n_event)))
    if not keep.any():
        temptime, tempsurv, hh = np.array([tau_s]), np.array([1.0]), np.array([0.0])
    else:
        temptime = np.append(time[keep], tau_s)
        tempsurv = np.append(surv[keep], surv[keep][-1])
        hh = np.append(hh[keep], 0.0)
    delta = np.diff(np.concatenate(([0.0], temptime)))
    rect = delta * np.concatenate(([1.0], tempsurv[:-1]))
    tail_area = np.cumsum(rect[1:][::-1])  # area after each time point, last point first
    var = float(np.sum(tail_area**2 * hh[::-1][1:]))
    return float(np.ldexp(rect.sum(), k)), float(np.ldexp(np.sqrt(var), k))
