"""The per-statistic registry of the checks: one entry per target statistic.

An entry says on which *scale* the statistic's sampling error is roughly normal and symmetric
(``identity``; ``log`` for ratios, times and SDs; ``z``, the two-sided normal quantile, for
p-values, where the statistic is a |z| with sampling SD 1, so ``fixed_sd`` is 1; ``probit`` for
a bootstrap probability, which is about Phi(z) of a z-statistic), how to read it from the Monte
Carlo engine's per-replicate table (``None`` when the engine's replicates do not carry it: the
engine simulates the primary outcome only) and, for a statistic whose sampling distribution no
scale makes normal, a test on the dataset itself (``dataset_miss``: the ICER, a ratio of two
differences, is tested by Fieller's method). Adding a statistic is one entry in
``STATISTIC_CHECKS``; a statistic without an entry is compared on the identity scale and is not
carried by replicates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from walkback.spec import Target

Tables = dict[str, np.ndarray]
_N = NormalDist()


@dataclass(frozen=True)
class Scale:
    """A monotone transform g with its inverse and derivative (for delta-method SEs)."""

    name: str
    forward: Callable[[float], float]
    inverse: Callable[[float], float]
    slope: Callable[[float], float]  # |dg/dx| at x

    def array(self, x: np.ndarray) -> np.ndarray:
        return np.array([self.forward(float(v)) for v in np.asarray(x, float)])


def _z(p: float) -> float:
    """|z| of a two-sided p-value, capped so that p = 0 stays finite."""
    p = min(max(p, 1e-300), 1.0)
    return _N.inv_cdf(1.0 - p / 2.0) if p < 1.0 else 0.0


def _z_slope(p: float) -> float:
    z = _z(p)
    return 1.0 / (2.0 * max(_N.pdf(z), 1e-300))


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


PROBIT_CLIP = 1e-4  # a bootstrap probability of exactly 0 or 1 stays finite


def _probit(p: float) -> float:
    return _N.inv_cdf(min(max(p, PROBIT_CLIP), 1.0 - PROBIT_CLIP))


def _probit_slope(p: float) -> float:
    return 1.0 / max(_N.pdf(_probit(p)), 1e-300)


SCALES: dict[str, Scale] = {
    "identity": Scale("identity", float, float, lambda x: 1.0),
    "probit": Scale("probit", _probit, _N.cdf, _probit_slope),
    "log": Scale("log", _log, math.exp, lambda x: 1.0 / x if x > 0 else math.inf),
    "z": Scale("z", _z, lambda z: 2.0 * _N.cdf(-abs(z)), _z_slope),
}


def _primary(fn: Callable[[Target, Tables], np.ndarray]) -> Callable:
    """Only targets of the primary outcome (the one the engine simulates) are carried."""

    def read(t: Target, tab: Tables, primary: str) -> np.ndarray | None:
        return fn(t, tab) if t.outcome in (None, primary) else None

    return read


def _events(t: Target, tab: Tables) -> np.ndarray:
    if t.arm is None:
        return tab["events_treatment"] + tab["events_control"]
    return tab[f"events_{t.arm}"]


def fieller_icer(t: Target, data) -> float | None:
    """Fieller's test of ICER = published on one dataset, as a signed z: with w = cost -
    ICER_0 * QALY per participant, (mean_T w - mean_C w) / SE is normal under ICER = ICER_0
    whatever the size of the QALY difference (the ICER itself has no useful SE when that
    difference is small). Signed so that a reproduced ICER below the published is positive."""
    cols = data.columns
    if "cost_total_aud" not in cols or "qaly_12m" not in cols:
        return None
    w = cols["cost_total_aud"] - t.value * cols["qaly_12m"]
    tr = data.treated.astype(bool)
    wt, wc = w[tr], w[~tr]
    d = wt.mean() - wc.mean()
    se = math.sqrt(wt.var(ddof=1) / wt.size + wc.var(ddof=1) / wc.size)
    dq = cols["qaly_12m"][tr].mean() - cols["qaly_12m"][~tr].mean()
    return float(-d / se * (1.0 if dq >= 0 else -1.0)) if se > 0 else None


@dataclass(frozen=True)
class StatisticCheck:
    scale: str
    from_replicates: Callable[[Target, Tables, str], np.ndarray | None] | None = None
    fixed_sd: float | None = None  # the statistic's sampling SD on its scale, when known
    dataset_miss: Callable[[Target, object], float | None] | None = None


STATISTIC_CHECKS: dict[str, StatisticCheck] = {
    "count": StatisticCheck("identity", lambda t, tab, p: tab[f"n_{t.arm}"]),
    "km_median": StatisticCheck("log", _primary(lambda t, tab: tab[f"median_{t.arm}"])),
    "cox_hr": StatisticCheck("log", _primary(lambda t, tab: tab["hr"])),
    "cox_p": StatisticCheck("z", _primary(lambda t, tab: tab["p_cox"]), fixed_sd=1.0),
    "logrank_p": StatisticCheck("z", _primary(lambda t, tab: tab["p_logrank"]), fixed_sd=1.0),
    "events": StatisticCheck("identity", _primary(_events)),
    "mean": StatisticCheck("identity"),
    "sd": StatisticCheck("log"),
    "share": StatisticCheck("identity"),
    "sum": StatisticCheck("identity"),
    "fisher_p": StatisticCheck("z", fixed_sd=1.0),
    "icer": StatisticCheck("identity", dataset_miss=fieller_icer),
    "prob_cost_effective": StatisticCheck("probit"),
}
COLUMNS_NEEDED = (
    "n_treatment",
    "n_control",
    "events_treatment",
    "events_control",
    "median_treatment",
    "median_control",
    "hr",
    "hr_lower",
    "hr_upper",
    "p_cox",
    "p_logrank",
)


def check_for(statistic: str) -> StatisticCheck:
    """The registry entry of ``statistic`` (identity scale, not carried, when unregistered)."""
    return STATISTIC_CHECKS.get(statistic, StatisticCheck("identity"))


def scale_of(statistic: str) -> Scale:
    return SCALES[check_for(statistic).scale]


def published(t: Target) -> float | None:
    """The published value as a finite number, or None (e.g. a median not reached)."""
    v = t.value
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def z_two_sided(alpha: float) -> float:
    """The normal quantile 1 - alpha/2."""
    return _N.inv_cdf(1.0 - alpha / 2.0)
