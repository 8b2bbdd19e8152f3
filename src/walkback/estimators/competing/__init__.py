"""Competing risks: cumulative incidence (Aalen-Johansen, Gray's variance), Gray's test and the
Fine-Gray subdistribution hazards model, matching R ``cmprsk`` (``cuminc``, ``crr``)."""

from walkback.estimators.competing.cif import CIFResult, cif_confint, cumulative_incidence
from walkback.estimators.competing.finegray import FineGrayResult, fine_gray
from walkback.estimators.competing.gray import GrayTestResult, gray_test

__all__ = [
    "CIFResult",
    "FineGrayResult",
    "GrayTestResult",
    "cif_confint",
    "cumulative_incidence",
    "fine_gray",
    "gray_test",
]
