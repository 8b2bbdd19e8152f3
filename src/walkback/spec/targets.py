"""Section reader for [[targets]] (the published figures), with the TARGET_STATISTICS registry.

Computing a target's value from data is :mod:`walkback.targets`; this module only reads them.
"""

from __future__ import annotations

from walkback.spec.reader import _Reader
from walkback.spec.types import (
    ARM_KEYS,
    ECONOMIC_COLUMNS,
    NOT_REACHED,
    SAFETY_COLUMNS,
    Covariate,
    Outcome,
    Target,
)

#: statistic -> the Target fields it requires (besides name, value, precision, source, confidence)
TARGET_STATISTICS: dict[str, tuple[str, ...]] = {
    "count": ("arm",),
    "km_median": ("outcome", "arm"),
    "km_survival": ("outcome", "arm", "time"),
    "at_risk": ("outcome", "arm", "time"),
    "cox_hr": ("outcome",),
    "cox_p": ("outcome",),
    "logrank_p": ("outcome",),
    "events": ("outcome",),
    "median_followup": (),
    "rmst": ("outcome", "arm", "tau"),
    "mean": ("column",),
    "sd": ("column",),
    "share": ("column", "level"),
    "sum": ("column",),
    "fisher_p": ("column",),
    "icer": (),
    "prob_cost_effective": ("wtp",),
}
STATISTICS = tuple(TARGET_STATISTICS)
#: statistics of the economic model: a spec with one of them needs an [economics] section
ECONOMIC_STATISTICS = ("icer", "prob_cost_effective")
#: statistics whose figure carries a CI (a ``ci`` on any other could never be reproduced)
CI_STATISTICS = ("km_median", "km_survival", "cox_hr", "median_followup")
#: statistics whose value (or a CI limit) may be "NR": not reached
NR_STATISTICS = ("km_median", "median_followup")
#: every key a [[targets]] entry may have
TARGET_KEYS = (
    "name",
    "label",
    "statistic",
    "value",
    "ci",
    "precision",
    "source",
    "confidence",
    "outcome",
    "arm",
    "column",
    "level",
    "wtp",
    "derived",
    "time",
    "tau",
    "unit",
)
#: time units a target may be printed in (days per unit; a month is 365.25 / 12 days)
TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}
#: statistics whose value (and CI and precision) is a time
TIME_VALUED = ("km_median", "median_followup", "rmst")


def read_targets(r: _Reader, raw: dict) -> list[Target]:
    """Every target, registered in ``r.targets`` so that other sections can refer to them."""
    tlist = r.get(raw, "targets", "", list)
    targets = []
    for i, t in enumerate(tlist):
        where = f"targets[{i}]"
        if not isinstance(t, dict):
            raise r.fail(where, "must be a table", t)
        name = r.get(t, "name", where, str)
        if name in r.targets:
            raise r.fail(f"targets.{name}", "is defined twice")
        r.targets[name] = t
        targets.append(_target(r, t, name))
    return targets


def _value(r: _Reader, v, key: str, stat: str) -> float:
    """A published number, or "NR" (not reached) where the statistic allows it."""
    if v == "NR":
        if stat not in NR_STATISTICS:
            raise r.fail(key, f'can be "NR" only for {", ".join(NR_STATISTICS)}', v)
        return NOT_REACHED
    return r.number(v, key)


def _target(r: _Reader, t: dict, name: str) -> Target:
    r.keys(t, f"targets.{name}", TARGET_KEYS)
    stat = r.get(t, "statistic", f"targets.{name}", str)
    if stat not in TARGET_STATISTICS:
        raise r.fail(f"targets.{name}.statistic", f"must be one of {', '.join(STATISTICS)}", stat)
    value = _value(r, t.get("value"), f"targets.{name}.value", stat)
    ci = t.get("ci")
    if ci is not None:
        if stat not in CI_STATISTICS:
            raise r.fail(
                f"targets.{name}.ci",
                f"statistic '{stat}' has no CI (only {', '.join(CI_STATISTICS)} do); remove it",
                ci,
            )
        if not (isinstance(ci, list) and len(ci) == 2):
            raise r.fail(f"targets.{name}.ci", "must be a list [lower, upper]", ci)
        ci = tuple(_value(r, c, f"targets.{name}.ci", stat) for c in ci)
        if not ci[0] <= value <= ci[1]:
            raise r.fail(f"targets.{name}.ci", "must contain the value", list(t["ci"]))
    if stat == "at_risk" and not value >= 0:
        raise r.fail(f"targets.{name}.value", "a number at risk must be 0 or more", t["value"])
    for key in ("time", "tau"):
        if key in t and (r.number(t[key], f"targets.{name}.{key}") <= 0):
            raise r.fail(f"targets.{name}.{key}", "must be a positive number of days", t[key])
    unit = r.get(t, "unit", f"targets.{name}", str, default="days")
    if unit not in TIME_UNITS:
        raise r.fail(f"targets.{name}.unit", f"must be one of {', '.join(TIME_UNITS)}", unit)
    scale = TIME_UNITS[unit]  # the spec's numbers in days, whatever unit the paper printed
    vscale = scale if stat in TIME_VALUED else 1.0
    tgt = Target(
        name=name,
        label=r.get(t, "label", f"targets.{name}", str, default=name),
        statistic=stat,
        value=value * vscale,
        precision=r.number(t.get("precision"), f"targets.{name}.precision", positive=True) * vscale,
        source=r.get(t, "source", f"targets.{name}", str),
        confidence=r.get(t, "confidence", f"targets.{name}", str),
        ci=None if ci is None else (ci[0] * vscale, ci[1] * vscale),
        outcome=t.get("outcome"),
        arm=t.get("arm"),
        column=t.get("column"),
        level=None if t.get("level") is None else str(t.get("level")),
        wtp=(r.number(t["wtp"], f"targets.{name}.wtp", positive=True) if "wtp" in t else None),
        derived=bool(t.get("derived", False)),
        time=float(t["time"]) * scale if "time" in t else None,
        tau=float(t["tau"]) * scale if "tau" in t else None,
        unit=unit,
    )
    for key in TARGET_STATISTICS[stat]:
        if getattr(tgt, key) is None:
            raise r.fail(f"targets.{name}.{key}", f"is required for statistic '{stat}'")
    if tgt.arm is not None and tgt.arm not in ARM_KEYS:
        raise r.fail(f"targets.{name}.arm", "must be 'treatment' or 'control'", tgt.arm)
    return tgt


def check_target_references(
    r: _Reader,
    targets: list[Target],
    outcomes: dict[str, Outcome],
    covariates: tuple[Covariate, ...],
) -> None:
    """Each target's outcome and column must exist in the spec."""
    for t in targets:
        if t.outcome is not None and t.outcome not in outcomes:
            raise r.fail(f"targets.{t.name}.outcome", "names no outcome in [outcomes]", t.outcome)
        known = {c.name for c in covariates} | set(SAFETY_COLUMNS) | set(ECONOMIC_COLUMNS)
        if t.column is not None and t.column not in known:
            raise r.fail(
                f"targets.{t.name}.column",
                "names no covariate, safety or economic column",
                t.column,
            )
