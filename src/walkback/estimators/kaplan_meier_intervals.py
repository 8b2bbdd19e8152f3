"""Kaplan-Meier and Nelson-Aalen on (start, stop] data, with case weights and a robust variance.

Equal to R survival 3.5's ``survfit(Surv(entry, time, event) ~ 1, weights = w, id = id,
cluster = c)`` (``survfitKM``): the curve is reported at every distinct stop time; numbers at
risk, events and censorings are weighted sums; a row is at risk on (start, stop]. With an ``id``,
only a participant's last row counts as a censoring. The variance is Greenwood's (and
sum d/n^2 for the cumulative hazard) unless R would use the infinitesimal jackknife: a cluster is
given, some weight is not a whole number, or an id has more than one event. Then every
participant's (cluster's) influence on S(t) and on the cumulative hazard is summed and squared,
as R's ``survfitkm.c``.

The mean cumulative function of recurrent events (:func:`mean_cumulative_function`) is the
Nelson-Aalen cumulative hazard of the (start, stop] rows, robust variance grouped by participant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback._typing import ConfType
from walkback.estimators._checks import _error, check_codes, check_event, check_time
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators._intervals import (
    check_cluster,
    check_start,
    check_weights,
    timefix_intervals,
)
from walkback.estimators.kaplan_meier import KaplanMeierResult, confint, time_counts, z_value
from walkback.exceptions import EstimationError


@dataclass(frozen=True)
class IntervalKaplanMeierResult(KaplanMeierResult):
    """A Kaplan-Meier curve from (start, stop] rows; numbers at risk are (weighted) sums.

    ``std_err`` is the SE of -log S (as for right-censored data); ``cumhaz`` and ``std_chaz``
    are the Nelson-Aalen cumulative hazard and its SE; ``robust`` says whether the SEs are R's
    infinitesimal jackknife (grouped by ``n_clusters`` clusters) or Greenwood's.
    """

    cumhaz: np.ndarray | None = None
    std_chaz: np.ndarray | None = None
    robust: bool = False
    n_clusters: int | None = None

    def survival_at(self, times) -> pd.DataFrame:
        """Survival and CI at ``times``; ``n_at_risk`` is the (weighted) number at risk at the
        first curve time >= t (0 beyond the last), as R ``summary(fit, times, extend = TRUE)``."""
        out = super().survival_at(times)
        t = np.atleast_1d(np.asarray(times, dtype=float))
        nxt = np.searchsorted(self.time, t, side="left")
        risk = np.concatenate((self.n_risk, [0.0]))
        out["n_at_risk"] = risk[np.minimum(nxt, self.time.size)]
        return out

    def rmst(self, tau: float):
        raise EstimationError("RMST is not available for (start, stop] or weighted curves")

    def summary(self) -> pd.DataFrame:
        out = super().summary()
        out["cumhaz"] = self.cumhaz
        out["std_chaz"] = self.std_chaz
        return out


@dataclass(frozen=True)
class MeanCumulativeFunction:
    """Mean cumulative number of events per participant (Nelson-Aalen of recurrent events).

    ``se`` is the robust (infinitesimal jackknife) SE grouped by participant, as R
    ``survfit(Surv(start, stop, event) ~ 1, id = id, robust = TRUE)$std.chaz``; the CI is
    ``exp(log M -/+ z se / M)`` (log transform, so it stays positive).
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    mcf: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_participants: int
    conf_level: float

    def at(self, times) -> pd.DataFrame:
        """The step function at ``times`` (0 before the first time, last value after)."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        idx = np.searchsorted(self.time, t, side="right") - 1
        j = np.maximum(idx, 0)
        pick = {
            k: np.where(idx < 0, 0.0, getattr(self, k)[j]) for k in ("mcf", "se", "lower", "upper")
        }
        return pd.DataFrame({"time": t, **pick})

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                k: getattr(self, k)
                for k in ("time", "n_risk", "n_event", "mcf", "se", "lower", "upper")
            }
        )

    def _repr_html_(self) -> str:
        keep = self.n_event > 0
        head = (
            f"<p>Mean cumulative function: {self.n_participants} participants, "
            f"{self.n_event.sum():g} events; robust SE by participant, log CI</p>"
        )
        return head + self.summary()[keep].to_html(index=False, max_rows=20)

    def to_dict(self, times=None) -> dict:
        keep = self.n_event > 0
        rows = self.summary()[keep] if times is None else self.at(times)
        return {
            "n": self.n_participants,
            "events": float(self.n_event.sum()),
            "curve": [{k: _num(v) for k, v in r.items()} for r in rows.to_dict(orient="records")],
            "variance": "robust (infinitesimal jackknife) grouped by participant, as R survfit "
            "std.chaz with id; CI log-transformed",
        }


def _num(v) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v


def _prepare(time, event, entry, weights, timefix):
    stop = check_time(time)
    n = stop.shape[0]
    e = check_event(event, n)
    if n == 0:
        raise EstimationError("cannot estimate a survival curve from zero observations")
    start = None if entry is None else check_start(entry, stop)
    w = np.ones(n) if weights is None else check_weights(weights, n)
    if timefix:
        if start is None:
            stop = aeq_times(stop)
        else:
            start, stop = timefix_intervals(start, stop)
    return start, stop, e, w


def _last_rows(ids: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """True for each participant's last row (R's ``survflag`` position & 2)."""
    order = np.lexsort((stop, ids))
    last = np.ones(ids.size, dtype=bool)
    last[order[:-1]] = ids[order[:-1]] != ids[order[1:]]
    return last


def _curve_counts(start, stop, e, w, last):
    """Distinct stop times; weighted at risk, events, censorings (R survfitkm's n[, 3:5])."""
    utime, inv = np.unique(stop, return_inverse=True)
    k = utime.size
    ends = np.bincount(inv, weights=w, minlength=k)
    n_risk = np.cumsum(ends[::-1])[::-1]
    if start is not None:
        # rows whose start is >= t are not yet at risk at t: index of the last curve time <= start
        jj = np.searchsorted(utime, start, side="right") - 1
        ok = jj >= 0
        later = np.bincount(jj[ok], weights=w[ok], minlength=k)
        n_risk = n_risk - np.cumsum(later[::-1])[::-1]
    d = np.bincount(inv, weights=w * e, minlength=k)
    nd = np.bincount(inv, weights=e.astype(float), minlength=k)
    cens = np.bincount(inv, weights=w * (1 - e) * last, minlength=k)
    return utime, n_risk, d, nd, cens


def _influence(start, stop, e, w, groups, ngroup, utime, n_risk, d, nd):
    """Infinitesimal-jackknife SEs of S and of the cumulative hazard (R survfitkm.c, type 1).

    Each cluster's weight at risk is kept up to date as rows enter (start < t) and leave
    (stop < t), so one event time costs O(clusters), as in R.
    """
    n = stop.size
    lo = np.full(n, -np.inf) if start is None else start
    by_start = np.argsort(lo, kind="stable")
    by_stop = np.argsort(stop, kind="stable")
    lo_sorted, stop_sorted = lo[by_start], stop[by_stop]
    gwt = np.zeros(ngroup)
    gcount = np.zeros(ngroup, dtype=np.int64)
    inf1 = np.zeros(ngroup)
    inf2 = np.zeros(ngroup)
    se_s = np.zeros(utime.size)
    se_h = np.zeros(utime.size)
    km = 1.0
    v1 = v2 = 0.0
    entered = left = 0
    for i, t in enumerate(utime):
        if nd[i] > 0 and d[i] > 0:
            j = int(np.searchsorted(lo_sorted, t, side="left"))
            rows = by_start[entered:j]
            np.add.at(gwt, groups[rows], w[rows])
            np.add.at(gcount, groups[rows], 1)
            entered = j
            j = int(np.searchsorted(stop_sorted, t, side="left"))
            rows = by_stop[left:j]
            np.subtract.at(gwt, groups[rows], w[rows])
            np.subtract.at(gcount, groups[rows], 1)
            left = j
            gwt[gcount == 0] = 0.0  # as R: no rounding residue for a cluster with no rows
            here = by_stop[j : int(np.searchsorted(stop_sorted, t, side="right"))]
            dn = np.zeros(ngroup)
            np.add.at(dn, groups[here], (w * e)[here])
            haz = d[i] / n_risk[i]
            inf1 = inf1 * (1.0 - haz) + gwt * km * haz / n_risk[i] - km * dn / n_risk[i]
            inf2 = inf2 - gwt * haz / n_risk[i] + dn / n_risk[i]
            km *= 1.0 - haz
            v1 = float(np.sum(inf1 * inf1))
            v2 = float(np.sum(inf2 * inf2))
        se_s[i] = np.sqrt(v1)
        se_h[i] = np.sqrt(v2)
    return se_s, se_h


def survfit_intervals(
    time,
    event,
    *,
    entry=None,
    weights=None,
    id=None,
    cluster=None,
    robust: bool | None = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    timefix: bool = True,
) -> IntervalKaplanMeierResult:
    """Kaplan-Meier and Nelson-Aalen of (entry, time] rows, as R survival 3.5 ``survfit``.

    Parameters
    ----------
    time, event : array-like (n,)
        Stop times and 0/1 events.
    entry : array-like (n,), optional
        Start (entry) times, each < its stop time (left truncation / counting process).
    weights : array-like (n,), optional
        Case weights >= 0.
    id : array-like (n,), optional
        Participant of each row (rows of one participant must not overlap): only the last row
        counts as a censoring, and it is the robust variance's cluster unless ``cluster`` is given.
    cluster : array-like (n,), optional
        Clusters of the robust variance.
    robust : bool, optional
        Default as R: robust when a cluster is given, a weight is not a whole number, or an id
        has two or more events.
    """
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    start, stop, e, w = _prepare(time, event, entry, weights, timefix)
    n = stop.size
    ids = None if id is None else check_codes(id, n, "id")[0]
    cl = None if cluster is None else check_cluster(cluster, n)
    if robust is None:
        repeated = ids is not None and np.unique(ids[e == 1]).size < int(e.sum())
        robust = cl is not None or bool(np.any(w != np.floor(w))) or repeated
    last = np.ones(n) if ids is None or start is None else _last_rows(ids, start, stop)
    utime, n_risk, d, nd, cens = _curve_counts(start, stop, e, w, last)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = (nd > 0) & (d > 0)
        surv = np.cumprod(np.where(step, (n_risk - d) / n_risk, 1.0))
        green = np.sqrt(np.cumsum(np.where(step, d / (n_risk * (n_risk - d)), 0.0)))
        cumhaz = np.cumsum(np.where(step, d / n_risk, 0.0))
        std_chaz = np.sqrt(np.cumsum(np.where(step, d / (n_risk * n_risk), 0.0)))
    n_clusters = None
    std_err = green
    if robust:
        groups = cl if cl is not None else (ids if ids is not None else np.arange(n))
        n_clusters = int(groups.max()) + 1
        se_s, std_chaz = _influence(start, stop, e, w, groups, n_clusters, utime, n_risk, d, nd)
        with np.errstate(divide="ignore", invalid="ignore"):
            std_err = np.where(se_s == 0, 0.0, se_s / surv)  # R survfit_confint, logse = FALSE
    lo, hi = confint(surv, std_err, conf_type, conf_level)
    return IntervalKaplanMeierResult(
        time=utime,
        n_risk=n_risk,
        n_event=d,
        n_censor=cens,
        survival=surv,
        std_err=std_err,
        lower=lo,
        upper=hi,
        n=int(n),
        conf_type=conf_type,
        conf_level=float(conf_level),
        _time_counts=time_counts(*np.unique(stop, return_counts=True)),
        cumhaz=cumhaz,
        std_chaz=std_chaz,
        robust=bool(robust),
        n_clusters=n_clusters,
    )


def check_no_overlap(start, stop, ids, name: str = "id") -> None:
    """Rows of one participant must not overlap in time (R ``survcheck``'s overlap)."""
    order = np.lexsort((start, ids))
    same = ids[order[1:]] == ids[order[:-1]]
    bad = np.flatnonzero(same & (start[order[1:]] < stop[order[:-1]]))
    if bad.size:
        rows = np.unique(np.concatenate((order[bad], order[bad + 1])))
        raise _error(
            "intervals of one participant overlap",
            name,
            rows,
            fix="each participant's (start, stop] intervals must follow one another",
        )


def mean_cumulative_function(
    time,
    event,
    id,
    *,
    entry=None,
    weights=None,
    conf_level: float = 0.95,
    timefix: bool = True,
) -> MeanCumulativeFunction:
    """Mean cumulative function of recurrent events (Nelson-Aalen with a robust variance).

    One row per (start, stop] interval of a participant (``id``), event = 1 where an event ends
    the interval. Equals R ``survfit(Surv(entry, time, event) ~ 1, id = id, robust = TRUE)``'s
    ``cumhaz`` and ``std.chaz``.
    """
    stop = check_time(time)
    ids = check_codes(id, stop.size, "id")[0]
    if entry is not None:
        start = check_start(entry, stop)
        if timefix:  # rows that touch once near-tied times are merged do not overlap (as R)
            start, stop = timefix_intervals(start, stop)
        check_no_overlap(start, stop, ids)
    fit = survfit_intervals(
        time, event, entry=entry, weights=weights, id=id, robust=True, timefix=timefix
    )
    z = z_value(conf_level)
    m, se = fit.cumhaz, fit.std_chaz
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(m > 0, z * se / m, 0.0)
    lower = np.where(m > 0, m * np.exp(-half), 0.0)
    upper = np.where(m > 0, m * np.exp(half), 0.0)
    return MeanCumulativeFunction(
        time=fit.time,
        n_risk=fit.n_risk,
        n_event=fit.n_event,
        mcf=m,
        se=se,
        lower=lower,
        upper=upper,
        n_participants=int(np.unique(ids).size),
        conf_level=float(conf_level),
    )
