"""A twin outcome constructed arm by arm through the published read-outs.

Used for an outcome shaped to landmarks or event counts when it is the trial's only latent outcome
(follow-up is then its own, so dropout days may move). Per attempt and arm:

1. **Draw**: latent days by stratified sampling from the model bent through the published read-outs
   (:class:`walkback.twin_shape.ReadoutCurve`); dropout days from the follow-up rule with a fresh
   dropout draw; the published event count met by earlier dropouts
   (:func:`walkback.twin_shape.hit_events`).
2. **Climb**: single moves, each kept only when the arm's distance from its published read-outs
   (each median and landmark, estimate and CI limits, in printed-precision units beyond the
   rounding window) does not grow, and at equal distance only when the curve keeps close to the
   model's (its largest vertical distance grows by at most ``DEV_SLACK``). A move is aimed at a
   read-out that misses, on its *focus day* (the landmark, or the published median or CI limit):
   an event moved across the day in the direction the read-out needs (landing within the stretch
   to the next focus day, or on the day itself for a median); a dropout moved across it (more or
   fewer censored before it: the Greenwood variance, so the CI's width); or an event re-timed by a
   few days. Event counts never change, events stay within their participant's follow-up,
   dropouts within the administrative end (on the report grid when reports are monthly) and no
   day gets more than ``MAX_TIES`` events.
3. **Pair**: an arm that reaches every read-out is kept; it is paired with the other arm's most
   recent kept ones, and a pair is the outcome when the whole-trial figures (HR, p-values, median
   follow-up) pass, if needed after :func:`walkback.twin_polish.polish`'s re-timings.

Everything is drawn from the attempt's random stream, so the result is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from walkback.draws import followup_days
from walkback.estimators import kaplan_meier
from walkback.exceptions import EstimationError
from walkback.spec import NOT_REACHED, Target, TrialSpec
from walkback.targets import TrialArrays, target_value
from walkback.twin_closest import MARGIN
from walkback.twin_polish import GLOBAL, _distance, _total, polish
from walkback.twin_shape import hit_events

NEVER = np.iinfo(np.int64).max // 4
MAX_TIES = 4  # events a move may put on one day
MOVES = 1500  # moves per arm at most
STALL = 400  # ...and this many without progress
CHAIN = 2  # further moves within one step that mend what its first move broke
SMOOTH = 1000  # moves spent bringing a passing curve closer to the model's
DEV_SLACK = 0.01  # at equal distance, how much further from the model's curve a move may go
PAIR_WITH = 4  # kept arms of the other arm each new arm is paired with
STEER = 150  # moves steering a pair's whole-trial figures (HR, p-values, median follow-up)
POLISHED = 2  # pairs per attempt steered and polished (the closest)
ABANDON = 200  # tries after which a target never met stops the search
NR_MISS = 10.0  # distance of a read-out reached where "not reached" was published (or the reverse)
HALF = 0.5 - 2 * MARGIN  # a piece passes within this many precision units


@dataclass
class _Need:
    """A read-out that misses: on ``day`` the curve must go ``way`` (down, up, wide, narrow)."""

    day: int
    ways: tuple[str, ...]
    exact: bool


def _excess(miss: float) -> float:
    return max(0.0, miss - HALF)


class ArmBuilder:
    """One arm's read-outs, their focus days and the local search that meets them."""

    def __init__(self, spec: TrialSpec, tg: list[Target], arm: str, source) -> None:
        self.spec, self.arm = spec, arm
        self.flag = arm == "treatment"
        self.targets = [
            t for t in tg if t.arm == arm and t.statistic in ("km_survival", "km_median")
        ]
        self.source = source
        days = []
        for t in self.targets:
            if t.statistic == "km_survival":
                days.append(math.floor(t.time))
            else:
                days += [math.floor(x) for x in (t.value, *(t.ci or ())) if x != NOT_REACHED]
        self.focus = sorted(set(d for d in days if d >= 1))
        every = spec.report_every_months
        self.grid = every * spec.days_per_month if every else 0.0

    # -- scoring ----------------------------------------------------------------------------------
    def judge(self, d: np.ndarray, fu: np.ndarray) -> tuple[float, list[_Need], float]:
        """(distance from the read-outs, what each miss needs, distance from the model's curve)."""
        time = np.minimum(d, fu).astype(float)
        km = kaplan_meier(
            time,
            (d <= fu).astype(float),
            conf_type=self.spec.conf_type,
            conf_level=1 - self.spec.alpha,
        )
        total, needs = 0.0, []
        for t in self.targets:
            if t.statistic == "km_survival":
                s, lo, hi = (float(x[0]) for x in km.survival_ci_at([t.time]))
                total += self._landmark(t, s, lo, hi, needs)
            else:
                m = km.median
                total += self._median(t, m.estimate, m.lower, m.upper, km, needs)
        self.worst = None
        dev = 0.0
        if km.time.size:
            # the curve against the model's just before and at each step
            model = self.source.survival(km.time, np.full(km.time.size, self.flag))
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

    def _snap(self, x: int, cap: int) -> int:
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
            new = self._snap(int(rng.integers(1, min(day, int(fu[i])))), int(admin[i]))
        else:  # narrow: a dropout censored by the day stays on longer (to its administrative end)
            idx = np.flatnonzero(~event & (fu <= day) & (admin > fu))
            if idx.size == 0:
                return False
            i = idx[rng.integers(idx.size)]
            top = min(int(admin[i]), day + self._window(day, False))
            new = self._snap(
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


class Constructor:
    """The twin search of a constructed outcome: arms built per attempt, kept and paired."""

    def __init__(self, spec: TrialSpec, tg: list[Target], source, name, treated, strata, near):
        self.spec, self.tg, self.source, self.name = spec, tg, source, name
        self.treated, self.strata, self.near = treated, strata, near
        self.arms = {a: ArmBuilder(spec, tg, a, source) for a in ("control", "treatment")}
        self.index = {a: np.flatnonzero(treated == (a == "treatment")) for a in self.arms}
        self.kept: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {a: [] for a in self.arms}
        self.closest: dict[str, float] = {a: math.inf for a in self.arms}
        self.effect = [t for t in tg if t.statistic in GLOBAL]

    def attempt(self, base: dict, dropout_rate: float, d, rng):
        """One attempt from latent days ``d``: ``(d, fu)`` of a passing pair, or None."""
        spec, treated = self.spec, self.treated
        redrawn = dict(base)
        redrawn["dropout_e1"] = rng.standard_exponential(treated.size)
        fu = followup_days(spec, redrawn, dropout_rate)
        admin = np.rint(base["admin_months"] * spec.days_per_month).astype(np.int64)
        d, fu, _moved = hit_events(spec, self.tg, self.source, d, fu, treated, rng, True)
        if d is None:
            self.near.unshaped["too few participants to change the event count"] += 1
            return None
        fu = np.maximum(fu, 0)
        fresh = []
        for a, builder in self.arms.items():
            idx = self.index[a]
            da, fa, score = builder.climb(d[idx], fu[idx], admin[idx], rng)
            if score > 0:
                self.closest[a] = min(self.closest[a], score)
                self.near.unshaped[f"{a}: no curve through the read-outs"] += 1
                continue
            self.kept[a].append((da, fa))
            fresh.append(a)
        pairs = []
        for a in fresh:
            other = "treatment" if a == "control" else "control"
            mine = self.kept[a][-1]
            for theirs in self.kept[other][-PAIR_WITH:][::-1]:
                pair = (mine, theirs) if a == "control" else (theirs, mine)
                if not any(pair[0] is p[0] and pair[1] is p[1] for p in pairs):
                    pairs.append(pair)
        scored = []
        for ctl, trt in pairs:
            dd, ff = self._join(ctl, trt)
            if self.near.passes(dd, self.name, ff, treated, self.strata):
                return dd, ff
            local, glob = _total(spec, self.tg, dd, ff, self.name, treated, self.strata)
            scored.append((local + glob, len(scored), dd, ff))
        scored.sort(key=lambda x: x[:2])
        for _, _, dd, ff in scored[:POLISHED]:  # the closest pairs: steered, then polished
            dd, ff = self._steer(dd, ff, admin, rng)
            if self.near.passes(dd, self.name, ff, treated, self.strata):
                return dd, ff
            polished = polish(spec, self.tg, dd, ff, self.name, treated, self.strata, rng, admin)
            if polished is not None and self.near.passes(
                polished, self.name, ff, treated, self.strata
            ):
                return polished, ff
        return None

    def hopeless(self) -> str | None:
        """A target that no pair has met in ``ABANDON`` tries (the search then stops: more
        attempts of the same kind will not meet it), or None."""
        for t in self.tg:
            if self.near.seen[t.name] >= ABANDON and self.near.passed[t.name] == 0:
                return f"{t.name} passed in none of {self.near.seen[t.name]} tries"
        return None

    def _effect(self, d, fu) -> tuple[float, dict]:
        """Total distance of the whole-trial targets from their windows, and each one's
        (distance, estimate)."""
        data = TrialArrays(
            self.treated,
            {self.name: (np.minimum(d, fu).astype(float), (d <= fu).astype(float))},
            {},
            self.strata,
        )
        cache: dict = {}
        total, each = 0.0, {}
        for t in self.effect:
            try:
                v = target_value(self.spec, t, data, cache)
            except EstimationError:
                return math.inf, {}
            dist = _distance(t, v)
            total += dist
            each[t.name] = (dist, None if v is None else v.estimate)
        return total, each

    def _steer(self, d, fu, admin, rng):
        """The pair's whole-trial figures steered towards the published ones, each step aimed at
        one that misses: for an HR or p-value, an event moved within its stretch between focus
        days (earlier in the control arm or later in the treatment arm for a smaller HR, the
        reverse for a larger; either way, at random, for a p-value without an HR); for a median
        follow-up, a dropout day moved later or earlier (within the administrative end). A move
        is kept only when both arms' read-outs still pass and the total distance falls.
        ``(d, fu)``, changed copies."""
        score, each = self._effect(d, fu)
        if not self.effect or score == 0 or not math.isfinite(score):
            return d, fu
        d, fu = d.copy(), fu.copy()
        hr_t = next((t for t in self.effect if t.statistic == "cox_hr"), None)
        for _ in range(STEER):
            if score == 0:
                break
            missing = [t for t in self.effect if each[t.name][0] > 0]
            t = missing[rng.integers(len(missing))]
            if t.arm is not None:
                arm = t.arm
            else:
                arm = "control" if rng.random() < 0.5 else "treatment"
            idx = self.index[arm]
            if t.statistic == "median_followup":
                i, old, arr = self._steer_dropout(d, fu, admin, idx, each[t.name][1] < t.value, rng)
            else:
                hr = each[hr_t.name][1] if hr_t is not None else None
                lower = (hr > hr_t.value) if hr is not None else rng.random() < 0.5
                i, old, arr = self._steer_event(d, fu, idx, arm, lower, rng)
            if i is None:
                continue
            ok = self.arms[arm].judge(d[idx], fu[idx])[0] == 0
            if ok:
                new_score, new_each = self._effect(d, fu)
                ok = new_score < score
            if ok:
                score, each = new_score, new_each
            else:
                arr[i] = old
        return d, fu

    def _steer_event(self, d, fu, idx, arm, lower, rng):
        """An event moved within its stretch (in place): ``(i, old day, d)`` or Nones."""
        earlier = (arm == "control") == lower
        ev = idx[d[idx] <= fu[idx]]
        if ev.size == 0:
            return None, None, None
        i = ev[rng.integers(ev.size)]
        focus = self.arms[arm].focus
        if earlier:
            lo = max([f + 1 for f in focus if f < d[i]], default=1)
            if lo >= d[i]:
                return None, None, None
            new = int(rng.integers(lo, d[i]))
        else:
            hi = min([f for f in focus if f > d[i]] + [int(fu[i])])
            if hi <= d[i]:
                return None, None, None
            new = int(rng.integers(d[i] + 1, hi + 1))
        old, d[i] = d[i], new
        return i, old, d

    def _steer_dropout(self, d, fu, admin, idx, later, rng):
        """A dropout day moved later or earlier (in place): ``(i, old day, fu)`` or Nones."""
        out = idx[(d[idx] > fu[idx]) & ((fu[idx] < admin[idx]) if later else (fu[idx] > 1))]
        if out.size == 0:
            return None, None, None
        i = out[rng.integers(out.size)]
        builder = self.arms["treatment" if self.treated[i] else "control"]
        if later:
            new = builder._snap(int(rng.integers(fu[i] + 1, admin[i] + 1)), int(admin[i]))
        else:
            new = builder._snap(int(rng.integers(1, fu[i])), int(admin[i]))
        if new == fu[i]:
            return None, None, None
        old, fu[i] = fu[i], new
        return i, old, fu

    def _join(self, ctl, trt):
        n = self.treated.size
        d = np.empty(n, dtype=np.int64)
        fu = np.empty(n, dtype=np.int64)
        for (da, fa), a in ((ctl, "control"), (trt, "treatment")):
            d[self.index[a]] = da
            fu[self.index[a]] = fa
        return d, fu
