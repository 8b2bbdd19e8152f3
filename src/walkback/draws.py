"""Draws of the trial design and the time-to-event outcomes: streams, recruitment and
randomisation, follow-up with dropout, covariates, latent outcome times and event days.

Randomness: ``SeedSequence(seed)`` is spawned into independent streams (baseline, covariates, then
one per latent outcome time; safety and economics last), so changing one outcome's stream leaves
the others unchanged. See :mod:`walkback.simulate` for the generating model.
"""

from __future__ import annotations

import numpy as np

from walkback.exceptions import WalkbackError
from walkback.model import Model, Weibull, _untruncated
from walkback.spec import TrialSpec


# ---- the streams -----------------------------------------------------------------------------
def stream_names(spec: TrialSpec) -> list[str]:
    """Names of the independent random streams, in spawn order."""
    names = ["baseline", "covariates"]
    names += [f"outcome:{o.name}" for o in spec.latent_outcomes]
    names += [
        f"extra:{o.name}"
        for o in spec.outcomes.values()
        if o.model == "first_of" and o.extra is not None
    ]
    # appended last: adding them leaves every earlier stream (and so the outcomes) unchanged
    names += ["safety"] if spec.safety is not None else []
    names += ["economics"] if spec.economics is not None else []
    return names


def spawn_streams(
    seed: int | np.random.SeedSequence, spec: TrialSpec
) -> dict[str, np.random.Generator]:
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    names = stream_names(spec)
    return {n: np.random.default_rng(s) for n, s in zip(names, ss.spawn(len(names)), strict=True)}


# ---- the pieces ------------------------------------------------------------------------------
def draw_baseline(spec: TrialSpec, rng: np.random.Generator) -> dict:
    """Recruitment dates, strata, arms (stratified permuted blocks) and the follow-up inputs.

    Dropout is drawn as unit exponentials, scaled by the rate in :func:`followup_days`, so the
    stream's use does not depend on the model's parameters (common random numbers for calibration).
    """
    n = spec.n_total
    start = spec.recruitment_start
    window = (spec.recruitment_end - start).days
    edges = [(d - start).days for d, _ in spec.recruitment_rate] + [window]
    weights = np.array([w for _, w in spec.recruitment_rate]) * np.diff(edges)
    cum = np.concatenate(([0.0], np.cumsum(weights) / weights.sum()))
    u = np.sort(rng.random(n))
    k = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(weights) - 1)
    frac = (u - cum[k]) / (cum[k + 1] - cum[k])
    offset = np.floor(np.array(edges)[k] + frac * np.diff(edges)[k]).astype(np.int64)
    offset = np.minimum(offset, window)

    codes = np.zeros((n, len(spec.strata)), dtype=np.int64)
    for j, s in enumerate(spec.strata):
        codes[:, j] = rng.choice(len(s.levels), size=n, p=np.asarray(s.shares))
    cell = np.zeros(n, dtype=np.int64)
    for j, s in enumerate(spec.strata):
        cell = cell * len(s.levels) + codes[:, j]
    treated = np.zeros(n, dtype=bool)
    a, b = spec.ratio
    if spec.randomisation == "simple":
        treated = rng.random(n) < a / (a + b)
    for c in np.unique(cell) if spec.randomisation == "permuted_blocks" else ():
        idx = np.flatnonzero(cell == c)
        seq: list[np.ndarray] = []
        filled = 0
        while filled < idx.size:
            size = int(rng.choice(spec.block_sizes))
            unit = size // (a + b)
            block = np.array([True] * (a * unit) + [False] * (b * unit))
            seq.append(rng.permutation(block))
            filled += size
        treated[idx] = np.concatenate(seq)[: idx.size]

    dpm, every = spec.days_per_month, spec.report_every_months
    to_final = (spec.final_date - start).days - offset
    admin = admin_months(to_final, dpm, every, spec.min_months, spec.max_months)
    return {
        "offset": offset,
        "strata_codes": codes,
        "treated": treated,
        "admin_months": admin,
        "dropout_e1": rng.standard_exponential(n),
    }


def admin_months(to_final, dpm: float, every: int, min_months: int, max_months: int):
    """Administrative follow-up in whole reporting intervals.

    Up to the final follow-up date, at least ``min_months`` (rounded up to a whole interval) and
    at most ``max_months`` (rounded down). With daily records (``every`` = 0) it is in days, as
    a fraction of a month: the days to the final date within [min_months, max_months].
    """
    if every == 0:
        lo, hi = np.ceil(min_months * dpm), np.floor(max_months * dpm)
        return np.clip(np.asarray(to_final, dtype=float), lo, max(lo, hi)) / dpm
    intervals = np.floor(np.floor(to_final / dpm) / every).astype(np.int64)
    lo, hi = -(-min_months // every), max_months // every
    return np.clip(intervals, lo, max(lo, hi)) * every


def followup_days(spec: TrialSpec, base: dict, dropout_rate: float) -> np.ndarray:
    """Day of each participant's last completed report (administrative end or dropout)."""
    dpm, every = spec.days_per_month, spec.report_every_months
    admin = base["admin_months"]
    if every == 0:  # daily records: censored on the day of dropout or the administrative end
        days = np.rint(admin * dpm)
        if dropout_rate > 0:
            days = np.minimum(days, np.floor(base["dropout_e1"] * (365.25 / dropout_rate)))
        return days.astype(np.int64)
    if dropout_rate > 0:
        drop_days = base["dropout_e1"] * (365.25 / dropout_rate)
        done = np.floor(drop_days / (dpm * every)).astype(np.int64) * every
        months = np.minimum(admin, done)
    else:
        months = admin
    return np.rint(months * dpm).astype(np.int64)


def draw_covariates(spec: TrialSpec, model: Model, rng: np.random.Generator, n: int) -> dict:
    out = {}
    for c in spec.covariates:
        p = model.covariates[c.name]
        if c.distribution == "normal":
            loc, scale = _untruncated(p["mean"], p["sd"], p["min"], p["max"])
            x = rng.normal(loc, scale, n)
            bad = (x < p["min"]) | (x > p["max"])
            while bad.any():  # truncation by redrawing
                x[bad] = rng.normal(loc, scale, int(bad.sum()))
                bad = (x < p["min"]) | (x > p["max"])
            if p["decimals"] is not None:
                x = np.round(x, p["decimals"])
                if p["decimals"] == 0:
                    x = x.astype(np.int64)
            out[c.name] = x
        else:
            first = rng.random(n) < p["share"]
            out[c.name] = np.where(first, p["levels"][0], p["levels"][1])
    return out


def correlation_matrix(spec: TrialSpec) -> np.ndarray:
    names = [o.name for o in spec.latent_outcomes]
    r = np.eye(len(names))
    for i, o in enumerate(spec.latent_outcomes):
        for other, rho in o.correlation.items():
            j = names.index(other)
            r[i, j] = r[j, i] = rho
    try:
        return np.linalg.cholesky(r)
    except np.linalg.LinAlgError:
        raise WalkbackError(
            "the outcome correlations do not form a valid correlation matrix"
        ) from None


def latent_exponentials(
    spec: TrialSpec, streams: dict[str, np.random.Generator], n: int
) -> dict[str, np.ndarray]:
    """Unit-exponential latent draws (-log U) for every outcome model component.

    ``weibull_ph`` outcomes are linked by a Gaussian copula: correlated normals Z (Cholesky, so
    column k depends only on streams 1..k and later outcomes can be redrawn without moving earlier
    ones) become U = Phi(Z). A ``first_of`` outcome's extra component is independent.
    """
    e = np.column_stack(
        [streams[f"outcome:{o.name}"].standard_normal(n) for o in spec.latent_outcomes]
    )
    z = e @ correlation_matrix(spec).T
    from scipy.special import log_ndtr

    out = {o.name: -log_ndtr(z[:, k]) for k, o in enumerate(spec.latent_outcomes)}
    for o in spec.outcomes.values():
        if o.model == "first_of" and o.extra is not None:
            out[f"extra:{o.name}"] = streams[f"extra:{o.name}"].standard_exponential(n)
    return out


def event_days(
    spec: TrialSpec,
    model: Model,
    latent: dict[str, np.ndarray],
    treated: np.ndarray,
    cache: dict | None = None,
) -> dict[str, np.ndarray]:
    """Uncensored event day of every outcome (ceil of the latent time; may exceed follow-up).

    ``cache`` (optional, caller-owned) memoises each component's days by its parameters, so a
    solver that varies one component does not recompute the others.
    """

    def component(key: str, w: Weibull) -> np.ndarray:
        if cache is None:
            return _ceil_days(w.time_from_exponential(latent[key], treated))
        if (key, w) not in cache:
            cache[(key, w)] = _ceil_days(w.time_from_exponential(latent[key], treated))
        return cache[(key, w)]

    days = {o.name: component(o.name, model.outcomes[o.name]) for o in spec.latent_outcomes}
    for o in spec.outcomes.values():
        if o.model == "first_of":
            parts = [days[c] for c in o.components]
            if o.name in model.extras:
                parts.append(component(f"extra:{o.name}", model.extras[o.name]))
            days[o.name] = np.minimum.reduce(parts)
    return days


def _ceil_days(t: np.ndarray) -> np.ndarray:
    big = np.iinfo(np.int64).max // 4
    return np.minimum(np.ceil(t), big).astype(np.int64)
