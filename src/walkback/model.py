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

import numpy as np

from walkback.exceptions import WalkbackError
from walkback.spec import Param, TrialSpec, WeibullOutcome


@dataclass(frozen=True)
class Weibull:
    """Weibull proportional hazards for one outcome (time unit: days)."""

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


@dataclass(frozen=True)
class Model:
    """Numeric generating parameters: a spec with its calibrated values filled in."""

    dropout_rate: float  # per year
    outcomes: dict[str, Weibull]  # weibull_ph outcomes, in spec order
    extras: dict[str, Weibull]  # first_of outcomes' extra components
    covariates: dict[str, dict]
    calibrated: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        def w(x: Weibull) -> dict:
            return {
                "shape": x.shape,
                "scale": x.scale,
                "hazard_ratio": x.hr,
                "median_control": x.median(False),
                "median_treatment": x.median(True),
            }

        return {
            "dropout_annual_rate": self.dropout_rate,
            "outcomes": {k: w(v) for k, v in self.outcomes.items()},
            "extra_components": {k: w(v) for k, v in self.extras.items()},
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
            raise WalkbackError(
                f"parameter {key} is to be calibrated (to target '{p.calibrate}'); "
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

    outcomes = {o.name: weibull(o.weibull, f"outcomes.{o.name}") for o in spec.weibull_outcomes}
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
