"""The tests ``analyze --test NAME`` runs: names as written, parsed once, run on the analysis rows.

Names: ``logrank``, ``fh(RHO,GAMMA)`` (Fleming-Harrington, weights S(t-)^RHO (1 - S(t-))^GAMMA
with S the pooled left-continuous Kaplan-Meier; ``fh(1,0)`` is R's ``survdiff(rho = 1)``),
``gehan``, ``tarone-ware``, ``peto`` and ``maxcombo`` (max |z| of FH(0,0), FH(0,1), FH(1,0),
FH(1,1), p from their joint normal). Each result keeps the name exactly as the user wrote it.
"""

from __future__ import annotations

import math
import re

from walkback.estimators.weighted import maxcombo, weighted_logrank

TEST_NAMES = ("logrank", "fh(RHO,GAMMA)", "gehan", "tarone-ware", "peto", "maxcombo")
_FH = re.compile(r"^fh\(\s*([^,()]+)\s*,\s*([^,()]+)\s*\)$")


def parse_test(name: str) -> tuple[str, float, float]:
    """``"fh(0,0.5)"`` -> ("fh", 0.0, 0.5); ``"gehan"`` -> ("gehan", 0, 0). ValueError otherwise."""
    text = str(name).strip().lower()
    if text in ("logrank", "gehan", "tarone-ware", "peto", "maxcombo"):
        return text, 0.0, 0.0
    m = _FH.match(text)
    if m:
        try:
            rho, gamma = float(m.group(1)), float(m.group(2))
        except ValueError:
            rho = gamma = float("nan")
        if math.isfinite(rho) and math.isfinite(gamma) and rho >= 0 and gamma >= 0:
            return "fh", rho, gamma
        raise ValueError(
            f"test {name!r}: RHO and GAMMA must be finite numbers >= 0, e.g. fh(0,1) or fh(1,0)"
        )
    raise ValueError(f"unknown test {name!r}; choose from {', '.join(TEST_NAMES)}")


def run_tests(names, t, e, arm, strata, k: int) -> tuple[dict, ...]:
    """Each named test on arm codes 0..k-1 (0 = control); dicts in the JSON contract."""
    out = []
    for name in names:
        kind, rho, gamma = parse_test(name)
        if kind == "maxcombo":
            if k != 2:
                raise ValueError(f"test 'maxcombo' compares two arms; this trial has {k}")
            d = maxcombo(t, e, arm == 1, strata, timefix=False).to_dict()
        else:
            d = weighted_logrank(
                t, e, arm, strata, weights=kind, rho=rho, gamma=gamma, timefix=False
            ).to_dict()
        d["name"] = str(name)
        out.append(d)
    return tuple(out)
