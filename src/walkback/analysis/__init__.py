"""The standard time-to-event analysis of a trial, with every convention recorded.

``analyze(trial)`` runs what a trial report prints (see :mod:`walkback.analysis.run`); its
result (:mod:`walkback.analysis.result`) renders itself as text and as the JSON contract of
``walkback analyze --json``.
"""

from walkback.analysis.result import ARMS, AnalysisResult, ArmSummary, ArmTest, FollowUp
from walkback.analysis.run import analyze

__all__ = ["ARMS", "AnalysisResult", "ArmSummary", "ArmTest", "FollowUp", "analyze"]
