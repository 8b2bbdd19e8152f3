"""Power and sample size by simulation, with Schoenfeld's formula alongside."""

from __future__ import annotations

import math
from statistics import NormalDist

from walkback.montecarlo.engine import MonteCarloSettings, run


def schoenfeld_power(hr: float, events: float, alpha: float, treated_share: float) -> float:
    """Power of a two-sided level-``alpha`` test of HR = 1 with ``events`` events (Schoenfeld
    1983): Phi(|log HR| sqrt(D p (1 - p)) - z_{1 - alpha/2}), p the share allocated to treatment."""
    nd = NormalDist()
    return nd.cdf(
        abs(math.log(hr)) * math.sqrt(events * treated_share * (1 - treated_share))
        - nd.inv_cdf(1 - alpha / 2)
    )


def schoenfeld_events(hr: float, power: float, alpha: float, treated_share: float) -> float:
    """Events needed for ``power`` (the inverse of :func:`schoenfeld_power`)."""
    nd = NormalDist()
    z = nd.inv_cdf(1 - alpha / 2) + nd.inv_cdf(power)
    return z * z / (treated_share * (1 - treated_share) * math.log(hr) ** 2)


def power_grid(grid: list[MonteCarloSettings], replicates: int, **run_options) -> list[dict]:
    """Simulated power (log-rank and Cox) at each grid point, with Monte Carlo SEs and the
    Schoenfeld power at the simulated mean number of events; with weighted tests in the
    settings, ``tests``: {name: {power, power_mcse}}."""
    rows = []
    for s in grid:
        d = run(s, replicates, **run_options).to_dict()
        share = s.ratio_t / s.ratio_sum
        rows.append(
            {
                "n": s.n,
                "hr": s.hr,
                "alpha": s.alpha,
                "events_mean": d["events_mean"],
                "power_logrank": d["power_logrank"],
                "power_logrank_mcse": math.sqrt(
                    d["power_logrank"] * (1 - d["power_logrank"]) / replicates
                ),
                "power_cox": d["power_cox"],
                "power_cox_mcse": math.sqrt(d["power_cox"] * (1 - d["power_cox"]) / replicates),
                "power_schoenfeld": schoenfeld_power(s.hr, d["events_mean"], s.alpha, share),
                "hr_median": d["hr_median"],
                "seconds": d["seconds"],
                **(
                    {
                        "tests": {
                            name: {k: t[k] for k in ("power", "power_mcse")}
                            for name, t in d["tests"].items()
                        }
                    }
                    if "tests" in d
                    else {}
                ),
            }
        )
    return rows
