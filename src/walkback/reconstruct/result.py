"""What a reconstruction gives: :class:`ReconstructionResult` (and :class:`CleanedCurve`, one
arm's cleaned points), and :func:`reconstruction_summary`, its re-analysis (medians, RMST, Cox HR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from walkback.exceptions import DataError, EstimationError

__all__ = ["CleanedCurve", "ReconstructionResult", "reconstruction_summary"]


@dataclass(frozen=True)
class CleanedCurve:
    """One arm's digitised points after cleaning: sorted, from (0, 1), non-increasing."""

    time: np.ndarray
    survival: np.ndarray
    notes: tuple[str, ...]
    percent: bool = False
    """Whether the input survival was in percent (and divided by 100)."""


@dataclass(frozen=True)
class ReconstructionResult:
    """Reconstructed participant-level data and how well they match the published figure.

    Attributes
    ----------
    ipd : pandas.DataFrame
        One row per participant: ``arm`` (str), ``time`` (float), ``event`` (1 event, 0 censored),
        arms in the at-risk table's order, each sorted by time.
    arms : tuple of str
        Arm labels in order of first appearance in the at-risk table.
    intervals : pandas.DataFrame
        Per arm and at-risk interval: ``start``, ``end``, published and reconstructed numbers at
        risk at ``start``, reconstructed ``events`` and ``censored`` in the interval, and the
        ``iterations`` the censoring search took.
    curves : pandas.DataFrame
        The cleaned digitised points (``arm``, ``time``, ``survival``), with the nearest value of
        the reconstructed step curve at each (``reconstructed``; at a drop's time, anything
        between the values before and after the drop).
    digitised : pandas.DataFrame
        The digitised points as given (``arm``, ``time``, ``survival`` as a proportion).
    notes : tuple of str
        Everything the cleaning and reconstruction changed or assumed, one sentence each.
    settings : dict
        The choices made (monotone fit, last-interval rule, total events given).
    """

    ipd: pd.DataFrame
    arms: tuple[str, ...]
    intervals: pd.DataFrame
    curves: pd.DataFrame
    digitised: pd.DataFrame
    notes: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> dict[str, int]:
        """Participants per arm."""
        counts = self.ipd.groupby("arm", sort=False).size()
        return {a: int(counts.get(a, 0)) for a in self.arms}

    @property
    def events(self) -> dict[str, int]:
        """Reconstructed events per arm."""
        counts = self.ipd.groupby("arm", sort=False)["event"].sum()
        return {a: int(counts.get(a, 0)) for a in self.arms}

    def curve_fit(self) -> pd.DataFrame:
        """Per arm, the largest and mean absolute difference between the reconstructed curve and
        the cleaned digitised points."""
        diff = (self.curves["reconstructed"] - self.curves["survival"]).abs()
        g = diff.groupby(self.curves["arm"], sort=False)
        out = pd.DataFrame({"max_abs_diff": g.max(), "mean_abs_diff": g.mean()})
        out.index.name = "arm"
        return out.reindex(list(self.arms)).reset_index()

    def summary(self) -> pd.DataFrame:
        """One row per arm: participants, events, censored and the curve fit."""
        fit = self.curve_fit().set_index("arm")
        rows = []
        for a in self.arms:
            rows.append(
                {
                    "arm": a,
                    "n": self.n[a],
                    "events": self.events[a],
                    "censored": self.n[a] - self.events[a],
                    "max_abs_diff": float(fit.loc[a, "max_abs_diff"]),
                    "mean_abs_diff": float(fit.loc[a, "mean_abs_diff"]),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the participant rows themselves are in ``ipd``, not here)."""
        fit = self.curve_fit().set_index("arm")
        return _jsonable(
            {
                "arms": list(self.arms),
                "n": self.n,
                "events": self.events,
                "curve_fit": {
                    a: {k: float(fit.loc[a, k]) for k in ("max_abs_diff", "mean_abs_diff")}
                    for a in self.arms
                },
                "intervals": self.intervals.to_dict(orient="records"),
                "notes": list(self.notes),
                "settings": dict(self.settings),
            }
        )

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{n}</li>" for n in self.notes)
        return (
            f"<p>Reconstruction (Guyot et al. 2012): {len(self.ipd)} participants in "
            f"{len(self.arms)} arm(s)</p>"
            + self.summary().to_html(index=False)
            + (f"<ul>{notes}</ul>" if notes else "")
        )


def reconstruction_summary(
    result: ReconstructionResult,
    *,
    treatment: str | None = None,
    control: str | None = None,
    tau: float | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Re-analyse a reconstruction: medians and RMST per arm, and the Cox HR of two arms.

    Uses R survival's defaults (log CI for the Kaplan-Meier curve, Efron ties for Cox).

    Parameters
    ----------
    result : ReconstructionResult
    treatment, control : str, optional
        The two arms compared; default the first and second arm of the at-risk table. With more
        than two arms and no choice, no hazard ratio is computed.
    tau : float, optional
        RMST horizon; default the earlier of the arms' last times.
    alpha : float
        1 - confidence level.

    Returns
    -------
    dict
        JSON-ready: ``arms`` (n, events, median with CI, digitised median, RMST),
        ``hazard_ratio`` (or null), ``rmst_difference`` (or null), ``at_risk``, ``curve_fit``,
        ``notes`` and ``settings``.

    Raises
    ------
    DataError
        ``treatment`` or ``control`` is not an arm, or they are the same arm.
    """
    from walkback.estimators import cox, kaplan_meier, rmst_difference

    arms = list(result.arms)
    for role, value in (("treatment", treatment), ("control", control)):
        if value is not None and value not in arms:
            raise DataError(
                f"the {role} arm {value!r} is not in the reconstruction "
                f"(arms: {', '.join(repr(a) for a in arms)})",
                fix=f"pass --{role} as one of the at-risk table's arm labels",
            )
    if treatment is None and control is None and len(arms) == 2:
        treatment, control = arms
    elif treatment is None and control is not None and len(arms) == 2:
        treatment = next(a for a in arms if a != control)
    elif control is None and treatment is not None and len(arms) == 2:
        control = next(a for a in arms if a != treatment)
    if treatment is not None and treatment == control:
        raise DataError(
            f"treatment and control are the same arm ({treatment!r})",
            fix="name two different arms",
        )
    level = 1.0 - alpha
    ipd = result.ipd
    notes = list(result.notes)
    fits = {}
    for a in arms:
        m = (ipd["arm"] == a).to_numpy()
        fits[a] = kaplan_meier(ipd["time"].to_numpy()[m], ipd["event"].to_numpy()[m], "log", level)
    if tau is None:
        tau = float(min(f.time[-1] for f in fits.values()))
        tau_rule = "default: the earlier of the arms' last times"
    else:
        tau_rule = "given"
    per_arm = {}
    for a in arms:
        f = fits[a]
        pts = result.curves[result.curves["arm"] == a]
        below = pts["time"].to_numpy()[pts["survival"].to_numpy() <= 0.5]
        r = f.rmst(tau) if tau > 0 else None
        per_arm[a] = {
            "n": f.n,
            "events": f.n_events,
            "median": f.median.to_dict(),
            "median_digitised": float(below[0]) if below.size else None,
            "rmst": None if r is None else {"estimate": r.estimate, "se": r.se},
        }
    hr = diff = None
    if treatment is not None and control is not None:
        m = ipd["arm"].isin([treatment, control]).to_numpy()
        sub = ipd[m]
        x = (sub["arm"] == treatment).to_numpy(dtype=float)
        try:
            fit = cox(
                sub["time"].to_numpy(),
                sub["event"].to_numpy(),
                x,
                names=["treatment"],
                conf_level=level,
            )
        except EstimationError as exc:  # e.g. no events, or none in one arm (HR 0 or infinite)
            notes.append(f"no hazard ratio: {exc}")
        else:
            ci = fit.conf_int()[0]
            hr = {
                "estimate": float(fit.hazard_ratio[0]),
                "lower": float(ci[0]),
                "upper": float(ci[1]),
                "log_hr": float(fit.coef[0]),
                "se": float(fit.se[0]),
                "p": float(fit.wald_p[0]),
            }
        if tau > 0:
            diff = rmst_difference(fits[treatment], fits[control], tau, level).to_dict()
    return _jsonable(
        {
            "arms": per_arm,
            "treatment": treatment,
            "control": control,
            "hazard_ratio": hr,
            "rmst_difference": diff,
            "at_risk": result.intervals.to_dict(orient="records"),
            "curve_fit": result.to_dict()["curve_fit"],
            "notes": notes,
            "settings": {
                **result.settings,
                "conf_type": "log",
                "ties": "efron",
                "alpha": alpha,
                "tau": tau,
                "tau_rule": tau_rule,
                "hazard_ratio": "Cox, treatment vs control (exp(coef) of the treatment indicator)",
            },
        }
    )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return None if math.isnan(v) else v
    return obj
