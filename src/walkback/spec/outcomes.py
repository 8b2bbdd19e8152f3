"""Section reader for [outcomes]: one reader per outcome model, in OUTCOME_MODELS.

A parameter an outcome model needs but the spec leaves out is *free*: solved jointly from all of
that outcome's targets by :mod:`walkback.fit` (``Param.free``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from walkback.spec.reader import _Reader, one_of
from walkback.spec.types import FREE, Outcome, Param, WeibullOutcome

#: keys every outcome table may have, whatever its model
_COMMON = ("label", "model", "primary")
_WEIBULL = ("median_control", "hazard_ratio", "shape", "median_treatment")


def read_weibull(r: _Reader, o: dict, where: str, extra: bool = False) -> WeibullOutcome:
    """Weibull PH parameters: median_control, hazard_ratio and shape or median_treatment.

    Any of them left out is free (fitted); an ``extra`` component needs them all written.
    """

    def opt(key: str) -> Param | None:
        return r.param(o[key], f"{where}.{key}") if key in o else None

    w = WeibullOutcome(
        median_control=opt("median_control") or FREE,
        hazard_ratio=opt("hazard_ratio") or FREE,
        shape=opt("shape"),
        median_treatment=opt("median_treatment"),
    )
    if w.shape is not None and w.median_treatment is not None:
        raise r.fail(where, "give shape or median_treatment, not both")
    if w.shape is None and w.median_treatment is None:
        if extra:
            raise r.fail(where, "give exactly one of shape or median_treatment")
        w = WeibullOutcome(w.median_control, w.hazard_ratio, shape=FREE)
    if extra and (w.median_control.free or w.hazard_ratio.free):
        raise r.fail(where, "an extra component needs median_control and hazard_ratio")
    if w.median_treatment is not None:
        hr, mc, mt = w.hazard_ratio.value, w.median_control.value, w.median_treatment.value
        if None in (hr, mc, mt) or hr == 1 or mc == mt or math.log(hr) / math.log(mc / mt) <= 0:
            raise r.fail(
                where,
                "median_control, median_treatment and hazard_ratio must be fixed "
                "and consistent (HR < 1 needs a longer treatment median)",
            )
    return w


def _correlation(r: _Reader, o: dict, where: str) -> dict[str, float]:
    corr = {}
    for other, rho in r.table(o, "correlation", where, required=False).items():
        rho = r.number(rho, f"{where}.correlation.{other}")
        if not -1 < rho < 1:
            raise r.fail(f"{where}.correlation.{other}", "must be in (-1, 1)", rho)
        corr[other] = rho
    return corr


def _weibull_ph(r: _Reader, o: dict, name: str, where: str, label: str) -> Outcome:
    """Weibull PH: S_control = exp(-(t/scale)^shape), S_treatment = S_control^HR."""
    r.keys(o, where, (*_COMMON, *_WEIBULL, "correlation"))
    return Outcome(
        name,
        label,
        "weibull_ph",
        bool(o.get("primary", False)),
        weibull=read_weibull(r, o, where),
        correlation=_correlation(r, o, where),
    )


def _cure_weibull_ph(r: _Reader, o: dict, name: str, where: str, label: str) -> Outcome:
    """Mixture cure: S_arm = cure_arm + (1 - cure_arm) * S_u,arm, with Weibull PH for the uncured
    (``median_control`` the uncured control median, ``hazard_ratio`` the uncured HR)."""
    keys = ("cure_control", "cure_treatment", "shape", "median_control", "hazard_ratio")
    r.keys(o, where, (*_COMMON, *keys, "correlation"))
    params = {}
    for k in keys:
        unit = k.startswith("cure_")
        params[k] = r.param(o[k], f"{where}.{k}", unit=unit) if k in o else FREE
    return Outcome(
        name,
        label,
        "cure_weibull_ph",
        bool(o.get("primary", False)),
        correlation=_correlation(r, o, where),
        params=params,
    )


def _piecewise_exponential(r: _Reader, o: dict, name: str, where: str, label: str) -> Outcome:
    """Constant hazards within intervals starting at ``breaks`` (days, the first 0), per arm:
    ``hazard_control`` (per day) and ``hazard_ratio`` (treatment / control), each a list with one
    number per interval or one number for all; left out, they are free."""
    r.keys(o, where, (*_COMMON, "breaks", "hazard_control", "hazard_ratio", "correlation"))
    breaks = r.get(o, "breaks", where, list)
    nums = [r.number(b, f"{where}.breaks") for b in breaks]
    if not nums or nums[0] != 0 or any(b <= a for a, b in zip(nums, nums[1:], strict=False)):
        raise r.fail(f"{where}.breaks", "must start at 0 and increase", breaks)
    params: dict[str, Param] = {}
    for k in ("hazard_control", "hazard_ratio"):
        v = o.get(k)
        if isinstance(v, list):
            if len(v) != len(nums):
                raise r.fail(f"{where}.{k}", f"needs one number per interval ({len(nums)})", v)
            for i, x in enumerate(v):
                params[f"{k}[{i}]"] = r.param(x, f"{where}.{k}[{i}]")
        elif v is None or k == "hazard_control":
            for i in range(len(nums)):
                params[f"{k}[{i}]"] = FREE if v is None else r.param(v, f"{where}.{k}")
        else:  # one hazard ratio for every interval: proportional hazards, one parameter
            params[k] = r.param(v, f"{where}.{k}")
    return Outcome(
        name,
        label,
        "piecewise_exponential",
        bool(o.get("primary", False)),
        correlation=_correlation(r, o, where),
        params=params,
        breaks=tuple(nums),
    )


def _first_of(r: _Reader, o: dict, name: str, where: str, label: str) -> Outcome:
    """The first of some latent-time components and an optional extra Weibull PH component."""
    r.keys(o, where, (*_COMMON, "components", "extra"))
    comps = tuple(r.get(o, "components", where, list))
    extra = None
    if "extra" in o:
        r.keys(o["extra"], f"{where}.extra", _WEIBULL)
        extra = read_weibull(r, o["extra"], f"{where}.extra", extra=True)
    return Outcome(
        name, label, "first_of", bool(o.get("primary", False)), components=comps, extra=extra
    )


#: model name -> reader of one [outcomes.<name>] table (``reader(r, table, name, where, label)``)
OUTCOME_MODELS: dict[str, Callable[[_Reader, dict, str, str, str], Outcome]] = {
    "weibull_ph": _weibull_ph,
    "cure_weibull_ph": _cure_weibull_ph,
    "piecewise_exponential": _piecewise_exponential,
    "first_of": _first_of,
}


def read_outcomes(r: _Reader, raw: dict) -> dict[str, Outcome]:
    """Every outcome, then the checks across outcomes (components, correlations, one primary)."""
    outcomes: dict[str, Outcome] = {}
    for name, o in r.table(raw, "outcomes", "").items():
        where = f"outcomes.{name}"
        if not isinstance(o, dict):
            raise r.fail(where, "must be a table", o)
        model = r.get(o, "model", where, str)
        olabel = r.get(o, "label", where, str, default=name)
        reader = OUTCOME_MODELS.get(model)
        if reader is None:
            raise r.fail(f"{where}.model", f"must be {one_of(OUTCOME_MODELS)}", model)
        outcomes[name] = reader(r, o, name, where, olabel)
    for o in outcomes.values():
        for comp in o.components:
            if comp not in outcomes or not outcomes[comp].latent:
                raise r.fail(
                    f"outcomes.{o.name}.components",
                    "must name outcomes with a latent time (not first_of) defined above",
                    comp,
                )
        for other in o.correlation:
            if other not in outcomes or not outcomes[other].latent or other == o.name:
                raise r.fail(
                    f"outcomes.{o.name}.correlation",
                    "must name another outcome with a latent time",
                    other,
                )
    if sum(o.primary for o in outcomes.values()) != 1:
        raise r.fail("outcomes", "exactly one outcome must have primary = true")
    if not outcomes[next(n for n, o in outcomes.items() if o.primary)].latent:
        raise r.fail("outcomes", "the primary outcome must have a latent time (not first_of)")
    return outcomes
