"""Monte Carlo settings: everything a block of replicates needs, read from a spec and its
calibrated model (with optional overrides), validated once, picklable for workers and Dask."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from walkback._typing import CONF_TYPES, TIES
from walkback.spec import TrialSpec

CONF_CODES = {"log": 0, "log-log": 1, "plain": 2}


@dataclass(frozen=True)
class MonteCarloSettings:
    """Everything a block needs, picklable for worker processes and Dask."""

    seed: int
    n: int  # participants per trial
    cum_rate: tuple[float, ...]
    rate_edges: tuple[float, ...]
    window: int
    to_final: int
    cell_cum: tuple[float, ...]
    block_sizes: tuple[int, ...]
    ratio_t: int
    ratio_sum: int
    days_per_month: float
    every: int
    min_months: int
    max_months: int
    drop_scale: float  # days per unit exponential (0 = no dropout)
    shape: float
    scale: float
    hr: float
    conf_type: str
    ties: str
    alpha: float
    tau: float
    delay: float = 0.0  # days before the treatment's HR applies (0: proportional hazards)
    tests: tuple[str, ...] = ()  # weighted tests, named as `analyze --test` names them
    test_params: tuple[tuple[str, float, float], ...] = ()  # (kind, rho, gamma) of each test

    @property
    def ndays(self) -> int:
        return int(round(self.max_months * self.days_per_month)) + 2


def _check_engine_model(spec: TrialSpec, primary) -> None:
    """The compiled engine simulates Weibull PH, permuted blocks and whole-month reports."""
    from walkback.model import Weibull
    from walkback.spec import SpecError

    why = []
    if not isinstance(primary, Weibull):
        why.append(f"its primary outcome is {spec.primary.model}")
    if spec.randomisation != "permuted_blocks":
        why.append(f"randomisation is {spec.randomisation}")
    if spec.report_every_months < 1:
        why.append("events are recorded daily (report_every_months = 0)")
    if why:
        raise SpecError(
            f"{spec.source}: the Monte Carlo engine simulates a weibull_ph primary outcome with "
            f"permuted-block randomisation and monthly reports, but {'; '.join(why)}; "
            "use walkback simulate (any model) for this spec"
        )


def settings_from_spec(
    spec: TrialSpec,
    seed: int,
    *,
    model=None,
    n: int | None = None,
    hr: float | None = None,
    conf_type: str | None = None,
    ties: str | None = None,
    alpha: float | None = None,
    tau: float | None = None,
    delay: float = 0.0,
    tests=(),
) -> MonteCarloSettings:
    """Monte Carlo settings for ``spec`` (calibrated model unless given), with optional overrides:
    ``n`` participants per trial, primary-outcome ``hr``, analysis conventions and RMST ``tau``.

    ``delay`` (days, >= 0): the treated arm's hazard equals the control's until then and is
    ``hr`` times it afterwards (a delayed effect; 0 keeps proportional hazards). ``tests``: names
    as ``analyze --test`` takes them (``logrank``, ``fh(RHO,GAMMA)``, ``gehan``,
    ``tarone-ware``, ``peto``, ``maxcombo``), each run on every replicate; repeats are dropped."""
    if model is None:
        from walkback.calibrate import calibrate

        model = calibrate(spec).model
    primary = model.outcomes[spec.primary.name]
    _check_engine_model(spec, primary)
    start = spec.recruitment_start
    window = (spec.recruitment_end - start).days
    edges = [(d - start).days for d, _ in spec.recruitment_rate] + [window]
    weights = np.array([w for _, w in spec.recruitment_rate]) * np.diff(edges)
    cum = np.concatenate(([0.0], np.cumsum(weights) / weights.sum()))
    cell_p = np.ones(1)
    for s in spec.strata:  # mixed-radix order, as simulate's cell codes
        cell_p = np.outer(cell_p, np.asarray(s.shares)).ravel()
    conf_type = conf_type or spec.conf_type
    ties = ties or spec.ties
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    n = spec.n_total if n is None else int(n)
    if n < 4:
        raise ValueError(f"a trial needs at least 4 participants, got {n}")
    hr = primary.hr if hr is None else float(hr)
    if not (hr > 0 and math.isfinite(hr)):
        raise ValueError(f"hr must be a positive number, got {hr}")
    if tau is None:
        tau = float(round(spec.min_months * spec.days_per_month))
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau}")
    alpha = spec.alpha if alpha is None else float(alpha)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    delay = float(delay)
    if not (delay >= 0 and math.isfinite(delay)):
        raise ValueError(f"delay must be a finite number of days >= 0, got {delay}")
    tests = tuple(dict.fromkeys(str(t).strip() for t in tests))
    params = tuple(parse_test_name(name) for name in tests)  # ValueError naming the test
    return MonteCarloSettings(
        seed=int(seed),
        n=n,
        cum_rate=tuple(cum),
        rate_edges=tuple(float(e) for e in edges),
        window=window,
        to_final=(spec.final_date - start).days,
        cell_cum=tuple(np.cumsum(cell_p) / cell_p.sum()),
        block_sizes=spec.block_sizes,
        ratio_t=spec.ratio[0],
        ratio_sum=sum(spec.ratio),
        days_per_month=spec.days_per_month,
        every=spec.report_every_months,
        min_months=spec.min_months,
        max_months=spec.max_months,
        drop_scale=365.25 / model.dropout_rate if model.dropout_rate > 0 else 0.0,
        shape=primary.shape,
        scale=primary.scale,
        hr=hr,
        conf_type=conf_type,
        ties=ties,
        alpha=alpha,
        tau=float(tau),
        delay=delay,
        tests=tests,
        test_params=params,
    )


def parse_test_name(name: str) -> tuple[str, float, float]:
    """``analyze --test``'s parser: (kind, rho, gamma) for a test name; ValueError if unknown.
    (Imported only when tests are asked for: it loads the estimators package.)"""
    from walkback.analysis.tests import parse_test

    return parse_test(name)
