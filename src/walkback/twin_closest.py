"""Bookkeeping of a twin search stage: which targets pass how often, the closest values reached,
and, when no attempt passes, a message that says what would reconcile model and targets."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from scipy import stats

from walkback.exceptions import EstimationError
from walkback.spec import NOT_REACHED, Target, TrialSpec
from walkback.targets import TargetValue, TrialArrays, check, target_value

MARGIN = 1e-3  # a twin value must sit this share of the printed precision inside the rounding edge


def piece_misses(t: Target, v: TargetValue | None) -> list[float]:
    """How far each piece of a value (estimate, CI limits) is from the published one, in
    printed-precision units: 0 for a "not reached" matched, infinite for one missed."""
    if v is None:
        return [math.inf]
    pieces = [(t.value, v.estimate)]
    if t.ci is not None:
        pieces += [(t.ci[0], v.lower), (t.ci[1], v.upper)]
    out = []
    for ref, x in pieces:
        reached = x is not None and math.isfinite(x)
        if ref == NOT_REACHED:
            out.append(0.0 if not reached else math.inf)
        else:
            out.append(abs(x - ref) / t.precision if reached else math.inf)
    return out


def _distance(t: Target, v: TargetValue | None) -> float:
    """How far a value is from the published one, in printed-precision units (worst piece)."""
    return max(piece_misses(t, v))


def _show(t: Target, v: TargetValue | None) -> str:
    def one(x) -> str:
        if x is None or not math.isfinite(x):
            return "NR"
        return f"{x:.4g}"

    if v is None:
        return "not computable"
    out = one(v.estimate)
    if t.ci is not None:
        out += f" ({one(v.lower)} to {one(v.upper)})"
    return out


def _published(t: Target) -> str:
    def one(x) -> str:
        return "NR" if x == NOT_REACHED else f"{x:g}"

    return one(t.value) + (f" ({one(t.ci[0])} to {one(t.ci[1])})" if t.ci else "")


def events_for_hr_ci(t: Target, treated_share: float, alpha: float) -> float | None:
    """The events an HR target's CI width implies: the Cox information at the null,
    ``D p (1 - p)``, equals ``1 / se^2`` with ``se`` the CI's half-width on the log scale over z.
    None for a target that is not an HR with a finite, positive CI."""
    if t.statistic != "cox_hr" or t.ci is None:
        return None
    lo, hi = t.ci
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        return None
    se = (math.log(hi) - math.log(lo)) / (2 * stats.norm.isf(alpha / 2))
    p = treated_share
    return 1.0 / (p * (1 - p) * se * se)


class Closest:
    """Per-target pass counts and closest values over a stage's attempts."""

    def __init__(self, spec: TrialSpec, tg: list[Target]) -> None:
        self.spec, self.tg = spec, tg
        self.tries = 0
        self.unshaped: Counter = Counter()  # why attempts could not be shaped
        self.passed = {t.name: 0 for t in tg}
        self.seen = {t.name: 0 for t in tg}
        self.best: dict[str, tuple[float, TargetValue | None]] = {
            t.name: (math.inf, None) for t in tg
        }
        self.events: list[float] = []

    def passes(self, d, name: str, fu, treated, strata) -> bool:
        """Whether every target passes on this attempt's outcome days (and record how close)."""
        data = TrialArrays(
            treated, {name: (np.minimum(d, fu).astype(float), (d <= fu).astype(float))}, {}, strata
        )
        self.tries += 1
        self.events.append(float((d <= fu).sum()))
        cache: dict = {}
        for t in self.tg:  # in spec order, up to the first that fails
            try:
                v = target_value(self.spec, t, data, cache)
            except EstimationError:
                v = None
            good = check(t, v, MARGIN)
            self.seen[t.name] += 1
            self.passed[t.name] += good
            dist = _distance(t, v)
            if dist < self.best[t.name][0]:
                self.best[t.name] = (dist, v)
            if not good:
                return False
        return True

    def message(self, stage: str, budget: int, dist, fu, treated) -> str:
        """Which targets were hardest, the closest values reached and what would reconcile them."""
        spec = self.spec
        head = f"{spec.source}: no twin {stage} within {budget} attempts reproduces all its targets"
        why = "; ".join(f"{k} ({v})" for k, v in self.unshaped.most_common(3))
        if self.tries == 0:
            return (
                f"{head}: none of the attempts could be shaped ({why}); the model's curves are "
                "too far from the published ones: see the misfit in `walkback calibrate`, or try "
                "another outcome model"
            )

        def rate(t: Target) -> float:
            return self.passed[t.name] / self.seen[t.name] if self.seen[t.name] else 1.0

        ranked = sorted(self.tg, key=lambda t: (rate(t), -self.best[t.name][0]))
        hardest = [t for t in ranked if rate(t) < 1][:3]
        parts = [
            f"{t.name} (passed {self.passed[t.name]} of {self.seen[t.name]} tried; published "
            f"{_published(t)}, closest {_show(t, self.best[t.name][1])})"
            for t in hardest
        ]
        hints = self._hints(hardest, treated)
        n_un = sum(self.unshaped.values())
        tail = f"; {n_un} attempts could not be shaped: {why}" if n_un else ""
        return f"{head}. Hardest: {'; '.join(parts)}{tail}. {' '.join(hints)}".rstrip()

    def _hints(self, hardest: list[Target], treated) -> list[str]:
        hints = []
        mean_events = float(np.mean(self.events)) if self.events else math.nan
        for t in hardest:
            need = events_for_hr_ci(t, float(np.mean(treated)), self.spec.alpha)
            if need is not None:
                if mean_events > 1.1 * need:
                    hints.append(
                        f"The HR's CI width needs about {need:.0f} events; the model gives "
                        f'{mean_events:.0f}: try model = "cure_weibull_ph" or a higher dropout.'
                    )
                elif mean_events < 0.9 * need:
                    hints.append(
                        f"The HR's CI width needs about {need:.0f} events; the model gives "
                        f"{mean_events:.0f}: try a lower dropout or longer follow-up."
                    )
            best = self.best[t.name][1]
            model = self.spec.outcomes[t.outcome].model if t.outcome in self.spec.outcomes else ""
            if (
                t.statistic == "cox_hr"
                and best is not None
                and best.estimate > 0
                and abs(math.log(best.estimate / t.value)) > t.precision / t.value
                and model in ("weibull_ph", "cure_weibull_ph")
            ):
                hints.append(
                    f"The HR came no closer than {best.estimate:.3g} to the published "
                    f"{t.value:g}: under proportional hazards the medians and the HR pull the "
                    'model apart; try model = "piecewise_exponential" (an HR per interval).'
                )
            if t.statistic == "km_median" and t.value == NOT_REACHED:
                hints.append(
                    f"{t.name} is published as not reached, but the model's curve crosses 0.5 "
                    'within follow-up: try model = "cure_weibull_ph".'
                )
        if not hints:
            hints.append(
                "Check the remaining misfit in `walkback calibrate` (a target far from the model's "
                "expected value is rarely met), or raise [twin] max_attempts."
            )
        return list(dict.fromkeys(hints))
