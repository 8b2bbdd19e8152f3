"""The reconstruction (Guyot et al. 2012): :func:`reconstruct` checks the inputs, and per arm
cleans the curve, walks the at-risk intervals and assembles the participant rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from walkback.reconstruct.clean import MONOTONE, Monotone, clean_points
from walkback.reconstruct.inputs import (
    at_risk_by_arm,
    check_events,
    check_sizes_and_ranges,
    curve_by_arm,
)
from walkback.reconstruct.interval import (
    censor_times,
    km_after,
    last_interval,
    round_half_up,
    solve_interval,
)
from walkback.reconstruct.result import CleanedCurve, ReconstructionResult

__all__ = ["reconstruct"]


@dataclass
class _ArmOut:
    time: np.ndarray
    event: np.ndarray
    intervals: list[dict[str, Any]]
    points: pd.DataFrame
    notes: list[str]


def _reconstruct_arm(
    curve: CleanedCurve,
    risk_t: np.ndarray,
    risk_n: np.ndarray,
    total_events: int | None,
    label: str,
) -> _ArmOut:
    notes: list[str] = []
    arm = f"arm {label!r}"
    t, s = curve.time, curve.survival
    beyond = risk_t[risk_t > t[-1]]
    if beyond.size:
        notes.append(
            f"{arm}: at-risk time(s) {', '.join(f'{x:g}' for x in beyond)} after the curve's "
            f"last point ({t[-1]:g}); the curve is taken as flat from its last point"
        )
    # a point at the start of every at-risk interval: the step curve's value there
    missing = risk_t[~np.isin(risk_t, t)]
    if missing.size:
        idx = np.searchsorted(t, missing, side="right") - 1
        t = np.concatenate((t, missing))
        s = np.concatenate((s, s[idx]))
        order = np.lexsort((-s, t))
        t, s = t[order], s[order]
    lower = np.searchsorted(t, risk_t, side="left")
    m = risk_t.size
    t_end = float(t[-1])

    ev = np.zeros(t.size, dtype=np.int64)
    cen_times: list[np.ndarray] = []
    rows: list[dict[str, Any]] = []
    km = 1.0
    censored_before = 0
    for i in range(m):
        lo = int(lower[i])
        hi = int(lower[i + 1]) if i + 1 < m else t.size
        pt, ps = t[lo:hi], s[lo:hi]
        start = float(risk_t[i])
        n0 = int(risk_n[i])
        if i + 1 < m:
            end = float(risk_t[i + 1])
            budget = n0 - int(risk_n[i + 1])
            guess = 0
            if s[lo] > 0:
                guess = round_half_up(n0 * s[int(lower[i + 1])] / s[lo] - risk_n[i + 1])
            res, iters = solve_interval(pt, ps, start, end, n0, km, budget, guess)
            # censor exactly those the table says left without an event (often res's own number)
            n_censor = budget - res.total
            res.km = km_after(pt, res.events, start, end, n0, km, n_censor)
            if res.capped:
                notes.append(
                    f"{arm}: the curve's drop over [{start:g}, {end:g}) implies more events than "
                    f"the at-risk table allows ({budget} leave); events capped at {budget}"
                )
        else:
            end = t_end
            res, n_censor, iters = last_interval(
                pt,
                ps,
                start,
                end,
                n0,
                km,
                total_events=None if total_events is None else total_events - int(ev.sum()),
                censored_before=censored_before,
                exposure_before=_exposure(t, ev, cen_times, risk_t, risk_n),
                notes=notes,
                arm=arm,
                first_interval=(m == 1),
            )
        ev[lo:hi] = res.events
        km = res.km
        cen_times.append(censor_times(start, end, n_censor))
        censored_before += n_censor
        rows.append(
            {
                "arm": label,
                "start": start,
                "end": end,
                "n_at_risk_published": n0,
                "events": res.total,
                "censored": n_censor,
                "iterations": iters,
            }
        )
    left = int(risk_n[-1]) - rows[-1]["events"] - rows[-1]["censored"]
    times = np.concatenate([np.repeat(t, ev), *cen_times, np.full(left, t_end)])
    events = np.concatenate(
        [np.ones(int(ev.sum()), dtype=np.int64), np.zeros(times.size - int(ev.sum()), np.int64)]
    )
    if left:
        rows[-1]["censored"] += left
    sorted_t = np.sort(times)
    for r in rows:
        r["n_at_risk_reconstructed"] = int(times.size - np.searchsorted(sorted_t, r["start"]))
    # the point of the reconstructed step curve nearest each cleaned digitised point vertically:
    # a point at a drop's time may lie anywhere on the drop, between S(t-) and S(t)
    km_t, km_s = _km_steps(times, events)
    km_s = np.concatenate(([1.0], km_s))
    right = km_s[np.searchsorted(km_t, curve.time, side="right")]
    left = km_s[np.searchsorted(km_t, curve.time, side="left")]
    rec = np.clip(curve.survival, right, left)
    points = pd.DataFrame(
        {"arm": label, "time": curve.time, "survival": curve.survival, "reconstructed": rec}
    )
    return _ArmOut(times, events, rows, points, notes)


def _exposure(
    t: np.ndarray,
    ev: np.ndarray,
    cen_times: list[np.ndarray],
    risk_t: np.ndarray,
    risk_n: np.ndarray,
) -> float:
    """Person-time before the last at-risk time, from the rows reconstructed so far."""
    last = float(risk_t[-1])
    before = t < last
    left = float(np.sum(t[before] * ev[before]))
    cen = float(sum(c.sum() for c in cen_times))
    return left + cen + float(risk_n[-1]) * last


def _km_steps(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from walkback.estimators import kaplan_meier

    if time.size == 0:
        return np.array([0.0]), np.array([1.0])
    fit = kaplan_meier(time, event)
    return fit.time, fit.survival


def reconstruct(
    curve: pd.DataFrame,
    at_risk: pd.DataFrame,
    events: Mapping[str, int] | None = None,
    *,
    monotone: Monotone = "isotonic",
) -> ReconstructionResult:
    """Rebuild participant-level data from a digitised Kaplan-Meier figure (Guyot et al. 2012).

    Parameters
    ----------
    curve : pandas.DataFrame
        Digitised points with columns ``arm``, ``time``, ``survival`` (a proportion, or a percent
        when values exceed 1), in any order; points at each step's corners work best.
    at_risk : pandas.DataFrame
        The published at-risk table with columns ``arm``, ``time``, ``n_at_risk``; every arm
        starts at time 0 with its number randomised, and numbers never increase.
    events : mapping of str to int, optional
        Total events per arm when the paper gives them; used to settle the censoring after the
        last at-risk time. Arms left out use the censoring rate of the earlier intervals.
    monotone : {"isotonic", "running-min"}
        How noisy points are made non-increasing (see :func:`clean_curve`).

    Returns
    -------
    ReconstructionResult
        ``ipd`` has one row per participant (arm, time, event), exactly as many per arm as the
        at-risk table's first number, and reproduces every published number at risk.

    Raises
    ------
    DataError
        Missing columns, non-numeric or out-of-range values, an arm in one table but not the other,
        an at-risk table that does not start at time 0 or whose numbers increase, an empty curve,
        or a total number of events that is not a whole number between 0 and the arm's size.
    """
    if monotone not in MONOTONE:
        raise ValueError(f"monotone must be one of {MONOTONE}, got {monotone!r}")
    curve_arms, cwhere = curve_by_arm(curve)
    risk_arms, rwhere = at_risk_by_arm(at_risk)
    only_curve = [a for a in curve_arms if a not in risk_arms]
    if only_curve:
        a = curve_arms[only_curve[0]]
        raise cwhere.error(
            f"arm {a.label!r} is in the curve but not in the at-risk table "
            f"(arms in {rwhere.source}: {', '.join(repr(x) for x in risk_arms)})",
            column="arm",
            rows=a.rows,
            fix="spell each arm's label the same way in both files",
        )
    only_risk = [a for a in risk_arms if a not in curve_arms]
    if only_risk:
        a = risk_arms[only_risk[0]]
        raise rwhere.error(
            f"arm {a.label!r} is in the at-risk table but not in the curve "
            f"(arms in {cwhere.source}: {', '.join(repr(x) for x in curve_arms)})",
            column="arm",
            rows=a.rows,
            fix="digitise that arm's curve, or spell each arm's label the same way in both files",
        )
    totals = check_events(events, risk_arms)
    check_sizes_and_ranges(curve_arms, risk_arms, cwhere, rwhere)

    notes: list[str] = []
    ipd, intervals, points, raw = [], [], [], []
    for label, risk in risk_arms.items():
        pts = curve_arms[label]
        cleaned = clean_points(
            pts.time, pts.value, monotone=monotone, label=label, where=cwhere, rows=pts.rows
        )
        notes.extend(cleaned.notes)
        raw.append(
            pd.DataFrame(
                {
                    "arm": label,
                    "time": pts.time,
                    "survival": pts.value / (100.0 if cleaned.percent else 1.0),
                }
            )
        )
        order = np.argsort(risk.time, kind="stable")
        out = _reconstruct_arm(
            cleaned,
            risk.time[order],
            risk.value[order].astype(np.int64),
            totals.get(label),
            label,
        )
        notes.extend(out.notes)
        order = np.lexsort((-out.event, out.time))
        ipd.append(pd.DataFrame({"arm": label, "time": out.time[order], "event": out.event[order]}))
        intervals.extend(out.intervals)
        points.append(out.points)
    frame = pd.concat(ipd, ignore_index=True)
    frame["arm"] = frame["arm"].astype(object)
    cols = [
        "arm",
        "start",
        "end",
        "n_at_risk_published",
        "n_at_risk_reconstructed",
        "events",
        "censored",
        "iterations",
    ]
    return ReconstructionResult(
        ipd=frame,
        arms=tuple(risk_arms),
        intervals=pd.DataFrame(intervals)[cols],
        curves=pd.concat(points, ignore_index=True),
        digitised=pd.concat(raw, ignore_index=True),
        notes=tuple(notes),
        settings={
            "method": "Guyot et al. 2012 (BMC Med Res Methodol 12:9)",
            "monotone": monotone,
            "total_events": {a: totals.get(a) for a in risk_arms},
            "last_interval": {
                a: "total events given" if a in totals else "censoring rate of earlier intervals"
                for a in risk_arms
            },
            "censoring": "evenly spaced within each at-risk interval",
        },
    )
