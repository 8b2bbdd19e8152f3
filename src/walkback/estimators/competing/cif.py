"""Aalen-Johansen cumulative incidence of one cause with Gray's variance, as R ``cmprsk::cuminc``.

Conventions (cmprsk 2.2 ``cinc``; the estimate also equals R survival's multi-state
``survfit(Surv(time, factor(status)) ~ 1)$pstate`` for that cause):

* F(t) = sum over cause times s <= t of S(s-) d_k(s) / n(s), with S the Kaplan-Meier curve of
  any event, n the number at risk and d_k the number failing from the cause;
* the variance is Gray's (1988) delta-method estimate that ``cuminc`` returns, with the
  hypergeometric correction (1 - (d - 1)/(n - 1)) for tied events. R survival's ``survfit``
  reports a different one (the infinitesimal jackknife), so its ``std.err`` differs slightly;
* pointwise CIs use R's ``survfit_confint`` on F with the standard error sqrt(variance):
  ``log-log`` (the default here, as SAS PROC LIFETEST's CIF; cuminc itself gives no CI), ``log``
  or ``plain``; undefined limits (F = 0, or F = 1 under log-log) are NaN (null in JSON);
* read-outs at times (``at``) are right-continuous step values, as ``cmprsk::timepoints``: 0 before
  the first cause time and NaN after the last follow-up time of the group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback._typing import CONF_TYPES, ConfType
from walkback.estimators._checks import check_time
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators.competing._status import CAUSE, CENSORED, cause_codes, code_text
from walkback.estimators.kaplan_meier import confint
from walkback.exceptions import EstimationError

__all__ = ["CIFResult", "cumulative_incidence", "cif_kernel"]


@dataclass(frozen=True)
class CIFResult:
    """A cumulative incidence curve of one cause, indexed by the distinct times of that cause."""

    time: np.ndarray
    cif: np.ndarray
    variance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n: int
    last_time: float
    cause: str
    conf_type: ConfType
    conf_level: float

    def at(self, times) -> pd.DataFrame:
        """CIF, variance and CI at ``times`` (cmprsk ``timepoints``; NaN after the last time)."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        idx = np.searchsorted(self.time, t, side="right") - 1
        j = np.maximum(idx, 0)
        cif = np.where(idx < 0, 0.0, self.cif[j] if self.time.size else 0.0)
        var = np.where(idx < 0, 0.0, self.variance[j] if self.time.size else 0.0)
        beyond = (t > self.last_time) | (t < 0)
        cif, var = np.where(beyond, np.nan, cif), np.where(beyond, np.nan, var)
        lo, hi = cif_confint(cif, var, self.conf_type, self.conf_level)
        return pd.DataFrame({"time": t, "cif": cif, "variance": var, "lower": lo, "upper": hi})

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "cif": self.cif,
                "variance": self.variance,
                "lower": self.lower,
                "upper": self.upper,
            }
        )

    def to_dict(self) -> dict:
        return {
            "cause": self.cause,
            "n": self.n,
            "events": int(self.n_event.sum()),
            "settings": {"conf_type": self.conf_type, "conf_level": self.conf_level},
            "curve": {
                k: [None if np.isnan(v) else float(v) for v in np.asarray(col, dtype=float)]
                for k, col in self.summary().items()
            },
        }

    def _repr_html_(self) -> str:
        head = (
            f"<p>Cumulative incidence of cause {self.cause!r}: n={self.n}, "
            f"events={int(self.n_event.sum())}; CI transform <code>{self.conf_type}</code></p>"
        )
        return head + self.summary().to_html(index=False, max_rows=20)


def cif_confint(
    cif: np.ndarray, variance: np.ndarray, conf_type: ConfType, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI for F from its variance, R ``survfit_confint(F, sqrt(var), logse = FALSE)``."""
    f = np.asarray(cif, dtype=float)
    se = np.sqrt(np.asarray(variance, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(se == 0, 0.0, se / f)  # R: se <- ifelse(se == 0, 0, se/p)
    return confint(f, rel, conf_type, conf_level)


def cif_kernel(
    time: np.ndarray, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Times, estimate, variance, number at risk and cause events (cmprsk ``cinc``).

    ``codes`` are 0 (censored), 1 (the cause) or 2 (another cause); returned arrays are indexed
    by the distinct times at which the cause occurs.
    """
    utime, inverse = np.unique(time, return_inverse=True)
    n_at = np.bincount(inverse, minlength=utime.size)
    d1 = np.bincount(inverse, weights=codes == CAUSE, minlength=utime.size)
    d_all = np.bincount(inverse, weights=codes != CENSORED, minlength=utime.size)
    d2 = d_all - d1
    rs = (time.size - np.concatenate(([0], np.cumsum(n_at)[:-1]))).astype(float)
    s_after = np.cumprod((rs - d_all) / rs)  # overall KM after each time
    s_before = np.concatenate(([1.0], s_after[:-1]))
    f = np.cumsum(s_before * d1 / rs)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(s_after > 0, 1.0 / s_after, 0.0)
        # S(s-)^2 (1 - (d - 1)/(n - 1)) d / n^2; other causes are skipped once S reaches 0
        w2 = np.where((d2 > 0) & (s_after > 0), _t6(d2, rs, s_before), 0.0)
        w1 = np.where(d1 > 0, _t6(d1, rs, s_before), 0.0)
    t4_2, t4_1 = f * inv, 1.0 + inv * f
    v1 = np.cumsum(t4_2 * t4_2 * w2 + t4_1 * t4_1 * w1)
    v2 = np.cumsum(inv * t4_2 * w2 + inv * t4_1 * w1)
    v3 = np.cumsum(inv * inv * (w2 + w1))
    var = v1 + f * f * v3 - 2.0 * f * v2
    keep = d1 > 0
    return utime[keep], f[keep], var[keep], rs[keep], d1[keep]


def _t6(d: np.ndarray, rs: np.ndarray, s_before: np.ndarray) -> np.ndarray:
    t5 = np.where(d > 1, 1.0 - (d - 1.0) / (rs - 1.0), 1.0)
    return s_before**2 * t5 * d / rs**2


def cumulative_incidence(
    time,
    status,
    cause,
    censor=0,
    *,
    conf_type: ConfType = "log-log",
    conf_level: float = 0.95,
    timefix: bool = True,
) -> CIFResult:
    """Aalen-Johansen cumulative incidence of ``cause`` with Gray's variance (R ``cuminc``).

    Parameters
    ----------
    time : array-like (n,)
        Follow-up times (finite, >= 0).
    status : array-like (n,)
        One code per row: ``censor`` for censored rows, any other code a cause (numbers or text;
        1, 1.0 and "1" are the same code).
    cause : code
        The cause whose cumulative incidence is estimated (a cause that does not occur in these
        rows has F = 0 throughout, as ``cuminc`` for a group without that cause).
    censor : code, default 0
        The censoring code.
    conf_type : {"log-log", "log", "plain"}
        CI transform of F (R ``survfit_confint``); default log-log.
    conf_level : float
        Confidence level of the pointwise intervals.
    timefix : bool, default True
        Merge near-tied times as R's ``aeqSurv``. ``cuminc`` compares times exactly; the two agree
        unless times differ by less than ~1.5e-8 (relative).
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    t = check_time(time)
    if t.size == 0:
        raise EstimationError("cannot estimate a cumulative incidence from zero observations")
    codes = cause_codes(status, t.size, cause, censor, require=False)
    if timefix:
        t = aeq_times(t)
    ut, f, var, rs, d1 = cif_kernel(t, codes)
    lo, hi = cif_confint(f, var, conf_type, conf_level)
    return CIFResult(
        time=ut,
        cif=f,
        variance=var,
        lower=lo,
        upper=hi,
        n_risk=rs.astype(np.int64),
        n_event=d1.astype(np.int64),
        n=int(t.size),
        last_time=float(t.max()),
        cause=code_text(cause, "cause"),
        conf_type=conf_type,
        conf_level=float(conf_level),
    )
