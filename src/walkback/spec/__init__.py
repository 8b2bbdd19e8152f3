"""Trial specification files (TOML): what a two-arm trial looks like and what it published.

A spec describes arms and sizes, stratified block randomisation, recruitment, the follow-up rule,
dropout, baseline covariates, the time-to-event outcomes, and every published figure as a *target*.
Numbers may be given directly (assumptions), as ``{ target = "name" }`` (use a published value) or
as ``{ calibrate = "name" }`` (solved by :func:`walkback.calibrate.calibrate`). Nothing about any
particular trial lives in Python: ``load_spec("walkback")`` reads the packaged WalkBack spec, and
``load_spec(path)`` any other.

Modules: ``types`` (the dataclasses), ``reader`` (typed TOML access), one section reader each
(``trial``, ``followup``, ``covariates``, ``outcomes`` with the OUTCOME_MODELS registry,
``safety_economics``, ``targets`` with the TARGET_STATISTICS registry) and ``load`` (load_spec).
"""

from __future__ import annotations

from walkback.spec.covariates import COVARIATE_DISTRIBUTIONS
from walkback.spec.load import load_spec
from walkback.spec.outcomes import OUTCOME_MODELS
from walkback.spec.safety_economics import ECONOMIC_PARAMS
from walkback.spec.targets import STATISTICS, TARGET_STATISTICS
from walkback.spec.types import (
    ARM_KEYS,
    ECONOMIC_COLUMNS,
    FREE,
    NOT_REACHED,
    SAFETY_COLUMNS,
    Covariate,
    Economics,
    Outcome,
    Param,
    Safety,
    SpecError,
    Stratum,
    Target,
    TrialSpec,
    WeibullOutcome,
)

__all__ = [
    "ARM_KEYS",
    "FREE",
    "NOT_REACHED",
    "COVARIATE_DISTRIBUTIONS",
    "ECONOMIC_COLUMNS",
    "ECONOMIC_PARAMS",
    "OUTCOME_MODELS",
    "SAFETY_COLUMNS",
    "STATISTICS",
    "TARGET_STATISTICS",
    "Covariate",
    "Economics",
    "Outcome",
    "Param",
    "Safety",
    "SpecError",
    "Stratum",
    "Target",
    "TrialSpec",
    "WeibullOutcome",
    "load_spec",
]
