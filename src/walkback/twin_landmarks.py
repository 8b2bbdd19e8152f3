"""A twin's landmark survival read-outs: the curve at each landmark moved into its rounding
window by single events across the landmark day, and its CI by local moves that keep it there.

Used by :func:`walkback.twin_shape.warp_curves` for outcomes shaped to published landmarks.
"""

from __future__ import annotations

import math

import numpy as np

from walkback.estimators.kaplan_meier import confint
from walkback.spec import Target, TrialSpec


def _km_at(days: np.ndarray, fu: np.ndarray, t: float) -> float:
    """The Kaplan-Meier estimate at ``t`` of event days ``days`` censored at ``fu``."""
    time = np.minimum(days, fu)
    ev = (days <= fu) & (time <= t)
    if not ev.any():
        return 1.0
    u, dcount = np.unique(time[ev], return_counts=True)
    n_risk = time.size - np.searchsorted(np.sort(time), u, side="left")
    return float(np.prod(1.0 - dcount / n_risk))


def _km_ci_at(spec: TrialSpec, days: np.ndarray, fu: np.ndarray, t: float):
    """Kaplan-Meier estimate at ``t`` with its pointwise CI (Greenwood, the spec's transform)."""
    time = np.minimum(days, fu)
    ev = (days <= fu) & (time <= t)
    if not ev.any():
        return 1.0, 1.0, 1.0
    u, dcount = np.unique(time[ev], return_counts=True)
    n_risk = time.size - np.searchsorted(np.sort(time), u, side="left")
    surv = float(np.prod(1.0 - dcount / n_risk))
    with np.errstate(divide="ignore", invalid="ignore"):
        var = float(np.sum(dcount / (n_risk * (n_risk - dcount))))
    lo, hi = confint(np.array([surv]), np.array([math.sqrt(var)]), spec.conf_type, 1 - spec.alpha)
    return surv, float(lo[0]), float(hi[0])


def _ci_fits(t: Target, lo: float, hi: float) -> bool:
    if t.ci is None:
        return True
    half = t.precision / 2 * (1 - 2e-3)
    return abs(lo - t.ci[0]) < half and abs(hi - t.ci[1]) < half


def _shuffle_for_ci(spec, da, fa, t: Target, knots: list[float], rng, move_dropout) -> None:
    """Local moves until the landmark's CI rounds to the published one, each kept only when the
    estimate there still does: an event between the landmark and the knot before it re-timed
    within that stretch; or an early dropout's status turned (its event after, or on, its last
    follow-up day) with the opposite turn for a participant followed beyond the landmark, so the
    counts by the landmark and in all are kept; with ``move_dropout`` also a participant censored
    after the landmark dropping out within the stretch instead (a redrawn dropout day; ``fa`` is
    changed). The numbers at risk, and so the Greenwood variance, change. In place."""
    day = math.floor(t.time)
    before = max([k for k in knots if k < day], default=0.0)
    first = int(math.floor(before)) + 1
    half = t.precision / 2 * (1 - 2e-3)
    surv, lo, hi = _km_ci_at(spec, da, fa, t.time)
    for _ in range(40):
        if _ci_fits(t, lo, hi):
            return
        old, old_fa = da.copy(), fa.copy()
        event = da <= fa
        move = rng.integers(4 if move_dropout else 3)
        if move == 0:  # re-time an event within the stretch
            cand = np.flatnonzero(event & (da >= first) & (da <= day))
            if cand.size == 0 or first > day:
                continue
            i = cand[rng.integers(cand.size)]
            da[i] = min(int(rng.integers(first, day + 1)), int(fa[i]))
        elif move == 1:  # an early dropout's event falls after its dropout, and a participant
            # censored after the landmark has an event within the stretch instead
            cand = np.flatnonzero(event & (fa < day))
            late = np.flatnonzero(~event & (fa > day))
            if cand.size == 0 or late.size == 0 or first > day:
                continue
            i, j = cand[rng.integers(cand.size)], late[rng.integers(late.size)]
            da[i] = fa[i] + 1
            da[j] = int(rng.integers(first, day + 1))
        elif move == 3:  # a participant censored after the landmark drops out within the stretch
            cand = np.flatnonzero(~event & (fa > day))
            if cand.size == 0 or first > day:
                continue
            i = cand[rng.integers(cand.size)]
            fa[i] = int(rng.integers(first, day))
            da[i] = max(da[i], fa[i] + 1)
        else:  # an early dropout has its event on its last follow-up day, and an event within
            # the stretch of a participant followed beyond the landmark falls after it instead
            cand = np.flatnonzero(~event & (fa < day) & (fa >= 1))
            early = np.flatnonzero(event & (da >= first) & (da <= day) & (fa > day))
            if cand.size == 0 or early.size == 0:
                continue
            i, j = cand[rng.integers(cand.size)], early[rng.integers(early.size)]
            da[i] = fa[i]
            da[j] = fa[j] + 1
        new = _km_ci_at(spec, da, fa, t.time)
        if abs(new[0] - t.value) >= half:  # the estimate must keep rounding to the published
            da[:], fa[:] = old, old_fa
        else:
            surv, lo, hi = new


def _move_in(da, fa, day) -> bool:
    """The earliest event after ``day`` onto it (in place); False if there is none."""
    cand = np.flatnonzero((da <= fa) & (da > day))
    if cand.size == 0:
        return False
    da[cand[np.argmin(da[cand])]] = day
    return True


def _move_out(da, fa, day) -> bool:
    """The latest event up to ``day`` (of someone followed longer) to the next day (in place)."""
    cand = np.flatnonzero((da <= fa) & (da <= day) & (fa > day))
    if cand.size == 0:
        return False
    da[cand[np.argmax(da[cand])]] = day + 1
    return True


def _best_in_window(spec, da, fa, t: Target) -> np.ndarray:
    """Of the curve values inside the landmark's rounding window (one event more or fewer by the
    landmark), the one whose CI also rounds to the published one, if any."""
    half = t.precision / 2 * (1 - 2e-3)
    day = math.floor(t.time)
    surv, lo, hi = _km_ci_at(spec, da, fa, t.time)
    if _ci_fits(t, lo, hi):
        return da
    for move in (_move_in, _move_out):
        trial = da.copy()
        for _ in range(4):
            if not move(trial, fa, day):
                break
            surv, lo, hi = _km_ci_at(spec, trial, fa, t.time)
            if abs(surv - t.value) >= half:
                break
            if _ci_fits(t, lo, hi):
                return trial
    return da


def nudge_landmarks(spec, da: np.ndarray, fa: np.ndarray, arm_t: list[Target]):
    """Move single events across each landmark day until the curve there rounds to the published
    value: the earliest event after it onto the day, or the latest event up to it to the next day
    (None when the curve steps over the rounding window: this draw's censoring cannot give it);
    of the values inside the window, one whose CI rounds to the published CI is preferred."""
    da = da.copy()
    for t in sorted((t for t in arm_t if t.statistic == "km_survival"), key=lambda t: t.time):
        day = math.floor(t.time)
        half = t.precision / 2 * (1 - 2e-3)
        side, swaps = 0, 3
        for _ in range(40):
            v = _km_at(da, fa, t.time)
            if abs(v - t.value) < half:
                break
            now = 1 if v > t.value else -1
            if side and now != side:  # stepped over the window: change the censoring before it
                if swaps == 0 or not _swap_censoring(da, fa, day):
                    return None
                swaps, side = swaps - 1, 0
                continue
            side = now
            if not (_move_in if now > 0 else _move_out)(da, fa, day):
                return None
        else:
            return None
        if t.ci is not None:
            da = _best_in_window(spec, da, fa, t)
    return da


def fix_landmark_cis(spec, da, fa, arm_t: list[Target], rng, move_dropout: bool = False):
    """Each landmark's CI made to round to the published one where local moves can (see
    :func:`_shuffle_for_ci`; ``fa`` changes in place with ``move_dropout``)."""
    da = da.copy()
    knots = [t.time for t in arm_t if t.statistic == "km_survival"]
    for t in arm_t:
        if t.statistic == "km_median":
            knots += [x for x in (t.value, *(t.ci or ())) if math.isfinite(x)]
    for t in sorted((t for t in arm_t if t.statistic == "km_survival"), key=lambda t: t.time):
        _shuffle_for_ci(spec, da, fa, t, knots, rng, move_dropout)
    return da


def _swap_censoring(da: np.ndarray, fa: np.ndarray, day: int) -> bool:
    """The censoring closest before ``day`` becomes an event on its last follow-up day, and the
    last event of the arm becomes a censoring (event count kept); in place. False if impossible."""
    event = da <= fa
    cens = np.flatnonzero(~event & (fa < day) & (fa >= 1))
    late = np.flatnonzero(event & (da > day))
    if cens.size == 0 or late.size == 0:
        return False
    i = cens[np.argmax(fa[cens])]
    j = late[np.argmax(da[late])]
    da[i] = fa[i]
    da[j] = fa[j] + 1
    return True
