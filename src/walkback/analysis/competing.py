"""Competing-risks analysis of a two-arm trial: cumulative incidence of every cause per arm,
Gray's test, the Fine-Gray subdistribution hazard ratio and the cause-specific Cox hazard ratio
of the cause analysed (treatment vs control), as R ``cmprsk`` (``cuminc``, ``crr``) and
``survival`` (``coxph(Surv(time, status == cause) ~ arm)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback._json import json_ready
from walkback._typing import CONF_TYPES, TIES, ConfType, Ties
from walkback.competing_data import CompetingData
from walkback.estimators import CoxResult, cox
from walkback.estimators import timefix as aeq_times
from walkback.estimators.competing import (
    CIFResult,
    FineGrayResult,
    GrayTestResult,
    cumulative_incidence,
    fine_gray,
    gray_test,
)

__all__ = ["ARM_KEYS", "CompetingRisksResult", "competing_risks"]

#: JSON keys of the two arms, in output order
ARM_KEYS = ("treatment", "control")


@dataclass(frozen=True)
class CompetingRisksResult:
    """Everything ``walkback competing`` reports; ``curves[arm][cause]`` are full CIF curves."""

    data: CompetingData
    curves: dict[str, dict[str, CIFResult]]
    times: tuple[float, ...]
    gray: GrayTestResult
    fine_gray: FineGrayResult | None
    cause_specific: CoxResult | None
    note: str | None
    conf_type: ConfType
    conf_level: float
    ties: Ties
    rho: float
    timefix: bool

    def arm_label(self, key: str) -> str:
        return self.data.treatment if key == "treatment" else self.data.control

    def cif(self, arm: str, cause: str | None = None) -> CIFResult:
        """The full curve of ``cause`` (default: the cause analysed) in ``arm`` (a JSON key)."""
        return self.curves[arm][self.data.cause if cause is None else str(cause)]

    def cif_table(self, arm: str) -> pd.DataFrame:
        """The cause analysed in ``arm`` at ``times`` (every cause time when none were given)."""
        curve = self.cif(arm)
        return curve.at(self.times) if self.times else curve.summary()[list(_CIF_COLUMNS)]

    def to_dict(self) -> dict:
        d = self.data
        counts = {
            key: {k: int((d.status[self._rows(key)] == k).sum()) for k in (d.censor, *d.causes)}
            for key in ARM_KEYS
        }
        out = {
            "cause": d.cause,
            "causes": list(d.causes),
            "censor_value": d.censor,
            "arms": {key: self.arm_label(key) for key in ARM_KEYS},
            "n": {key: int(self._rows(key).sum()) for key in ARM_KEYS},
            "status_counts": counts,
            "cif": {
                key: [
                    {c: row[c] for c in _CIF_COLUMNS}
                    for row in self.cif_table(key).to_dict("records")
                ]
                for key in ARM_KEYS
            },
            "gray": self.gray.to_dict(),
            "fine_gray": _first_term(self.fine_gray),
            "cause_specific_hr": _first_term(self.cause_specific),
            "note": self.note,
            "settings": {
                "conf_type": self.conf_type,
                "conf_level": self.conf_level,
                "variance": "Gray (cmprsk cuminc)",
                "ties": self.ties,
                "rho": self.rho,
                "strata": d.strata is not None,
                "timefix": self.timefix,
                "times": list(self.times),
                "dropped": {"rows": len(d.dropped), "lines": list(d.dropped)},
            },
        }
        return json_ready(out)

    def _rows(self, key: str) -> np.ndarray:
        return self.data.treated if key == "treatment" else ~self.data.treated


_CIF_COLUMNS = ("time", "cif", "variance", "lower", "upper")


def _first_term(res: CoxResult | FineGrayResult | None) -> dict | None:
    """The arm's hazard ratio (the first term) with its Wald CI and p, coefficient and SE."""
    if res is None:
        return None
    ci = res.conf_int()
    return {
        "estimate": float(res.hazard_ratio[0]),
        "lower": float(ci[0, 0]),
        "upper": float(ci[0, 1]),
        "p": float(res.wald_p[0]),
        "coef": float(res.coef[0]),
        "se": float(res.se[0]),
    }


def competing_risks(
    data: CompetingData,
    *,
    times: Sequence[float] = (),
    conf_type: ConfType = "log-log",
    conf_level: float = 0.95,
    ties: Ties = "efron",
    rho: float = 0.0,
    timefix: bool = True,
) -> CompetingRisksResult:
    """Analyse competing risks in a two-arm trial read by
    :func:`walkback.competing_data.read_competing`.

    The cumulative incidence of every cause is estimated per arm (Aalen-Johansen, Gray's variance,
    ``conf_type`` CI of F); Gray's test (weight (1 - F)^rho, stratified when the data have
    strata), the Fine-Gray model (``crr``, arm as the only covariate, unstratified) and the
    cause-specific Cox model (other causes censored; ``ties``; stratified when the data have
    strata) compare treatment with control for the cause analysed. When an arm has no event of
    that cause, both hazard ratios are None and ``note`` says why.
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    times = tuple(float(t) for t in times)
    if any(not (t >= 0 and np.isfinite(t)) for t in times):
        raise ValueError(f"times must be finite and >= 0, got {list(times)}")
    d = data
    # timefix once on the pooled times (as R's formula interface); kernels then compare exactly
    time = aeq_times(d.time) if timefix else d.time
    curves = {}
    for key, rows in (("treatment", d.treated), ("control", ~d.treated)):
        curves[key] = {
            k: cumulative_incidence(
                time[rows],
                d.status[rows],
                k,
                d.censor,
                conf_type=conf_type,
                conf_level=conf_level,
                timefix=False,
            )
            for k in d.causes
        }
    gray = gray_test(time, d.status, d.treated, d.cause, d.censor, d.strata, rho=rho, timefix=False)
    event = d.status == d.cause
    empty = [
        d.treatment if a else d.control for a in (True, False) if not event[d.treated == a].any()
    ]
    fg = cs = None
    note = None
    if empty:
        note = (
            f"no '{d.cause}' events in arm {', '.join(repr(a) for a in empty)}: the hazard ratios "
            "are not estimable"
        )
    else:
        x = d.treated.astype(float)
        fg = fine_gray(
            time,
            d.status,
            x,
            d.cause,
            d.censor,
            names=("arm",),
            conf_level=conf_level,
            timefix=False,
        )
        cs = cox(
            time,
            event.astype(np.int64),
            x,
            d.strata,
            names=("arm",),
            ties=ties,
            conf_level=conf_level,
            timefix=False,
        )
    return CompetingRisksResult(
        data=d,
        curves=curves,
        times=times,
        gray=gray,
        fine_gray=fg,
        cause_specific=cs,
        note=note,
        conf_type=conf_type,
        conf_level=float(conf_level),
        ties=ties,
        rho=float(rho),
        timefix=timefix,
    )
