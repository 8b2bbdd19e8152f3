"""``reproduce --tolerance sampling``: is one dataset within sampling error of the paper?

A target passes when the published value lies within the sampling uncertainty of the value this
dataset gives, on the statistic's scale (log for HRs, medians and SDs; the normal quantile for
p-values; see :mod:`walkback.checks.statistics`):

    miss = (g(published) - g(reproduced)) / SE,   pass when |miss| <= z*

* SE is this dataset's own standard error when the value comes with a CI (Cox HR, KM median:
  the CI's width on the scale over 2 z_{1-alpha/2}); else the statistic's known sampling SD
  (1 for a p-value's |z|); else the model's sampling SD of the target
  (:mod:`walkback.checks.spread`); combined with the rounding of the published figure (uniform
  over one printed unit: SD = precision / sqrt(12), on the same scale). The ICER is tested on
  the dataset by Fieller's method instead (its miss is Fieller's z).
* z* is family-wise: with K targets checked, each is tested at the Sidak level
  1 - (1 - 0.05)^(1/K), so that a trial simulated from the model passes every target about 95% of
  the time. Sidak's inequality makes this hold for two-sided normal tests whatever their
  correlation (it is then conservative); with the 18 WalkBack targets, z* = 2.98.

The table reports each miss in SE units, so a reader sees by how much a value missed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from walkback.checks.statistics import check_for, published, scale_of, z_two_sided
from walkback.spec import TrialSpec
from walkback.targets import TargetResult

FAMILY_ALPHA = 0.05


@dataclass(frozen=True)
class Miss:
    """How far one target's published value is from this dataset's, in SE units."""

    scale: str
    se: float | None
    se_source: str
    miss_se: float | None

    def to_dict(self) -> dict:
        return {
            "scale": self.scale,
            "se": self.se,
            "se_source": self.se_source,
            "miss_se": self.miss_se,
        }


def sidak_z(k: int, family_alpha: float = FAMILY_ALPHA) -> tuple[float, float]:
    """(per-target alpha, critical |z|) for ``k`` two-sided tests at family-wise ``alpha``."""
    each = 1.0 - (1.0 - family_alpha) ** (1.0 / max(k, 1))
    return each, z_two_sided(each)


def _finite(x) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def target_miss(spec: TrialSpec, r: TargetResult, spread: dict, data=None) -> Miss:
    """The miss of one computed target (``r.value`` not None) on ``data`` (TrialArrays)."""
    t, v = r.target, r.value
    entry = check_for(t.statistic)
    scale = scale_of(t.statistic)
    pub = published(t)
    if pub is None and not _finite(v.estimate):  # e.g. a median not reached in both
        return Miss(scale.name, None, "not reached in the paper nor in this dataset", 0.0)
    if pub is None or not _finite(v.estimate):
        return Miss(scale.name, None, "reached in one of the paper and this dataset only", None)
    if entry.dataset_miss is not None and data is not None:
        z = entry.dataset_miss(t, data)
        if z is not None and math.isfinite(z):
            return Miss("fieller", 1.0, "Fieller's test on this dataset", z)
    g_pub, g_est = scale.forward(pub), scale.forward(float(v.estimate))
    se, source = None, ""
    if scale.name != "z" and _finite(v.lower) and _finite(v.upper) and v.lower < v.upper:
        lo, hi = scale.forward(float(v.lower)), scale.forward(float(v.upper))
        if math.isfinite(lo) and math.isfinite(hi):
            se, source = (hi - lo) / (2 * z_two_sided(spec.alpha)), "CI of this dataset"
    if se is None and entry.fixed_sd is not None:
        se, source = entry.fixed_sd, f"sampling SD of a {scale.name} statistic"
    if se is None:
        sp = spread.get("targets", {}).get(t.name)
        if sp is None or sp.get("scale") != scale.name:
            return Miss(scale.name, None, "no sampling SD for this target", None)
        se, source = float(sp["sd"]), "model's sampling SD"
    rounding = scale.slope(pub) * t.precision / math.sqrt(12.0)
    total = math.hypot(se, rounding)
    if not (math.isfinite(g_pub) and math.isfinite(g_est) and total > 0):
        return Miss(scale.name, total, source, None)
    return Miss(scale.name, total, source, (g_pub - g_est) / total)


def apply_sampling(
    spec: TrialSpec, results: list[TargetResult], spread: dict, data=None
) -> tuple[list[TargetResult], dict[str, Miss], dict]:
    """Re-judge ``results`` at sampling tolerance: (results, misses by name, family settings)."""
    computed = [r for r in results if r.value is not None]
    each, zcrit = sidak_z(len(computed))
    out, misses = [], {}
    for r in results:
        if r.value is None:
            out.append(r)
            continue
        m = target_miss(spec, r, spread, data)
        misses[r.target.name] = m
        ok = m.miss_se is not None and abs(m.miss_se) <= zcrit
        reason = (
            ""
            if ok
            else (
                f"{m.miss_se:+.2f} SE beyond +-{zcrit:.2f}"
                if m.miss_se is not None
                else m.se_source
            )
        )
        out.append(TargetResult(r.target, r.value, ok, reason))
    family = {
        "method": "Sidak",
        "family_alpha": FAMILY_ALPHA,
        "targets": len(computed),
        "per_target_alpha": each,
        "critical_z": zcrit,
    }
    return out, misses, family
