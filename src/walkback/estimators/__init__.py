"""Array-kernel estimators that match R survival: Kaplan-Meier, log-rank, Cox, PH test, RMST.

Every kernel validates what it is given (0/1 events, finite non-negative times, group codes) and
merges near-tied times as R's ``timefix`` unless told not to.
"""

from walkback.estimators._checks import timefix
from walkback.estimators.concordance import ConcordanceResult, concordance
from walkback.estimators.cox import CoxResult, cox
from walkback.estimators.kaplan_meier import (
    KaplanMeierResult,
    QuantileResult,
    RMSTResult,
    confint,
    kaplan_meier,
)
from walkback.estimators.logrank import KLogRankResult, LogRankResult, logrank, logrank_k
from walkback.estimators.ph_test import PHTestResult
from walkback.estimators.rmst import RMSTDifference, rmst_difference
from walkback.estimators.weighted import maxcombo, survival_difference, weighted_logrank

__all__ = [
    "ConcordanceResult",
    "CoxResult",
    "KLogRankResult",
    "KaplanMeierResult",
    "LogRankResult",
    "PHTestResult",
    "QuantileResult",
    "RMSTDifference",
    "RMSTResult",
    "concordance",
    "confint",
    "cox",
    "kaplan_meier",
    "logrank",
    "logrank_k",
    "maxcombo",
    "rmst_difference",
    "survival_difference",
    "timefix",
    "weighted_logrank",
]
