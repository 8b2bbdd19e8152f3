"""``analyze_intervals``: a trial analysis on (start, stop] rows, delayed entry, case weights or
clusters, as R ``survival`` does it.

Per arm: the Kaplan-Meier curve with risk sets from the intervals (R ``survfit``, whose variance
is Greenwood's or, as R decides, the infinitesimal jackknife), median and landmark survival; one
Cox model with the arm as a factor (Andersen-Gill for recurrent events), with R's robust sandwich
variance when there is a cluster (``hazard_ratio.se`` is then the robust SE, ``se_model`` the
model-based one, and the CI and Wald p use the robust SE); with a start column and participant
ids, the mean cumulative function of events per arm. The log-rank test is not defined for these
data (R's ``survdiff`` refuses them): the Cox score test stands in, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback._json import json_ready
from walkback._typing import CONF_TYPES, TIES, ConfType, Ties
from walkback.analysis.result import ArmTest, model_tests
from walkback.analysis.run import arm_term_tests
from walkback.design import CovariateSpec, Design, build_design
from walkback.estimators import (
    IntervalCoxResult,
    IntervalKaplanMeierResult,
    MeanCumulativeFunction,
    cox,
    logrank_k,
    mean_cumulative_function,
    survfit_intervals,
)
from walkback.estimators import timefix as aeq_times
from walkback.estimators._intervals import timefix_intervals
from walkback.interval_columns import IntervalColumns
from walkback.missing import Dropped
from walkback.schema import TrialData

LOGRANK_NOTE = (
    "not defined for (start, stop], delayed-entry or weighted data (R's survdiff refuses "
    "them); model.score_chisq is the Cox score test (R's 'Score (logrank) test')"
)


@dataclass(frozen=True)
class IntervalArm:
    """One arm: rows, participants, events, the curve and its landmark rows."""

    rows: int
    participants: int | None
    events: float
    km: IntervalKaplanMeierResult
    survival_at: pd.DataFrame
    mcf: MeanCumulativeFunction | None

    def to_dict(self, times) -> dict:
        out = {
            "n": self.rows,
            "participants": self.participants,
            "events": self.events,
            "median": self.km.median.to_dict(),
            "survival_at": self.survival_at.to_dict(orient="records"),
            "variance": "robust (infinitesimal jackknife)" if self.km.robust else "Greenwood",
        }
        if self.mcf is not None:
            out["mcf"] = self.mcf.to_dict()
            out["mcf"]["at"] = self.mcf.at(times).to_dict(orient="records")
        return out


@dataclass(frozen=True)
class IntervalAnalysis:
    """Everything ``analyze_intervals`` computed, with the settings it used."""

    arm_labels: tuple[str, ...]
    arms: dict[str, IntervalArm]
    cox: IntervalCoxResult
    design: Design
    arm_test: ArmTest
    logrank: object | None
    columns: IntervalColumns
    conf_type: str
    ties: str
    strata: tuple[str, ...]
    covariates: tuple[str, ...]
    alpha: float
    timefix: bool
    time_unit: str
    arm_col: str
    times: tuple[float, ...]
    cluster_rule: str
    dropped: tuple[Dropped, ...] = ()

    @property
    def two_arm(self) -> bool:
        return len(self.arm_labels) == 2

    def _coef(self, i: int) -> dict:
        c = self.cox
        ci = c.conf_int()[i]
        return {
            "estimate": float(c.hazard_ratio[i]),
            "lower": float(ci[0]),
            "upper": float(ci[1]),
            "p": float(c.wald_p[i]),
            "coef": float(c.coef[i]),
            "se": float(c.se[i]),
            "se_model": float(c.se_model[i]),
            "z": float(c.coef[i] / c.se[i]),
            "robust": c.robust,
        }

    def hazard_ratios(self) -> list[dict]:
        return [{"treatment": a, **self._coef(i)} for i, a in enumerate(self.arm_labels[1:])]

    def to_dict(self) -> dict:
        c, at = self.cox, self.arm_test
        k = len(self.arm_labels) - 1
        out = {
            "arms": {a: s.to_dict(self.times) for a, s in self.arms.items()},
            "hazard_ratios": self.hazard_ratios(),
            "covariates": [{"term": c.terms[i], **self._coef(i)} for i in range(k, len(c.terms))],
            "arm_test": at.to_dict(),
            "model": {
                **model_tests(c),
                "robust_score_chisq": c.robust_score_chisq,
                "p_robust_score": c.p_robust_score,
            },
            "logrank": self._logrank(),
            "settings": self._settings(),
        }
        if self.two_arm:
            roles = {"treatment": self.arm_labels[1], "control": self.arm_labels[0]}
            arms = {r: self.arms[a] for r, a in roles.items()}
            hr = self._coef(0)
            out.update(
                {
                    "labels": roles,
                    "n": {r: s.rows for r, s in arms.items()},
                    "events": {r: s.events for r, s in arms.items()},
                    "median": {r: s.km.median.to_dict() for r, s in arms.items()},
                    "survival_at": {
                        r: s.survival_at.to_dict(orient="records") for r, s in arms.items()
                    },
                    "hazard_ratio": {
                        **{key: hr[key] for key in ("estimate", "lower", "upper", "p", "se")},
                        **{key: hr[key] for key in ("se_model", "z", "robust")},
                        "log_hr": hr["coef"],
                        "p_lr": at.p,
                        "p_score": at.score_p,
                        "lr_chisq": at.lr_chisq,
                        "wald_chisq": at.wald_chisq,
                        "score_chisq": at.score_chisq,
                    },
                }
            )
            if any(s.mcf is not None for s in arms.values()):
                out["mcf"] = {r: s.to_dict(self.times)["mcf"] for r, s in arms.items()}
        return json_ready(out)

    def _logrank(self) -> dict | None:
        lk = self.logrank
        if lk is None:
            return None
        return {
            "chisq": lk.chisq,
            "df": lk.df,
            "p": lk.p,
            "observed": dict(zip(self.arm_labels, lk.observed.tolist(), strict=True)),
            "expected": dict(zip(self.arm_labels, lk.expected.tolist(), strict=True)),
        }

    def _settings(self) -> dict:
        dropped = [d for d in self.dropped if d.reason == "missing values"]
        return {
            "conf_type": self.conf_type,
            "ties": self.ties,
            "strata": list(self.strata),
            "covariates": list(self.covariates),
            "alpha": self.alpha,
            "conf_level": 1.0 - self.alpha,
            "timefix": self.timefix,
            "time_unit": self.time_unit,
            "control": self.arm_labels[0],
            "treatments": list(self.arm_labels[1:]),
            **self.columns.settings(),
            "variance": self.cluster_rule,
            "at_risk": "a row is at risk on (start, time]"
            if self.columns.start is not None
            else "a row is at risk on (0, time]",
            "logrank": "R survdiff" if self.logrank is not None else LOGRANK_NOTE,
            "dropped": dropped[0].to_dict() if dropped else {"rows": 0, "columns": [], "lines": []},
            "hazard_ratio_p": "Wald p of the arm term, with the robust SE when robust is true",
        }

    def __repr__(self) -> str:
        from walkback.report.intervals_text import interval_analysis_table

        return interval_analysis_table(self)

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(repr(self)) + "</pre>"


def _cluster(cols: IntervalColumns, event: np.ndarray, weights) -> tuple[np.ndarray | None, str]:
    """R's coxph rule: a cluster column; else the id when an id has 2+ events (``id =``);
    else rows when a weight is not a whole number; else the model-based variance."""
    if cols.cluster is not None:
        return cols.cluster, f"robust sandwich, clusters = '{cols.cluster_col}' (R cluster())"
    if cols.ids is not None and cols.kind == "start":
        ev_ids = cols.ids[event == 1]
        if np.unique(ev_ids).size < ev_ids.size:
            return cols.ids, (
                f"robust sandwich, clusters = '{cols.id_col}' (an id has two or more events: "
                "R's coxph id = default)"
            )
    if weights is not None and np.any(weights != np.floor(weights)):
        return None, "robust sandwich, each row its own cluster (non-integer weights, as R)"
    return None, "model-based"


def analyze_intervals(
    trial: TrialData,
    cols: IntervalColumns,
    *,
    conf_type: ConfType = "log",
    ties: Ties = "efron",
    times=None,
    alpha: float = 0.05,
    covariates: Sequence[str] = (),
    timefix: bool = True,
    time_unit: str = "days",
) -> IntervalAnalysis:
    """Analyse (start, stop], delayed-entry, weighted or clustered trial data as R survival."""
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    level = 1.0 - alpha
    times = tuple(float(x) for x in ([] if times is None else times))
    e = np.asarray(trial.event)
    start = cols.start
    if start is None:
        t = aeq_times(trial.time) if timefix else np.asarray(trial.time)
    elif timefix:
        start, t = timefix_intervals(start, np.asarray(trial.time))
    else:
        t = np.asarray(trial.time)
    w = cols.weights
    mcf_ids = cols.ids if cols.kind == "start" else None

    arms = {}
    for j, label in enumerate(trial.arms):
        m = trial.arm == j

        def sub(a, m=m):
            return None if a is None else a[m]

        km = survfit_intervals(
            t[m],
            e[m],
            entry=sub(start),
            weights=sub(w),
            id=sub(mcf_ids),
            cluster=sub(cols.cluster),
            conf_type=conf_type,
            conf_level=level,
            timefix=False,
        )
        mcf = None
        if mcf_ids is not None:
            mcf = mean_cumulative_function(
                t[m], e[m], mcf_ids[m], entry=start[m], weights=sub(w), conf_level=level,
                timefix=False,
            )  # fmt: skip
        arms[label] = IntervalArm(
            rows=int(m.sum()),
            participants=None if cols.ids is None else int(np.unique(cols.ids[m]).size),
            events=float(np.sum(e[m] * (1.0 if w is None else w[m]))),
            km=km,
            survival_at=km.survival_at(times),
            mcf=mcf,
        )

    specs = tuple(CovariateSpec.parse(c) for c in covariates)
    design = build_design(
        trial.arm, trial.arms, trial.frame, specs, arm_name=trial.arm_col, source=trial.source
    )
    cluster, rule = _cluster(cols, e, w)
    fit_args = dict(
        ties=ties, conf_level=level, timefix=False, entry=start, weights=w, cluster=cluster
    )
    if start is None and w is None and cluster is None:
        fit_args["weights"] = np.ones(trial.n)  # an interval fit, as R, with no weights at all
    fit = cox(t, e, design.x, trial.strata, names=design.names, **fit_args)
    arm_idx = design.columns_of("arm")
    arm_test = arm_term_tests(t, e, design, trial.strata, fit, arm_idx, fit_args)
    lr = None
    if start is None and w is None:
        levels = list(range(len(trial.arms)))
        lr = logrank_k(t, e, trial.arm, trial.strata, levels=levels, timefix=False)
    return IntervalAnalysis(
        arm_labels=tuple(trial.arms),
        arms=arms,
        cox=fit,
        design=design,
        arm_test=arm_test,
        logrank=lr,
        columns=cols,
        conf_type=conf_type,
        ties=ties,
        strata=tuple(trial.strata_cols),
        covariates=tuple(str(c) for c in covariates),
        alpha=float(alpha),
        timefix=timefix,
        time_unit=time_unit,
        arm_col=trial.arm_col,
        times=times,
        cluster_rule=rule,
        dropped=trial.dropped,
    )
