"""The standard two-arm time-to-event analysis of a trial, with every convention recorded.

``analyze(trial)`` runs what a trial report prints: Kaplan-Meier curves and medians per arm,
survival at landmark times, the Cox hazard ratio (stratified when the trial names strata), the
log-rank test (stratified likewise), the proportional-hazards test for treatment, and RMST per arm
with the difference. Its ``to_dict()`` is the JSON contract of ``walkback analyze --json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback._json import json_ready
from walkback._typing import CONF_TYPES, TIES, ConfType, Ties
from walkback.estimators import (
    CoxResult,
    KaplanMeierResult,
    LogRankResult,
    PHTestResult,
    RMSTDifference,
    cox,
    kaplan_meier,
    logrank,
    rmst_difference,
)
from walkback.exceptions import DataError
from walkback.schema import TrialData

ARMS = ("treatment", "control")


@dataclass(frozen=True)
class AnalysisResult:
    """Everything ``analyze`` computed, with the settings it used."""

    n: dict[str, int]
    events: dict[str, int]
    km: dict[str, KaplanMeierResult]
    survival_at: dict[str, pd.DataFrame]
    cox: CoxResult
    logrank: LogRankResult
    ph_test: PHTestResult
    rmst: RMSTDifference
    conf_type: ConfType
    ties: Ties
    strata: tuple[str, ...]
    covariates: tuple[str, ...]
    alpha: float
    tau_rule: str
    labels: dict[str, str]

    def to_dict(self) -> dict:
        """The ``walkback analyze --json`` contract (null = not reached / not defined)."""
        ci = self.cox.conf_int()[0]
        hr = {
            "estimate": float(self.cox.hazard_ratio[0]),
            "lower": float(ci[0]),
            "upper": float(ci[1]),
            "p": float(self.cox.wald_p[0]),
            "log_hr": float(self.cox.coef[0]),
            "se": float(self.cox.se[0]),
            "p_lr": self.cox.p_lr,
            "p_score": self.cox.p_score,
            "wald_chisq": self.cox.wald_chisq,
            "lr_chisq": self.cox.lr_chisq,
            "score_chisq": self.cox.score_chisq,
            "loglik_null": self.cox.loglik_null,
            "loglik": self.cox.loglik,
        }
        lr = self.logrank.to_dict()
        lr.pop("settings")
        return json_ready(
            {
                "n": dict(self.n),
                "events": dict(self.events),
                "labels": dict(self.labels),
                "median": {a: self.km[a].median.to_dict() for a in ARMS},
                "survival_at": {a: self.survival_at[a].to_dict(orient="records") for a in ARMS},
                "hazard_ratio": hr,
                "logrank": lr,
                "ph_test": {"chisq": self.ph_test.chisq, "p": self.ph_test.p},
                "rmst": self.rmst.to_dict(),
                "settings": {
                    "conf_type": self.conf_type,
                    "ties": self.ties,
                    "strata": list(self.strata),
                    "covariates": list(self.covariates),
                    "alpha": self.alpha,
                    "conf_level": 1.0 - self.alpha,
                    "tau_rule": self.tau_rule,
                    "ph_test": "cox.zph, transform = km, treatment term",
                    "median_rule": "R quantile.survfit (midpoint of a flat at 0.5)",
                },
            }
        )

    def __repr__(self) -> str:
        from walkback.report.text import analysis_table

        return analysis_table(self)

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(repr(self)) + "</pre>"


def analyze(
    trial: TrialData,
    *,
    conf_type: ConfType = "log",
    ties: Ties = "efron",
    times=None,
    tau: float | None = None,
    alpha: float = 0.05,
    covariates: tuple[str, ...] | list[str] = (),
) -> AnalysisResult:
    """Analyse a two-arm trial as R survival would.

    Parameters
    ----------
    trial : TrialData
        Validated trial data; its ``strata_cols`` (if any) stratify the Cox model and log-rank test.
    conf_type : {"log", "log-log", "plain"}
        Kaplan-Meier CI transform (R default "log"; SAS and Stata "log-log").
    ties : {"efron", "breslow"}
        Cox tie handling (R default "efron"; SAS and Stata "breslow").
    times : sequence of float, optional
        Landmark times for survival and number at risk.
    tau : float, optional
        RMST horizon; default the earlier of the two arms' last follow-up times.
    alpha : float
        1 - confidence level for every interval.
    covariates : sequence of str
        Extra numeric columns of ``trial.frame`` to adjust the Cox model for.
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    level = 1.0 - alpha
    masks = {"treatment": trial.treated, "control": ~trial.treated}
    km = {
        a: kaplan_meier(trial.time[m], trial.event[m], conf_type=conf_type, conf_level=level)
        for a, m in masks.items()
    }
    times = [] if times is None else [float(t) for t in times]
    surv_at = {a: km[a].survival_at(times) for a in ARMS}
    if tau is None:
        tau = float(min(km[a].time[-1] for a in ARMS))
        tau_rule = "default: the earlier of the two arms' last follow-up times"
    else:
        tau_rule = "given"

    x = trial.treated.astype(float)[:, None]
    names = ["treatment"]
    for col in covariates:
        x = np.column_stack((x, _numeric_column(trial, col)))
        names.append(col)
    fit = cox(trial.time, trial.event, x, trial.strata, names=names, ties=ties, conf_level=level)
    return AnalysisResult(
        n={"treatment": trial.n_treatment, "control": trial.n_control},
        events={a: km[a].n_events for a in ARMS},
        km=km,
        survival_at=surv_at,
        cox=fit,
        logrank=logrank(trial.time, trial.event, trial.treated, trial.strata),
        ph_test=fit.ph_test(0),
        rmst=rmst_difference(km["treatment"], km["control"], tau, level),
        conf_type=conf_type,
        ties=ties,
        strata=tuple(trial.strata_cols),
        covariates=tuple(covariates),
        alpha=float(alpha),
        tau_rule=tau_rule,
        labels={"treatment": trial.treatment, "control": trial.control},
    )


def _numeric_column(trial: TrialData, col: str) -> np.ndarray:
    if col not in trial.frame.columns:
        raise DataError(
            "covariate column not found",
            source=trial.source,
            column=col,
            fix=f"columns are: {', '.join(map(str, trial.frame.columns))}",
        )
    values = pd.to_numeric(trial.frame[col], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(
            "covariate values must be finite numbers",
            source=trial.source,
            column=col,
            lines=[int(i) + 2 for i in bad],
            value=trial.frame[col].iloc[bad[0]],
            fix="recode the column as numbers (e.g. 0/1 for a binary covariate)",
        )
    return values
