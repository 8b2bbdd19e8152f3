"""Section reader for [covariates]: one reader per distribution, in COVARIATE_DISTRIBUTIONS."""

from __future__ import annotations

import math
from collections.abc import Callable

from walkback.spec.reader import _Reader, one_of
from walkback.spec.types import Covariate


def _normal(r: _Reader, c: dict, where: str) -> dict:
    """A normal distribution (truncated to [min, max], optionally rounded to ``decimals``)."""
    params = {
        "mean": r.param(c.get("mean"), f"{where}.mean", positive=False),
        "sd": r.param(c.get("sd"), f"{where}.sd"),
        "min": r.number(c.get("min", -math.inf), f"{where}.min") if "min" in c else -math.inf,
        "max": r.number(c.get("max", math.inf), f"{where}.max") if "max" in c else math.inf,
        "decimals": r.get(c, "decimals", where, int, default=None),
    }
    for k in ("mean", "sd"):
        if params[k].calibrate:
            raise r.fail(f"{where}.{k}", "cannot be calibrated; give a number or { target = NAME }")
    if not params["min"] < params["mean"].value < params["max"]:
        raise r.fail(f"{where}", "needs min < mean < max")
    return params


def _binary(r: _Reader, c: dict, where: str) -> dict:
    """Two levels, the first with probability ``share``."""
    levels = tuple(str(x) for x in r.get(c, "levels", where, list))
    if len(levels) != 2 or levels[0] == levels[1]:
        raise r.fail(f"{where}.levels", "must be two different labels", list(levels))
    return {"levels": levels, "share": r.param(c.get("share"), f"{where}.share", unit=True)}


#: distribution name -> reader of its parameters (``reader(r, table, where) -> params``)
COVARIATE_DISTRIBUTIONS: dict[str, Callable[[_Reader, dict, str], dict]] = {
    "normal": _normal,
    "binary": _binary,
}


#: distribution name -> its keys (besides ``distribution``)
COVARIATE_KEYS = {
    "normal": ("mean", "sd", "min", "max", "decimals"),
    "binary": ("levels", "share"),
}


def read_covariates(r: _Reader, raw: dict) -> tuple[Covariate, ...]:
    covs = []
    for name, c in r.table(raw, "covariates", "", required=False).items():
        where = f"covariates.{name}"
        dist = r.get(c, "distribution", where, str)
        reader = COVARIATE_DISTRIBUTIONS.get(dist)
        if reader is None:
            raise r.fail(
                f"{where}.distribution", f"must be {one_of(COVARIATE_DISTRIBUTIONS)}", dist
            )
        r.keys(c, where, ("distribution", *COVARIATE_KEYS[dist]))
        covs.append(Covariate(name, dist, reader(r, c, where)))
    return tuple(covs)
