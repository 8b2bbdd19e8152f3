"""Section reader for [outcomes]: one reader per outcome model, in OUTCOME_MODELS."""

from __future__ import annotations

import math
from collections.abc import Callable

from walkback.spec.reader import _Reader, one_of
from walkback.spec.types import Outcome, WeibullOutcome


def read_weibull(r: _Reader, o: dict, where: str) -> WeibullOutcome:
    """Weibull PH parameters: median_control, hazard_ratio and one of shape or median_treatment."""
    w = WeibullOutcome(
        median_control=r.param(o.get("median_control"), f"{where}.median_control"),
        hazard_ratio=r.param(o.get("hazard_ratio"), f"{where}.hazard_ratio"),
        shape=r.param(o["shape"], f"{where}.shape") if "shape" in o else None,
        median_treatment=(
            r.param(o["median_treatment"], f"{where}.median_treatment")
            if "median_treatment" in o
            else None
        ),
    )
    if (w.shape is None) == (w.median_treatment is None):
        raise r.fail(where, "give exactly one of shape or median_treatment")
    if w.median_treatment is not None:
        hr, mc, mt = w.hazard_ratio.value, w.median_control.value, w.median_treatment.value
        if None in (hr, mc, mt) or hr == 1 or mc == mt or math.log(hr) / math.log(mc / mt) <= 0:
            raise r.fail(
                where,
                "median_control, median_treatment and hazard_ratio must be fixed "
                "and consistent (HR < 1 needs a longer treatment median)",
            )
    return w


def _weibull_ph(r: _Reader, o: dict, name: str, where: str, label: str) -> Outcome:
    """A Weibull PH outcome, optionally correlated with others (Gaussian copula)."""
    corr = {}
    for other, rho in o.get("correlation", {}).items():
        rho = r.number(rho, f"{where}.correlation.{other}")
        if not -1 < rho < 1:
            raise r.fail(f"{where}.correlation.{other}", "must be in (-1, 1)", rho)
        corr[other] = rho
    return Outcome(
        name,
        label,
        "weibull_ph",
        bool(o.get("primary", False)),
        weibull=read_weibull(r, o, where),
        correlation=corr,
    )


def _first_of(r: _Reader, o: dict, name: str, where: str, label: str) -> Outcome:
    """The first of some weibull_ph components and an optional extra Weibull PH component."""
    comps = tuple(r.get(o, "components", where, list))
    extra = read_weibull(r, o["extra"], f"{where}.extra") if "extra" in o else None
    return Outcome(
        name, label, "first_of", bool(o.get("primary", False)), components=comps, extra=extra
    )


#: model name -> reader of one [outcomes.<name>] table (``reader(r, table, name, where, label)``)
OUTCOME_MODELS: dict[str, Callable[[_Reader, dict, str, str, str], Outcome]] = {
    "weibull_ph": _weibull_ph,
    "first_of": _first_of,
}


def read_outcomes(r: _Reader, raw: dict) -> dict[str, Outcome]:
    """Every outcome, then the checks across outcomes (components, correlations, one primary)."""
    outcomes: dict[str, Outcome] = {}
    for name, o in r.table(raw, "outcomes", "").items():
        where = f"outcomes.{name}"
        model = r.get(o, "model", where, str)
        olabel = r.get(o, "label", where, str, default=name)
        reader = OUTCOME_MODELS.get(model)
        if reader is None:
            raise r.fail(f"{where}.model", f"must be {one_of(OUTCOME_MODELS)}", model)
        outcomes[name] = reader(r, o, name, where, olabel)
    for o in outcomes.values():
        for comp in o.components:
            if comp not in outcomes or outcomes[comp].model != "weibull_ph":
                raise r.fail(
                    f"outcomes.{o.name}.components",
                    "must name weibull_ph outcomes defined above",
                    comp,
                )
        for other in o.correlation:
            if other not in outcomes or outcomes[other].model != "weibull_ph" or other == o.name:
                raise r.fail(
                    f"outcomes.{o.name}.correlation", "must name another weibull_ph outcome", other
                )
    if sum(o.primary for o in outcomes.values()) != 1:
        raise r.fail("outcomes", "exactly one outcome must have primary = true")
    if outcomes[next(n for n, o in outcomes.items() if o.primary)].model != "weibull_ph":
        raise r.fail("outcomes", "the primary outcome must be a weibull_ph outcome")
    return outcomes
