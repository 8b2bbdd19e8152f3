"""``walkback check``: simulate N trials from the calibrated spec, analyse each as ``analyze``
would, and check every quantity's Monte Carlo mean against the published figure or a user range.

Quantities: every target the engine's replicates carry (targets of the primary outcome, arm
sizes), plus ``hr_mean``, ``hr_median``, ``hr_ci_coverage`` (of the generating HR),
``power_logrank`` and ``power_cox``. For each: the Monte Carlo mean and its standard error (MCSE),
the 2.5-97.5% range of the replicates and a status.

Default checks (``check`` says which applies):

* a target: the model's expected value agrees with the published one within the target's printed
  precision plus 3 MCSE (for a target the calibration solves for, the MCSE combined with the
  calibration's own Monte Carlo error over its pool of simulated trials). The mean is taken
  on the statistic's scale (geometric for HRs and medians, the normal quantile for p-values;
  see :mod:`walkback.checks.statistics`) and transformed back, so that a skewed sampling
  distribution is summarised where it is centred; the MCSE is transformed by the delta method;
* ``hr_ci_coverage``: within the binomial 99% range of the nominal level for N replicates;
* the others are reported, and checked only when ``--expect`` gives them a range.

Statuses: ``pass``, ``fail`` (out of range), ``reported`` (nothing to check against).
The result is deterministic: same spec, seed and N give the same numbers whatever the workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from walkback.checks.statistics import COLUMNS_NEEDED, check_for, published, scale_of
from walkback.spec import Target, TrialSpec

EXTRA_QUANTITIES = ("hr_mean", "hr_median", "hr_ci_coverage", "power_logrank", "power_cox")
MCSE_MULTIPLE = 3.0
COVERAGE_RANGE = 0.99


@dataclass(frozen=True)
class Quantity:
    """One checked quantity (a row of the JSON's ``targets``)."""

    name: str
    label: str
    published: float | None
    mean: float | None
    mcse: float | None
    lower: float | None
    upper: float | None
    status: str
    check: str
    allowed: tuple[float, float] | None = None
    not_reached: float | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "published": self.published,
            "mean": self.mean,
            "mcse": self.mcse,
            "lower": self.lower,
            "upper": self.upper,
            "status": self.status,
            "check": self.check,
            "allowed": list(self.allowed) if self.allowed else None,
            "not_reached": self.not_reached,
        }


@dataclass(frozen=True)
class CheckResult:
    spec: TrialSpec
    replicates: int
    seed: int
    settings: dict
    quantities: tuple[Quantity, ...]
    seconds: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def out_of_range(self) -> list[str]:
        return [q.name for q in self.quantities if q.status == "fail"]

    def to_dict(self) -> dict:
        d = {
            "spec": self.spec.name,
            "spec_sha256": self.spec.sha256,
            "replicates": self.replicates,
            "seed": self.seed,
            "settings": self.settings,
            "all_in_range": not self.out_of_range,
            "out_of_range": self.out_of_range,
            "targets": [q.to_dict() for q in self.quantities],
            "notes": list(self.notes),
        }
        if self.seconds is not None:
            d["seconds"] = self.seconds
        return d


def carried_targets(spec: TrialSpec) -> list[Target]:
    """The spec's targets that the engine's replicates carry (derived ones included)."""
    primary = spec.primary.name
    probe = {c: np.zeros(1) for c in COLUMNS_NEEDED}
    out = []
    for t in spec.targets:
        reader = check_for(t.statistic).from_replicates
        if (
            reader is not None
            and published(t) is not None
            and reader(t, probe, primary) is not None
        ):
            out.append(t)
    return out


def quantity_names(spec: TrialSpec) -> list[str]:
    """Every name ``check`` reports (and ``--expect`` accepts)."""
    return [t.name for t in carried_targets(spec)] + list(EXTRA_QUANTITIES)


def _f(x) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def calibrated_targets(spec: TrialSpec) -> set[str]:
    """Targets the calibration solves for (``{ calibrate = name }``)."""
    from walkback.calibrate import calibration_unknowns

    return {p.calibrate for _, p in calibration_unknowns(spec)}


def _target_quantity(t: Target, x: np.ndarray, n: int, calibration_pool: int = 0) -> Quantity:
    scale = scale_of(t.statistic)
    finite = x[np.isfinite(x)]
    nr = 1.0 - finite.size / n if n else None
    pub = published(t)
    if finite.size < 2:
        return Quantity(t.name, t.label, pub, None, None, None, None, "fail", "no replicate had it")
    g = scale.array(finite)
    g = g[np.isfinite(g)]
    m, se_g = float(g.mean()), float(g.std(ddof=1) / math.sqrt(g.size))
    center = scale.inverse(m)
    mcse = se_g / scale.slope(center)
    # a target solved by calibration equals the published value only up to the calibration's
    # own Monte Carlo error (its pool of simulated trials): that error is allowed for too
    sd = mcse * math.sqrt(g.size)
    cal_se = sd / math.sqrt(calibration_pool) if calibration_pool else 0.0
    half = t.precision + MCSE_MULTIPLE * math.hypot(mcse, cal_se)
    allowed = (pub - half, pub + half)
    status = "pass" if allowed[0] <= center <= allowed[1] else "fail"
    lo, hi = np.quantile(finite, [0.025, 0.975])
    mean_kind = {"identity": "mean", "log": "geometric mean", "z": "mean on the z scale"}
    return Quantity(
        t.name,
        t.label,
        pub,
        _f(center),
        _f(mcse),
        _f(lo),
        _f(hi),
        status,
        f"published within precision + {MCSE_MULTIPLE:g} MCSE ({mean_kind[scale.name]}"
        + (f"; calibration error over {calibration_pool} trials included)" if cal_se else ")"),
        allowed,
        nr if nr else None,
    )


def _rate(name: str, label: str, hits: np.ndarray, allowed=None, check="reported") -> Quantity:
    n = hits.size
    p = float(hits.mean())
    status = (
        "reported" if allowed is None else ("pass" if allowed[0] <= p <= allowed[1] else "fail")
    )
    return Quantity(
        name, label, None, p, math.sqrt(p * (1 - p) / n), None, None, status, check, allowed
    )


def _binomial_range(n: int, p: float, level: float) -> tuple[float, float]:
    from scipy import stats

    a = (1 - level) / 2
    return float(stats.binom.ppf(a, n, p) / n), float(stats.binom.isf(a, n, p) / n)


def median_mcse(x: np.ndarray) -> float:
    """MCSE of a sample median from the distribution-free 95% order-statistic interval."""
    s = np.sort(x)
    n = s.size
    k = 1.959963984540054 * math.sqrt(n) / 2
    lo = s[max(0, int(math.floor(n / 2 - k)) - 1)]
    hi = s[min(n - 1, int(math.ceil(n / 2 + k)))]
    return float((hi - lo) / (2 * 1.959963984540054))


def summarise(
    spec: TrialSpec, tab: dict[str, np.ndarray], generating_hr: float, alpha: float
) -> list[Quantity]:
    """Every quantity from the concatenated per-replicate table (default checks only)."""
    n = tab["hr"].size
    primary = spec.primary.name
    from walkback.calibrate import CALIBRATION_REPLICATES

    solved = calibrated_targets(spec)
    out = []
    for t in carried_targets(spec):
        x = np.asarray(check_for(t.statistic).from_replicates(t, tab, primary), float)
        pool = CALIBRATION_REPLICATES if t.name in solved else 0
        out.append(_target_quantity(t, x, n, pool))
    hr = tab["hr"][np.isfinite(tab["hr"])]
    lo, hi = np.quantile(hr, [0.025, 0.975]) if hr.size else (math.nan, math.nan)
    sd = float(hr.std(ddof=1)) if hr.size > 1 else math.nan
    out.append(
        Quantity(
            "hr_mean",
            "Hazard ratio, mean of the estimates",
            None,
            _f(float(hr.mean())),
            _f(sd / math.sqrt(hr.size)),
            _f(lo),
            _f(hi),
            "reported",
            "reported",
        )
    )
    out.append(
        Quantity(
            "hr_median",
            "Hazard ratio, median of the estimates",
            None,
            _f(float(np.median(hr))),
            _f(median_mcse(hr)),
            _f(lo),
            _f(hi),
            "reported",
            "reported",
        )
    )
    covered = (tab["hr_lower"] <= generating_hr) & (generating_hr <= tab["hr_upper"])
    nominal = 1 - alpha
    out.append(
        _rate(
            "hr_ci_coverage",
            f"Coverage of the generating HR {generating_hr:g} by the {100 * nominal:g}% CI",
            covered,
            _binomial_range(n, nominal, COVERAGE_RANGE),
            f"within the binomial {100 * COVERAGE_RANGE:g}% range of {nominal:g}",
        )
    )
    out.append(_rate("power_logrank", f"Power, log-rank p < {alpha:g}", tab["p_logrank"] < alpha))
    out.append(_rate("power_cox", f"Power, Cox Wald p < {alpha:g}", tab["p_cox"] < alpha))
    return out


def apply_expect(
    quantities: list[Quantity], expect: dict[str, tuple[float, float]]
) -> list[Quantity]:
    """Add the user's ranges: a quantity fails when its mean is outside its range."""
    out = []
    for q in quantities:
        if q.name not in expect:
            out.append(q)
            continue
        lo, hi = expect[q.name]
        inside = q.mean is not None and lo <= q.mean <= hi
        failed = q.status == "fail" or not inside
        check = "--expect range" if q.status == "reported" else f"{q.check}; --expect range"
        allowed = (lo, hi) if q.allowed is None else (max(lo, q.allowed[0]), min(hi, q.allowed[1]))
        out.append(
            Quantity(
                q.name,
                q.label,
                q.published,
                q.mean,
                q.mcse,
                q.lower,
                q.upper,
                "fail" if failed else "pass",
                check,
                allowed,
                q.not_reached,
            )
        )
    return out


def run_check(
    spec: TrialSpec,
    replicates: int,
    seed: int,
    *,
    expect: dict[str, tuple[float, float]] | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    timing: bool = False,
) -> CheckResult:
    """Simulate ``replicates`` trials from ``spec``'s calibrated model and check every quantity."""
    import time

    from walkback.montecarlo.engine import iter_tables, settings_from_spec

    t0 = time.perf_counter()
    settings = settings_from_spec(spec, seed)
    parts: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS_NEEDED}
    done = 0
    for table in iter_tables(settings, replicates, workers=workers):
        for c in COLUMNS_NEEDED:
            parts[c].append(np.asarray(table[c]))
        done += len(table["replicate"])
        if progress:
            progress(done, replicates)
    tab = {c: np.concatenate(v) for c, v in parts.items()}
    quantities = summarise(spec, tab, settings.hr, settings.alpha)
    if expect:
        quantities = apply_expect(quantities, expect)
    shown = {
        k: getattr(settings, k)
        for k in ("n", "hr", "conf_type", "ties", "alpha", "tau", "shape", "scale")
    }
    notes = (
        "Replicates simulate the primary outcome only; targets of other outcomes, covariates, "
        "safety and economics are checked by `walkback reproduce --tolerance sampling`.",
    )
    seconds = time.perf_counter() - t0 if timing else None
    return CheckResult(spec, replicates, seed, shown, tuple(quantities), seconds, notes)


def _num(x: float | None, ref: float | None = None) -> str:
    if x is None:
        return "-"
    a = abs(ref if ref is not None else x)
    digits = 4 if a == 0 or a < 10 else max(1, 4 - int(math.log10(a)))
    return f"{x:.{digits}f}" if a < 1e6 else f"{x:.4g}"


def render_text(res: CheckResult) -> str:
    head = ("Quantity", "Published", "MC mean", "MCSE", "2.5%", "97.5%", "Allowed", "Status")
    body = []
    for q in res.quantities:
        allowed = (
            "-"
            if q.allowed is None
            else f"{_num(q.allowed[0], q.mean)} to {_num(q.allowed[1], q.mean)}"
        )
        body.append(
            (
                q.name,
                _num(q.published),
                _num(q.mean),
                _num(q.mcse, q.mean),
                _num(q.lower, q.mean),
                _num(q.upper, q.mean),
                allowed,
                q.status.upper(),
            )
        )
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    line = "  ".join(f"{{:{w}}}" for w in widths)
    s = res.settings
    out = [
        f"walkback check: {res.spec.name}, {res.replicates:,} simulated trials, seed {res.seed}",
        f"Model: n = {s['n']}, generating HR {s['hr']:g}; analysis: '{s['conf_type']}' CI, "
        f"'{s['ties']}' ties, alpha {s['alpha']:g}",
        "",
        line.format(*head),
        line.format(*("-" * w for w in widths)),
        *(line.format(*r) for r in body),
        "",
    ]
    bad = res.out_of_range
    out.append("All checked quantities in range." if not bad else f"OUT OF RANGE: {', '.join(bad)}")
    out += [f"Note: {n}" for n in res.notes]
    return "\n".join(out)
