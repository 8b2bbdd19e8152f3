"""A model's expected published figures, computed on the day grid without simulation noise.

The trial model records events on whole days (day ``D = ceil(T)``) and censors each participant at
a follow-up day ``F`` (the follow-up rule: administrative end or dropout). With ``S_a`` the model's
survival in arm ``a`` and ``G(k) = P(F >= k)``, the expected numbers at risk and with an event on
day ``k`` among the arm's ``n_a`` participants are

    y_a(k) = n_a S_a(k - 1) G(k),        d_a(k) = n_a (S_a(k - 1) - S_a(k)) G(k),

and every statistic a paper prints is evaluated on these expected counts: the Kaplan-Meier curve
(it equals ``S_a`` on whole days), its Greenwood variance and pointwise CI (the spec's transform),
the median and its CI (the first day each band reaches 0.5, linearly interpolated between days so
the fit sees a smooth function), the Cox HR (the root of the expected Breslow score) with its
information, the log-rank statistic, event counts, the numbers at risk printed under a figure
(``y_a(k)`` at day ``k = ceil(time)``), RMST and the reverse Kaplan-Meier median follow-up. ``G``
comes from the spec's follow-up rule: the administrative follow-up of a pooled set of simulated
recruitments (which no outcome parameter moves) times the dropout survival, in closed form. These
are the large-sample values a trial of the spec's size would give; they are smooth in the model's
parameters, which is what :mod:`walkback.fit` needs.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from walkback.estimators.kaplan_meier import confint, z_value
from walkback.spec import NOT_REACHED, Target, TrialSpec


class ExpectedTrial:
    """Expected figures of one spec's trial design under a given outcome model."""

    def __init__(self, spec: TrialSpec, admin_days: np.ndarray) -> None:
        self.spec = spec
        self.admin = np.sort(np.asarray(admin_days, dtype=float))
        self.K = int(self.admin[-1]) + 1
        self.k = np.arange(self.K + 1, dtype=float)  # day grid 0..K
        self.n = {a: float(spec.arm_sizes[a].value) for a in ("treatment", "control")}
        self.z = z_value(1 - spec.alpha)

    # ---- follow-up ------------------------------------------------------------------------
    def followup_survival(self, dropout_rate: float) -> np.ndarray:
        """G(k) = P(F >= k) on the day grid."""
        k = self.k
        admin = 1.0 - np.searchsorted(self.admin, k, side="left") / self.admin.size
        if dropout_rate <= 0:
            return admin
        spec = self.spec
        dpm, every = spec.days_per_month, spec.report_every_months
        if every == 0:
            done_days = k
        else:  # the last completed report before dropout: a whole number of intervals
            months = np.arange(0.0, self.K / dpm + 2 * every + 1, every)
            days = np.rint(months * dpm)
            done_days = months[np.minimum(np.searchsorted(days, k), months.size - 1)] * dpm
        return admin * np.exp(-dropout_rate * done_days / 365.25)

    # ---- counts ---------------------------------------------------------------------------
    def counts(self, dist, dropout_rate: float) -> dict:
        """Expected at-risk and event counts per arm on days 1..K."""
        g = self.followup_survival(dropout_rate)[1:]
        out = {"G": g}
        for arm in ("treatment", "control"):
            s = np.asarray(dist.survival(self.k, arm == "treatment"), dtype=float)
            s = np.minimum.accumulate(np.clip(s, 0.0, 1.0))
            n = self.n[arm]
            out[arm] = {
                "S": s,
                "y": n * s[:-1] * g,
                "d": n * (s[:-1] - s[1:]) * g,
                "left": n * s[1:] * g,  # y - d
            }
        return out

    # ---- statistics -----------------------------------------------------------------------
    def value(self, t: Target, dist, dropout_rate: float, counts: dict | None = None):
        """(estimate, lower, upper) of target ``t`` (lower/upper None without a CI)."""
        c = counts if counts is not None else self.counts(dist, dropout_rate)
        return STATISTICS[t.statistic](self, t, c, dist)

    def _band(self, arm: dict):
        with np.errstate(divide="ignore", invalid="ignore"):
            inc = np.where(arm["left"] > 0, arm["d"] / (arm["y"] * arm["left"]), 0.0)
        se = np.sqrt(np.concatenate(([0.0], np.cumsum(inc))))
        lo, hi = confint(arm["S"], se, self.spec.conf_type, 1 - self.spec.alpha)
        return lo, hi

    def last_day(self, c: dict, arms=("treatment", "control")) -> float:
        """The end of the observable curve: the last day with at least one participant expected
        at risk (a finite trial's curve stops there)."""
        at_risk = sum(c[a]["y"] for a in arms)
        alive = np.flatnonzero(at_risk >= 1.0)
        return float(alive[-1] + 1) if alive.size else 0.0


def _cross(curve: np.ndarray, level: float, end: float) -> float:
    """First (interpolated) day a non-increasing curve on days 0..K reaches ``level``."""
    curve = np.where(np.isnan(curve), 1.0, curve)
    below = np.flatnonzero(curve[: int(end) + 1] <= level)
    if below.size == 0:
        return NOT_REACHED
    k = int(below[0])
    if k == 0:
        return 0.0
    a, b = curve[k - 1], curve[k]
    return k - 1 + (a - level) / (a - b) if a > b else float(k)


def _km_median(e: ExpectedTrial, t: Target, c: dict, dist):
    arm = c[t.arm]
    end = e.last_day(c, [t.arm])
    est = _cross(arm["S"], 0.5, end)
    lo, hi = e._band(arm)
    return est, _cross(lo, 0.5, end), _cross(hi, 0.5, end)


def _km_survival(e: ExpectedTrial, t: Target, c: dict, dist):
    arm = c[t.arm]
    k = min(int(math.floor(t.time)), e.K)
    lo, hi = e._band(arm)
    return float(arm["S"][k]), float(lo[k]), float(hi[k])


def _cox(c: dict):
    y1, y0 = c["treatment"]["y"], c["control"]["y"]
    d1, d = c["treatment"]["d"], c["treatment"]["d"] + c["control"]["d"]
    keep = (y1 > 0) & (y0 > 0)
    y1, y0, d1, d = y1[keep], y0[keep], d1[keep], d[keep]

    def score(b: float) -> float:
        r = np.exp(b)
        return float(np.sum(d1 - d * y1 * r / (y1 * r + y0)))

    beta = optimize.brentq(score, -20.0, 20.0, xtol=1e-12)
    r = math.exp(beta)
    info = float(np.sum(d * y1 * r * y0 / (y1 * r + y0) ** 2))
    return beta, 1.0 / math.sqrt(info)


def _cox_hr(e: ExpectedTrial, t: Target, c: dict, dist):
    beta, se = _cox(c)
    return math.exp(beta), math.exp(beta - e.z * se), math.exp(beta + e.z * se)


def _cox_p(e: ExpectedTrial, t: Target, c: dict, dist):
    beta, se = _cox(c)
    return float(2 * stats.norm.sf(abs(beta) / se)), None, None


def _logrank_p(e: ExpectedTrial, t: Target, c: dict, dist):
    y1, y0 = c["treatment"]["y"], c["control"]["y"]
    d1, d = c["treatment"]["d"], c["treatment"]["d"] + c["control"]["d"]
    y = y1 + y0
    keep = y > 1
    y1, y0, d1, d, y = y1[keep], y0[keep], d1[keep], d[keep], y[keep]
    u = float(np.sum(d1 - d * y1 / y))
    v = float(np.sum(d * y1 * y0 * (y - d) / (y**2 * (y - 1))))
    return float(2 * stats.norm.sf(abs(u) / math.sqrt(v))), None, None


def _events(e: ExpectedTrial, t: Target, c: dict, dist):
    arms = [t.arm] if t.arm is not None else ["treatment", "control"]
    return float(sum(c[a]["d"].sum() for a in arms)), None, None


def _at_risk(e: ExpectedTrial, t: Target, c: dict, dist):
    k = math.ceil(t.time)  # followed to day k or beyond (days are whole)
    if k <= 0:
        return e.n[t.arm], None, None
    return (float(c[t.arm]["y"][k - 1]) if k <= e.K else 0.0), None, None


def _rmst(e: ExpectedTrial, t: Target, c: dict, dist):
    s = c[t.arm]["S"]
    whole = min(int(math.floor(t.tau)), e.K)
    return float(s[:whole].sum() + (t.tau - whole) * s[min(whole, e.K)]), None, None


def _median_followup(e: ExpectedTrial, t: Target, c: dict, dist):
    """Reverse Kaplan-Meier: censorings are the events, outcome events are censored."""
    arms = [t.arm] if t.arm is not None else ["treatment", "control"]
    gg = np.concatenate((c["G"], [0.0]))
    at_risk = sum(c[a]["y"] for a in arms)
    # censored on day k: follow-up ends on day k (G(k) - G(k+1)) and no event by day k
    cens = sum(e.n[a] * (gg[:-1] - gg[1:]) * c[a]["S"][1:] for a in arms)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(at_risk > 0, cens / at_risk, 0.0)
    rev = np.concatenate(([1.0], np.cumprod(1 - h)))
    return _cross(rev, 0.5, e.last_day(c, arms)), None, None


STATISTICS = {
    "km_median": _km_median,
    "km_survival": _km_survival,
    "cox_hr": _cox_hr,
    "cox_p": _cox_p,
    "logrank_p": _logrank_p,
    "events": _events,
    "at_risk": _at_risk,
    "rmst": _rmst,
    "median_followup": _median_followup,
}
