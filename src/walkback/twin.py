"""The synthetic twin: a deterministic dataset whose analysis reproduces the published figures.

Construction (deterministic; every random draw comes from ``SeedSequence([twin.seed, stream,
attempt])``):

1. **Baseline** (:mod:`walkback.twin_baseline`): draw recruitment, strata and the randomisation
   list (the model's own stratified permuted blocks, or simple randomisation) until the arm sizes
   equal the published ones. With a published median follow-up, the first such baseline whose
   expected median follow-up (its recruitment days, the model's dropout and outcome) is within one
   printed precision of it is kept (else the closest of the first 50).
2. **Covariates**: draw until each published summary (mean, SD, share) rounds to the printed value.
3. **Each Weibull outcome, in spec order**: draw its latent stream (copula-linked to the outcomes
   before it) from the calibrated model. Where the spec publishes Kaplan-Meier medians with CIs,
   the arm's event days are moved by a gentle monotone piecewise-linear map (slopes within
   [0.67, 1.5], identity beyond twice the upper CI) so that the estimate and both CI limits land
   on the published days; the map is re-derived until the curve's read-outs are exact. Censoring
   times are never moved: they follow the follow-up rule. The attempt is kept when every target
   of the outcome (medians, HR with CI, p, events) rounds to its published value.
   An outcome with published landmarks or event counts that is the trial's only latent outcome
   (so follow-up is its own) is *constructed* arm by arm (:mod:`walkback.twin_construct`): drawn
   from the model bent through the published read-outs (medians' CI limits included), then single
   moves of events and dropouts across the read-outs' days until each arm's read-outs are exact,
   the curve kept close to the model's; arms are paired and the pair's HR and p-values steered by
   moves within the stretches between read-outs.
   Another outcome with published landmarks or event counts is *shaped*
   (:mod:`walkback.twin_shape`): its latent times are drawn by stratified sampling within arms
   from the model bent through the published read-outs (``ReadoutCurve``); event counts are met
   by conditional redraws; the warp keeps counts, may stretch (up to
   30-fold, a long gap between two events) but compresses at most 3-fold; landmarks are nudged one
   event at a time and their CIs met by local moves (:mod:`walkback.twin_landmarks`); whole-trial
   figures (HR, p-values, median follow-up) by single re-timings (:mod:`walkback.twin_polish`).
   A failed search says which targets were hardest and why attempts could not be shaped
   (:mod:`walkback.twin_closest`).
4. **Each first-of outcome** (any recurrence): draw its extra component; to hit a published count
   of participants with an event, remove the extra recurrence of, or add one (a day drawn from the
   model, within follow-up) to, as few participants as needed; keep the attempt when its targets
   pass.
5. **Safety**: lower-limb adverse events drawn given the published totals per arm (multinomial
   over the participants' gamma-frailty rates, the conditional law of the model's counts);
   keep the attempt when the adverse-event shares and Fisher's p round to the published ones.
6. **Economics**: costs and utilities from the model; the treatment arm's programme cost is
   shifted by one amount (to the cent, at most AU$100 a participant) so the ICER is the published
   one; keep the attempt when the bootstrap probability of cost-effectiveness (the spec's seed and
   resamples) rounds to the published one.

Attempts are tried in order, so the twin is the same bytes on every run with the pinned numpy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from walkback import __version__
from walkback.calibrate import Calibration, calibrate
from walkback.draws import (
    _ceil_days,
    correlation_matrix,
    draw_covariates,
    followup_days,
)
from walkback.exceptions import TwinError
from walkback.model import Model
from walkback.secondary_draws import draw_economics, draw_safety
from walkback.simulate import assemble
from walkback.spec import ARM_KEYS, ECONOMIC_COLUMNS, SAFETY_COLUMNS, Target, TrialSpec
from walkback.targets import TrialArrays, check, target_value
from walkback.twin_baseline import attempt_rng, fail_msg, pick_baseline
from walkback.twin_closest import MARGIN
from walkback.twin_closest import Closest as _Closest
from walkback.twin_construct import Constructor, implied_events
from walkback.twin_polish import polish
from walkback.twin_shape import ReadoutCurve, hit_events, stratified_normals, warp_curves

_SHAPE_STREAM = 7  # the child stream of an outcome attempt used to hit event counts


@dataclass
class TwinResult:
    frame: pd.DataFrame
    metadata: dict = field(default_factory=dict)


def make_twin(
    spec: TrialSpec,
    calibration: Calibration | None = None,
    progress: Callable[[str], None] | None = None,
) -> TwinResult:
    """Build the spec's synthetic twin (see the module docstring)."""
    cal = calibration or calibrate(spec)
    model = cal.model
    say = progress or (lambda _msg: None)
    budget = spec.twin_max_attempts
    n = spec.n_total
    attempts: dict[str, int] = {}
    nudges: dict[str, int] = {}

    # 1. baseline with the published arm sizes
    counts = [t for t in spec.targets if t.statistic == "count"]
    i, base = pick_baseline(spec, model, counts, budget)
    attempts["baseline"] = i
    treated = base["treated"]
    fu = followup_days(spec, base, model.dropout_rate)
    strata = _analysis_strata(spec, base)
    say(f"baseline: attempt {i}")

    # 2. covariates
    cov_names = {c.name for c in spec.covariates}
    cov_targets = [t for t in spec.targets if t.column in cov_names and not t.derived]
    for i in range(budget):
        covs = draw_covariates(spec, model, attempt_rng(spec, "covariates", i), n)
        data = TrialArrays(treated, {}, dict(covs))
        if all(check(t, target_value(spec, t, data), MARGIN) for t in cov_targets):
            attempts["covariates"] = i
            break
    else:
        raise TwinError(fail_msg(spec, "covariates", cov_targets, budget))
    say(f"covariates: attempt {i}")

    # 3. outcomes with a latent time, in Cholesky order
    chol = correlation_matrix(spec)
    normals: list[np.ndarray] = []
    days: dict[str, np.ndarray] = {}
    warps: dict[str, dict] = {}
    for k, o in enumerate(spec.latent_outcomes):
        tg = _outcome_targets(spec, o.name)
        w = model.outcomes[o.name]
        counted = any(t.statistic == "events" for t in tg)
        shaped = counted or any(t.statistic in ("km_survival", "at_risk") for t in tg)
        if len(spec.latent_outcomes) == 1 and implied_events(spec, tg) is not None:
            shaped = True  # constructed, its draw shaped to the events the HR's CI implies
        near = _Closest(spec, tg)
        alone = shaped and len(spec.latent_outcomes) == 1  # follow-up is this outcome's own
        # a constructed outcome's curve also passes where the medians' CI limits put it
        source = ReadoutCurve(w, tg, fu, treated, spec if alone else None) if shaped else w
        build = Constructor(spec, tg, source, o.name, treated, strata, near) if alone else None
        for i in range(budget):
            rng_k = attempt_rng(spec, f"outcome:{o.name}", i)
            e_k = stratified_normals(rng_k, treated) if shaped else rng_k.standard_normal(n)
            z = sum(chol[k, j] * e for j, e in enumerate([*normals, e_k]))
            d = _ceil_days(source.time_from_exponential(-special.log_ndtr(z), treated))
            seq = np.random.SeedSequence([spec.twin_seed, k, i, _SHAPE_STREAM])
            rng = np.random.default_rng(seq) if shaped else None
            if build is not None:  # constructed arm by arm (twin_construct)
                got = build.attempt(base, model.dropout_rate, d, rng)
                if got is not None:
                    attempts[f"outcome:{o.name}"] = i
                    d, fu = got
                    normals.append(e_k)
                    days[o.name] = d
                    warps[o.name] = {"constructed": True}
                    break
                stop = build.hopeless()
                if stop is not None:
                    msg = near.message(f"outcome {o.name}", i + 1, w, fu, treated)
                    raise TwinError(f"{msg} (stopped early: {stop})")
                continue
            if counted:
                d, fu_o, moved = hit_events(spec, tg, source, d, fu, treated, rng)
                nudges[o.name] = moved
            else:
                fu_o = fu.copy()
            if d is not None:
                d, warp = warp_curves(
                    spec,
                    tg,
                    d,
                    fu_o,
                    treated,
                    keep_events=counted,
                    steep=shaped,
                    rng=rng,
                )
            if d is None:
                near.unshaped[warp or "too few participants to change the event count"] += 1
                continue
            ok = near.passes(d, o.name, fu_o, treated, strata)
            if not ok and shaped:  # the whole-trial figures by small re-timings (twin_polish)
                polished = polish(spec, tg, d, fu_o, o.name, treated, strata, rng)
                if polished is not None:
                    d = polished
                    ok = near.passes(d, o.name, fu_o, treated, strata)
            if ok:
                attempts[f"outcome:{o.name}"] = i
                fu = fu_o
                normals.append(e_k)
                days[o.name] = d
                warps[o.name] = warp
                break
        else:
            raise TwinError(near.message(f"outcome {o.name}", budget, w, fu, treated))
        say(f"{o.name}: attempt {i}")

    # 4. first-of outcomes
    for o in spec.outcomes.values():
        if o.model != "first_of":
            continue
        tg = _outcome_targets(spec, o.name)
        comp = np.minimum.reduce([days[c] for c in o.components])
        for i in range(budget):
            if o.name in model.extras:
                rng = attempt_rng(spec, f"extra:{o.name}", i)
                extra = _ceil_days(
                    model.extras[o.name].time_from_exponential(rng.standard_exponential(n), treated)
                )
                extra, moved = _hit_count(spec, tg, model, o.name, comp, extra, fu, treated, rng)
            else:
                extra, moved = np.full(n, np.iinfo(np.int64).max // 4), 0
            d = np.minimum(comp, extra)
            if _outcome_passes(spec, tg, o.name, d, fu, treated, strata):
                attempts[f"extra:{o.name}"] = i
                nudges[o.name] = moved
                days[o.name] = d
                break
        else:
            raise TwinError(fail_msg(spec, f"outcome {o.name}", tg, budget))
        say(f"{o.name}: attempt {i}")

    extra: dict[str, np.ndarray] = {}
    # 5. safety: lower-limb events drawn given the published totals; adverse-event flags
    if spec.safety is not None:
        tg = [t for t in spec.targets if t.column in SAFETY_COLUMNS and not t.derived]
        totals = {a: int(spec.safety.lower_limb_total[a].value) for a in ARM_KEYS}
        for i in range(budget):
            cols = draw_safety(spec, attempt_rng(spec, "safety", i), treated, totals)
            if _columns_pass(spec, tg, treated, cols):
                attempts["safety"] = i
                extra.update(cols)
                break
        else:
            raise TwinError(fail_msg(spec, "safety", tg, budget))
        say(f"safety: attempt {i}")
    # 6. economics: costs and utilities; the programme cost is shifted (equally for everyone in
    # the treatment arm, to the cent) so the ICER is the published one
    if spec.economics is not None:
        tg = [
            t
            for t in spec.targets
            if not t.derived
            and (t.statistic in ("icer", "prob_cost_effective") or t.column in ECONOMIC_COLUMNS)
        ]
        icer = next((t for t in tg if t.statistic == "icer"), None)
        shift = 0.0
        for i in range(budget):
            cols = draw_economics(spec, attempt_rng(spec, "economics", i), treated)
            if icer is not None:
                cols, shift = _hit_icer(cols, treated, icer.value)
                if cols is None:
                    continue
            if _columns_pass(spec, tg, treated, cols):
                attempts["economics"] = i
                extra.update(cols)
                break
        else:
            raise TwinError(fail_msg(spec, "economics", tg, budget))
        nudges["programme_cost_shift_aud"] = round(shift, 2)
        say(f"economics: attempt {i}")

    frame = assemble(spec, base, covs, days, fu, extra)
    meta = {
        "spec": spec.name,
        "spec_source": spec.source,
        "spec_sha256": spec.sha256,
        "generator": f"walkback {__version__} (walkback.twin.make_twin)",
        "numpy_version": np.__version__,
        "twin_seed": spec.twin_seed,
        "attempts": attempts,
        "median_warps": warps,
        "count_nudges": nudges,
        "calibrated": cal.solved,
        "conventions": {
            "conf_type": spec.conf_type,
            "ties": spec.ties,
            "strata": list(spec.analysis_strata),
            "alpha": spec.alpha,
        },
        "rows": int(len(frame)),
    }
    return TwinResult(frame, meta)


def _columns_pass(spec, tg, treated, cols) -> bool:
    data = TrialArrays(treated, {}, {}, None, cols)
    return all(check(t, target_value(spec, t, data), MARGIN) for t in tg)


MAX_PROGRAMME_SHIFT = 100.0  # AUD per participant: larger moves would no longer be plausible


def _hit_icer(cols: dict, treated: np.ndarray, icer: float):
    """Shift every treatment-arm programme cost by the same amount (to the cent; the remainder
    of the cents goes one each to the first participants) so dCost / dQALY equals ``icer``."""
    q, total = cols["qaly_12m"], cols["cost_total_aud"]
    t = treated.astype(bool)
    d_qaly = q[t].mean() - q[~t].mean()
    if not d_qaly > 0:
        return None, 0.0
    needed = icer * d_qaly - (total[t].mean() - total[~t].mean())
    if abs(needed) > MAX_PROGRAMME_SHIFT:
        return None, 0.0
    idx = np.flatnonzero(t)
    cents = int(round(needed * idx.size * 100))
    each, extra = divmod(cents, idx.size)
    add = np.full(idx.size, each, dtype=np.int64)
    add[:extra] += 1
    cost_int = cols["cost_intervention_aud"].copy()
    cost_int[idx] = np.round(cost_int[idx] + add / 100.0, 2)
    if (cost_int < 0).any():
        return None, 0.0
    out = dict(cols)
    out["cost_intervention_aud"] = cost_int
    out["cost_total_aud"] = np.round(
        cost_int + cols["cost_healthcare_aud"] + cols["cost_productivity_aud"], 2
    )
    return out, float(needed)


def _outcome_targets(spec: TrialSpec, name: str) -> list[Target]:
    """An outcome's checked targets (median follow-up belongs to the primary outcome's stage)."""
    primary = spec.primary.name
    return [
        t
        for t in spec.targets
        if not t.derived
        and (
            t.outcome == name
            or (t.outcome is None and t.statistic == "median_followup" and name == primary)
        )
    ]


def _analysis_strata(spec: TrialSpec, base: dict) -> np.ndarray | None:
    """Codes of the spec's analysis strata (a combination of randomisation strata), or None."""
    if not spec.analysis_strata:
        return None
    cols = [[s.column for s in spec.strata].index(c) for c in spec.analysis_strata]
    codes = base["strata_codes"][:, cols]
    return np.unique(codes, axis=0, return_inverse=True)[1].ravel()


def _outcome_passes(spec, tg, name, d, fu, treated, strata) -> bool:
    data = TrialArrays(
        treated, {name: (np.minimum(d, fu).astype(float), (d <= fu).astype(float))}, {}, strata
    )
    return all(check(t, target_value(spec, t, data), MARGIN) for t in tg)


def _hit_count(spec, tg, model: Model, name, comp, extra, fu, treated, rng):
    """Add or remove extra-component events so the outcome's event count equals a published one."""
    count = next((t for t in tg if t.statistic == "events" and t.arm is None), None)
    if count is None:
        return extra, 0
    d = np.minimum(comp, extra)
    have = int((d <= fu).sum())
    want = int(round(count.value))
    extra = extra.copy()
    if have > want:  # drop extra-only recurrences
        only_extra = np.flatnonzero((extra <= fu) & (comp > fu))
        if only_extra.size < have - want:
            return extra, 0
        pick = rng.choice(only_extra, size=have - want, replace=False)
        extra[pick] = np.iinfo(np.int64).max // 4
    elif have < want:  # add a recurrence within follow-up, drawn from the model
        none = np.flatnonzero((d > fu) & (fu >= 1))
        if none.size < want - have:
            return extra, 0
        pick = np.sort(rng.choice(none, size=want - have, replace=False))
        w = model.extras[name]
        s_end = w.survival(fu[pick], treated[pick])
        u = 1 - rng.random(pick.size) * (1 - s_end)  # S(T) uniform on [S(fu), 1]: T <= fu
        e = -np.log(u)
        extra[pick] = np.minimum(_ceil_days(w.time_from_exponential(e, treated[pick])), fu[pick])
    return extra, want - have


def write_twin(result: TwinResult, path: str | Path) -> dict:
    """Write the twin CSV and its metadata sidecar (``<name>.json``); return the metadata.

    Both files are written whole to temporary names and renamed into place (existing files are
    replaced; the CLI refuses that without --force)."""
    from walkback.outputs import AtomicFile, write_text

    path = Path(path)
    data = AtomicFile(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            result.frame.to_parquet(data.tmp, index=False)
        else:
            result.frame.to_csv(data.tmp, index=False, lineterminator="\n")
        meta = dict(result.metadata)
        meta["file"] = path.name
        meta["sha256"] = hashlib.sha256(data.tmp.read_bytes()).hexdigest()
    except BaseException:
        data.discard()
        raise
    data.commit()
    write_text(path.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta
