"""Literal option types shared across the package."""

from __future__ import annotations

from typing import Literal

ConfType = Literal["log", "log-log", "plain"]
"""Pointwise CI transform for a survival curve (R ``survfit(conf.type=)``)."""

Ties = Literal["efron", "breslow"]
"""Tie handling in the Cox partial likelihood (R ``coxph(ties=)``)."""

Convention = Literal["r", "sas", "stata"]
"""A software package's defaults for (CI transform, ties)."""

CONF_TYPES: tuple[ConfType, ...] = ("log", "log-log", "plain")

#: MaxCombo's default Fleming-Harrington (rho, gamma) weights (Lin et al. 2020)
MAXCOMBO_COMBOS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
TIES: tuple[Ties, ...] = ("efron", "breslow")

CONVENTIONS: dict[Convention, tuple[ConfType, Ties]] = {
    # R survival: survfit conf.type="log", coxph ties="efron"
    "r": ("log", "efron"),
    # SAS PROC LIFETEST (CONFTYPE=LOGLOG default) and PROC PHREG (TIES=BRESLOW default)
    "sas": ("log-log", "breslow"),
    # Stata sts list/graph (log-log CIs) and stcox (Breslow ties by default)
    "stata": ("log-log", "breslow"),
}
