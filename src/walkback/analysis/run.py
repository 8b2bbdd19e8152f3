"""``analyze``: the standard time-to-event analysis of a trial with two or more arms.

Kaplan-Meier curves, medians and landmark survival per arm; one Cox model with the arm as a
factor (reference = control), covariates and strata; the k-group log-rank test; tests of the arm
term alone (nested models on the same rows); concordance; median follow-up by reverse
Kaplan-Meier; RMST. Times closer than R's ``aeqSurv`` tolerance are ties unless ``timefix=False``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from walkback._typing import CONF_TYPES, TIES, ConfType, Ties
from walkback.analysis.adjusted import adjusted_curves
from walkback.analysis.result import AnalysisResult, ArmSummary, ArmTest, FollowUp
from walkback.analysis.tests import parse_test, run_tests
from walkback.design import CovariateSpec, build_design
from walkback.estimators import (
    cox,
    kaplan_meier,
    logrank,
    logrank_k,
    rmst_difference,
)
from walkback.estimators import (
    timefix as aeq_times,
)
from walkback.estimators._dist import chi2_sf
from walkback.estimators.weighted import survival_difference
from walkback.exceptions import DataError
from walkback.schema import TrialData


def analyze(
    trial: TrialData,
    *,
    conf_type: ConfType = "log",
    ties: Ties = "efron",
    times=None,
    tau: float | None = None,
    alpha: float = 0.05,
    covariates: Sequence[str] = (),
    timefix: bool = True,
    time_unit: str = "days",
    tests: Sequence[str] = (),
    ph_transform: str = "km",
    adjusted_at: Mapping[str, object] | None = None,
) -> AnalysisResult:
    """Analyse a trial as R survival would.

    Parameters
    ----------
    trial : TrialData
        Validated trial data; its ``strata_cols`` (if any) stratify the Cox model and log-rank test.
    conf_type : {"log", "log-log", "plain"}
        Kaplan-Meier CI transform (R default "log"; SAS and Stata "log-log").
    ties : {"efron", "breslow"}
        Cox tie handling (R default "efron"; SAS and Stata "breslow").
    times : sequence of float, optional
        Landmark times for survival, numbers at risk, events and censorings.
    tau : float, optional
        RMST horizon; default the earliest of the arms' last follow-up times.
    alpha : float
        1 - confidence level for every interval.
    covariates : sequence of str
        Columns of ``trial.frame`` to adjust the Cox model for: numbers as they are, text as a
        factor with R's treatment contrasts (``NAME:REF`` chooses the reference level).
    timefix : bool, default True
        Merge near-tied times as R's ``aeqSurv`` (R's default in survfit, survdiff and coxph).
    time_unit : str
        Unit of the time column, for labels.
    tests : sequence of str
        Further tests of the arms, by name (:mod:`walkback.analysis.tests`): ``logrank``,
        ``fh(RHO,GAMMA)``, ``gehan``, ``tarone-ware``, ``peto``, ``maxcombo``; stratified by the
        trial's strata. With ``times``, two-arm results also carry milestone survival
        differences (treatment minus control, Greenwood SEs of independent arms, linear CI).
    ph_transform : {"km", "rank", "identity", "log"}
        Time transform of the PH tests (R ``cox.zph``): per model term and global.
    adjusted_at : mapping, optional
        Covariate values on the data's scale (numbers, factor levels; strata values pick one
        stratum): each arm's Cox-predicted survival at ``times`` with the other terms at these
        values (R ``survfit(fit, newdata)``, CIs with ``conf_type``). Needs ``times``.
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    for name in tests:
        parse_test(name)  # bad names fail before any work
    if adjusted_at is not None and not times:
        raise ValueError("adjusted survival needs times to report (--times / times=...)")
    level = 1.0 - alpha
    t = aeq_times(trial.time) if timefix else np.asarray(trial.time)
    e = trial.event
    arms = trial.arms
    if not (t > 0).any():
        raise DataError(
            f"all {t.size} times are 0: nobody was followed beyond time 0, so there is nothing to "
            "estimate (curves, hazard ratio, RMST)",
            source=trial.source,
            column=trial.time_col,
            fix="check that the time column holds follow-up durations (not dates or codes)",
        )
    times = [] if times is None else [float(x) for x in times]

    km = {}
    for j, label in enumerate(arms):
        m = trial.arm == j
        km[label] = kaplan_meier(t[m], e[m], conf_type=conf_type, conf_level=level, timefix=False)
    if tau is None:
        tau = float(min(km[a].time[-1] for a in arms))
        tau_rule = "default: the earliest of the arms' last follow-up times"
    else:
        tau_rule = "given"
    summaries = {
        a: ArmSummary(
            n=km[a].n,
            events=km[a].n_events,
            km=km[a],
            survival_at=km[a].survival_at(times),
            rmst=km[a].rmst(tau),
        )
        for a in arms
    }

    specs = tuple(CovariateSpec.parse(c) for c in covariates)
    design = build_design(
        trial.arm, arms, trial.frame, specs, arm_name=trial.arm_col, source=trial.source
    )
    fit_args = dict(ties=ties, conf_level=level, timefix=False)
    # strata by label ("meno=1"), so res.cox.predict_survival(..., stratum="meno=1") reads as
    # the data does; the fit is the same whatever the strata are called
    by_label = (
        None if trial.strata is None else np.asarray(trial.strata_labels, object)[trial.strata]
    )
    fit = cox(t, e, design.x, by_label, names=design.names, model_terms=design.terms, **fit_args)
    arm_idx = design.columns_of("arm")
    arm_test = arm_term_tests(t, e, design, trial.strata, fit, arm_idx, fit_args)

    reverse = 1 - e
    followup = FollowUp(
        median=kaplan_meier(t, reverse, conf_type, level, timefix=False).median,
        arms={
            a: kaplan_meier(
                t[trial.arm == j], reverse[trial.arm == j], conf_type, level, timefix=False
            ).median
            for j, a in enumerate(arms)
        },
    )
    two = len(arms) == 2
    warnings = beyond_follow_up(km, tau, times, time_unit)
    differences = tuple(
        {"treatment": a, **row}
        for a in arms[1:]
        for row in survival_difference(km[a], km[arms[0]], times, level)
    )
    groups = {term.name: [design.names.index(c) for c in term.columns] for term in design.terms}
    adjusted = None
    if adjusted_at is not None:
        adjusted = adjusted_curves(
            fit,
            adjusted_at,
            times,
            arm_col=trial.arm_col,
            arm_labels=arms,
            strata_cols=tuple(trial.strata_cols),
            strata_labels=tuple(trial.strata_labels),
            conf_type=conf_type,
        )
    return AnalysisResult(
        adjusted_survival=adjusted,
        adjusted_at=None if adjusted_at is None else dict(adjusted_at),
        zph=fit.zph(ph_transform, groups),
        tests=run_tests(tests, t, e, trial.arm, trial.strata, len(arms)),
        survival_differences=differences if times else (),
        arm_labels=arms,
        arms=summaries,
        cox=fit,
        design=design,
        logrank_k=logrank_k(
            t, e, trial.arm, trial.strata, levels=list(range(len(arms))), timefix=False
        ),
        logrank_2=logrank(t, e, trial.arm == 1, trial.strata, timefix=False) if two else None,
        ph_tests=tuple(fit.ph_test(int(j)) for j in arm_idx),
        rmst=rmst_difference(km[arms[1]], km[arms[0]], tau, level) if two else None,
        arm_test=arm_test,
        concordance=fit.concordance(),
        followup=followup,
        conf_type=conf_type,
        ties=ties,
        strata=tuple(trial.strata_cols),
        covariates=tuple(str(c) for c in covariates),
        alpha=float(alpha),
        tau=float(tau),
        tau_rule=tau_rule,
        timefix=timefix,
        time_unit=time_unit,
        arm_col=trial.arm_col,
        dropped=trial.dropped,
        warnings=warnings,
    )


def beyond_follow_up(km: dict, tau: float, times: list[float], unit: str) -> tuple[str, ...]:
    """Warnings for an RMST horizon or landmark times past an arm's last follow-up time, where
    the estimates carry the last survival value forward (an extrapolation, not data)."""
    last = {a: float(k.time[-1]) for a, k in km.items()}
    arm = min(last, key=last.get)
    out = []
    if tau > last[arm]:
        out.append(
            f"RMST tau {tau:g} {unit} lies beyond the last follow-up of arm '{arm}' "
            f"({last[arm]:g} {unit}): the curve is extended flat from there"
        )
    late = [t for t in times if t > last[arm]]
    if late:
        out.append(
            f"survival at {', '.join(f'{t:g}' for t in late)} {unit} lies beyond the last "
            f"follow-up of arm '{arm}' ({last[arm]:g} {unit}): the last value is carried forward"
        )
    return tuple(out)


def arm_term_tests(t, e, design, strata, fit, arm_idx, fit_args) -> ArmTest:
    """LR, Wald and score tests of the arm coefficients alone, as nested models on the same rows."""
    df = int(arm_idx.size)
    b = fit.coef[arm_idx]
    wald = float(b @ np.linalg.solve(fit.var[np.ix_(arm_idx, arm_idx)], b))
    rest = np.setdiff1d(np.arange(fit.coef.size), arm_idx)
    if rest.size == 0:
        lr, score = fit.lr_chisq, fit.score_chisq
    else:
        names = tuple(design.names[i] for i in rest)
        reduced = cox(t, e, design.x[:, rest], strata, names=names, **fit_args)
        lr = 2.0 * (fit.loglik - reduced.loglik)
        init = np.zeros(fit.coef.size)
        init[rest] = reduced.coef
        del reduced  # its sorted rows are not needed by the score test's fit
        score = cox(t, e, design.x, strata, names=design.names, init=init, **fit_args).score_chisq
    return ArmTest(
        lr_chisq=float(lr),
        df=df,
        p=float(chi2_sf(lr, df)),
        wald_chisq=wald,
        wald_p=float(chi2_sf(wald, df)),
        score_chisq=float(score),
        score_p=float(chi2_sf(score, df)),
    )
