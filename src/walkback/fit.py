"""Solve an outcome model's free parameters (those a spec leaves out) from its targets jointly.

Every target of an outcome with free parameters (and, when ``[dropout] annual_rate = "free"``, the
median follow-up and every outcome's targets) contributes residuals: its value and each CI limit,
``(g(expected) - g(published)) / scale``, where ``expected`` is the model's large-sample value
(:mod:`walkback.expected`), ``g`` is log for positive quantities (medians, HRs, RMST, counts), the
identity for survival probabilities and the normal quantile for p-values, and ``scale`` is the
standard error the published CI implies (its width / 2z on the g scale) or, for a figure printed
without a CI, its printed precision (a p-value's on the z scale is 1, the sampling SD of a z
statistic); never less than half the printed precision, nor, for a landmark, one participant's
step (1 / the arm's size: a CI printed as 1.00 to 1.00 has no width). A "not reached" target asks
the model's estimate to lie beyond the last follow-up day. Piecewise-exponential hazards get a
weak smoothness penalty between neighbouring intervals, so intervals no target informs take their
neighbours' values. The weighted sum of squares is
minimised by scipy's trust-region least squares on log (or logit, for cure fractions) scales.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from walkback.exceptions import WalkbackError
from walkback.expected import STATISTICS, ExpectedTrial
from walkback.model import model_from_spec
from walkback.spec import NOT_REACHED, Target, TrialSpec

_LOG_STATS = ("km_median", "median_followup", "cox_hr", "rmst", "events", "at_risk")
_P_STATS = ("cox_p", "logrank_p")
#: bounds of each free parameter kind, on its own scale
_BOUNDS = {
    "annual_rate": (1e-5, 10.0),
    "median_control": (0.5, 1e6),
    "hazard_ratio": (0.01, 100.0),
    "shape": (0.05, 20.0),
    "hazard_control": (1e-7, 1.0),
    "cure_control": (1e-4, 0.9999),
    "cure_treatment": (1e-4, 0.9999),
}
SMOOTH_LOG_HAZARD = 3.0  # SD of the change in log hazard between neighbouring intervals
SMOOTH_LOG_HR = 1.0  # SD of the change in log hazard ratio between neighbouring intervals


class FitError(WalkbackError, ValueError):
    """The free parameters cannot be solved (no target informs them)."""


def free_parameters(spec: TrialSpec) -> list[str]:
    """Paths of the parameters a spec leaves free, in spec order."""
    out = ["dropout.annual_rate"] if spec.dropout_free else []
    for o in spec.latent_outcomes:
        key = f"outcomes.{o.name}"
        if o.weibull is not None:
            for f in ("median_control", "hazard_ratio", "shape"):
                p = getattr(o.weibull, f)
                if p is not None and p.free:
                    out.append(f"{key}.{f}")
        out += [f"{key}.{k}" for k, p in o.params.items() if p.free]
    return out


def _kind(path: str) -> str:
    return path.rsplit(".", 1)[1].split("[")[0]


def _g(stat: str, x: float) -> float:
    if stat in _P_STATS:
        return float(stats.norm.isf(min(max(x, 1e-300), 1.0) / 2))
    if stat in _LOG_STATS:
        return math.log(max(x, 1e-9))
    return x


@dataclass
class _Piece:
    target: Target
    which: int  # 0 value, 1 lower, 2 upper
    published: float
    scale: float

    @property
    def label(self) -> str:
        return self.target.name + ("", " (lower)", " (upper)")[self.which]


def _pieces(spec: TrialSpec, targets: list[Target]) -> list[_Piece]:
    z = stats.norm.isf(spec.alpha / 2)
    out = []
    for t in targets:
        st = t.statistic
        limits = [c for c in (t.ci or ()) if math.isfinite(c)]
        if len(limits) == 2:
            scale = (_g(st, limits[1]) - _g(st, limits[0])) / (2 * z)
        elif limits and math.isfinite(t.value):  # one limit not reached: the other side's width
            scale = abs(_g(st, t.value) - _g(st, limits[0])) / z
        elif st in _P_STATS:
            scale = 1.0
        elif st in ("events", "at_risk") and t.value > 0:  # a count: Poisson SD on the log scale
            scale = max(t.precision / t.value, 1 / math.sqrt(t.value))
        elif st in _LOG_STATS and math.isfinite(t.value):
            scale = t.precision / max(abs(t.value), 1e-9)
        else:
            scale = t.precision
        scale = max(scale, _floor(spec, t)) if math.isfinite(scale) else 0.05
        out.append(_Piece(t, 0, t.value, scale))
        if t.ci is not None:
            out += [_Piece(t, 1, t.ci[0], scale), _Piece(t, 2, t.ci[1], scale)]
    return out


def _floor(spec: TrialSpec, t: Target) -> float:
    """The smallest scale a figure gets: half its printed precision (it is known no better), and
    for a landmark one participant's step (a CI of zero width, as printed at 1.00 (1.00 to 1.00)
    before any event, implies no standard error)."""
    if t.statistic in _P_STATS:
        return 1e-6
    if t.statistic in _LOG_STATS:
        half = t.precision / 2 / max(abs(t.value), 1e-9) if math.isfinite(t.value) else 0.0
    else:
        half = t.precision / 2
    if t.statistic == "km_survival" and t.arm is not None:
        half = max(half, 1.0 / max(float(spec.arm_sizes[t.arm].value), 1.0))
    return max(half, 1e-6)


def _residual(p: _Piece, expected: float | None, end: float) -> float:
    st = p.target.statistic
    if expected is None:
        return 0.0
    if p.published == NOT_REACHED:
        return 0.0 if expected == NOT_REACHED else max(0.0, _g(st, end) - _g(st, expected)) / 0.05
    if expected == NOT_REACHED:
        expected = end * 1.5
    return (_g(st, expected) - _g(st, p.published)) / p.scale


@dataclass(frozen=True)
class FitResult:
    solved: dict[str, float]
    determined_by: dict[str, list[str]]
    misfit: list[dict]  # target piece, published, expected, z (residual in SE units)
    cost: float

    def to_dict(self) -> dict:
        return {
            "solved": dict(self.solved),
            "determined_by": {k: list(v) for k, v in self.determined_by.items()},
            "misfit": list(self.misfit),
        }


class _Problem:
    def __init__(self, spec: TrialSpec, admin_days: np.ndarray, fixed: dict[str, float]) -> None:
        self.spec, self.fixed = spec, dict(fixed)
        self.free = free_parameters(spec)
        self.exp = ExpectedTrial(spec, admin_days)
        outcomes = {p.split(".")[1] for p in self.free if p.startswith("outcomes.")}
        if spec.dropout_free:
            outcomes |= {o.name for o in spec.latent_outcomes}
        self.targets = [
            t
            for t in spec.targets
            if t.statistic in STATISTICS
            and (t.outcome in outcomes or (t.statistic == "median_followup" and spec.dropout_free))
        ]
        self.pieces = _pieces(spec, self.targets)
        if not self.pieces:
            raise FitError(
                f"{spec.source}: parameters {', '.join(self.free)} are left free, but no target "
                "informs them; give them values or add targets (medians, landmark survival, HR)"
            )
        self.smooth = self._smooth_pairs()

    def _smooth_pairs(self) -> list[tuple[int, int, float]]:
        idx = {p: i for i, p in enumerate(self.free)}
        pairs = []
        for o in self.spec.latent_outcomes:
            for kind, sd in (
                ("hazard_control", SMOOTH_LOG_HAZARD),
                ("hazard_ratio", SMOOTH_LOG_HR),
            ):
                for i in range(1, len(o.breaks)):
                    a = idx.get(f"outcomes.{o.name}.{kind}[{i - 1}]")
                    b = idx.get(f"outcomes.{o.name}.{kind}[{i}]")
                    if a is not None and b is not None:
                        pairs.append((a, b, sd))
        return pairs

    # transformed scale: log, or logit for fractions
    def encode(self, values: dict[str, float]) -> np.ndarray:
        x = []
        for p in self.free:
            v = values[p]
            x.append(math.log(v / (1 - v)) if _kind(p).startswith("cure_") else math.log(v))
        return np.array(x)

    def decode(self, x: np.ndarray) -> dict[str, float]:
        out = {}
        for p, xi in zip(self.free, x, strict=True):
            out[p] = 1 / (1 + math.exp(-xi)) if _kind(p).startswith("cure_") else math.exp(xi)
        return out

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = [], []
        for p in self.free:
            a, b = _BOUNDS[_kind(p)]
            enc = (lambda v: math.log(v / (1 - v))) if _kind(p).startswith("cure_") else math.log
            lo.append(enc(a))
            hi.append(enc(b))
        return np.array(lo), np.array(hi)

    def expected(self, values: dict[str, float]) -> list[float | None]:
        model = model_from_spec(self.spec, {**self.fixed, **values})
        counts: dict[str, dict] = {}
        out = []
        for piece in self.pieces:
            t = piece.target
            name = t.outcome or self.spec.primary.name
            dist = model.outcomes[name]
            if name not in counts:
                counts[name] = self.exp.counts(dist, model.dropout_rate)
            v = self.exp.value(t, dist, model.dropout_rate, counts[name])[piece.which]
            out.append(None if v is None else float(v))
        self._end = self.exp.last_day(next(iter(counts.values())))
        return out

    def residuals(self, x: np.ndarray) -> np.ndarray:
        values = self.decode(x)
        exp = self.expected(values)
        r = [_residual(p, e, self._end) for p, e in zip(self.pieces, exp, strict=True)]
        r += [(x[b] - x[a]) / sd for a, b, sd in self.smooth]
        out = np.array(r, dtype=float)
        return np.where(np.isfinite(out), out, 1e6)


def _start(problem: _Problem) -> dict[str, float]:
    """Starting values read off the targets (medians, HR), else middling defaults."""
    spec = problem.spec
    end = float(problem.exp.K)
    out = {}
    for p in problem.free:
        kind = _kind(p)
        name = p.split(".")[1] if p.startswith("outcomes.") else spec.primary.name
        med = {
            t.arm: t.value
            for t in spec.targets
            if t.outcome == name and t.statistic == "km_median" and math.isfinite(t.value)
        }
        hr = next(
            (t.value for t in spec.targets if t.outcome == name and t.statistic == "cox_hr"), 1.0
        )
        mc = med.get("control", med.get("treatment", end))
        if kind == "annual_rate":
            out[p] = 0.05
        elif kind == "median_control":
            out[p] = mc
        elif kind == "hazard_ratio":
            out[p] = hr
        elif kind == "shape":
            out[p] = 1.0
        elif kind == "hazard_control":
            out[p] = math.log(2) / mc
        else:  # cure fractions: more cured where the median is not reached
            out[p] = 0.2 if med.get(kind.split("_")[1]) is not None else 0.5
    return out


def fit_free(
    spec: TrialSpec, admin_days: np.ndarray, fixed: dict[str, float], progress=None
) -> FitResult:
    """Solve every free parameter of ``spec`` jointly (see the module docstring)."""
    problem = _Problem(spec, admin_days, fixed)
    lo, hi = problem.bounds()
    x0 = np.clip(problem.encode(_start(problem)), lo + 1e-9, hi - 1e-9)
    best = None
    for attempt, jitter in enumerate((0.0, 0.5, -0.5)):
        xs = np.clip(x0 + jitter, lo + 1e-9, hi - 1e-9)
        sol = optimize.least_squares(
            problem.residuals,
            xs,
            bounds=(lo, hi),
            method="trf",
            x_scale="jac",
            diff_step=1e-5,
            max_nfev=300,
        )
        if progress:
            progress(f"fit free parameters, start {attempt + 1}: cost {sol.cost:.4g}")
        if best is None or sol.cost < best.cost - 1e-9:
            best = sol
        if best.cost < 0.5 * len(problem.pieces):
            break
    solved = {k: float(f"{v:.6g}") for k, v in problem.decode(best.x).items()}
    exp = problem.expected(solved)
    res = [_residual(p, e, problem._end) for p, e in zip(problem.pieces, exp, strict=True)]
    jac = np.asarray(best.jac)[: len(problem.pieces)]
    determined = {}
    for j, p in enumerate(problem.free):
        w = jac[:, j] ** 2
        by_target: dict[str, float] = {}
        for piece, wi in zip(problem.pieces, w, strict=True):
            by_target[piece.target.name] = by_target.get(piece.target.name, 0.0) + wi
        total = sum(by_target.values())
        ranked = sorted(by_target.items(), key=lambda kv: -kv[1])
        determined[p] = [k for k, v in ranked if total > 0 and v / total >= 0.1] or [
            "(no target: the smoothness penalty)"
        ]
    misfit = [
        {
            "target": piece.label,
            "published": "NR" if piece.published == NOT_REACHED else float(piece.published),
            "expected": None if e is None else ("NR" if e == NOT_REACHED else float(e)),
            "z": float(r),
        }
        for piece, e, r in zip(problem.pieces, exp, res, strict=True)
    ]
    return FitResult(solved, determined, misfit, float(best.cost))
