"""Restricted mean survival time: difference between arms with a normal-theory CI."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback.estimators.kaplan_meier import KaplanMeierResult, RMSTResult, z_value


@dataclass(frozen=True)
class RMSTDifference:
    """RMST per arm up to ``tau`` (R ``print(survfit, rmean = tau)``) and their difference."""

    tau: float
    treatment: RMSTResult
    control: RMSTResult
    difference: float
    se: float
    lower: float
    upper: float
    conf_level: float

    def to_dict(self) -> dict:
        return {
            "tau": self.tau,
            "treatment": self.treatment.estimate,
            "treatment_se": self.treatment.se,
            "control": self.control.estimate,
            "control_se": self.control.se,
            "difference": self.difference,
            "se": self.se,
            "lower": self.lower,
            "upper": self.upper,
        }


def rmst_difference(
    treatment: KaplanMeierResult,
    control: KaplanMeierResult,
    tau: float,
    conf_level: float = 0.95,
) -> RMSTDifference:
    """Treatment minus control RMST to ``tau``; SE from the two independent Greenwood-type SEs."""
    rt, rc = treatment.rmst(tau), control.rmst(tau)
    diff = rt.estimate - rc.estimate
    se = float(np.hypot(rt.se, rc.se))
    z = z_value(conf_level)
    return RMSTDifference(float(tau), rt, rc, diff, se, diff - z * se, diff + z * se, conf_level)
