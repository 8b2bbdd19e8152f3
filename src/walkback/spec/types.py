"""The validated spec as frozen dataclasses, and the column vocabulary a spec may target."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from walkback.exceptions import WalkbackError

#: participant-level safety and economic columns a spec may target (see [safety], [economics])
SAFETY_COLUMNS = ("adverse_event_12m", "lower_limb_ae_count")
ECONOMIC_COLUMNS = (
    "healthcare_visits_12m",
    "work_days_lost_12m",
    "cost_intervention_aud",
    "cost_healthcare_aud",
    "cost_productivity_aud",
    "cost_total_aud",
    "eq5d_baseline",
    "eq5d_3m",
    "eq5d_6m",
    "eq5d_12m",
    "qaly_12m",
)
ARM_KEYS = ("treatment", "control")
#: a published "not reached" (a median or CI limit the curve never crossed), written "NR" in a spec
NOT_REACHED = math.inf


class SpecError(WalkbackError, ValueError):
    """A trial spec breaks a rule. The message names the file and the key."""


def rounds_to(x: float, ref: float, precision: float, margin: float = 0.0) -> bool:
    """Whether ``x`` prints as ``ref`` at ``precision``, rounding half away from zero (52.5 days
    prints as 53, as papers print it); ``margin`` (a share of the precision) keeps ``x`` that far
    inside the rounding window."""
    half = precision / 2 - margin * precision
    tol = 1e-12 * max(1.0, abs(ref))
    lo, hi = (
        (ref - half - tol, ref + half - tol) if ref >= 0 else (ref - half + tol, ref + half + tol)
    )
    if margin > 0:
        return lo + 2 * tol < x < hi
    return (lo <= x < hi) if ref >= 0 else (lo < x <= hi)


@dataclass(frozen=True)
class Param:
    """A model number: fixed (an assumption or a published value) or to be calibrated."""

    value: float | None
    origin: str  # "assumed", "target:<name>", "calibrate:<name>" or "free" (left out: fitted)

    @property
    def calibrate(self) -> str | None:
        return self.origin.split(":", 1)[1] if self.origin.startswith("calibrate:") else None

    @property
    def free(self) -> bool:
        """Left out of the spec: solved jointly from the outcome's targets (walkback.fit)."""
        return self.origin == "free"


FREE = Param(None, "free")


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    statistic: str
    value: float
    precision: float
    source: str
    confidence: str
    ci: tuple[float, float] | None = None
    outcome: str | None = None
    arm: str | None = None
    column: str | None = None
    level: str | None = None
    wtp: float | None = None
    derived: bool = False
    time: float | None = None  # km_survival: the landmark (days)
    tau: float | None = None  # rmst: the horizon (days)
    unit: str = "days"  # the unit the paper printed time-valued figures in (stored in days)

    def passes(self, value: float | None, which: str = "value") -> bool:
        """True when ``value`` rounds to the published figure at the printed precision."""
        ref = self.value if which == "value" else self.ci[0 if which == "lower" else 1]
        if ref == NOT_REACHED:
            return value is None or not math.isfinite(value)
        if value is None or not math.isfinite(value):
            return False
        return rounds_to(value, ref, self.precision)


@dataclass(frozen=True)
class Stratum:
    column: str
    levels: tuple[str, ...]
    shares: tuple[float, ...]


@dataclass(frozen=True)
class WeibullOutcome:
    """Weibull PH: S_control = exp(-(t/scale)^shape), S_treatment = S_control^hr."""

    median_control: Param
    hazard_ratio: Param
    shape: Param | None = None
    median_treatment: Param | None = None


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str
    model: str  # a key of walkback.spec.outcomes.OUTCOME_MODELS
    primary: bool = False
    weibull: WeibullOutcome | None = None
    correlation: dict[str, float] = field(default_factory=dict)
    components: tuple[str, ...] = ()
    extra: WeibullOutcome | None = None
    # cure_weibull_ph / piecewise_exponential: named parameters (``hazard_control[0]``, ...)
    params: dict[str, Param] = field(default_factory=dict)
    breaks: tuple[float, ...] = ()  # piecewise_exponential: interval starts (days), from 0

    @property
    def latent(self) -> bool:
        """One latent event time per participant (every model but ``first_of``)."""
        return self.model != "first_of"


@dataclass(frozen=True)
class Covariate:
    name: str
    distribution: str  # a key of walkback.spec.covariates.COVARIATE_DISTRIBUTIONS
    params: dict[str, Any]


@dataclass(frozen=True)
class Safety:
    """Adverse events over 12 months: share with at least one per arm; lower-limb events per
    arm (totals), spread over participants with gamma-distributed individual rates."""

    ae_share: dict[str, Param]
    lower_limb_total: dict[str, Param]
    lower_limb_rate_shape: float


@dataclass(frozen=True)
class Economics:
    """Costs (AUD) and EQ-5D utilities over 12 months; every number an assumption."""

    currency: str
    wtp: float
    resamples: int
    seed: int
    params: dict[str, float]


@dataclass(frozen=True)
class TrialSpec:
    """A validated trial specification."""

    name: str
    title: str
    citation: str
    source: str
    sha256: str
    arm_labels: dict[str, str]
    arm_sizes: dict[str, Param]
    block_sizes: tuple[int, ...]  # permuted_blocks only (empty for simple randomisation)
    ratio: tuple[int, int]
    strata: tuple[Stratum, ...]
    recruitment_start: dt.date
    recruitment_end: dt.date
    recruitment_rate: tuple[tuple[dt.date, float], ...]
    final_date: dt.date
    min_months: int
    max_months: int
    report_every_months: int
    days_per_month: float
    dropout_rate: Param
    covariates: tuple[Covariate, ...]
    outcomes: dict[str, Outcome]
    targets: tuple[Target, ...]
    conf_type: str
    ties: str
    alpha: float
    analysis_strata: tuple[str, ...]
    twin_seed: int
    twin_max_attempts: int
    safety: Safety | None = None
    economics: Economics | None = None
    randomisation: str = "permuted_blocks"  # or "simple"
    dropout_free: bool = False  # [dropout] annual_rate = "free": fitted with the free parameters

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def n_total(self) -> int:
        return int(sum(self.arm_sizes[a].value for a in ARM_KEYS))

    @property
    def primary(self) -> Outcome:
        return next(o for o in self.outcomes.values() if o.primary)

    @property
    def latent_outcomes(self) -> list[Outcome]:
        """Outcomes with a latent time of their own (copula-linked), in spec order."""
        return [o for o in self.outcomes.values() if o.latent]
