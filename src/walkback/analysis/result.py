"""The result of ``analyze``: per-arm summaries, the Cox model and its tests, with the settings.

``to_dict()`` is the JSON contract of ``walkback analyze --json``. For two arms it keeps the
contract of earlier versions (``n``, ``events``, ``median``, ``survival_at`` keyed by
``treatment``/``control``, ``hazard_ratio``, ``rmst``, ``ph_test``) and adds, for any number of
arms, ``arms`` (keyed by label), ``hazard_ratios``, ``covariates``, ``arm_test``, ``model``,
``concordance`` and ``followup``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from walkback._json import json_ready
from walkback.design import Design
from walkback.estimators import (
    ConcordanceResult,
    CoxResult,
    KaplanMeierResult,
    KLogRankResult,
    LogRankResult,
    PHTestResult,
    QuantileResult,
    RMSTDifference,
    RMSTResult,
)
from walkback.exceptions import DataError
from walkback.missing import Dropped

ARMS = ("treatment", "control")


@dataclass(frozen=True)
class ArmSummary:
    """One arm: size, events, Kaplan-Meier curve, landmark rows and RMST."""

    n: int
    events: int
    km: KaplanMeierResult
    survival_at: pd.DataFrame
    rmst: RMSTResult

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "events": self.events,
            "median": self.km.median.to_dict(),
            "survival_at": self.survival_at.to_dict(orient="records"),
            "rmst": {"tau": self.rmst.tau, "estimate": self.rmst.estimate, "se": self.rmst.se},
        }


@dataclass(frozen=True)
class ArmTest:
    """Tests of the arm term(s) alone: with vs without arm, covariates and strata kept."""

    lr_chisq: float
    df: int
    p: float
    wald_chisq: float
    wald_p: float
    score_chisq: float
    score_p: float

    def to_dict(self) -> dict:
        return {
            "lr_chisq": self.lr_chisq,
            "df": self.df,
            "p": self.p,
            "wald_chisq": self.wald_chisq,
            "wald_p": self.wald_p,
            "score_chisq": self.score_chisq,
            "score_p": self.score_p,
        }


def model_tests(c) -> dict:
    """The whole model's LR, Wald and score tests and log-likelihoods (JSON ``model``)."""
    return {
        "lr_chisq": c.lr_chisq,
        "df": c.df,
        "p_lr": c.p_lr,
        "wald_chisq": c.wald_chisq,
        "p_wald": c.p_wald_global,
        "score_chisq": c.score_chisq,
        "p_score": c.p_score,
        "loglik_null": c.loglik_null,
        "loglik": c.loglik,
    }


@dataclass(frozen=True)
class FollowUp:
    """Median follow-up by reverse Kaplan-Meier (censoring as the event), overall and per arm."""

    median: QuantileResult
    arms: dict[str, QuantileResult]


def _coef_row(cox: CoxResult, i: int) -> dict:
    ci = cox.conf_int()[i]
    return {
        "estimate": float(cox.hazard_ratio[i]),
        "lower": float(ci[0]),
        "upper": float(ci[1]),
        "p": float(cox.wald_p[i]),
        "coef": float(cox.coef[i]),
        "se": float(cox.se[i]),
        "z": float(cox.coef[i] / cox.se[i]),
    }


@dataclass(frozen=True)
class AnalysisResult:
    """Everything ``analyze`` computed, with the settings it used."""

    arm_labels: tuple[str, ...]  # control first
    arms: dict[str, ArmSummary]
    cox: CoxResult
    design: Design
    logrank_k: KLogRankResult
    logrank_2: LogRankResult | None
    ph_tests: tuple[PHTestResult, ...]
    rmst: RMSTDifference | None
    arm_test: ArmTest
    concordance: ConcordanceResult
    followup: FollowUp
    conf_type: str
    ties: str
    strata: tuple[str, ...]
    covariates: tuple[str, ...]
    alpha: float
    tau: float
    tau_rule: str
    timefix: bool
    time_unit: str
    arm_col: str
    dropped: tuple[Dropped, ...] = ()
    tests: tuple[dict, ...] = ()
    survival_differences: tuple[dict, ...] = ()
    zph: dict | None = None  # cox.zph: terms, global, transform
    adjusted_survival: dict | None = None  # arm label -> CoxSurvival (R survfit(fit, newdata))
    adjusted_at: dict | None = None  # the values they were predicted at
    warnings: tuple[str, ...] = ()  # e.g. tau or a landmark time beyond the last follow-up

    # -- two-arm views (the contract of earlier versions) ----------------------------------------
    @property
    def two_arm(self) -> bool:
        return len(self.arm_labels) == 2

    def _roles(self) -> dict[str, str]:
        if not self.two_arm:
            raise DataError(
                f"this trial has {len(self.arm_labels)} arms; treatment/control views need two",
                column=self.arm_col,
                fix="use res.arms[LABEL] and res.hazard_ratios()",
            )
        return {"treatment": self.arm_labels[1], "control": self.arm_labels[0]}

    @property
    def labels(self) -> dict[str, str]:
        return self._roles()

    @property
    def control(self) -> str:
        return self.arm_labels[0]

    @property
    def treatments(self) -> tuple[str, ...]:
        return self.arm_labels[1:]

    @property
    def n(self) -> dict[str, int]:
        return {r: self.arms[a].n for r, a in self._roles().items()}

    @property
    def events(self) -> dict[str, int]:
        return {r: self.arms[a].events for r, a in self._roles().items()}

    @property
    def km(self) -> dict[str, KaplanMeierResult]:
        return {r: self.arms[a].km for r, a in self._roles().items()}

    @property
    def survival_at(self) -> dict[str, pd.DataFrame]:
        return {r: self.arms[a].survival_at for r, a in self._roles().items()}

    @property
    def logrank(self) -> LogRankResult | KLogRankResult:
        return self.logrank_2 if self.logrank_2 is not None else self.logrank_k

    @property
    def ph_test(self) -> PHTestResult:
        self._roles()
        return self.ph_tests[0]

    def hazard_ratios(self) -> list[dict]:
        """One row per treatment arm vs control, from the one Cox model."""
        return [{"treatment": a, **_coef_row(self.cox, i)} for i, a in enumerate(self.treatments)]

    def covariate_rows(self) -> list[dict]:
        k = len(self.treatments)
        return [
            {"term": self.cox.terms[i], **_coef_row(self.cox, i)}
            for i in range(k, len(self.cox.terms))
        ]

    def to_dict(self) -> dict:
        """The ``walkback analyze --json`` contract (null = not reached / not defined)."""
        c = self.cox
        at = self.arm_test
        lk = self.logrank_k
        out = {
            "arms": {a: s.to_dict() for a, s in self.arms.items()},
            "hazard_ratios": self.hazard_ratios(),
            "covariates": self.covariate_rows(),
            "logrank": {
                "chisq": lk.chisq,
                "df": lk.df,
                "p": lk.p,
                "observed": dict(zip(self.arm_labels, lk.observed.tolist(), strict=True)),
                "expected": dict(zip(self.arm_labels, lk.expected.tolist(), strict=True)),
            },
            "arm_test": at.to_dict(),
            "model": model_tests(c),
            "concordance": {"estimate": self.concordance.estimate, "se": self.concordance.se},
            "followup": {
                "median": self.followup.median.to_dict(),
                "arms": {a: q.to_dict() for a, q in self.followup.arms.items()},
                "method": "reverse Kaplan-Meier (censoring as the event), all participants",
            },
            "ph_tests": [
                {"term": p.term, "chisq": p.chisq, "df": p.df, "p": p.p} for p in self.ph_tests
            ],
            "settings": self._settings(),
        }
        if self.tests:
            out["tests"] = list(self.tests)
        if self.survival_differences:
            out["survival_difference_at"] = list(self.survival_differences)
            out["settings"]["survival_difference"] = (
                "treatment minus control; Greenwood SEs of independent arms; linear CI "
                "(difference -/+ z SE, not clipped)"
            )
        if self.adjusted_survival is not None:
            out["adjusted_survival_at"] = self._adjusted_dict()
            out["settings"]["adjusted_at"] = {
                "values": {k: str(v) for k, v in self.adjusted_at.items()},
                "method": "R survfit(coxph fit, newdata): one row per arm, the other terms at "
                f"these values; {self.ties} baseline hazard; CI {self.conf_type}",
            }
        if self.two_arm:
            out.update(self._two_arm_dict())
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.zph is not None:
            arm = next(r for r in self.zph["terms"] if r["term"] == self.arm_col)
            legacy = {"chisq": arm["chisq"], "p": arm["p"]} if self.two_arm else {}
            out["ph_test"] = {**legacy, **self.zph}
        return json_ready(out)

    def _adjusted_dict(self) -> dict:
        """Rows per arm, keyed by role (treatment/control) for two arms, else by arm label."""
        keys = {v: k for k, v in self._roles().items()} if self.two_arm else {}
        return {keys.get(a, a): c.records() for a, c in self.adjusted_survival.items()}

    def _two_arm_dict(self) -> dict:
        hr = self.hazard_ratios()[0]
        lr = self.logrank_2.to_dict()
        lr.pop("settings")
        lr["df"] = 1
        return {
            "n": self.n,
            "events": self.events,
            "labels": self.labels,
            "median": {r: k.median.to_dict() for r, k in self.km.items()},
            "survival_at": {r: s.to_dict(orient="records") for r, s in self.survival_at.items()},
            "hazard_ratio": {
                "estimate": hr["estimate"],
                "lower": hr["lower"],
                "upper": hr["upper"],
                "p": hr["p"],
                "log_hr": hr["coef"],
                "se": hr["se"],
                "z": hr["z"],
                # tests of the arm term alone (equal to the whole model's without covariates)
                "p_lr": self.arm_test.p,
                "p_score": self.arm_test.score_p,
                "wald_chisq": self.arm_test.wald_chisq,
                "lr_chisq": self.arm_test.lr_chisq,
                "score_chisq": self.arm_test.score_chisq,
                "loglik_null": self.cox.loglik_null,
                "loglik": self.cox.loglik,
            },
            "logrank": lr,
            "ph_test": {"chisq": self.ph_test.chisq, "p": self.ph_test.p},
            "rmst": self.rmst.to_dict(),
        }

    def _settings(self) -> dict:
        dropped = [d for d in self.dropped if d.reason == "missing values"]
        other = [d for d in self.dropped if d.reason != "missing values"]
        return {
            "conf_type": self.conf_type,
            "ties": self.ties,
            "strata": list(self.strata),
            "covariates": list(self.covariates),
            "alpha": self.alpha,
            "conf_level": 1.0 - self.alpha,
            "tau": self.tau,
            "tau_rule": self.tau_rule,
            "timefix": self.timefix,
            "time_unit": self.time_unit,
            "control": self.control,
            "treatments": list(self.treatments),
            "dropped": dropped[0].to_dict() if dropped else {"rows": 0, "columns": [], "lines": []},
            "other_arms_dropped": other[0].to_dict()
            if other
            else {"rows": 0, "columns": [], "lines": []},
            "ph_test": f"cox.zph, transform = {self.zph['transform'] if self.zph else 'km'}, "
            "per arm term; ph_test.terms/global per model term (R terms = TRUE)",
            "median_rule": "R quantile.survfit (midpoint of a flat at 0.5)",
            "hazard_ratio_p": "Wald p of the arm term; arm_test tests the arm term(s) alone",
        }

    def __repr__(self) -> str:
        from walkback.report.text import analysis_table

        return analysis_table(self)

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(repr(self)) + "</pre>"
