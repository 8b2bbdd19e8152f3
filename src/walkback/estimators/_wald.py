"""Wald read-outs shared by the fitted proportional-hazards results (Cox, Fine-Gray)."""

from __future__ import annotations

import numpy as np

from walkback.estimators.kaplan_meier import z_value


class WaldRatios:
    """``se``, ``hazard_ratio`` and the Wald CI from a result's ``coef``, ``var`` and
    ``conf_level``."""

    coef: np.ndarray
    var: np.ndarray
    conf_level: float

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.var))

    @property
    def hazard_ratio(self) -> np.ndarray:
        return np.exp(self.coef)

    def conf_int(self) -> np.ndarray:
        """Wald CI for the hazard ratios, shape (terms, 2)."""
        z = z_value(self.conf_level)
        return np.exp(np.column_stack((self.coef - z * self.se, self.coef + z * self.se)))
