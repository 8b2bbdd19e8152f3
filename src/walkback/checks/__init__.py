"""Checks that results stay in their expected range.

:mod:`~walkback.checks.statistics` is the per-statistic registry (how a target statistic is read
from Monte Carlo replicates and on which scale its sampling error is compared);
:mod:`~walkback.checks.montecarlo` is ``walkback check`` (the model's sampling distribution of
every quantity against the published figures and user ranges); :mod:`~walkback.checks.expect`
reads ``--expect`` files; :mod:`~walkback.checks.sampling` is ``reproduce --tolerance sampling``
(is one dataset within sampling error of the paper?).
"""
