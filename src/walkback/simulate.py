"""Simulate participant-level two-arm trials from a trial spec.

The generating model (documented in the spec and in ``Model``):

* **Recruitment**: N = the sum of the arm sizes, with randomisation dates drawn from a piecewise-
  constant rate over the recruitment window (integer days), numbered in recruitment order.
* **Randomisation**: strata levels drawn with the spec's shares; within each stratum cell,
  permuted blocks (sizes drawn uniformly from ``block_sizes``, each balanced to ``ratio``) are
  filled in recruitment order. Arm sizes therefore vary a little around the spec's, as in a trial.
* **Follow-up**: monthly self-report. A participant is followed to the final follow-up date, capped
  at ``max_months`` and extended to at least ``min_months`` (whole reporting intervals). Dropout is
  exponential at ``annual_rate``; a participant who drops out is censored at the last report
  they completed. ``followup_days`` is the day of the last completed report,
  ``round(months * days_per_month)``.
* **Outcomes**: each ``weibull_ph`` outcome has a latent continuous time with
  S_control(t) = exp(-(t/scale)^shape) and S_treatment = S_control^HR; latent times of different
  outcomes are linked by a Gaussian copula (the spec's correlations). A ``first_of`` outcome (any
  recurrence) is the first of its components and an extra independent Weibull PH component.
  Reports are monthly but ask for the date of a recurrence, so an event's day is the day it began,
  ``ceil(t)`` (day 1 is the first day after randomisation). An event counts when its day is at or
  before ``followup_days``; otherwise the outcome is censored at ``followup_days``. Because ceil is
  monotone, a ``first_of`` outcome is never later than any of its components that is an event.

Randomness: ``SeedSequence(seed)`` is spawned into independent streams (baseline, covariates, then
one per latent outcome time), so changing one outcome's stream leaves the others unchanged.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from walkback.exceptions import WalkbackError
from walkback.spec import Param, TrialSpec, WeibullOutcome

# heavy imports are deferred: the Monte Carlo path starts in a fraction of a second
if TYPE_CHECKING:
    import pandas as pd


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


# ---- the streams -----------------------------------------------------------------------------
def stream_names(spec: TrialSpec) -> list[str]:
    """Names of the independent random streams, in spawn order."""
    names = ["baseline", "covariates"]
    names += [f"outcome:{o.name}" for o in spec.weibull_outcomes]
    names += [
        f"extra:{o.name}"
        for o in spec.outcomes.values()
        if o.model == "first_of" and o.extra is not None
    ]
    # appended last: adding them leaves every earlier stream (and so the outcomes) unchanged
    names += ["safety"] if spec.safety is not None else []
    names += ["economics"] if spec.economics is not None else []
    return names


def spawn_streams(
    seed: int | np.random.SeedSequence, spec: TrialSpec
) -> dict[str, np.random.Generator]:
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    names = stream_names(spec)
    return {n: np.random.default_rng(s) for n, s in zip(names, ss.spawn(len(names)), strict=True)}


# ---- the pieces ------------------------------------------------------------------------------
def draw_baseline(spec: TrialSpec, rng: np.random.Generator) -> dict:
    """Recruitment dates, strata, arms (stratified permuted blocks) and the follow-up inputs.

    Dropout is drawn as unit exponentials, scaled by the rate in :func:`followup_days`, so the
    stream's use does not depend on the model's parameters (common random numbers for calibration).
    """
    n = spec.n_total
    start = spec.recruitment_start
    window = (spec.recruitment_end - start).days
    edges = [(d - start).days for d, _ in spec.recruitment_rate] + [window]
    weights = np.array([w for _, w in spec.recruitment_rate]) * np.diff(edges)
    cum = np.concatenate(([0.0], np.cumsum(weights) / weights.sum()))
    u = np.sort(rng.random(n))
    k = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(weights) - 1)
    frac = (u - cum[k]) / (cum[k + 1] - cum[k])
    offset = np.floor(np.array(edges)[k] + frac * np.diff(edges)[k]).astype(np.int64)
    offset = np.minimum(offset, window)

    codes = np.zeros((n, len(spec.strata)), dtype=np.int64)
    for j, s in enumerate(spec.strata):
        codes[:, j] = rng.choice(len(s.levels), size=n, p=np.asarray(s.shares))
    cell = np.zeros(n, dtype=np.int64)
    for j, s in enumerate(spec.strata):
        cell = cell * len(s.levels) + codes[:, j]
    treated = np.zeros(n, dtype=bool)
    a, b = spec.ratio
    for c in np.unique(cell):
        idx = np.flatnonzero(cell == c)
        seq: list[np.ndarray] = []
        filled = 0
        while filled < idx.size:
            size = int(rng.choice(spec.block_sizes))
            unit = size // (a + b)
            block = np.array([True] * (a * unit) + [False] * (b * unit))
            seq.append(rng.permutation(block))
            filled += size
        treated[idx] = np.concatenate(seq)[: idx.size]

    dpm, every = spec.days_per_month, spec.report_every_months
    to_final = (spec.final_date - start).days - offset
    admin = admin_months(to_final, dpm, every, spec.min_months, spec.max_months)
    return {
        "offset": offset,
        "strata_codes": codes,
        "treated": treated,
        "admin_months": admin,
        "dropout_e1": rng.standard_exponential(n),
    }


def admin_months(to_final, dpm: float, every: int, min_months: int, max_months: int):
    """Administrative follow-up in whole reporting intervals.

    Up to the final follow-up date, at least ``min_months`` (rounded up to a whole interval) and
    at most ``max_months`` (rounded down).
    """
    intervals = np.floor(np.floor(to_final / dpm) / every).astype(np.int64)
    lo, hi = -(-min_months // every), max_months // every
    return np.clip(intervals, lo, max(lo, hi)) * every


def followup_days(spec: TrialSpec, base: dict, dropout_rate: float) -> np.ndarray:
    """Day of each participant's last completed report (administrative end or dropout)."""
    dpm, every = spec.days_per_month, spec.report_every_months
    admin = base["admin_months"]
    if dropout_rate > 0:
        drop_days = base["dropout_e1"] * (365.25 / dropout_rate)
        done = np.floor(drop_days / (dpm * every)).astype(np.int64) * every
        months = np.minimum(admin, done)
    else:
        months = admin
    return np.rint(months * dpm).astype(np.int64)


def draw_covariates(spec: TrialSpec, model: Model, rng: np.random.Generator, n: int) -> dict:
    out = {}
    for c in spec.covariates:
        p = model.covariates[c.name]
        if c.distribution == "normal":
            loc, scale = _untruncated(p["mean"], p["sd"], p["min"], p["max"])
            x = rng.normal(loc, scale, n)
            bad = (x < p["min"]) | (x > p["max"])
            while bad.any():  # truncation by redrawing
                x[bad] = rng.normal(loc, scale, int(bad.sum()))
                bad = (x < p["min"]) | (x > p["max"])
            if p["decimals"] is not None:
                x = np.round(x, p["decimals"])
                if p["decimals"] == 0:
                    x = x.astype(np.int64)
            out[c.name] = x
        else:
            first = rng.random(n) < p["share"]
            out[c.name] = np.where(first, p["levels"][0], p["levels"][1])
    return out


def correlation_matrix(spec: TrialSpec) -> np.ndarray:
    names = [o.name for o in spec.weibull_outcomes]
    r = np.eye(len(names))
    for i, o in enumerate(spec.weibull_outcomes):
        for other, rho in o.correlation.items():
            j = names.index(other)
            r[i, j] = r[j, i] = rho
    try:
        return np.linalg.cholesky(r)
    except np.linalg.LinAlgError:
        raise WalkbackError(
            "the outcome correlations do not form a valid correlation matrix"
        ) from None


def latent_exponentials(
    spec: TrialSpec, streams: dict[str, np.random.Generator], n: int
) -> dict[str, np.ndarray]:
    """Unit-exponential latent draws (-log U) for every outcome model component.

    ``weibull_ph`` outcomes are linked by a Gaussian copula: correlated normals Z (Cholesky, so
    column k depends only on streams 1..k and later outcomes can be redrawn without moving earlier
    ones) become U = Phi(Z). A ``first_of`` outcome's extra component is independent.
    """
    e = np.column_stack(
        [streams[f"outcome:{o.name}"].standard_normal(n) for o in spec.weibull_outcomes]
    )
    z = e @ correlation_matrix(spec).T
    from scipy.special import log_ndtr

    out = {o.name: -log_ndtr(z[:, k]) for k, o in enumerate(spec.weibull_outcomes)}
    for o in spec.outcomes.values():
        if o.model == "first_of" and o.extra is not None:
            out[f"extra:{o.name}"] = streams[f"extra:{o.name}"].standard_exponential(n)
    return out


def event_days(
    spec: TrialSpec,
    model: Model,
    latent: dict[str, np.ndarray],
    treated: np.ndarray,
    cache: dict | None = None,
) -> dict[str, np.ndarray]:
    """Uncensored event day of every outcome (ceil of the latent time; may exceed follow-up).

    ``cache`` (optional, caller-owned) memoises each component's days by its parameters, so a
    solver that varies one component does not recompute the others.
    """

    def component(key: str, w: Weibull) -> np.ndarray:
        if cache is None:
            return _ceil_days(w.time_from_exponential(latent[key], treated))
        if (key, w) not in cache:
            cache[(key, w)] = _ceil_days(w.time_from_exponential(latent[key], treated))
        return cache[(key, w)]

    days = {o.name: component(o.name, model.outcomes[o.name]) for o in spec.weibull_outcomes}
    for o in spec.outcomes.values():
        if o.model == "first_of":
            parts = [days[c] for c in o.components]
            if o.name in model.extras:
                parts.append(component(f"extra:{o.name}", model.extras[o.name]))
            days[o.name] = np.minimum.reduce(parts)
    return days


def _ceil_days(t: np.ndarray) -> np.ndarray:
    big = np.iinfo(np.int64).max // 4
    return np.minimum(np.ceil(t), big).astype(np.int64)


def assemble(
    spec: TrialSpec,
    base: dict,
    covs: dict,
    days: dict[str, np.ndarray],
    fu: np.ndarray,
    extra_columns: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The participant-level table (columns as documented in the module docstring)."""
    n = base["treated"].size
    start = np.datetime64(spec.recruitment_start.isoformat(), "D")
    cols: dict[str, object] = {
        "participant_id": [f"P{i:04d}" for i in range(1, n + 1)],
        "arm": np.where(base["treated"], spec.arm_labels["treatment"], spec.arm_labels["control"]),
    }
    for j, s in enumerate(spec.strata):
        cols[s.column] = np.asarray(s.levels, dtype=object)[base["strata_codes"][:, j]]
    cols["randomised_on"] = np.datetime_as_string(start + base["offset"], unit="D")
    cols.update(covs)
    cols["followup_days"] = fu
    for name in spec.outcomes:
        d = days[name]
        ev = d <= fu
        cols[f"{name}_days"] = np.where(ev, d, fu)
        cols[f"{name}_event"] = ev.astype(np.int64)
    cols.update(extra_columns or {})
    import pandas as pd

    return pd.DataFrame(cols)


def simulate(spec: TrialSpec, seed: int, model: Model | None = None) -> pd.DataFrame:
    """One simulated trial from ``spec``; identical for the same (spec, seed, model).

    ``model`` defaults to ``calibrate(spec).model``.
    """
    if model is None:
        from walkback.calibrate import calibrate

        model = calibrate(spec).model
    streams = spawn_streams(seed, spec)
    return simulate_streams(spec, model, streams)


def simulate_streams(
    spec: TrialSpec, model: Model, streams: dict[str, np.random.Generator]
) -> pd.DataFrame:
    base = draw_baseline(spec, streams["baseline"])
    n = base["treated"].size
    covs = draw_covariates(spec, model, streams["covariates"], n)
    latent = latent_exponentials(spec, streams, n)
    days = event_days(spec, model, latent, base["treated"])
    extra = {}
    if spec.safety is not None:
        extra.update(draw_safety(spec, streams["safety"], base["treated"]))
    if spec.economics is not None:
        extra.update(draw_economics(spec, streams["economics"], base["treated"]))
    fu = followup_days(spec, base, model.dropout_rate)
    return assemble(spec, base, covs, days, fu, extra)


# ---- safety and economics (12-month data; every number from the spec's [safety], [economics])
def lower_limb_rates(spec: TrialSpec, rng: np.random.Generator, treated: np.ndarray) -> np.ndarray:
    """Individual lower-limb adverse-event rates per 12 months: the arm's mean rate (published
    events / arm size) times a gamma frailty with mean 1."""
    sf = spec.safety
    k = sf.lower_limb_rate_shape
    mean = np.where(
        treated,
        sf.lower_limb_total["treatment"].value / spec.arm_sizes["treatment"].value,
        sf.lower_limb_total["control"].value / spec.arm_sizes["control"].value,
    )
    return mean * rng.gamma(k, 1.0 / k, treated.size)


def other_ae_probability(spec: TrialSpec, treated: np.ndarray) -> np.ndarray:
    """Probability of an adverse event other than a lower-limb one, chosen so that the share with
    at least one adverse event equals the spec's: 1 - (1 - share) / P(no lower-limb event)."""
    sf = spec.safety
    k = sf.lower_limb_rate_shape
    out = np.empty(treated.size)
    for arm, mask in (("treatment", treated), ("control", ~treated)):
        mean = sf.lower_limb_total[arm].value / spec.arm_sizes[arm].value
        p_none = (k / (k + mean)) ** k  # negative binomial zero probability
        out[mask] = max(0.0, 1.0 - (1.0 - sf.ae_share[arm].value) / p_none)
    return out


def draw_safety(
    spec: TrialSpec,
    rng: np.random.Generator,
    treated: np.ndarray,
    totals: dict[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """``lower_limb_ae_count`` (Poisson counts with gamma-frailty rates: negative binomial) and
    ``adverse_event_12m`` (1 if any lower-limb event or another adverse event).

    With ``totals`` (events per arm) the counts are drawn given their arm totals (multinomial with
    probabilities proportional to the rates), which is how the twin hits published totals.
    """
    rates = lower_limb_rates(spec, rng, treated)
    if totals is None:
        counts = rng.poisson(rates)
    else:
        counts = np.zeros(treated.size, dtype=np.int64)
        for arm, mask in (("treatment", treated), ("control", ~treated)):
            idx = np.flatnonzero(mask)
            r = rates[idx]
            counts[idx] = rng.multinomial(int(totals[arm]), r / r.sum())
    other = rng.random(treated.size) < other_ae_probability(spec, treated)
    ae = ((counts > 0) | other).astype(np.int64)
    return {"adverse_event_12m": ae, "lower_limb_ae_count": counts.astype(np.int64)}


def _neg_binomial(rng: np.random.Generator, mean: np.ndarray, size: float) -> np.ndarray:
    return rng.poisson(mean * rng.gamma(size, 1.0 / size, mean.size))


def draw_economics(
    spec: TrialSpec, rng: np.random.Generator, treated: np.ndarray
) -> dict[str, np.ndarray]:
    """Healthcare visits, days off work, costs (AUD, to the cent) and EQ-5D utilities with QALYs.

    Visits and days off work are negative binomial with arm-specific means; healthcare cost =
    visits x cost per visit + other healthcare (gamma); productivity cost = days off x daily
    earnings; programme cost (treatment arm) = attended sessions x cost per session + a fixed
    cost; the societal total is the sum. Utilities: baseline 1 - gamma (mean and SD from the
    spec), then at 3, 6 and 12 months baseline + a person effect + visit noise + the arm effect,
    capped at 1 and rounded to 3 decimals as EQ-5D values are; QALYs are the area under the
    utility curve over the year (trapezoids at 0, 3, 6 and 12 months).
    """
    p = spec.economics.params
    n = treated.size
    t = treated.astype(bool)
    visits = _neg_binomial(
        rng,
        np.where(t, p["visits_mean_treatment"], p["visits_mean_control"]),
        p["visits_dispersion"],
    )
    workdays = _neg_binomial(
        rng,
        np.where(t, p["workdays_mean_treatment"], p["workdays_mean_control"]),
        p["workdays_dispersion"],
    )
    other = rng.gamma(0.5, p["other_healthcare_cost_mean"] / 0.5, n)
    sessions = rng.binomial(int(p["programme_sessions"]), p["programme_attendance"], n)
    cost_hc = np.round(visits * p["cost_per_visit"] + other, 2)
    cost_prod = np.round(workdays * p["cost_per_workday"], 2)
    cost_int = np.round(
        np.where(t, sessions * p["programme_cost_per_session"] + p["programme_fixed_cost"], 0.0), 2
    )
    m, sd = 1.0 - p["utility_baseline_mean"], p["utility_baseline_sd"]
    base = np.round(np.maximum(1.0 - rng.gamma(m * m / (sd * sd), sd * sd / m, n), -0.5), 3)
    person = rng.normal(0.0, p["utility_person_sd"], n)
    utilities = [base]
    for key in ("utility_effect_3m", "utility_effect_6m", "utility_effect_12m"):
        u = base + person + np.where(t, p[key], 0.0) + rng.normal(0.0, p["utility_time_sd"], n)
        utilities.append(np.round(np.clip(u, -0.5, 1.0), 3))
    return economics_columns(visits, workdays, cost_int, cost_hc, cost_prod, utilities)


def economics_columns(visits, workdays, cost_int, cost_hc, cost_prod, utilities) -> dict:
    """Assemble the economic columns; totals and QALYs are derived, never drawn."""
    from walkback.economics import qaly_auc

    u = np.column_stack(utilities)
    return {
        "healthcare_visits_12m": visits.astype(np.int64),
        "work_days_lost_12m": workdays.astype(np.int64),
        "cost_intervention_aud": cost_int,
        "cost_healthcare_aud": cost_hc,
        "cost_productivity_aud": cost_prod,
        "cost_total_aud": np.round(cost_int + cost_hc + cost_prod, 2),
        "eq5d_baseline": u[:, 0],
        "eq5d_3m": u[:, 1],
        "eq5d_6m": u[:, 2],
        "eq5d_12m": u[:, 3],
        "qaly_12m": np.round(qaly_auc(u, [0.0, 0.25, 0.5, 1.0]), 6),
    }
