"""A twin outcome constructed arm by arm through the published read-outs.

Used for an outcome shaped to landmarks, numbers at risk or event counts when it is the trial's
only latent outcome (follow-up is then its own, so dropout days may move); with none of them but
an HR with its CI, the events that CI's width implies shape the draw (:func:`implied_events`).
Per attempt and arm:

1. **Draw**: latent days by stratified sampling from the model bent through the published read-outs
   (:class:`walkback.twin_shape.ReadoutCurve`); dropout days from the follow-up rule with a fresh
   dropout draw; the published event count met by earlier dropouts
   (:func:`walkback.twin_shape.hit_events`).
2. **Climb**: single moves of events and dropouts across the read-outs' days until the arm's
   read-outs are exact, the curve kept close to the model's (:class:`walkback.twin_arm.ArmBuilder`).
3. **Pair**: an arm that reaches every read-out is kept; it is paired with the other arm's most
   recent kept ones, and a pair is the outcome when the whole-trial figures (HR, p-values, median
   follow-up) pass, if needed after :func:`walkback.twin_polish.polish`'s re-timings.

Everything is drawn from the attempt's random stream, so the result is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from walkback.draws import followup_days
from walkback.exceptions import EstimationError
from walkback.spec import Target, TrialSpec
from walkback.targets import TrialArrays, target_value
from walkback.twin_arm import ArmBuilder
from walkback.twin_closest import events_for_hr_ci
from walkback.twin_polish import GLOBAL, _distance, _total, polish
from walkback.twin_shape import hit_events

PAIR_WITH = 4  # kept arms of the other arm each new arm is paired with
STEER = 150  # moves steering a pair's whole-trial figures (HR, p-values, median follow-up)
POLISHED = 2  # pairs per attempt steered and polished (the closest)
ABANDON = 200  # tries after which a target never met stops the search


def implied_events(spec: TrialSpec, tg: list[Target]) -> Target | None:
    """With no published event count but an HR with its CI: the number of events the CI's width
    implies (:func:`walkback.twin_closest.events_for_hr_ci`), as an events target the twin is
    shaped to (never checked: the HR's CI is). None otherwise."""
    if any(t.statistic == "events" for t in tg):
        return None
    hr = next((t for t in tg if t.statistic == "cox_hr" and t.ci is not None), None)
    n_t, n_c = (float(spec.arm_sizes[a].value) for a in ("treatment", "control"))
    need = None if hr is None else events_for_hr_ci(hr, n_t / (n_t + n_c), spec.alpha)
    if need is None:
        return None
    return replace(
        hr,
        name=f"events implied by {hr.name}'s CI",
        label="events implied by the HR's CI",
        statistic="events",
        value=float(min(round(need), int(n_t + n_c))),
        ci=None,
        precision=1.0,
        derived=True,
    )


class Constructor:
    """The twin search of a constructed outcome: arms built per attempt, kept and paired."""

    def __init__(self, spec: TrialSpec, tg: list[Target], source, name, treated, strata, near):
        self.spec, self.tg, self.source, self.name = spec, tg, source, name
        self.implied = implied_events(spec, tg)
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
        shape_to = self.tg
        if self.implied is not None:  # the implied count, jittered (it is approximate): 3% SD
            jitter = round(rng.normal(0.0, max(1.0, 0.03 * self.implied.value)))
            count = max(1.0, self.implied.value + jitter)
            shape_to = [*self.tg, replace(self.implied, value=count)]
        d, fu, _moved = hit_events(spec, shape_to, self.source, d, fu, treated, rng, True)
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
                i, old, arr = self._steer_dropout(d, fu, admin, arm, each[t.name][1] < t.value, rng)
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

    def _steer_dropout(self, d, fu, admin, arm, later, rng):
        """A dropout of ``arm`` moved later or earlier (in place): ``(i, old day, fu)`` or Nones."""
        idx = self.index[arm]
        out = idx[(d[idx] > fu[idx]) & ((fu[idx] < admin[idx]) if later else (fu[idx] > 1))]
        if out.size == 0:
            return None, None, None
        i = out[rng.integers(out.size)]
        builder = self.arms[arm]
        if later:
            new = builder.snap(int(rng.integers(fu[i] + 1, admin[i] + 1)), int(admin[i]))
        else:
            new = builder.snap(int(rng.integers(1, fu[i])), int(admin[i]))
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
