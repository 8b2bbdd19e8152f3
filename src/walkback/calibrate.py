"""Calibrate a trial spec's free parameters to its published summaries.

Closed-form parts come straight from the spec: a Weibull PH outcome given two medians and an HR
has shape ln(HR) / ln(median_control / median_treatment) and scale median_control / ln(2)^(1/shape)
(WalkBack: 208 vs 112 days with HR 0.72 give shape 0.53; an exponential model would need HR 0.54).

Parameters written ``{ calibrate = "target" }`` are solved numerically so that the model's expected
value of that target equals the published one: the expected number of events (dropout rate, the
scale of an extra component) or the large-sample Cox HR (an extra component's HR). Expectations are
taken over a pooled Monte Carlo population of ``replicates`` simulated trials drawn once with common
random numbers, so every function of the parameters is deterministic; each parameter is solved by
Brent's method on the log scale, cycling until all agree (Gauss-Seidel). Solved values are rounded
to 6 significant figures so that results do not hang on the last bits of a root finder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from walkback import __version__
from walkback.calibration_pool import CalibrationError, Evaluator, Pool, pooled_population
from walkback.model import Model, _untruncated, model_from_spec
from walkback.spec import ARM_KEYS, NOT_REACHED, Param, Target, TrialSpec

if TYPE_CHECKING:  # deferred: loading a cached calibration should not pay for pandas and scipy
    import pandas as pd

CALIBRATION_SEED = 1
CALIBRATION_REPLICATES = 200
_BRACKETS = {
    "annual_rate": (1e-4, 10.0),
    "median_control": (1.0, 1e7),
    "hazard_ratio": (0.02, 50.0),
    "shape": (0.05, 20.0),
}


@dataclass(frozen=True)
class CalibrationRow:
    target: str
    label: str
    published: float
    expected: float
    method: str
    derived: bool

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "label": self.label,
            "published": _nr(self.published),
            "expected": None if math.isnan(self.expected) else _nr(self.expected),
            "method": self.method,
            "derived": self.derived,
        }


def _nr(x: float) -> float | str:
    """A number as JSON takes it: "NR" for not reached (infinite)."""
    return "NR" if x == math.inf else x


@dataclass(frozen=True)
class Calibration:
    """Calibrated generating model and how its expectations compare with the targets."""

    spec_name: str
    spec_sha256: str
    model: Model
    solved: dict[str, float]
    rows: tuple[CalibrationRow, ...]
    replicates: int
    seed: int
    notes: tuple[str, ...] = field(default=())
    fit: dict | None = None  # free parameters: walkback.fit.FitResult.to_dict()

    def table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([r.to_dict() for r in self.rows])

    def to_dict(self) -> dict:
        return {
            "spec": self.spec_name,
            "spec_sha256": self.spec_sha256,
            "solved": dict(self.solved),
            "model": self.model.to_dict(),
            "targets": [r.to_dict() for r in self.rows],
            "monte_carlo": {"replicates": self.replicates, "seed": self.seed},
            "notes": list(self.notes),
            **({"fit": self.fit} if self.fit is not None else {}),
        }


def calibration_unknowns(spec: TrialSpec) -> list[tuple[str, Param]]:
    """Parameter paths marked ``{ calibrate = ... }``, in spec order."""
    out = []
    if spec.dropout_rate.calibrate:
        out.append(("dropout.annual_rate", spec.dropout_rate))
    for o in spec.outcomes.values():
        for prefix, w in ((f"outcomes.{o.name}", o.weibull), (f"outcomes.{o.name}.extra", o.extra)):
            if w is None:
                continue
            for fname in ("median_control", "hazard_ratio", "shape", "median_treatment"):
                p = getattr(w, fname)
                if p is not None and p.calibrate:
                    out.append((f"{prefix}.{fname}", p))
    for c in spec.covariates:
        for k, p in c.params.items():
            if isinstance(p, Param) and p.calibrate:
                raise CalibrationError(
                    f"{spec.source}: covariates.{c.name}.{k} cannot be calibrated; give a number "
                    "or {{ target = ... }}"
                )
    return out


_CACHE: dict[tuple, Calibration] = {}

# the code a calibration's numbers depend on: an edit to any of it invalidates cached entries
# (tests/test_cache.py checks that every walkback function a calibration calls is in here)
CALIBRATION_CODE = (
    "calibrate.py",
    "calibration_pool.py",
    "expected.py",
    "fit.py",
    "model.py",
    "draws.py",
    "spec",
    "estimators/cox_counts.py",
    "estimators/kaplan_meier.py",
    "estimators/_checks.py",
    "estimators/_dist.py",
    "_typing.py",
    "exceptions.py",
)


def cache_key(spec: TrialSpec, replicates: int, seed: int) -> dict:
    """What a calibration is computed from: the spec's bytes, the code, numpy's generators and
    the Monte Carlo settings (see :mod:`walkback.cache`)."""
    from walkback.cache import code_digest

    return {
        "spec": spec.name,
        "spec_sha256": spec.sha256,
        "code_sha256": code_digest(CALIBRATION_CODE),
        "numpy": np.__version__,
        "walkback": __version__,
        "replicates": replicates,
        "seed": seed,
    }


def calibrate(
    spec: TrialSpec,
    *,
    replicates: int = CALIBRATION_REPLICATES,
    seed: int = CALIBRATION_SEED,
    progress=None,
) -> Calibration:
    """Solve the spec's free parameters and tabulate expected vs published for every target.

    Results are cached in memory and on disk (:mod:`walkback.cache`), keyed by a digest of the
    spec, the calibration code, numpy's version, ``replicates`` and ``seed``, and checked
    against their own digest: an entry that does not match is recomputed, with a note on
    stderr. The packaged spec's calibration is shipped with the package. A cached result is the
    same numbers the solver would give.
    """
    from walkback.cache import cached

    key = (spec.sha256, replicates, seed)
    if key in _CACHE:
        return _CACHE[key]
    payload = cached(
        "calibration",
        cache_key(spec, replicates, seed),
        lambda: solve(spec, replicates, seed, progress).to_dict(),
        what=f"calibration of {spec.name}",
        spec_source=spec.source,
    )
    cal = calibration_from_dict(spec, payload)
    _CACHE[key] = cal
    return cal


def calibration_from_dict(spec: TrialSpec, d: dict) -> Calibration:
    """A Calibration rebuilt from ``Calibration.to_dict()`` output for ``spec``."""
    solved = {k: float(v) for k, v in d["solved"].items()}
    nan = float("nan")
    rows = tuple(
        CalibrationRow(
            **{
                **r,
                "published": _from_nr(r["published"]),
                "expected": nan if r["expected"] is None else _from_nr(r["expected"]),
            }
        )
        for r in d["targets"]
    )
    mc = d["monte_carlo"]
    return Calibration(
        spec.name,
        spec.sha256,
        model_from_spec(spec, solved),
        solved,
        rows,
        mc["replicates"],
        mc["seed"],
        tuple(d["notes"]),
        d.get("fit"),
    )


def _from_nr(x) -> float:
    """A JSON number back, "NR" (not reached) as infinity."""
    return math.inf if x == "NR" else float(x)


def solve(
    spec: TrialSpec,
    replicates: int = CALIBRATION_REPLICATES,
    seed: int = CALIBRATION_SEED,
    progress=None,
) -> Calibration:
    """Solve the calibration from scratch (no cache); :func:`calibrate` caches this."""
    unknowns = calibration_unknowns(spec)
    pool = pooled_population(spec, replicates, seed)
    ev = Evaluator(spec, pool)
    solved: dict[str, float] = {}
    for k, _p in unknowns:  # starting values: the middle of each bracket on the log scale
        lo, hi = _BRACKETS[k.rsplit(".", 1)[1]]
        solved[k] = {"annual_rate": 0.1, "hazard_ratio": 1.0}.get(
            k.rsplit(".", 1)[1], math.sqrt(lo * hi)
        )
    fit = None
    for _round in range(6 if unknowns else 1):  # free parameters and calibrated ones, in turn
        before_fit = dict(solved)
        fit = _fit_free(spec, pool, solved, progress)
        _gauss_seidel(spec, ev, unknowns, solved, progress)
        if fit is None or all(
            k in before_fit and abs(solved[k] / before_fit[k] - 1) < 1e-5 for k in solved
        ):
            break
    solved = {k: float(f"{v:.6g}") for k, v in solved.items()}
    model = model_from_spec(spec, solved)
    rows = _rows(spec, ev, model)
    notes = (
        "Weibull PH outcomes with two medians and an HR are solved in closed form.",
        f"Calibrated parameters solve expected = published over {replicates} pooled simulated "
        f"trials (seed {seed}), rounded to 6 significant figures.",
    )
    if fit is not None:
        notes += (
            "Free parameters (left out of the spec) are fitted jointly to their outcomes' targets "
            "by weighted least squares on the model's large-sample values (walkback.fit).",
        )
    return Calibration(
        spec.name, spec.sha256, model, solved, tuple(rows), replicates, seed, notes, fit
    )


def _fit_free(spec: TrialSpec, pool: Pool, solved: dict, progress) -> dict | None:
    """Solve the free parameters given the current calibrated ones (updates ``solved``)."""
    from walkback.fit import fit_free, free_parameters

    if not free_parameters(spec):
        return None
    admin = np.rint(pool.base["admin_months"] * spec.days_per_month)
    fixed = {k: v for k, v in solved.items() if k not in free_parameters(spec)}
    res = fit_free(spec, admin, fixed, progress)
    solved.update(res.solved)
    return res.to_dict()


def _gauss_seidel(spec: TrialSpec, ev: Evaluator, unknowns, solved: dict, progress) -> None:
    """Solve each ``{ calibrate = ... }`` parameter in turn until all agree (updates ``solved``)."""
    if not unknowns:
        return
    for sweep in range(30):
        before = dict(solved)
        for k, p in unknowns:
            target = spec.target(p.calibrate)
            solved[k] = _solve_one(spec, ev, solved, k, target)
            if progress:
                progress(f"calibrate sweep {sweep + 1}: {k} = {solved[k]:.6g}")
        if all(abs(solved[k] / before[k] - 1) < 1e-6 for k in solved):
            break
    else:
        raise CalibrationError("calibration did not settle in 30 sweeps; the targets may conflict")


def _solve_one(spec: TrialSpec, ev: Evaluator, solved: dict, key: str, target: Target) -> float:
    lo, hi = _BRACKETS[key.rsplit(".", 1)[1]]

    def f(log_x: float) -> float:
        trial = dict(solved)
        trial[key] = math.exp(log_x)
        value = ev.expected(model_from_spec(spec, trial), target)
        if target.statistic == "cox_hr":
            return math.log(value) - math.log(target.value)
        return value - target.value

    a, b = math.log(lo), math.log(hi)
    fa, fb = f(a), f(b)
    if fa * fb > 0:
        raise CalibrationError(
            f"{spec.source}: cannot reach target '{target.name}' = {target.value:g} by varying "
            f"{key} within [{lo:g}, {hi:g}] (model gives {_show(fa, target)} to "
            f"{_show(fb, target)}); revise the spec's assumptions"
        )
    from scipy import optimize

    root = optimize.brentq(f, a, b, xtol=1e-8, rtol=1e-8, maxiter=200)
    return math.exp(root)


def _show(fval: float, target: Target) -> str:
    v = math.exp(fval) * target.value if target.statistic == "cox_hr" else fval + target.value
    return f"{v:.4g}"


def _rows(spec: TrialSpec, ev: Evaluator, model: Model) -> list[CalibrationRow]:
    cache = ev.data(model)
    rows = []
    mc = f"Monte Carlo, {ev.pool.m} pooled trials"
    for t in spec.targets:
        if t.statistic == "count":
            value, method = spec.arm_sizes[t.arm].value, "spec arm size"
        elif t.statistic == "km_median" and t.outcome in model.outcomes:
            value, method = _model_median(spec, ev, model, t)
        elif t.statistic in ("mean", "sd"):
            p = model.covariates[t.column]
            from scipy import stats

            loc, scale = _untruncated(p["mean"], p["sd"], p["min"], p["max"])
            a, b = (p["min"] - loc) / scale, (p["max"] - loc) / scale
            dist = stats.truncnorm(a, b, loc=loc, scale=scale)
            value = float(dist.mean() if t.statistic == "mean" else dist.std())
            method = "truncated normal (closed form)"
        elif t.statistic == "share" and t.column in model.covariates:
            p = model.covariates[t.column]
            value = p["share"] if t.level == p["levels"][0] else 1 - p["share"]
            method = "model share"
        elif t.statistic == "share" and spec.safety is not None:
            value, method = spec.safety.ae_share[t.arm].value, "spec adverse-event share"
        elif t.statistic == "sum" and spec.safety is not None:
            value, method = spec.safety.lower_limb_total[t.arm].value, "spec expected events"
        elif t.statistic == "icer" and spec.economics is not None:
            value, method = _expected_icer(spec), "economic model means (closed form, no cap)"
        elif t.statistic in ("fisher_p", "prob_cost_effective"):
            value, method = float("nan"), "a property of one dataset: matched by the twin"
        elif t.statistic in ("km_survival", "at_risk", "logrank_p", "rmst", "median_followup"):
            value, method = _analytic(spec, ev, model, t), "large-sample value (walkback.expected)"
        else:
            value, method = ev.expected(model, t, cache), mc
        rows.append(CalibrationRow(t.name, t.label, t.value, float(value), method, t.derived))
    return rows


def _model_median(spec: TrialSpec, ev: Evaluator, model: Model, t: Target) -> tuple[float, str]:
    """The model's median (closed form) as the expected value of a KM median target; "NR" when
    the model's curve does not reach 0.5 within the trial's follow-up (as the KM would not)."""
    dist = model.outcomes[t.outcome]
    value = dist.median(t.arm == "treatment")
    kind = dist.kind
    if math.isfinite(value) and not math.isfinite(_analytic(spec, ev, model, t)):
        return NOT_REACHED, f"{kind} model median {value:.1f} days is beyond follow-up: not reached"
    return value, f"{kind} model median (closed form)"


def _analytic(spec: TrialSpec, ev: Evaluator, model: Model, t: Target) -> float:
    from walkback.expected import ExpectedTrial

    exp = ExpectedTrial(spec, np.rint(ev.pool.base["admin_months"] * spec.days_per_month))
    dist = model.outcomes[t.outcome or spec.primary.name]
    return float(exp.value(t, dist, model.dropout_rate)[0])


def _expected_icer(spec: TrialSpec) -> float:
    """Model ICER from the economic assumptions' means (utility cap at 1 ignored)."""
    p = spec.economics.params
    d_cost = (
        p["programme_sessions"] * p["programme_attendance"] * p["programme_cost_per_session"]
        + p["programme_fixed_cost"]
        + (p["visits_mean_treatment"] - p["visits_mean_control"]) * p["cost_per_visit"]
        + (p["workdays_mean_treatment"] - p["workdays_mean_control"]) * p["cost_per_workday"]
    )
    # trapezoids at 0, 3, 6, 12 months: weights 0.125 (3m), 0.25 (6m), 0.25 (12m) on the effects
    d_qaly = (
        0.25 * (0 + p["utility_effect_3m"]) / 2
        + 0.25 * (p["utility_effect_3m"] + p["utility_effect_6m"]) / 2
        + 0.5 * (p["utility_effect_6m"] + p["utility_effect_12m"]) / 2
    )
    return d_cost / d_qaly if d_qaly else float("nan")


__all__ = ["ARM_KEYS", "Calibration", "CalibrationError", "CalibrationRow", "calibrate"]
