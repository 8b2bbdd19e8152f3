"""Section readers for [safety] (adverse events) and [economics] (costs and utilities)."""

from __future__ import annotations

from walkback.spec.reader import _Reader
from walkback.spec.types import Economics, Safety

#: numbers the [economics] section must give (all assumptions: the paper's breakdown is not public)
ECONOMIC_PARAMS = (
    "visits_mean_treatment",
    "visits_mean_control",
    "visits_dispersion",
    "cost_per_visit",
    "other_healthcare_cost_mean",
    "workdays_mean_treatment",
    "workdays_mean_control",
    "workdays_dispersion",
    "cost_per_workday",
    "programme_sessions",
    "programme_cost_per_session",
    "programme_attendance",
    "programme_fixed_cost",
    "utility_baseline_mean",
    "utility_baseline_sd",
    "utility_person_sd",
    "utility_time_sd",
    "utility_effect_3m",
    "utility_effect_6m",
    "utility_effect_12m",
)


def read_safety(r: _Reader, raw: dict) -> Safety | None:
    sf = r.table(raw, "safety", "", required=False)
    if not sf:
        return None
    r.keys(sf, "safety", ("adverse_event_share", "lower_limb_events", "lower_limb_rate_shape"))
    for k in ("adverse_event_share", "lower_limb_events"):
        r.keys(r.table(sf, k, "safety"), f"safety.{k}", ("treatment", "control"))
    shares = r.arm_params(sf, "adverse_event_share", "safety", unit=True)
    totals = r.arm_params(sf, "lower_limb_events", "safety")
    for a, p in totals.items():
        if p.value is None or p.value != int(p.value) or p.value < 0:
            raise r.fail(f"safety.lower_limb_events.{a}", "must be a whole number >= 0", p.value)
    shape = r.number(
        sf.get("lower_limb_rate_shape", 1.0), "safety.lower_limb_rate_shape", positive=True
    )
    return Safety(shares, totals, shape)


def read_economics(r: _Reader, raw: dict) -> Economics | None:
    ec = r.table(raw, "economics", "", required=False)
    if not ec:
        return None
    r.keys(
        ec,
        "economics",
        (*ECONOMIC_PARAMS, "currency", "wtp", "bootstrap_resamples", "bootstrap_seed"),
    )
    params = {}
    for k in ECONOMIC_PARAMS:
        if k not in ec:
            raise r.fail(f"economics.{k}", "is required")
        params[k] = r.number(ec[k], f"economics.{k}", positive=not k.startswith("utility_effect"))
    if not 0 < params["programme_attendance"] <= 1:
        raise r.fail(
            "economics.programme_attendance", "must be in (0, 1]", params["programme_attendance"]
        )
    if not 0 < params["utility_baseline_mean"] < 1:
        raise r.fail(
            "economics.utility_baseline_mean", "must be in (0, 1)", params["utility_baseline_mean"]
        )
    return Economics(
        currency=r.get(ec, "currency", "economics", str, default="AUD"),
        wtp=r.number(ec.get("wtp", 28000), "economics.wtp", positive=True),
        resamples=r.whole(ec, "bootstrap_resamples", "economics", default=5000, minimum=1),
        seed=r.whole(ec, "bootstrap_seed", "economics", default=1, minimum=1),
        params=params,
    )
