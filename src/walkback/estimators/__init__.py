"""Array-kernel estimators that match R survival: Kaplan-Meier, log-rank, Cox, PH test, RMST."""

from walkback.estimators.cox import CoxResult, PHTestResult, cox
from walkback.estimators.kaplan_meier import (
    KaplanMeierResult,
    QuantileResult,
    RMSTResult,
    confint,
    kaplan_meier,
)
from walkback.estimators.logrank import LogRankResult, logrank
from walkback.estimators.rmst import RMSTDifference, rmst_difference

__all__ = [
    "CoxResult",
    "KaplanMeierResult",
    "LogRankResult",
    "PHTestResult",
    "QuantileResult",
    "RMSTDifference",
    "RMSTResult",
    "confint",
    "cox",
    "kaplan_meier",
    "logrank",
    "rmst_difference",
]
