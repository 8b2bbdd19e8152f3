"""Log-rank tests, optionally stratified: two groups and k groups.

Equal R ``survdiff(Surv(t, e) ~ group [+ strata(s)])``: hypergeometric variances summed over event
times within and then over strata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback.estimators._checks import check_codes, check_event, check_time, check_two_groups
from walkback.estimators._checks import timefix as aeq_times
from walkback.estimators._dist import chi2_sf
from walkback.estimators._risksets import build_risk_sets
from walkback.exceptions import EstimationError


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank statistic with observed and expected events per group (summed over strata)."""

    chisq: float
    p: float
    observed: tuple[float, float]  # (treatment, control)
    expected: tuple[float, float]
    variance: float
    stratified: bool

    def to_dict(self) -> dict:
        return {
            "chisq": self.chisq,
            "p": self.p,
            "observed": {"treatment": self.observed[0], "control": self.observed[1]},
            "expected": {"treatment": self.expected[0], "control": self.expected[1]},
            "settings": {"stratified": self.stratified},
        }


@dataclass(frozen=True)
class KLogRankResult:
    """k-group log-rank test (R ``survdiff``): chisq on ``df`` = groups with events expected - 1."""

    groups: tuple[str, ...]
    chisq: float
    df: int
    p: float
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    stratified: bool

    def to_dict(self) -> dict:
        return {
            "chisq": self.chisq,
            "df": self.df,
            "p": self.p,
            "observed": {g: float(o) for g, o in zip(self.groups, self.observed, strict=True)},
            "expected": {g: float(e) for g, e in zip(self.groups, self.expected, strict=True)},
            "settings": {"stratified": self.stratified},
        }


def refuse_intervals(entry, weights) -> None:
    """R's ``survdiff`` takes right-censored data only and has no case weights: so do these."""
    if entry is None and weights is None:
        return
    what = "case weights" if entry is None else "(entry, time] data"
    raise EstimationError(
        f"the log-rank test is not defined here for {what} (R's survdiff refuses them too); "
        "use the Cox model's score test: cox(..., entry=..., weights=...).score_chisq, R's "
        "'Score (logrank) test' of coxph"
    )


def _prepare(time, event, strata, timefix: bool):
    t = check_time(time)
    e = check_event(event, t.shape[0])
    s = None if strata is None else check_codes(strata, t.shape[0], "strata")[0]
    if timefix:
        t = aeq_times(t)
    return t, e, s


def _observed_expected(t, e, codes: np.ndarray, k: int, s):
    """O, E (length k) and the k x k variance of O - E, summed over event times and strata."""
    rs = build_risk_sets(t, e, s)
    sorted_codes = codes[rs.order]
    n = rs.n_risk.astype(float)
    d = rs.n_event.astype(float)
    # at risk and events per group and tie group, one group's 0/1 column at a time (whole
    # numbers: the same floats as from all columns at once, in a fraction of the memory)
    nk = np.empty((rs.group_start.size, k))
    dk = np.empty((rs.group_start.size, k))
    for j in range(k):
        member = (sorted_codes == j).astype(float)
        nk[:, j] = rs.risk_sum(member)
        member *= rs.event
        dk[:, j] = rs.group_sum(member)
    del sorted_codes
    keep = d > 0
    n, d, nk, dk = n[keep], d[keep], nk[keep], dk[keep]
    frac = nk / n[:, None]
    expected = (frac * d[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    var = np.diag(scale @ frac) - np.einsum("t,tk,tl->kl", scale, frac, frac)
    return dk.sum(axis=0), expected, var


def logrank(
    time, event, group, strata=None, *, timefix: bool = True, entry=None, weights=None
) -> LogRankResult:
    """Log-rank test comparing ``group == 1`` (treatment) with ``group == 0``.

    Uses the hypergeometric variance n1 n0 d (n - d) / (n^2 (n - 1)) at each event time, summed
    within and then over strata; the statistic is (O1 - E1)^2 / V on 1 degree of freedom.
    ``group`` must be boolean or 0/1 with both present (other codes: :func:`logrank_k`);
    ``timefix`` merges near-tied times as R's ``survdiff`` does. ``entry`` or ``weights`` are
    refused with an error, as R's ``survdiff`` refuses them.
    """
    refuse_intervals(entry, weights)
    t, e, s = _prepare(time, event, strata, timefix)
    grp = check_two_groups(group, t.shape[0])
    obs, ex, var = _observed_expected(t, e, grp.astype(np.int64), 2, s)
    o1, ex1, v = float(obs[1]), float(ex[1]), float(var[1, 1])
    total = float(obs.sum())
    chisq = (o1 - ex1) ** 2 / v if v > 0 else float("nan")
    return LogRankResult(
        chisq=chisq,
        p=float(chi2_sf(chisq, 1)) if v > 0 else float("nan"),
        observed=(o1, total - o1),
        expected=(ex1, total - ex1),
        variance=v,
        stratified=strata is not None,
    )


def logrank_k(
    time, event, group, strata=None, *, levels=None, timefix: bool = True, entry=None, weights=None
) -> KLogRankResult:
    """k-group log-rank test, as R ``survdiff(Surv(time, event) ~ group [+ strata(s)])``.

    Parameters
    ----------
    time, event : array-like (n,)
    group : array-like (n,)
        Group labels (numbers or text); at least two distinct groups.
    strata : array-like (n,), optional
        Stratum labels: expected counts and variances are computed within strata and summed.
    levels : sequence, optional
        Order of the groups in the result (default: sorted labels).
    entry, weights : refused with an error (R's ``survdiff`` has neither).
    """
    refuse_intervals(entry, weights)
    t, e, s = _prepare(time, event, strata, timefix)
    codes, labels = check_codes(group, t.shape[0], "group")
    if levels is not None:
        order = [list(labels.tolist()).index(v) if v in labels.tolist() else -1 for v in levels]
        if -1 in order or len(order) != labels.size:
            raise ValueError(
                f"levels {list(levels)!r} must list each group label once: {labels.tolist()!r}"
            )
        remap = np.empty(labels.size, dtype=np.int64)
        remap[order] = np.arange(labels.size)
        codes, labels = remap[codes], labels[order]
    k = labels.size
    if k < 2:
        raise ValueError(f"the log-rank test needs at least two groups; group has only {labels!r}")
    obs, ex, var = _observed_expected(t, e, codes, k, s)
    keep = ex > 0  # as survdiff: groups with nothing expected carry no information
    df = int(keep.sum()) - 1
    if df < 1:
        chisq = 0.0
    else:
        diff = (obs - ex)[keep][1:]
        vv = var[np.ix_(keep, keep)][1:, 1:]
        chisq = float(diff @ np.linalg.solve(vv, diff))
    return KLogRankResult(
        groups=tuple(str(v) for v in labels.tolist()),
        chisq=chisq,
        df=df,
        p=float(chi2_sf(chisq, df)) if df >= 1 else float("nan"),
        observed=obs,
        expected=ex,
        variance=var,
        stratified=strata is not None,
    )
