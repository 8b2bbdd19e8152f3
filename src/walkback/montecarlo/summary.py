"""Summaries of a Monte Carlo run: a streaming accumulator over per-replicate tables (power, HR
sampling distribution and CI coverage, medians, events) and the result object."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from walkback.montecarlo.settings import MonteCarloSettings

_Z_QUANTILES = ("z_q025", "z_q25", "z_median", "z_q75", "z_q975")


@dataclass
class _Accumulator:
    """Streaming summary: sums and counts, plus the HRs (8 bytes a replicate) for the median."""

    generating_hr: float
    alpha: float
    n: int = 0
    sig_logrank: int = 0
    sig_cox: int = 0
    covered: int = 0
    not_converged: int = 0
    events_sum: int = 0
    hrs: list = field(default_factory=list)  # 8 bytes a replicate each: means and medians are
    med_t: list = field(default_factory=list)  # computed once at the end, so they do not depend
    med_c: list = field(default_factory=list)  # on how replicates were split into blocks
    tests: tuple[str, ...] = ()
    test_z: dict = field(default_factory=dict)  # name -> list of z arrays (8 bytes a replicate)
    test_reject: dict = field(default_factory=dict)  # name -> count with p < alpha
    test_missing: dict = field(default_factory=dict)  # name -> count with p undefined (NaN)
    winners: dict = field(default_factory=dict)  # MaxCombo name -> winning component -> count

    def add(self, t: dict[str, np.ndarray]) -> None:
        self.n += len(t["replicate"])
        p_lr, p_cox = t["p_logrank"], t["p_cox"]
        self.sig_logrank += int(np.sum(p_lr < self.alpha))
        self.sig_cox += int(np.sum(p_cox < self.alpha))
        lo, hi = t["hr_lower"], t["hr_upper"]
        self.covered += int(np.sum((lo <= self.generating_hr) & (self.generating_hr <= hi)))
        hr = t["hr"]
        ok = np.isfinite(hr)
        self.not_converged += int((~ok).sum())
        self.hrs.append(hr[ok].copy())
        self.med_t.append(np.asarray(t["median_treatment"]).copy())
        self.med_c.append(np.asarray(t["median_control"]).copy())
        self.events_sum += int((t["events_treatment"] + t["events_control"]).sum())
        for name in self.tests:
            p = t[f"{name}_p"]
            self.test_z.setdefault(name, []).append(np.asarray(t[f"{name}_z"]).copy())
            self.test_reject[name] = self.test_reject.get(name, 0) + int(np.sum(p < self.alpha))
            self.test_missing[name] = self.test_missing.get(name, 0) + int(np.isnan(p).sum())
            if f"{name}_winner" in t:
                counts = self.winners.setdefault(name, {})
                for w, c in zip(*np.unique(t[f"{name}_winner"], return_counts=True), strict=True):
                    counts[str(w)] = counts.get(str(w), 0) + int(c)

    def summary(self) -> dict:
        hrs = np.concatenate(self.hrs) if self.hrs else np.array([])
        mt = np.concatenate(self.med_t) if self.med_t else np.array([])
        mc = np.concatenate(self.med_c) if self.med_c else np.array([])
        mt, mc = mt[np.isfinite(mt)], mc[np.isfinite(mc)]
        n = max(self.n, 1)
        return {
            "replicates": self.n,
            "power_logrank": self.sig_logrank / n,
            "power_cox": self.sig_cox / n,
            "hr_mean": float(hrs.mean()) if hrs.size else None,
            "hr_median": float(np.median(hrs)) if hrs.size else None,
            "hr_ci_coverage": self.covered / n,
            "generating_hr": self.generating_hr,
            "median_intervention_mean": float(mt.mean()) if mt.size else None,
            "median_control_mean": float(mc.mean()) if mc.size else None,
            "median_intervention_not_reached": 1 - mt.size / n,
            "median_control_not_reached": 1 - mc.size / n,
            "events_mean": self.events_sum / n,
            "cox_not_converged": self.not_converged,
            **(
                {"tests": {name: self._test_summary(name) for name in self.tests}}
                if self.tests
                else {}
            ),
        }

    def _test_summary(self, name: str) -> dict:
        """Power (share with p < alpha) with its Monte Carlo SE, and z's sampling distribution."""
        n = max(self.n, 1)
        z = np.concatenate(self.test_z[name]) if self.test_z.get(name) else np.array([])
        z = z[np.isfinite(z)]
        power = self.test_reject.get(name, 0) / n
        q = np.quantile(z, [0.025, 0.25, 0.5, 0.75, 0.975]) if z.size else [None] * 5
        out = {
            "power": power,
            "power_mcse": float(np.sqrt(power * (1 - power) / n)),
            "z_mean": float(z.mean()) if z.size else None,
            "z_sd": float(z.std(ddof=1)) if z.size > 1 else None,
            **{k: (None if v is None else float(v)) for k, v in zip(_Z_QUANTILES, q, strict=True)},
            "p_undefined": self.test_missing.get(name, 0),
        }
        if name in self.winners:
            counts = self.winners[name]
            out["winner_share"] = {w: counts[w] / n for w in sorted(counts) if w}
        return out


@dataclass
class MonteCarloResult:
    settings: MonteCarloSettings
    summary: dict
    seconds: float
    block: int
    workers: int
    backend: str

    def to_dict(self) -> dict:
        d = {
            "seed": self.settings.seed,
            **self.summary,
            "seconds": self.seconds,
            "seconds_per_replicate": self.seconds / max(self.summary["replicates"], 1),
            "block": self.block,
            "workers": self.workers,
            "backend": self.backend,
            "settings": {
                k: list(v) if isinstance(v, tuple) else v  # as JSON reads it back
                for k, v in asdict(self.settings).items()
                if k
                in (
                    "n",
                    "hr",
                    "conf_type",
                    "ties",
                    "alpha",
                    "tau",
                    "shape",
                    "scale",
                    "drop_scale",
                    "delay",
                    "tests",
                )
            },
        }
        return d
