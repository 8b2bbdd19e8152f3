"""Weighted log-rank tests, the MaxCombo test and milestone survival differences.

Weighted log-rank (R ``survdiff`` generalised): at each distinct event time t_j of a stratum
U_g = sum_j w_j (d_gj - n_gj d_j / n_j) and
V_gh = sum_j w_j^2 (n_gj / n_j) (delta_gh - n_hj / n_j) d_j (n_j - d_j) / (n_j - 1), summed over
strata, the weights computed within each stratum. As ``survdiff``: groups with no (weighted)
expected events are dropped, then the first group, and chisq = U' V^-1 U on df = groups kept - 1
(a generalised inverse if V is singular); ``observed``/``expected`` are weighted (sum w d_g and
sum w n_g d / n). Weights: ``logrank`` w = 1; ``fh`` Fleming-Harrington G(rho, gamma)
w = S(t-)^rho (1 - S(t-))^gamma, S the left-continuous Kaplan-Meier of the pooled groups within
the stratum -- R's ``survdiff(rho = r)`` is fh(r, 0), the KM-based version; ``gehan`` w = n_j
(number at risk); ``tarone-ware`` w = sqrt(n_j); ``peto`` Peto & Peto's
w = S~(t-) = prod_{t_i < t} (1 - d_i / (n_i + 1)) (close to, but not, ``survdiff(rho = 1)``).

Sign of z (two groups): z = U_1 / sqrt(V_11), group 1 the second sorted label (True or 1 for a
boolean / 0-1 group: the group of interest). z > 0: more (weighted) events than expected in
group 1, a higher hazard there.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from walkback._typing import MAXCOMBO_COMBOS
from walkback.estimators._checks import check_codes, check_event, check_time
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators._dist import chi2_sf, norm_sf
from walkback.estimators._risksets import build_risk_sets
from walkback.estimators.kaplan_meier import KaplanMeierResult, z_value
from walkback.exceptions import DataError

#: accepted ``weights=`` names
WEIGHTS = ("logrank", "fh", "gehan", "tarone-ware", "peto")
#: MaxCombo's default Fleming-Harrington (rho, gamma) pairs
DEFAULT_COMBOS = MAXCOMBO_COMBOS
#: fixed seed of MaxCombo's quasi-Monte Carlo normal integral (deterministic p-values)
MAXCOMBO_SEED = 20240611
#: absolute error requested of that integral (3 standard errors)
MAXCOMBO_ABSEPS = 1e-5
#: independent randomisations behind that integral's error estimate
MAXCOMBO_REPLICATES = 10
#: scale of the milestone difference CI: S_T - S_C -/+ z SE, not clipped
MILESTONE_TRANSFORM = "linear"

_DESCRIPTIONS = {
    "logrank": "w = 1",
    "fh": "Fleming-Harrington G(rho={0:g}, gamma={1:g}): w = S(t-)^{0:g} (1 - S(t-))^{1:g}, S the "
    "pooled left-continuous Kaplan-Meier within stratum",
    "gehan": "w = n(t), the number at risk (Gehan-Breslow-Wilcoxon)",
    "tarone-ware": "w = sqrt(n(t))",
    "peto": "w = Peto-Peto S~(t-) = prod over t_i < t of (1 - d_i / (n_i + 1))",
}


@dataclass(frozen=True)
class WeightedTestResult:
    """A weighted log-rank test; ``z`` is the signed statistic for two groups (None for k > 2)."""

    name: str
    groups: tuple[str, ...]
    z: float | None
    chisq: float
    df: int
    p: float
    observed: np.ndarray  # weighted, per group
    expected: np.ndarray
    variance: np.ndarray  # k x k covariance of U = observed - expected
    weights: str
    rho: float
    gamma: float
    stratified: bool

    @property
    def score(self) -> np.ndarray:
        """U = observed - expected per group."""
        return self.observed - self.expected

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "z": _json_num(self.z),
            "chisq": _json_num(self.chisq),
            "df": self.df,
            "p": _json_num(self.p),
            "observed": {g: float(o) for g, o in zip(self.groups, self.observed, strict=True)},
            "expected": {g: float(e) for g, e in zip(self.groups, self.expected, strict=True)},
            "weights": self.weights,
            "settings": {"rho": self.rho, "gamma": self.gamma, "stratified": self.stratified},
        }


@dataclass(frozen=True)
class MaxComboResult:
    """MaxCombo: the largest |z| of several FH(rho, gamma) tests, with a joint-normal p-value."""

    z: float
    chisq: float
    p: float
    winner: str
    components: list[dict]
    correlation: np.ndarray
    stratified: bool
    name: str = "maxcombo"
    groups: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "z": _json_num(self.z),
            "chisq": _json_num(self.chisq),
            "p": _json_num(self.p),
            "winner": self.winner,
            "components": self.components,
            "correlation": [[_json_num(v) for v in row] for row in self.correlation],
            "settings": {"stratified": self.stratified},
        }


def _json_num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


# -- risk-set layout ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _EventTimes:
    """Per event time (within strata): totals, per-group counts and the left-continuous curves."""

    n: np.ndarray
    d: np.ndarray
    nk: np.ndarray  # (times, k) at risk per group
    dk: np.ndarray  # (times, k) events per group
    km_left: np.ndarray  # pooled Kaplan-Meier S(t-) within the stratum
    peto_left: np.ndarray  # Peto-Peto S~(t-) within the stratum


def _event_times(t, e, codes, k, s) -> _EventTimes:
    rs = build_risk_sets(t, e, s)
    onehot = np.zeros((t.shape[0], k))
    onehot[np.arange(t.shape[0]), codes[rs.order]] = 1.0
    n = rs.n_risk.astype(float)
    d = rs.n_event.astype(float)
    nk = rs.risk_sum(onehot)
    dk = rs.group_sum(onehot * rs.event[:, None])
    strat = rs.stratum[rs.group_start]
    km, peto = np.empty_like(n), np.empty_like(n)
    cuts = np.flatnonzero(np.diff(strat)) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n.size], strict=True):  # a few strata
        nn, dd = n[lo:hi], d[lo:hi]
        km[lo:hi] = np.concatenate(([1.0], np.cumprod((nn - dd) / nn)[:-1]))
        peto[lo:hi] = np.concatenate(([1.0], np.cumprod(1.0 - dd / (nn + 1.0))[:-1]))
    keep = d > 0
    return _EventTimes(n[keep], d[keep], nk[keep], dk[keep], km[keep], peto[keep])


def _weights(et: _EventTimes, kind: str, rho: float, gamma: float) -> np.ndarray:
    if kind == "fh":
        return et.km_left**rho * (1.0 - et.km_left) ** gamma
    named = {"logrank": np.ones_like(et.n), "gehan": et.n, "tarone-ware": np.sqrt(et.n)}
    return named.get(kind, et.peto_left)


def _hypergeometric(et: _EventTimes) -> np.ndarray:
    """d (n - d) / (n - 1) at each event time (0 where only one is at risk)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(et.n > 1, et.d * (et.n - et.d) / (et.n - 1.0), 0.0)


def _score(et: _EventTimes, w: np.ndarray):
    frac = et.nk / et.n[:, None]
    observed = w @ et.dk
    expected = (w * et.d) @ frac
    scale = w**2 * _hypergeometric(et)
    var = np.diag(scale @ frac) - np.einsum("t,tk,tl->kl", scale, frac, frac)
    return observed, expected, var


# -- checks ---------------------------------------------------------------------------------------
def _check_exponent(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DataError("must be a number", source=f"argument '{name}'", value=value) from None
    if isinstance(value, bool) or not math.isfinite(v) or v < 0:
        raise DataError("must be a finite number >= 0", source=f"argument '{name}'", value=value)
    return v


def _prepare(time, event, group, strata, timefix: bool):
    t = check_time(time)
    e = check_event(event, t.shape[0])
    codes, labels = check_codes(group, t.shape[0], "group")
    if labels.size < 2:
        raise DataError(
            f"at least two groups are needed; found only {labels.tolist()!r}",
            source="argument 'group'",
        )
    s = None if strata is None else check_codes(strata, t.shape[0], "strata")[0]
    if timefix:
        t = aeq_times(t)
    return _event_times(t, e, codes, labels.size, s), tuple(str(v) for v in labels.tolist())


def _name(kind: str, rho: float, gamma: float) -> str:
    return f"fh({rho:g},{gamma:g})" if kind == "fh" else kind


# -- public API -----------------------------------------------------------------------------------
def weighted_logrank(
    time, event, group, strata=None, *, weights="logrank", rho=0.0, gamma=0.0, timefix=True
) -> WeightedTestResult:
    """Weighted log-rank test of k >= 2 groups, optionally stratified (see the module docstring).

    Parameters
    ----------
    time, event : array-like (n,)
        Follow-up times (finite, >= 0) and 0/1 (or boolean) event indicators.
    group : array-like (n,)
        Group labels (numbers, text or booleans), sorted to fix their order. For two groups
        ``z = U_1 / sqrt(V_11)`` with group 1 the second sorted label (True / 1): z > 0 means
        more events than expected there.
    strata : array-like (n,), optional
        Stratum labels; weights are computed within each stratum, U and V summed over strata.
    weights : {"logrank", "fh", "gehan", "tarone-ware", "peto"}
    rho, gamma : float
        Fleming-Harrington exponents (``weights="fh"`` only; finite, >= 0).
        ``fh`` with rho=r, gamma=0 equals R ``survdiff(..., rho = r)``.
    timefix : bool
        Merge near-tied times as R's ``aeqSurv`` (the ``survdiff`` default).
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    rho, gamma = _check_exponent(rho, "rho"), _check_exponent(gamma, "gamma")
    if weights != "fh" and (rho != 0 or gamma != 0):
        raise ValueError(f"rho and gamma apply to weights='fh' only, not {weights!r}")
    et, groups = _prepare(time, event, group, strata, timefix)
    observed, expected, var = _score(et, _weights(et, weights, rho, gamma))
    keep = expected > 0  # as survdiff: groups expecting nothing carry no information
    df = int(keep.sum()) - 1
    if df < 1:
        chisq = 0.0
    else:
        u = (observed - expected)[keep][1:]
        vv = var[np.ix_(keep, keep)][1:, 1:]
        try:
            chisq = float(u @ np.linalg.solve(vv, u))
        except np.linalg.LinAlgError:
            chisq = float(u @ np.linalg.pinv(vv) @ u)
    z = None
    if len(groups) == 2:
        z = float((observed[1] - expected[1]) / math.sqrt(var[1, 1])) if var[1, 1] > 0 else math.nan
    return WeightedTestResult(
        name=_name(weights, rho, gamma),
        groups=groups,
        z=z,
        chisq=chisq,
        df=df,
        p=chi2_sf(chisq, df) if df >= 1 else math.nan,
        observed=observed,
        expected=expected,
        variance=var,
        weights=_DESCRIPTIONS[weights].format(rho, gamma),
        rho=rho,
        gamma=gamma,
        stratified=strata is not None,
    )


def maxcombo(
    time, event, group, strata=None, *, timefix=True, combos=DEFAULT_COMBOS, abseps=MAXCOMBO_ABSEPS
) -> MaxComboResult:
    """MaxCombo test of two groups: max |z| over FH(rho, gamma) tests, p from their joint normal.

    Each z_a = U_a / sqrt(V_a) is a :func:`weighted_logrank` z (same sign convention); the
    correlation of the U's is Cov(U_a, U_b) / sqrt(V_a V_b) with Cov(U_a, U_b) = sum_j w_a w_b v_j
    (v_j the hypergeometric variance of group 1; within strata, summed). The statistic is
    m = max |z_a|, p = 1 - P(max |Z_a| < m) for Z ~ N(0, correlation) (:func:`max_abs_normal_sf`:
    exact quadrature when the correlation has rank <= 3, as for the default combos; otherwise a
    fixed-seed quasi-Monte Carlo integral, absolute error <= ``abseps`` at 3 standard errors).
    Tests with zero variance (e.g. gamma > 0 when every event is at the first event time) are
    left out. ``z`` is the signed z of the winner (the first of equal |z|), ``chisq`` its square.
    """
    combos = [(_check_exponent(r, "rho"), _check_exponent(g, "gamma")) for r, g in combos]
    if not combos:
        raise ValueError("combos must list at least one (rho, gamma) pair")
    et, groups = _prepare(time, event, group, strata, timefix)
    if len(groups) != 2:
        raise DataError(
            f"maxcombo compares two groups; found {len(groups)}: {list(groups)!r}",
            source="argument 'group'",
        )
    w = np.stack([_weights(et, "fh", r, g) for r, g in combos])  # (tests, times)
    u = w @ (et.dk[:, 1] - et.nk[:, 1] * et.d / et.n)
    v1 = _hypergeometric(et) * (et.nk[:, 1] / et.n) * (1.0 - et.nk[:, 1] / et.n)
    cov = (w * v1) @ w.T
    sd = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, u / sd, np.nan)
        corr = cov / np.outer(sd, sd)
    keys = ("name", "rho", "gamma", "z", "u", "variance")
    components = [
        dict(zip(keys, (_name("fh", r, g), r, g, _json_num(zi), float(ui), float(vi)), strict=True))
        for (r, g), zi, ui, vi in zip(combos, z, u, np.diag(cov), strict=True)
    ]
    ok = np.flatnonzero(np.isfinite(z))
    zb, p, winner = math.nan, math.nan, ""
    if ok.size:
        best = int(ok[np.argmax(np.abs(z[ok]))])
        zb, winner = float(z[best]), components[best]["name"]
        p = max_abs_normal_sf(abs(zb), corr[np.ix_(ok, ok)], abseps)
    return MaxComboResult(zb, zb**2, p, winner, components, corr, strata is not None, groups=groups)


def max_abs_normal_sf(m: float, corr, abseps: float = MAXCOMBO_ABSEPS) -> float:
    """P(max_a |Z_a| >= m) for Z ~ N(0, corr), deterministic.

    For corr of rank <= 3 (MaxCombo's four Fleming-Harrington tests always are) the exact
    quadrature of :func:`walkback.max_abs_normal.max_abs_normal_sf_low_rank`
    (~1e-12; ``abseps`` unused), the numeric core the Monte Carlo engine shares.

    Higher ranks: spherical-radial integration: with corr = A A' (A of full column rank r, from
    the eigendecomposition, so a singular corr is fine) and Z = A X, X = R u with u uniform on
    the sphere and R^2 ~ chi-square(r), P(max |Z| < m) = E_u[F_r(m^2 / max_a (A u)_a^2)] with F_r
    the chi-square(r) CDF. The expectation over u is averaged over ``MAXCOMBO_REPLICATES``
    independently scrambled Sobol sets (seeded by ``MAXCOMBO_SEED``), doubling their size until
    3 standard errors of the mean are <= ``abseps`` (or 2^17 points per set).
    """
    corr = np.asarray(corr, dtype=float)
    if not (np.isfinite(m) and m >= 0 and abseps > 0):
        raise ValueError(f"need a finite m >= 0 and abseps > 0, got m={m}, abseps={abseps}")
    if corr.ndim != 2 or corr.shape[0] != corr.shape[1] or not np.isfinite(corr).all():
        raise ValueError(f"corr must be a finite square matrix, got shape {corr.shape}")
    from walkback.max_abs_normal import max_abs_normal_sf_low_rank  # numba: only when needed

    exact = max_abs_normal_sf_low_rank(float(m), np.ascontiguousarray((corr + corr.T) / 2.0))
    if not math.isnan(exact):
        return float(exact)
    ev, vec = np.linalg.eigh((corr + corr.T) / 2.0)
    keep = ev > 1e-10 * ev.max()
    a = vec[:, keep] * np.sqrt(ev[keep])  # corr = a a'
    r = a.shape[1]
    if r == 1:
        return float(2.0 * norm_sf(m / np.abs(a[:, 0]).max()))
    from scipy import special  # MaxCombo only: scipy's import is kept off the common path

    n = 256
    while True:
        proj = np.abs(_directions(r, n) @ a.T).max(axis=2)  # (replicates, n)
        with np.errstate(divide="ignore"):
            inside = special.gammainc(r / 2.0, (m / proj) ** 2 / 2.0).mean(axis=1)
        err = 3.0 * inside.std(ddof=1) / math.sqrt(inside.size)
        if err <= abseps or n >= 2**17:
            return float(min(max(1.0 - inside.mean(), 0.0), 1.0))
        n *= 2


@functools.lru_cache(maxsize=12)
def _directions(r: int, n: int) -> np.ndarray:
    """(replicates, n, r) unit vectors: scrambled Sobol points mapped to the sphere."""
    from scipy import special
    from scipy.stats import qmc

    out = np.empty((MAXCOMBO_REPLICATES, n, r))
    for i in range(MAXCOMBO_REPLICATES):
        sobol = qmc.Sobol(r, scramble=True, rng=np.random.default_rng([MAXCOMBO_SEED, r, i]))
        x = special.ndtri(sobol.random(n))
        out[i] = x / np.linalg.norm(x, axis=1, keepdims=True)
    out.flags.writeable = False
    return out


def survival_difference(
    km_treatment: KaplanMeierResult, km_control: KaplanMeierResult, times, conf_level=0.95
) -> list[dict]:
    """Milestone differences S_T(t) - S_C(t) with a linear (plain) CI.

    SE = sqrt(se_T^2 + se_C^2), each the Greenwood SE on the survival scale (R
    ``summary(survfit, times = t)$std.err``: S times the SE of -log S); the CI is
    difference -/+ z SE on the linear scale (``MILESTONE_TRANSFORM``), not clipped to [-1, 1].
    Times follow :meth:`KaplanMeierResult.survival_at` (R ``summary(..., extend = TRUE)``):
    before an arm's first time its curve is 1 with SE 0; after its last time the curve and SE
    keep their last values. Where a curve is 0 its SE is undefined (NaN, as R's NaN), and so are
    the difference's SE and limits (None in the dicts).
    """
    for name, km in (("km_treatment", km_treatment), ("km_control", km_control)):
        if not isinstance(km, KaplanMeierResult):
            raise DataError("must be a KaplanMeierResult", source=f"argument '{name}'")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    t = check_time(np.atleast_1d(np.asarray(times, dtype=float)), "times")
    zq = z_value(conf_level)
    (s1, se1), (s0, se0) = _surv_se(km_treatment, t), _surv_se(km_control, t)
    diff, se = s1 - s0, np.sqrt(se1**2 + se0**2)
    lims = (se, diff - zq * se, diff + zq * se)
    keys = ("time", "difference", "se", "lower", "upper")
    return [
        dict(zip(keys, (float(ti), float(di), *(_json_num(x) for x in row)), strict=True))
        for ti, di, *row in zip(t, diff, *lims, strict=True)
    ]


def _surv_se(km: KaplanMeierResult, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Survival and its survival-scale Greenwood SE at ``t`` (survival_at's convention)."""
    idx = np.searchsorted(km.time, t, side="right") - 1
    before = idx < 0
    j = np.where(before, 0, idx)
    surv = np.where(before, 1.0, km.survival[j])
    with np.errstate(invalid="ignore"):
        se = np.where(before, 0.0, km.survival[j] * km.std_err[j])  # 0 * inf -> NaN, as R
    return surv, se
