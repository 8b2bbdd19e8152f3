"""The calibration's pooled population: many simulated trials drawn once with common random
numbers, and the model's expected figures over it (so every function of the parameters is
deterministic and a root finder can solve for them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from walkback.draws import (
    draw_baseline,
    event_days,
    followup_days,
    latent_exponentials,
    spawn_streams,
)
from walkback.exceptions import WalkbackError
from walkback.model import Model
from walkback.spec import Target, TrialSpec


class CalibrationError(WalkbackError, ValueError):
    """The published targets cannot be reached by the spec's model."""


@dataclass
class Pool:
    """A pooled population of simulated trials with fixed random numbers."""

    base: dict
    latent: dict[str, np.ndarray]
    m: int


def pooled_population(spec: TrialSpec, replicates: int, seed: int) -> Pool:
    parts = []
    for child in np.random.SeedSequence(seed).spawn(replicates):
        streams = spawn_streams(child, spec)
        base = draw_baseline(spec, streams["baseline"])
        parts.append((base, latent_exponentials(spec, streams, base["treated"].size)))
    base = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
    latent = {k: np.concatenate([p[1][k] for p in parts]) for k in parts[0][1]}
    return Pool(base, latent, replicates)


class Evaluator:
    def __init__(self, spec: TrialSpec, pool: Pool) -> None:
        self.spec, self.pool = spec, pool
        self._components: dict = {}
        self._followup: dict = {}
        self._beta: dict = {}

    def data(self, model: Model):
        if len(self._components) > 256:
            self._components.clear()
        fu = self._followup.get(model.dropout_rate)
        if fu is None:
            fu = followup_days(self.spec, self.pool.base, model.dropout_rate)
            self._followup = {model.dropout_rate: fu}
        treated = self.pool.base["treated"]
        days = event_days(self.spec, model, self.pool.latent, treated, self._components)
        return fu, days

    def expected(self, model: Model, target: Target, cache=None) -> float:
        fu, days = cache if cache is not None else self.data(model)
        treated = self.pool.base["treated"]
        if target.statistic == "events":
            ev = days[target.outcome] <= fu
            if target.arm is not None:
                ev = ev & (treated == (target.arm == "treatment"))
            return float(ev.sum() / self.pool.m)
        if target.statistic in ("cox_hr", "cox_p"):
            from scipy import stats

            from walkback.estimators.cox import counts_by_time, cox_binary_counts

            d = days[target.outcome]
            _, n1, n0, d1, d0 = counts_by_time(np.minimum(d, fu), d <= fu, treated)
            start = self._beta.get(target.outcome, 0.0)
            fit = cox_binary_counts(n1, n0, d1, d0, ties=self.spec.ties, start=start)
            self._beta[target.outcome] = fit.coef
            if target.statistic == "cox_hr":
                return fit.hazard_ratio
            se_trial = fit.se * math.sqrt(self.pool.m)
            return float(2 * stats.norm.sf(abs(fit.coef) / se_trial))
        if target.statistic == "km_median":
            arm = treated == (target.arm == "treatment")
            d = days[target.outcome][arm]
            from walkback.estimators import kaplan_meier

            km = kaplan_meier(np.minimum(d, fu[arm]), (d <= fu[arm]).astype(int))
            return float(km.median.estimate)
        raise CalibrationError(f"cannot calibrate to a '{target.statistic}' target ({target.name})")
