"""One arm of a constructed twin outcome: its published read-outs and the climb that meets them.

:class:`ArmBuilder` scores an arm's event and dropout days against its read-outs (each median and
landmark, estimate and CI limits, and each number at risk, in printed-precision units beyond the
rounding window) and climbs by single moves, each kept only when that distance does not grow, and
at equal distance only when the curve keeps close to the model's (its largest vertical distance
grows by at most ``DEV_SLACK``). A move is aimed at a read-out that misses, on its *focus day* (the
landmark, the published median or CI limit, or the day before a number at risk is counted): an
event moved across the day in the direction the read-out needs (landing within the stretch to the
next focus day, or on the day itself for a median); a dropout moved across it (more or fewer
censored before it: the Greenwood variance, so the CI's width, and the numbers at risk); or an
event re-timed by a few days. Event counts never change, events stay within their participant's
follow-up, dropouts within the administrative end (on the report grid when reports are monthly)
and no day gets more than ``MAX_TIES`` events. A passing arm is then smoothed towards the model's
curve for up to ``SMOOTH`` moves. :mod:`walkback.twin_construct` draws, keeps and pairs the arms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from walkback.estimators.kaplan_meier import kaplan_meier_days
from walkback.spec import NOT_REACHED, Target, TrialSpec
from walkback.twin_closest import MARGIN

NEVER = np.iinfo(np.int64).max // 4
MAX_TIES = 4  # events a move may put on one day
MOVES = 1500  # moves per arm at most
STALL = 400  # ...and this many without progress
CHAIN = 2  # further moves within one step that mend what its first move broke
SMOOTH = 1000  # moves spent bringing a passing curve closer to the model's
DEV_SLACK = 0.01  # at equal distance, how much further from the model's curve a move may go
NR_MISS = 10.0  # distance of a read-out reached where "not reached" was published (or the reverse)
HALF = 0.5 - 2 * MARGIN  # a piece passes within this many precision units
#: an arm's read-outs: what its own curve and follow-up fix
READOUTS = ("km_survival", "km_median", "at_risk")


@dataclass
class _Need:
    """A read-out that misses: on ``day`` the curve must go ``way`` (down, up, wide, narrow)."""

    day: int
    ways: tuple[str, ...]
    exact: bool


def _risk_day(t: Target) -> int:
    """The last day before a number at risk is counted (at risk at ``time``: followed beyond it)."""
    return math.ceil(t.time) - 1


def _excess(miss: float) -> float:
    return max(0.0, miss - HALF)


class ArmBuilder:
    """One arm's read-outs, their focus days and the local search that meets them."""

    def __init__(self, spec: TrialSpec, tg: list[Target], arm: str, source) -> None:
        self.spec, self.arm = spec, arm
        self.flag = arm == "treatment"
        self.targets = [t for t in tg if t.arm == arm and t.statistic in READOUTS]
        self.source = source
        days = []
        for t in self.targets:
            if t.statistic == "km_survival":
                days.append(math.floor(t.time))
            elif t.statistic == "at_risk":
                days.append(_risk_day(t))
            else:
                days += [math.floor(x) for x in (t.value, *(t.ci or ())) if x != NOT_REACHED]
        self.focus = sorted(set(d for d in days if d >= 1))
        every = spec.report_every_months
        self.grid = every * spec.days_per_month if every else 0.0
        self.landmarks = [t for t in self.targets if t.statistic == "km_survival"]
        self.landmark_times = np.array([t.time for t in self.landmarks], dtype=float)
        self._model = np.ones(0)

    def _model_at(self, days: np.ndarray) -> np.ndarray:
        """The model's curve on whole days (computed once per stretch of days)."""
        top = int(days.max())
        if top >= self._model.size:
            grid = np.arange(2 * top + 1, dtype=float)
            self._model = self.source.survival(grid, np.full(grid.size, self.flag))
        return self._model[days]

    # -- scoring ----------------------------------------------------------------------------------
    def judge(self, d: np.ndarray, fu: np.ndarray) -> tuple[float, list[_Need], float]:
        """(distance from the read-outs, what each miss needs, distance from the model's curve)."""
        time = np.minimum(d, fu).astype(np.int64)
        km = kaplan_meier_days(time, d <= fu, self.spec.conf_type, 1 - self.spec.alpha)
        total, needs = 0.0, []
        if self.landmark_times.size:
            at = zip(*km.survival_ci_at(self.landmark_times), strict=True)
            pairs = zip(self.landmarks, at, strict=True)
            readouts = {t.name: [float(x) for x in v] for t, v in pairs}
        for t in self.targets:
            if t.statistic == "km_survival":
                total += self._landmark(t, *readouts[t.name], needs)
            elif t.statistic == "at_risk":
                total += self._at_risk(t, int(np.count_nonzero(time >= t.time)), needs)
            else:
                m = km.median
                total += self._median(t, m.estimate, m.lower, m.upper, km, needs)
        self.worst = None
        dev = 0.0
        if km.time.size:
            # the curve against the model's just before and at each step
            model = self._model_at(km.time.astype(np.int64))
            before = np.concatenate(([1.0], km.survival[:-1]))
            diff = np.concatenate((before - model, km.survival - model))
            j = int(np.argmax(np.abs(diff)))
            dev = float(abs(diff[j]) + np.sqrt(np.mean(diff * diff)))
            day = int(km.time[j % km.time.size]) - (1 if j < km.time.size else 0)
            self.worst = _Need(max(day, 1), ("down",) if diff[j] > 0 else ("up",), True)
        return total, needs, dev

    def _landmark(self, t: Target, s, lo, hi, needs) -> float:
        day = math.floor(t.time)
        miss = _excess(abs(s - t.value) / t.precision)
        if miss > 0:
            # one event across the day, or (a finer step) a censoring before it more or fewer
            needs.append(
                _Need(
                    day, ("down", "down", "wide") if s > t.value else ("up", "up", "narrow"), False
                )
            )
            return miss
        if t.ci is None:
            return 0.0
        out = 0.0
        for x, ref, is_lo in ((lo, t.ci[0], True), (hi, t.ci[1], False)):
            e = _excess(abs(x - ref) / t.precision)
            if e == 0:
                continue
            out += e
            high = x > ref
            if is_lo:
                ways = ("down", "wide") if high else ("up", "narrow")
            else:
                ways = ("down", "narrow") if high else ("up", "wide")
            needs.append(_Need(day, ways, False))
        return out

    @staticmethod
    def _at_risk(t: Target, n: int, needs) -> float:
        """A number at risk: one event or dropout more (or fewer) before the day it counts."""
        miss = _excess(abs(n - t.value) / t.precision)
        if miss > 0:
            ways = ("down", "wide") if n > t.value else ("up", "narrow")
            needs.append(_Need(max(_risk_day(t), 1), ways, True))
        return miss

    def _median(self, t: Target, est, lo, hi, km, needs) -> float:
        end = float(km.time[-1]) if km.time.size else 0.0
        refs = [t.value, *(t.ci or (None, None))]
        out = 0.0
        for x, ref, piece in zip((est, lo, hi), refs, ("est", "lo", "hi"), strict=True):
            if ref is None:
                continue
            reached = x is not None and math.isfinite(x)
            if ref == NOT_REACHED:
                if not reached:
                    continue
                # reached where "not reached" was published: later is closer
                out += NR_MISS * (1.0 + max(0.0, end - x) / max(end, 1.0))
                ways = {"est": ("up",), "lo": ("up", "wide"), "hi": ("up", "narrow")}[piece]
                needs.append(_Need(max(1, math.floor(x)), ways, False))
                continue
            goal = math.floor(ref)
            if not reached:
                out += NR_MISS
                late = True
            else:
                e = _excess(abs(x - ref) / t.precision)
                if e == 0:
                    continue
                out += e
                late = x > ref
            if late:  # the curve (or its band) must cross 0.5 sooner: lower by the goal day
                ways = {"est": ("down",), "lo": ("down", "narrow"), "hi": ("down", "wide")}[piece]
                needs.append(_Need(goal, ways, True))
            else:
                ways = {"est": ("up",), "lo": ("up", "wide"), "hi": ("up", "narrow")}[piece]
                needs.append(_Need(max(goal - 1, 1), ways, True))
        return out

    # -- moves -----------------------------------------------------------------------------------
    def _window(self, day: int, down: bool) -> int:
        """Days from ``day`` to the neighbouring focus day on the side a move lands."""
        if down:
            prev = [f for f in self.focus if f < day]
            gap = day - (prev[-1] if prev else 0)
        else:
            nxt = [f for f in self.focus if f > day]
            gap = (nxt[0] - day) if nxt else max(30, day // 4)
        return int(max(1, min(gap, max(14, day // 4))))

    def snap(self, x: int, cap: int) -> int:
        """A dropout day ``x`` on the report grid (when reports are monthly), within [0, cap]."""
        if self.grid:
            x = int(np.rint(np.floor(x / self.grid) * self.grid))
        return min(max(x, 0), cap)

    def move(self, d, fu, admin, need: _Need | None, rng) -> bool:
        """One move (in place); False when it found nothing to move."""
        event = d <= fu
        if need is None:  # an event re-timed by a few days
            idx = np.flatnonzero(event)
            if idx.size == 0:
                return False
            i = idx[rng.integers(idx.size)]
            new = int(d[i]) + int(rng.integers(1, 8)) * (1 if rng.random() < 0.5 else -1)
            return self._put(d, fu, i, min(max(new, 1), int(fu[i])))
        way = need.ways[rng.integers(len(need.ways))]
        day = need.day
        if way == "down":  # one of the first events after the day moves onto or before it
            w = self._window(day, True)
            new = (
                day
                if need.exact and rng.random() < 0.5
                else int(rng.integers(day - w + 1, day + 1))
            )
            new = max(new, 1)
            idx = np.flatnonzero(event & (d > day) & (fu >= new))
            if idx.size == 0:
                return False
            near = idx[np.argsort(d[idx], kind="stable")[:3]]
            return self._put(d, fu, near[rng.integers(near.size)], new)
        if way == "up":  # one of the last events by the day moves after it
            w = self._window(day, False)
            new = (
                day + 1
                if need.exact and rng.random() < 0.5
                else int(rng.integers(day + 1, day + w + 1))
            )
            idx = np.flatnonzero(event & (d <= day) & (fu >= new))
            if idx.size == 0:
                return False
            near = idx[np.argsort(-d[idx], kind="stable")[:3]]
            return self._put(d, fu, near[rng.integers(near.size)], new)
        if way == "wide":  # someone censored after the day, or by it, drops out (earlier) before it
            idx = np.flatnonzero(~event & (fu >= 2))
            if idx.size == 0 or day < 2:
                return False
            i = idx[rng.integers(idx.size)]
            new = self.snap(int(rng.integers(1, min(day, int(fu[i])))), int(admin[i]))
        else:  # narrow: a dropout censored by the day stays on longer (to its administrative end)
            idx = np.flatnonzero(~event & (fu <= day) & (admin > fu))
            if idx.size == 0:
                return False
            i = idx[rng.integers(idx.size)]
            top = min(int(admin[i]), day + self._window(day, False))
            new = self.snap(
                int(rng.integers(int(fu[i]) + 1, max(top, int(fu[i]) + 1) + 1)), int(admin[i])
            )
        if new == fu[i]:
            return False
        fu[i] = new
        return True

    @staticmethod
    def _put(d, fu, i, new: int) -> bool:
        if new < 1 or new > fu[i] or new == d[i] or int(np.sum(d == new)) >= MAX_TIES:
            return False
        d[i] = new
        return True

    def climb(self, d, fu, admin, rng):
        """The local search (see the module docstring): ``(d, fu, distance)``, changed copies."""
        d, fu = d.copy(), fu.copy()
        d[d > fu] = NEVER  # a censored participant's latent day is not seen; none is kept
        score, needs, dev = self.judge(d, fu)
        worst = self.worst
        since, smooth = 0, 0
        for _ in range(MOVES):
            if score == 0:
                smooth += 1
                if smooth > SMOOTH:
                    break
            if since > STALL:
                break
            need = None
            if needs and rng.random() < 0.8:
                need = needs[rng.integers(len(needs))]
            elif score == 0 and rng.random() < 0.7:  # passing: closer to the model's curve
                need = worst
            old_d, old_fu = d.copy(), fu.copy()
            if not self.move(d, fu, admin, need, rng):
                since += 1
                continue
            for step in range(CHAIN + 1):
                new_score, new_needs, new_dev = self.judge(d, fu)
                better = new_score < score - 1e-12
                if score == 0:
                    keep = new_score == 0 and new_dev < dev
                else:
                    keep = better or (new_score <= score + 1e-12 and new_dev <= dev + DEV_SLACK)
                if keep or step == CHAIN or not new_needs:
                    break
                # a move that breaks another read-out: mend that one in the same step
                if not self.move(d, fu, admin, new_needs[rng.integers(len(new_needs))], rng):
                    break
            if keep:
                since = 0 if better else since + 1
                score, needs, dev = new_score, new_needs, new_dev
                worst = self.worst
            else:
                d[:], fu[:] = old_d, old_fu
                since += 1
        return d, fu, score
