"""The calibrated generating model: numeric parameters with every spec value resolved.

``Model`` holds the numbers a simulation needs (dropout rate, a ``Weibull`` per outcome component,
covariate distributions); ``model_from_spec`` fills a spec's ``{ calibrate = ... }`` parameters
from solved values (:func:`walkback.calibrate.calibrate`). Shared by simulation, calibration, the
twin and the Monte Carlo engine, so none of them needs another to build one.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from walkback.exceptions import WalkbackError
from walkback.spec import Outcome, Param, TrialSpec, WeibullOutcome


@dataclass(frozen=True)
class Weibull:
    """Weibull proportional hazards for one outcome (time unit: days)."""

    kind: ClassVar[str] = "Weibull"  # how messages name the model
    shape: float
    scale: float  # control arm
    hr: float

    def survival(self, t, treated) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return np.exp(-((t / self.scale) ** self.shape) * np.where(treated, self.hr, 1.0))

    def median(self, treated: bool) -> float:
        return self.scale * (math.log(2) / (self.hr if treated else 1.0)) ** (1 / self.shape)

    def time_from_exponential(self, e: np.ndarray, treated: np.ndarray) -> np.ndarray:
        """Latent times from unit-exponential draws: the cumulative hazard at T equals ``e``."""
        rate = np.where(treated, self.hr, 1.0)
        return self.scale * (e / rate) ** (1.0 / self.shape)

    def describe(self) -> str:
        return (
            f"Weibull PH shape {self.shape:.4g}, scale {self.scale:.4g} days, HR {self.hr:.4g}"
            f" (medians {_show(self.median(False))} control, {_show(self.median(True))} treatment)"
        )

    def to_dict(self) -> dict:
        return {
            "shape": self.shape,
            "scale": self.scale,
            "hazard_ratio": self.hr,
            "median_control": self.median(False),
            "median_treatment": self.median(True),
        }


def _med(x: float) -> float | None:
    return None if not math.isfinite(x) else x


def _show(x: float) -> str:
    return "NR" if not math.isfinite(x) else f"{x:.4g}"


@dataclass(frozen=True)
class CureWeibull:
    """Mixture cure model: S_arm(t) = cure_arm + (1 - cure_arm) * S_u(t), where the uncured follow
    Weibull PH (``scale`` and ``hr`` describe the uncured; time unit days)."""

    kind: ClassVar[str] = "cure-Weibull"
    cure_control: float
    cure_treatment: float
    shape: float
    scale: float
    hr: float

    def _cure(self, treated):
        return np.where(treated, self.cure_treatment, self.cure_control)

    def survival(self, t, treated) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        pi = self._cure(treated)
        su = np.exp(-((t / self.scale) ** self.shape) * np.where(treated, self.hr, 1.0))
        return pi + (1 - pi) * su

    def median(self, treated: bool) -> float:
        return float(self.time_from_exponential(np.array([math.log(2)]), np.array([treated]))[0])

    def time_from_exponential(self, e: np.ndarray, treated: np.ndarray) -> np.ndarray:
        """S(T) = exp(-e): cured (infinite time) when exp(-e) <= the arm's cure fraction."""
        pi = self._cure(treated)
        u = (np.exp(-np.asarray(e, dtype=float)) - pi) / (1 - pi)
        rate = np.where(treated, self.hr, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.scale * (-np.log(np.where(u > 0, u, 1.0)) / rate) ** (1.0 / self.shape)
        return np.where(u > 0, t, np.inf)

    def describe(self) -> str:
        return (
            f"mixture cure, cured {self.cure_control:.3g} control, {self.cure_treatment:.3g} "
            f"treatment; uncured Weibull PH shape {self.shape:.4g}, scale {self.scale:.4g} days, "
            f"HR {self.hr:.4g} (medians {_show(self.median(False))} control, "
            f"{_show(self.median(True))} treatment)"
        )

    def to_dict(self) -> dict:
        return {
            "cure_control": self.cure_control,
            "cure_treatment": self.cure_treatment,
            "shape": self.shape,
            "scale": self.scale,
            "hazard_ratio_uncured": self.hr,
            "median_control": _med(self.median(False)),
            "median_treatment": _med(self.median(True)),
        }


@dataclass(frozen=True)
class PiecewiseExponential:
    """Constant hazards per day within intervals starting at ``breaks``; the treatment arm's
    hazard is the control hazard times that interval's hazard ratio (non-PH when they differ)."""

    kind: ClassVar[str] = "piecewise-exponential"
    breaks: tuple[float, ...]
    hazard_control: tuple[float, ...]
    hazard_ratio: tuple[float, ...]

    def _rates(self, treated: bool) -> np.ndarray:
        h = np.asarray(self.hazard_control, dtype=float)
        return h * np.asarray(self.hazard_ratio) if treated else h

    def _cum_at_breaks(self, treated: bool) -> np.ndarray:
        widths = np.diff(np.asarray(self.breaks, dtype=float))
        return np.concatenate(([0.0], np.cumsum(self._rates(treated)[:-1] * widths)))

    def cumhaz(self, t, treated: bool) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        b = np.asarray(self.breaks, dtype=float)
        j = np.clip(np.searchsorted(b, t, side="right") - 1, 0, b.size - 1)
        return self._cum_at_breaks(treated)[j] + self._rates(treated)[j] * (t - b[j])

    def survival(self, t, treated) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        tr = np.broadcast_to(np.asarray(treated, dtype=bool), t.shape)
        return np.where(tr, np.exp(-self.cumhaz(t, True)), np.exp(-self.cumhaz(t, False)))

    def median(self, treated: bool) -> float:
        return float(self.time_from_exponential(np.array([math.log(2)]), np.array([treated]))[0])

    def time_from_exponential(self, e: np.ndarray, treated: np.ndarray) -> np.ndarray:
        e = np.asarray(e, dtype=float)
        out = np.empty_like(e)
        b = np.asarray(self.breaks, dtype=float)
        tr = np.broadcast_to(np.asarray(treated, dtype=bool), e.shape)
        for arm in (False, True):
            m = tr == arm
            cum, rate = self._cum_at_breaks(arm), self._rates(arm)
            j = np.clip(np.searchsorted(cum, e[m], side="right") - 1, 0, b.size - 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = b[j] + (e[m] - cum[j]) / rate[j]
            out[m] = np.where(rate[j] > 0, t, np.inf)
        return out

    def describe(self) -> str:
        parts = [
            f"from day {b:g} {h:.3g}/day, HR {r:.3g}"
            for b, h, r in zip(self.breaks, self.hazard_control, self.hazard_ratio, strict=True)
        ]
        return (
            f"piecewise exponential: {'; '.join(parts)} (medians {_show(self.median(False))} "
            f"control, {_show(self.median(True))} treatment)"
        )

    def to_dict(self) -> dict:
        return {
            "breaks": list(self.breaks),
            "hazard_control": list(self.hazard_control),
            "hazard_ratio": list(self.hazard_ratio),
            "median_control": _med(self.median(False)),
            "median_treatment": _med(self.median(True)),
        }


@dataclass(frozen=True)
class Model:
    """Numeric generating parameters: a spec with its calibrated values filled in."""

    dropout_rate: float  # per year
    outcomes: dict[str, Weibull | CureWeibull | PiecewiseExponential]  # latent-time outcomes
    extras: dict[str, Weibull]  # first_of outcomes' extra components
    covariates: dict[str, dict]
    calibrated: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "dropout_annual_rate": self.dropout_rate,
            "outcomes": {k: v.to_dict() for k, v in self.outcomes.items()},
            "extra_components": {k: v.to_dict() for k, v in self.extras.items()},
            "covariates": {
                k: {p: (v.value if isinstance(v, Param) else v) for p, v in c.items()}
                for k, c in self.covariates.items()
            },
        }


def model_from_spec(spec: TrialSpec, calibrated: dict[str, float] | None = None) -> Model:
    """Resolve a spec's parameters; ``calibrated`` supplies the ``{ calibrate = ... }`` ones.

    Keys of ``calibrated`` are parameter paths: ``dropout.annual_rate``,
    ``outcomes.<name>.extra.median_control``, ``outcomes.<name>.extra.hazard_ratio``, ...
    """
    cal = dict(calibrated or {})

    def val(p: Param, key: str) -> float:
        if p.value is not None:
            return p.value
        if key not in cal:
            how = "left free" if p.free else f"to be calibrated (to target '{p.calibrate}')"
            raise WalkbackError(
                f"parameter {key} is {how}; "
                "run walkback.calibrate.calibrate(spec) and pass its values"
            )
        return float(cal[key])

    def weibull(w: WeibullOutcome, key: str) -> Weibull:
        hr = val(w.hazard_ratio, f"{key}.hazard_ratio")
        mc = val(w.median_control, f"{key}.median_control")
        if w.median_treatment is not None:
            mt = val(w.median_treatment, f"{key}.median_treatment")
            shape = math.log(hr) / math.log(mc / mt)
        else:
            shape = val(w.shape, f"{key}.shape")
        return Weibull(shape, mc / math.log(2) ** (1 / shape), hr)

    def cure_weibull(o: Outcome, key: str) -> CureWeibull:
        p = {k: val(v, f"{key}.{k}") for k, v in o.params.items()}
        shape = p["shape"]
        scale = p["median_control"] / math.log(2) ** (1 / shape)
        return CureWeibull(p["cure_control"], p["cure_treatment"], shape, scale, p["hazard_ratio"])

    def piecewise(o: Outcome, key: str) -> PiecewiseExponential:
        p = {k: val(v, f"{key}.{k}") for k, v in o.params.items()}
        k = len(o.breaks)
        hc = tuple(p[f"hazard_control[{i}]"] for i in range(k))
        hr = tuple(p.get(f"hazard_ratio[{i}]", p.get("hazard_ratio")) for i in range(k))
        return PiecewiseExponential(o.breaks, hc, hr)

    builders = {
        "weibull_ph": lambda o, key: weibull(o.weibull, key),
        "cure_weibull_ph": cure_weibull,
        "piecewise_exponential": piecewise,
    }
    outcomes = {o.name: builders[o.model](o, f"outcomes.{o.name}") for o in spec.latent_outcomes}
    extras = {
        o.name: weibull(o.extra, f"outcomes.{o.name}.extra")
        for o in spec.outcomes.values()
        if o.model == "first_of" and o.extra is not None
    }
    covs = {}
    for c in spec.covariates:
        if c.distribution == "normal":
            mean = val(c.params["mean"], f"covariates.{c.name}.mean")
            sd = val(c.params["sd"], f"covariates.{c.name}.sd")
            covs[c.name] = {
                "mean": mean,
                "sd": sd,
                "min": c.params["min"],
                "max": c.params["max"],
                "decimals": c.params["decimals"],
            }
        else:
            covs[c.name] = {
                "levels": c.params["levels"],
                "share": val(c.params["share"], f"covariates.{c.name}.share"),
            }
    return Model(val(spec.dropout_rate, "dropout.annual_rate"), outcomes, extras, covs, cal)


@functools.lru_cache(maxsize=64)
def _untruncated(mean: float, sd: float, lo: float, hi: float) -> tuple[float, float]:
    """Normal (loc, scale) whose truncation to [lo, hi] has the given mean and SD.

    A published mean and SD describe the observed (truncated) ages, so the spec's numbers are
    the truncated distribution's moments.
    """
    if not (math.isfinite(lo) or math.isfinite(hi)):
        return mean, sd
    from scipy.optimize import root
    from scipy.stats import truncnorm

    def moments(x):
        loc, log_scale = x
        scale = math.exp(log_scale)
        d = truncnorm((lo - loc) / scale, (hi - loc) / scale, loc=loc, scale=scale)
        return [d.mean() - mean, d.std() - sd]

    sol = root(moments, [mean, math.log(sd)], tol=1e-12)
    if not sol.success or max(abs(v) for v in moments(sol.x)) > 1e-8:
        raise WalkbackError(
            f"no normal distribution truncated to [{lo:g}, {hi:g}] has mean {mean:g} and SD {sd:g}"
        )
    return float(sol.x[0]), float(math.exp(sol.x[1]))
