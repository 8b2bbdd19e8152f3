"""Secondary 12-month outcomes: adverse events (safety) and costs, visits and EQ-5D utilities
(economics). Every number comes from the spec's [safety] and [economics] sections."""

from __future__ import annotations

import numpy as np

from walkback.spec import TrialSpec


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
