"""Survival curves predicted from a fitted Cox model, as R ``survfit(coxph_fit, newdata)``.

R survival's ``survfit.coxph`` (``coxsurv.fit`` and ``agsurv``, survival 3.x), for right-censored
data without weights:

* the baseline cumulative hazard is Breslow's under Breslow ties, and under Efron ties the
  Efron-adjusted increment: at a time with d tied events the hazard increment is
  ``sum_j 1 / (R - (j/d) E)``, j = 0..d-1, with R the risk-score sum of the risk set and E that of
  the d events (R's ``ctype`` follows the fit's ties);
* survival is ``exp(-H0(t) exp(x'b))`` (R's ``stype = 2``);
* ``std_err`` is the standard error of the cumulative hazard ``H(t) = -log S(t)`` (R's survfit
  ``std.err``; ``summary()`` prints ``std.err * surv``): the sum of the variance increments as if
  b were known plus ``d(t)' V d(t)``, with ``d(t)`` the integral of ``(x - xbar(s)) dH0(s)`` and V
  the coefficients' covariance, all times ``exp(x'b)^2``;
* CIs are R's ``survfit_confint`` of survival 3.5 (``log``, ``log-log``, ``plain``): the
  log-log CI is undefined (NaN, null in JSON) where the curve is 1, before the first event.

The prediction does not depend on centring: R centres the model matrix at ``fit$means`` and the
new row at the same means; the product ``H0(t) exp(x'b)`` is the same for any centre. Values are
therefore given on the data's scale (see :meth:`CoxResult.predict_survival`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from walkback._typing import ConfType
from walkback.estimators._risksets import RiskSets
from walkback.estimators.kaplan_meier import confint


@dataclass(frozen=True)
class CoxSurvival:
    """Survival predicted by a Cox model for one covariate pattern (one curve per stratum).

    Rows are (stratum, time): every distinct observed time of each stratum (R's curve), or the
    requested ``times`` per stratum. ``stratum`` is None for an unstratified model.
    """

    time: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cumhaz: np.ndarray
    stratum: tuple[str, ...] | None
    covariates: dict = field(compare=False)
    conf_type: ConfType = "log"
    conf_level: float = 0.95
    ties: str = "efron"

    def summary(self) -> pd.DataFrame:
        out = {
            "time": self.time,
            "survival": self.survival,
            "std_err": self.std_err,
            "lower": self.lower,
            "upper": self.upper,
            "cumhaz": self.cumhaz,
        }
        if self.stratum is not None:
            out = {"stratum": list(self.stratum), **out}
        return pd.DataFrame(out)

    def records(self) -> list[dict]:
        """Rows ``{"time", "survival", "lower", "upper"}`` (plus ``stratum``); NaN -> None."""
        keys = ("time", "survival", "lower", "upper")
        rows = []
        for i in range(self.time.size):
            row = {k: _none_if_nan(getattr(self, k)[i]) for k in keys}
            if self.stratum is not None:
                row = {"stratum": self.stratum[i], **row}
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        return {
            "covariates": dict(self.covariates),
            "curve": [
                {**r, "std_err": _none_if_nan(self.std_err[i]), "cumhaz": float(self.cumhaz[i])}
                for i, r in enumerate(self.records())
            ],
            "settings": {
                "conf_type": self.conf_type,
                "conf_level": self.conf_level,
                "ties": self.ties,
                "method": "R survfit.coxph: exp(-cumulative hazard), Breslow or Efron baseline "
                "as the fit's ties; std_err of the cumulative hazard incl. the coefficients' "
                "variance",
            },
        }


def _none_if_nan(x: float) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


@dataclass(frozen=True)
class Baseline:
    """Per tie group (sorted by stratum, time): hazard and variance increments and x-bar * dH."""

    time: np.ndarray
    stratum: np.ndarray  # stratum code of each group
    hazard: np.ndarray
    var_increment: np.ndarray
    xbar_hazard: np.ndarray  # (groups, p): risk-weighted mean of x times the hazard increment


def baseline_hazard(
    rs: RiskSets, x: np.ndarray, beta: np.ndarray, rows: np.ndarray, frac: np.ndarray
) -> Baseline:
    """Baseline hazard increments at the centring of ``x`` (R ``agsurv``, survtype = vartype).

    ``rows``/``frac`` are the event rows and tie fractions of the fit: fraction 0 everywhere gives
    Breslow's d/R, d/R^2 and (sum x w / R) d/R; Efron's fractions j/d give R's ``agsurv5``.
    """
    w = np.exp(x @ beta)
    ev = rs.event.astype(float)
    s0 = rs.risk_sum(w)
    s1 = rs.risk_sum(w[:, None] * x)
    d0 = rs.group_sum(w * ev)
    d1 = rs.group_sum((w * ev)[:, None] * x)
    denom = s0[rows] - frac * d0[rows]
    num = s1[rows] - frac[:, None] * d1[rows]
    k = rs.group_start.size
    haz = np.bincount(rows, weights=1.0 / denom, minlength=k)
    var = np.bincount(rows, weights=1.0 / denom**2, minlength=k)
    xb = np.column_stack(
        [np.bincount(rows, weights=num[:, j] / denom**2, minlength=k) for j in range(x.shape[1])]
    ).reshape(k, x.shape[1])
    return Baseline(rs.time[rs.group_start], rs.stratum[rs.group_start], haz, var, xb)


def _stratum_cumsum(values: np.ndarray, stratum: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 0, restarted at each stratum (groups sorted by stratum)."""
    c = np.cumsum(values, axis=0)
    start = np.ones(stratum.size, dtype=bool)
    start[1:] = stratum[1:] != stratum[:-1]
    first = np.flatnonzero(start)
    run = np.cumsum(start) - 1
    offset = np.zeros_like(c)
    before = c[first - 1] if first.size else c[:0]
    before[first == 0] = 0.0
    offset[:] = before[run]
    return c - offset


def predict_curve(
    base: Baseline,
    x0: np.ndarray,
    beta: np.ndarray,
    var: np.ndarray,
    *,
    strata: list[int],
    labels: list[str] | None,
    times: np.ndarray | None,
    conf_type: ConfType,
    conf_level: float,
    ties: str,
    covariates: dict,
) -> CoxSurvival:
    """The curve for centred covariates ``x0`` in each stratum code of ``strata``."""
    risk = float(np.exp(x0 @ beta))
    cumhaz0 = _stratum_cumsum(base.hazard, base.stratum)
    cumvar = _stratum_cumsum(base.var_increment, base.stratum)
    dt = _stratum_cumsum(base.hazard[:, None] * x0[None, :] - base.xbar_hazard, base.stratum)
    varh = (cumvar + np.einsum("ij,jk,ik->i", dt, var, dt)) * risk**2
    cols = {"time": [], "cumhaz": [], "se": [], "before": []}
    names: list[str] = []
    for s in strata:
        m = base.stratum == s
        t, h, v = base.time[m], cumhaz0[m] * risk, varh[m]
        before = np.zeros(t.size, dtype=bool)
        if times is not None:
            idx = np.searchsorted(t, times, side="right") - 1
            before = idx < 0
            j = np.where(before, 0, idx)
            t = times
            h = np.where(before, 0.0, h[j])
            v = np.where(before, 0.0, v[j])
        cols["time"].append(t)
        cols["cumhaz"].append(h)
        cols["se"].append(np.sqrt(v))
        cols["before"].append(before)
        if labels is not None:
            names += [labels[s]] * t.size
    time = np.concatenate(cols["time"]).astype(float)
    cumhaz = np.concatenate(cols["cumhaz"])
    se = np.concatenate(cols["se"])
    surv = np.exp(-cumhaz)
    lo, hi = confint(surv, se, conf_type, conf_level)
    before = np.concatenate(cols["before"])  # R summary(): the curve's start, CI (1, 1)
    lo, hi = np.where(before, 1.0, lo), np.where(before, 1.0, hi)
    return CoxSurvival(
        time=time,
        survival=surv,
        std_err=se,
        lower=lo,
        upper=hi,
        cumhaz=cumhaz,
        stratum=tuple(names) if labels is not None else None,
        covariates=covariates,
        conf_type=conf_type,
        conf_level=conf_level,
        ties=ties,
    )
