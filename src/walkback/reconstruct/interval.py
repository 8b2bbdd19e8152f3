"""One at-risk interval of the algorithm (steps 3 and 4): events from the drop in survival by
inverting the Kaplan-Meier product, and the number censored that reproduces the next published
number at risk (or, after the last at-risk time, the total events or the earlier censoring rate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["censor_times", "km_after", "last_interval", "round_half_up", "solve_interval"]

_MAX_ITER = 100


def round_half_up(x: float) -> int:
    """``x`` rounded to the nearest integer, halves up (Python's round() rounds them to even)."""
    return int(math.floor(x + 0.5))


@dataclass
class _Pass:
    events: list[int]
    total: int
    km: float
    capped: bool


def _events_pass(
    pt: np.ndarray,
    ps: np.ndarray,
    start: float,
    end: float,
    n0: int,
    km0: float,
    n_censor: int,
    cap: int,
) -> _Pass:
    """Events at each point of an interval, given ``n_censor`` censored evenly inside it.

    ``d_k = round(n_k (1 - S_k / km))`` with ``km`` the reconstructed curve so far, at most ``cap``
    events in all (the participants the at-risk table lets leave).
    """
    counts = _censor_counts(pt, start, end, n_censor)
    n_hat, km, total, capped = n0, km0, 0, False
    events = []
    for k in range(pt.size):
        d = 0
        if n_hat > 0 and km > 0:
            d = max(0, round_half_up(n_hat * (1.0 - ps[k] / km)))
            allowed = min(n_hat, cap - total)
            if d > allowed:
                d, capped = max(allowed, 0), capped or allowed < n_hat
            if d:
                km *= 1.0 - d / n_hat
                total += d
        events.append(d)
        n_hat -= d + int(counts[k])
    return _Pass(events, total, km, capped)


def _censor_counts(pt: np.ndarray, start: float, end: float, n_censor: int) -> np.ndarray:
    """How many of ``n_censor`` evenly spaced censorings fall after each point (before the next)."""
    if n_censor <= 0:
        return np.zeros(pt.size, dtype=np.int64)
    cen = censor_times(start, end, n_censor)
    return np.bincount(np.searchsorted(pt, cen, side="right") - 1, minlength=pt.size)


def km_after(
    pt: np.ndarray,
    events: list[int],
    start: float,
    end: float,
    n0: int,
    km: float,
    n_censor: int,
) -> float:
    """The reconstructed curve at the end of an interval with these events and censorings."""
    n_hat = n0
    for d, c in zip(events, _censor_counts(pt, start, end, n_censor).tolist(), strict=True):
        if d:
            km *= 1.0 - d / n_hat
        n_hat -= d + c
    return km


def censor_times(start: float, end: float, n: int) -> np.ndarray:
    """``n`` censoring times evenly spaced inside ``[start, end)``; all at ``start`` if empty."""
    if n <= 0:
        return np.empty(0)
    if end <= start:
        return np.full(n, start)
    cen = start + (end - start) * np.arange(1, n + 1) / (n + 1)
    return np.minimum(cen, np.nextafter(end, start))


def solve_interval(
    pt: np.ndarray,
    ps: np.ndarray,
    start: float,
    end: float,
    n0: int,
    km: float,
    budget: int,
    guess: int,
) -> tuple[_Pass, int]:
    """The number censored for which events + censored = ``budget`` (Guyot's iteration).

    Returns the events pass for the chosen number censored and the iterations used. When the
    iteration cycles without an exact match, the closest value is taken; the caller then censors
    ``budget - events`` so the next number at risk matches exactly.
    """
    seen: dict[int, tuple[int, _Pass]] = {}
    nc = min(max(guess, 0), budget)
    for _ in range(_MAX_ITER):
        res = _events_pass(pt, ps, start, end, n0, km, nc, budget)
        r = res.total + nc - budget
        seen[nc] = (abs(r), res)
        if r == 0:
            break
        nxt = min(max(nc - r, 0), budget)
        if nxt in seen:
            break
        nc = nxt
    best = min(seen, key=lambda c: (seen[c][0], c))
    return seen[best][1], len(seen)


def last_interval(
    pt: np.ndarray,
    ps: np.ndarray,
    start: float,
    end: float,
    n0: int,
    km: float,
    *,
    total_events: int | None,
    censored_before: int,
    exposure_before: float,
    notes: list[str],
    arm: str,
    first_interval: bool,
) -> tuple[_Pass, int, int]:
    """Events and censoring after the last at-risk time; returns (pass, censored, iterations)."""
    length = end - start
    if first_interval:
        guess = 0
        if total_events is None:
            notes.append(
                f"{arm}: the at-risk table has one time only, so there is no censoring "
                "information; participants without an event are censored at the curve's end"
            )
    else:
        rate = censored_before / exposure_before if exposure_before > 0 else 0.0
        guess = round_half_up(n0 * (1.0 - math.exp(-rate * length)))
    guess = min(max(guess, 0), n0)
    if total_events is None:
        res = _events_pass(pt, ps, start, end, n0, km, guess, n0)
        return res, min(guess, n0 - res.total), 1
    target = total_events
    if target < 0:
        notes.append(
            f"{arm}: the earlier intervals already have {-total_events} more events than the "
            "total given; none are added after the last at-risk time"
        )
        target = 0
    target = min(target, n0)
    seen: dict[int, tuple[int, _Pass]] = {}
    nc = guess
    for _ in range(_MAX_ITER):
        res = _events_pass(pt, ps, start, end, n0, km, nc, target)
        r = res.total - target  # <= 0: the cap stops overshoot
        seen[nc] = (abs(r), res)
        if r == 0:
            break
        nxt = min(max(nc + r, 0), n0)
        if nxt in seen:
            break
        nc = nxt
    best = min(seen, key=lambda c: (seen[c][0], -c))
    res = seen[best][1]
    if res.total != target:
        notes.append(
            f"{arm}: the curve's drop after time {start:g} gives at most {res.total} events, "
            f"short of the {target} needed to reach the total given"
        )
    return res, min(best, n0 - res.total), len(seen)
