"""The twin's baseline: the attempt streams, the randomisation list kept and failure messages.

Every random draw of a twin comes from :func:`attempt_rng`, ``SeedSequence([twin.seed, stream,
attempt])``. :func:`pick_baseline` keeps the first randomisation with the published arm sizes, or,
with a published median follow-up, the first whose expected median follow-up can be met (step 1 of
:mod:`walkback.twin`); :func:`fail_msg` and :func:`baseline_msg` say why a stage found nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from walkback.draws import draw_baseline, stream_names
from walkback.exceptions import TwinError
from walkback.spec import ARM_KEYS, Target, TrialSpec
from walkback.targets import TrialArrays, check, target_value


def attempt_rng(spec: TrialSpec, stream: str, attempt: int) -> np.random.Generator:
    """The random stream ``stream`` of attempt ``attempt`` (each stage of a twin has its own)."""
    k = stream_names(spec).index(stream)
    return np.random.default_rng(np.random.SeedSequence([spec.twin_seed, k, attempt]))


#: baselines with the published arm sizes tried for one whose median follow-up can be met
FOLLOWUP_TRIES = 50


def pick_baseline(spec: TrialSpec, model, counts: list[Target], budget: int) -> tuple[int, dict]:
    """``(attempt, baseline)``: the first randomisation with the published arm sizes whose
    expected median follow-up is within a printed precision of the published one (see
    :func:`followup_gap`), else the closest of the first ``FOLLOWUP_TRIES`` such."""
    fu_gap = followup_gap(spec, model)
    best, found = None, 0
    for i in range(budget):
        base = draw_baseline(spec, attempt_rng(spec, "baseline", i))
        data = TrialArrays(base["treated"], {}, {})
        if all(check(t, target_value(spec, t, data)) for t in counts):
            found += 1
            gap = fu_gap(base)
            if best is None or gap < best[0]:
                best = (gap, i, base)
            if gap <= 1.0 or found >= FOLLOWUP_TRIES:
                break
    if best is None:
        raise TwinError(baseline_msg(spec, counts, budget))
    return best[1], best[2]


def followup_gap(spec: TrialSpec, model) -> Callable[[dict], float]:
    """How far a baseline's expected median follow-up (its own administrative follow-up, the
    model's dropout and outcome) lies from each published one, in printed precisions (the
    largest; 0 without a median follow-up target). The twin's dropout days can move it a little,
    its recruitment days not at all: a baseline more than a precision away is rarely met."""
    tg = [t for t in spec.targets if t.statistic == "median_followup"]
    if not tg:
        return lambda base: 0.0
    from walkback.expected import ExpectedTrial

    def gap(base: dict) -> float:
        exp = ExpectedTrial(spec, np.rint(base["admin_months"] * spec.days_per_month))
        worst = 0.0
        for t in tg:
            dist = model.outcomes[t.outcome or spec.primary.name]
            v = float(exp.value(t, dist, model.dropout_rate)[0])
            worst = max(worst, abs(v - t.value) / t.precision if math.isfinite(v) else math.inf)
        return worst

    return gap


def baseline_msg(spec: TrialSpec, counts: list[Target], budget: int) -> str:
    """Why no randomisation list gave the published arm sizes, and the budget that would."""
    msg = fail_msg(spec, "baseline", counts, budget)
    sizes = {t.arm: int(t.value) for t in counts}
    if spec.randomisation != "simple" or set(sizes) != set(ARM_KEYS):
        return msg
    from scipy import stats

    a, b = spec.ratio
    p = float(stats.binom.pmf(sizes["treatment"], sum(sizes.values()), a / (a + b)))
    need = math.ceil(3 / p) if p > 0 else math.inf
    return (
        f"{spec.source}: no twin baseline within {budget} attempts gives the published arm sizes "
        f"({sizes['treatment']} vs {sizes['control']}); simple randomisation gives them with "
        f"probability {p:.3g} per attempt: raise [twin] max_attempts to at least {need}"
    )


def fail_msg(spec: TrialSpec, stage: str, tg: list[Target], budget: int) -> str:
    names = ", ".join(t.name for t in tg) or "(none)"
    return (
        f"{spec.source}: no twin {stage} within {budget} attempts reproduces {names}; "
        "the targets may be inconsistent with the model, or raise [twin] max_attempts"
    )
