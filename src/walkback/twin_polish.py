"""The last step of a shaped twin outcome: a local search that moves single events by a few days
until every target rounds to its published value.

After the draw from the curve through the published read-outs and the warps, an attempt is often
close: a landmark's CI a hair outside its rounding window, the HR 0.01 off, a p-value in the next
digit. Each of those depends on how events interleave with each other and with censorings. The
search moves one event at a time by 1-6 days (within the participant's follow-up, so event counts
never change) and keeps a move only when the total distance of the targets from their rounding
windows (in printed-precision units) falls. It is tried on attempts whose Kaplan-Meier read-outs
already pass (then no move may break one) and whose whole-trial figures are within a few units,
or that are within a few units in all; it is deterministic given the attempt's random stream.
"""

from __future__ import annotations

import math

import numpy as np

from walkback.exceptions import EstimationError
from walkback.spec import Target, TrialSpec
from walkback.targets import TargetValue, TrialArrays, target_value
from walkback.twin_closest import MARGIN, piece_misses

MAX_MOVES = 300
MAX_STEP = 6  # days an event moves at most in one step
START_WITHIN = 4.0  # ...or whose total distance is at most this (precision units)
START_GLOBAL = 8.0  # polish attempts whose read-outs pass and whole-trial figures are this close
#: whole-trial figures: an attempt whose other targets all pass is polished however far these are
GLOBAL = ("cox_hr", "cox_p", "logrank_p", "rmst", "median_followup")


def _distance(t: Target, v: TargetValue | None) -> float:
    """How far outside its rounding window a value is, in printed-precision units (0 inside)."""
    return sum(max(0.0, m - (0.5 - 2 * MARGIN)) for m in piece_misses(t, v))


def _total(spec, tg, d, fu, name, treated, strata) -> tuple[float, float]:
    """Total distance of the other targets and of the whole-trial ones."""
    data = TrialArrays(
        treated, {name: (np.minimum(d, fu).astype(float), (d <= fu).astype(float))}, {}, strata
    )
    cache: dict = {}
    local = glob = 0.0
    for t in tg:
        try:
            dist = _distance(t, target_value(spec, t, data, cache))
        except EstimationError:
            return math.inf, math.inf
        if t.statistic in GLOBAL:
            glob += dist
        else:
            local += dist
        if dist == math.inf:
            return local, glob
    return local, glob


def polish(spec: TrialSpec, tg: list[Target], d, fu, name, treated, strata, rng, admin=None):
    """Event days moved towards every target's window; ``None`` when the attempt starts too far
    (more than ``START_WITHIN`` precision units in all) to be worth the search.

    With ``admin`` (each participant's administrative follow-up, given when the outcome is the
    trial's only one) a dropout's censoring day may move too, a few days and still before its
    administrative end and its event (a redrawn dropout day): the median follow-up depends on
    them. ``fu`` is then changed in place."""
    local, glob = _total(spec, tg, d, fu, name, treated, strata)
    if (local > 0 or glob > START_GLOBAL) and local + glob > START_WITHIN:
        return None
    keep_local = local == 0  # the read-outs already pass: no move may break one
    score = local + glob
    d = d.copy()
    events = np.flatnonzero(d <= fu)
    dropouts = np.flatnonzero((d > fu) & (fu < admin)) if admin is not None else np.array([], int)
    for _ in range(MAX_MOVES):
        if score == 0:
            break
        step = int(rng.integers(1, MAX_STEP + 1)) * (1 if rng.random() < 0.5 else -1)
        if dropouts.size and rng.random() < 0.3:  # a dropout a few days earlier or later
            arr, i = fu, dropouts[rng.integers(dropouts.size)]
            new = min(max(int(fu[i]) + step, 1), int(admin[i]) - 1, int(d[i]) - 1)
        else:  # an event a few days earlier or later, within follow-up
            arr, i = d, events[rng.integers(events.size)]
            new = min(max(int(d[i]) + step, 1), int(fu[i]))
        if new == arr[i]:
            continue
        old = arr[i]
        arr[i] = new
        new_local, new_glob = _total(spec, tg, d, fu, name, treated, strata)
        s = new_local + new_glob
        if s < score and (new_local == 0 or not keep_local):
            score = s
        else:
            arr[i] = old
    return d
