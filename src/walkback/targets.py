"""Compute a spec's published figures (targets) from participant-level data.

One function per statistic, all under the spec's stated conventions (CI transform, ties, strata,
alpha). Used by ``walkback reproduce`` on any dataset with the spec's columns, and by the twin's
construction on arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from walkback.estimators import cox, kaplan_meier, logrank
from walkback.exceptions import DataError, EstimationError
from walkback.spec import ECONOMIC_COLUMNS, NOT_REACHED, SAFETY_COLUMNS, Target, TrialSpec
from walkback.spec.types import rounds_to


@dataclass(frozen=True)
class TrialArrays:
    """A trial as arrays: arm, per-outcome (time, event), covariates and analysis strata codes."""

    treated: np.ndarray
    outcomes: dict[str, tuple[np.ndarray, np.ndarray]]
    covariates: dict[str, np.ndarray]
    strata: np.ndarray | None = None
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # safety and economic columns


@dataclass(frozen=True)
class TargetValue:
    estimate: float
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class TargetResult:
    target: Target
    value: TargetValue | None  # None: cannot be computed from these data
    passed: bool
    reason: str = ""

    @property
    def status(self) -> str:
        if self.value is None:
            return "fail" if self.reason.startswith("cannot be estimated") else "missing"
        return "pass" if self.passed else "fail"

    def to_dict(self) -> dict:
        t = self.target
        v = self.value
        return {
            "name": t.name,
            "label": t.label,
            "published": _nr(t.value),
            "published_ci": [_nr(c) for c in t.ci] if t.ci else None,
            "reproduced": None if v is None else _none_nan(v.estimate),
            "reproduced_ci": (
                [_none_nan(v.lower), _none_nan(v.upper)] if v is not None and t.ci else None
            ),
            "precision": t.precision,
            "status": self.status,
            "source": t.source,
            "confidence": t.confidence,
            "reason": self.reason or None,
        }


def _nr(x: float) -> float | str:
    return "NR" if x == NOT_REACHED else x


def _none_nan(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def arrays_from_frame(spec: TrialSpec, frame: pd.DataFrame, source: str = "data") -> TrialArrays:
    """Pull the spec's columns out of a participant-level table (as written by simulate/twin)."""
    arm_col = "arm"
    if arm_col not in frame.columns:
        raise DataError(
            "missing column",
            source=source,
            column=arm_col,
            fix=f"columns are: {', '.join(map(str, frame.columns))}",
        )
    arms = frame[arm_col].astype(str).str.strip().to_numpy()
    labels = spec.arm_labels
    bad = ~np.isin(arms, [labels["treatment"], labels["control"]])
    if bad.any():
        raise DataError(
            f"arm label is neither '{labels['treatment']}' nor '{labels['control']}'",
            source=source,
            column=arm_col,
            lines=[int(i) + 2 for i in np.flatnonzero(bad)],
            value=arms[bad][0],
            fix="use the spec's arm labels",
        )
    treated = arms == labels["treatment"]
    outcomes = {}
    for name in spec.outcomes:
        tcol, ecol = f"{name}_days", f"{name}_event"
        if tcol in frame.columns and ecol in frame.columns:
            outcomes[name] = (
                _numeric(frame[tcol], tcol, source),
                _numeric(frame[ecol], ecol, source),
            )
    covs = {}
    for c in spec.covariates:
        if c.name in frame.columns:
            covs[c.name] = (
                _numeric(frame[c.name], c.name, source)
                if c.distribution == "normal"
                else frame[c.name].astype(str).str.strip().to_numpy()
            )
    columns = {
        c: _numeric(frame[c], c, source)
        for c in (*SAFETY_COLUMNS, *ECONOMIC_COLUMNS)
        if c in frame.columns
    }
    strata = None
    if spec.analysis_strata:
        missing = [s for s in spec.analysis_strata if s not in frame.columns]
        if missing:
            raise DataError("missing strata column", source=source, column=missing[0])
        strata = pd.factorize(
            frame[list(spec.analysis_strata)].astype(str).agg("|".join, axis=1), sort=True
        )[0]
    return TrialArrays(treated, outcomes, covs, strata, columns)


def _numeric(col: pd.Series, name: str, source: str) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            "values must be finite numbers",
            source=source,
            column=name,
            lines=[int(j) + 2 for j in np.flatnonzero(bad)],
            value=col.iloc[i],
        )
    return values


def target_value(
    spec: TrialSpec, t: Target, data: TrialArrays, cache: dict | None = None
) -> TargetValue | None:
    """The reproduced value of one target, or None when the data lack what it needs.

    ``cache`` (a dict the caller keeps for one dataset) shares each curve and model fit between
    the targets that read it, so evaluating all of a trial's targets fits each once.
    """
    memo = {} if cache is None else cache
    level = 1.0 - spec.alpha
    arm_mask = None if t.arm is None else (data.treated == (t.arm == "treatment"))
    if t.statistic == "count":
        return TargetValue(float(arm_mask.sum()))
    if t.statistic in ("share", "sum", "fisher_p") and t.column in data.columns:
        x = data.columns[t.column]
        if t.statistic == "fisher_p":
            from walkback.safety import compare_proportions

            return TargetValue(compare_proportions(x, data.treated).fisher_p)
        xa = x if arm_mask is None else x[arm_mask]
        if t.statistic == "sum":
            return TargetValue(float(xa.sum()))
        return TargetValue(float(np.mean(xa == float(t.level))))
    if t.statistic in ("icer", "prob_cost_effective"):
        if "cost_total_aud" not in data.columns or "qaly_12m" not in data.columns:
            return None
        from walkback import economics

        cost, qaly = data.columns["cost_total_aud"], data.columns["qaly_12m"]
        if t.statistic == "icer":
            return TargetValue(economics.incremental(cost, qaly, data.treated).icer)
        ec = spec.economics
        boot = economics.bootstrap(cost, qaly, data.treated, resamples=ec.resamples, seed=ec.seed)
        return TargetValue(boot.prob_cost_effective(t.wtp))
    if t.statistic in ("mean", "sd", "share", "sum", "fisher_p"):
        if t.column not in data.covariates:
            return None
        x = data.covariates[t.column]
        if t.statistic == "mean":
            return TargetValue(float(np.mean(x)))
        if t.statistic == "sd":
            return TargetValue(float(np.std(x, ddof=1)))
        if t.statistic != "share":
            return None
        xa = x if arm_mask is None else x[arm_mask]
        return TargetValue(float(np.mean(xa == t.level)))
    outcome = t.outcome or spec.primary.name  # median follow-up: the primary outcome's
    if outcome not in data.outcomes:
        return None
    time, event = data.outcomes[outcome]
    if t.statistic == "events":
        ev = event if arm_mask is None else event[arm_mask]
        return TargetValue(float(ev.sum()))
    if t.statistic == "at_risk":  # R's n.risk at `time`: followed to `time` or beyond
        tm = time if arm_mask is None else time[arm_mask]
        return TargetValue(float(np.count_nonzero(tm >= t.time)))
    if t.statistic in ("km_median", "km_survival", "rmst", "median_followup"):
        key = ("km", outcome, t.arm, t.statistic == "median_followup")
        if key not in memo:
            keep = slice(None) if arm_mask is None else arm_mask
            status = 1.0 - event if t.statistic == "median_followup" else event  # reverse KM
            memo[key] = kaplan_meier(
                time[keep], status[keep], conf_type=spec.conf_type, conf_level=level
            )
        km = memo[key]
        if t.statistic == "km_survival":
            surv, lo, hi = km.survival_ci_at([t.time])
            return TargetValue(float(surv[0]), float(lo[0]), float(hi[0]))
        if t.statistic == "rmst":
            return TargetValue(km.rmst(t.tau).estimate)
        m = km.median
        return TargetValue(m.estimate, m.lower, m.upper)
    if t.statistic == "logrank_p":
        if ("logrank", outcome) not in memo:
            memo[("logrank", outcome)] = logrank(
                time, event, data.treated.astype(int), data.strata
            ).p
        return TargetValue(memo[("logrank", outcome)])
    if ("cox", outcome) not in memo:
        memo[("cox", outcome)] = cox(
            time,
            event,
            data.treated.astype(float),
            data.strata,
            names=["treatment"],
            ties=spec.ties,
            conf_level=level,
        )
    fit = memo[("cox", outcome)]
    if t.statistic == "cox_hr":
        lo, hi = fit.conf_int()[0]
        return TargetValue(float(fit.hazard_ratio[0]), float(lo), float(hi))
    return TargetValue(float(fit.wald_p[0]))


def check(t: Target, v: TargetValue | None, margin: float = 0.0) -> bool:
    """Whether a reproduced value (and its CI, when the target has one) rounds to the published."""
    if v is None:
        return False
    pieces = [("value", v.estimate)]
    if t.ci is not None:
        pieces += [("lower", v.lower), ("upper", v.upper)]
    for which, x in pieces:
        ref = t.value if which == "value" else t.ci[0 if which == "lower" else 1]
        if ref == NOT_REACHED:  # published "not reached": so must the reproduced figure be
            if x is not None and math.isfinite(x):
                return False
            continue
        if x is None or not math.isfinite(x):
            return False
        if not rounds_to(x, ref, t.precision, margin):
            return False
    return True


def evaluate(
    spec: TrialSpec,
    data: TrialArrays,
    names: list[str] | None = None,
    include_derived: bool = False,
) -> list[TargetResult]:
    """Every (non-derived) target of ``spec`` computed on ``data`` and checked."""
    out = []
    for t in spec.targets:
        if (t.derived and not include_derived) or (names is not None and t.name not in names):
            continue
        try:
            v = target_value(spec, t, data)
        except EstimationError as exc:  # e.g. no events in an arm: the figure is not reproduced
            out.append(TargetResult(t, None, False, f"cannot be estimated: {exc}"))
            continue
        reason = "" if v is not None else f"the data have no column(s) for {t.outcome or t.column}"
        out.append(TargetResult(t, v, check(t, v), reason))
    return out
