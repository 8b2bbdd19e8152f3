"""Array-kernel estimators that match R survival: Kaplan-Meier, log-rank, Cox, PH test, RMST.

(entry, time] data, case weights and robust (cluster) variances go to ``cox_intervals`` and
``survfit_intervals`` (also reached through ``cox``/``kaplan_meier`` with ``entry=``,
``weights=``, ``cluster=``); ``mean_cumulative_function`` is the MCF of recurrent events.

Every kernel validates what it is given (0/1 events, finite non-negative times, group codes) and
merges near-tied times as R's ``timefix`` unless told not to.
"""

from walkback.estimators._checks import timefix
from walkback.estimators.concordance import ConcordanceResult, concordance
from walkback.estimators.cox import CoxResult, cox
from walkback.estimators.cox_intervals import IntervalCoxResult, cox_intervals
from walkback.estimators.kaplan_meier import (
    KaplanMeierResult,
    QuantileResult,
    RMSTResult,
    confint,
    kaplan_meier,
)
from walkback.estimators.kaplan_meier_intervals import (
    IntervalKaplanMeierResult,
    MeanCumulativeFunction,
    mean_cumulative_function,
    survfit_intervals,
)
from walkback.estimators.logrank import KLogRankResult, LogRankResult, logrank, logrank_k
from walkback.estimators.ph_test import PHTestResult
from walkback.estimators.rmst import RMSTDifference, rmst_difference
from walkback.estimators.weighted import maxcombo, survival_difference, weighted_logrank

__all__ = [
    "ConcordanceResult",
    "CoxResult",
    "IntervalCoxResult",
    "IntervalKaplanMeierResult",
    "KLogRankResult",
    "KaplanMeierResult",
    "LogRankResult",
    "MeanCumulativeFunction",
    "PHTestResult",
    "QuantileResult",
    "RMSTDifference",
    "RMSTResult",
    "concordance",
    "confint",
    "cox",
    "cox_intervals",
    "kaplan_meier",
    "logrank",
    "logrank_k",
    "maxcombo",
    "mean_cumulative_function",
    "rmst_difference",
    "survival_difference",
    "survfit_intervals",
    "timefix",
    "weighted_logrank",
]
