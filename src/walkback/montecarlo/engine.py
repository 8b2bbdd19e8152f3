"""Batched Monte Carlo engine: simulate and analyse many trials from a spec, fast and reproducibly.

Randomness: replicates are grouped in fixed chunks of ``CHUNK`` (64); chunk ``c`` draws all its
random numbers from ``SeedSequence(seed, spawn_key=(c,))`` (the ``c``-th spawned child of the
seed), so replicate ``i``'s data depend only on ``(seed, i)``: results are identical whatever the
block size (a multiple of the chunk), the number of worker processes or the backend (local
processes or a Dask cluster).

Each replicate is a trial drawn from the same distributions as :func:`walkback.simulate.simulate`
(recruitment, stratified permuted blocks, monthly follow-up with dropout, the primary outcome) and
analysed as :func:`walkback.analysis.analyze` would: KM medians with CIs per arm, the Cox HR with
Wald CI (Efron or Breslow ties), the log-rank test and RMST per arm. Blocks are streamed: memory
stays bounded whatever the number of replicates.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from statistics import NormalDist

import numpy as np

from walkback._typing import CONF_TYPES, TIES
from walkback.exceptions import WalkbackError
from walkback.spec import TrialSpec

CHUNK = 64
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

    @property
    def ndays(self) -> int:
        return int(round(self.max_months * self.days_per_month)) + 2


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
) -> MonteCarloSettings:
    """Monte Carlo settings for ``spec`` (calibrated model unless given), with optional overrides:
    ``n`` participants per trial, primary-outcome ``hr``, analysis conventions and RMST ``tau``."""
    if model is None:
        from walkback.calibrate import calibrate

        model = calibrate(spec).model
    primary = model.outcomes[spec.primary.name]
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
    )


def _n_block_draws(settings: MonteCarloSettings) -> int:
    """Upper bound on permuted blocks started in one trial (each cell ends with a partial one)."""
    return settings.n // min(settings.block_sizes) + len(settings.cell_cum) + 1


def fill_random_numbers(settings: MonteCarloSettings, chunk: int, arrays, rows: slice) -> None:
    """Draw chunk ``chunk``'s random numbers into ``arrays[j][rows]`` (CHUNK rows each).

    A function of (seed, chunk) only. Draws that only place a recruitment date, pick a stratum
    cell, a block size or an assignment, or time a dropout to the month are float32 (24-bit
    resolution is far finer than those uses need); the outcome's latent draw is float64.
    """
    rng = np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=(chunk,)))
    spacing, u_cell, u_block, u_assign, e_drop, e_event = arrays
    rng.standard_exponential(out=spacing[rows], dtype=np.float32)  # recruitment spacings
    rng.random(out=u_cell[rows], dtype=np.float32)  # stratum cell
    rng.random(out=u_block[rows], dtype=np.float32)  # block sizes, one per block started
    rng.random(out=u_assign[rows], dtype=np.float32)  # assignment within the block
    rng.standard_exponential(out=e_drop[rows], dtype=np.float32)  # dropout
    rng.standard_exponential(out=e_event[rows])  # primary outcome's latent cumulative hazard


def _allocate(settings: MonteCarloSettings, rows: int) -> list[np.ndarray]:
    n = settings.n
    return [
        np.empty((rows, n + 1), np.float32),
        np.empty((rows, n), np.float32),
        np.empty((rows, _n_block_draws(settings)), np.float32),
        np.empty((rows, n), np.float32),
        np.empty((rows, n), np.float32),
        np.empty((rows, n)),
    ]


def _tables(s: MonteCarloSettings):
    """Lookup tables: administrative months by recruitment day; follow-up days and the latent
    cumulative-hazard threshold for an event within follow-up, by months followed."""
    from walkback.simulate import admin_months

    offsets = np.arange(s.window + 1)
    admin = admin_months(
        s.to_final - offsets, s.days_per_month, s.every, s.min_months, s.max_months
    ).astype(np.int64)
    months = np.arange(int(admin.max()) + 1)
    fu = np.rint(months * s.days_per_month).astype(np.int64)
    threshold = (fu / s.scale) ** s.shape
    per_unit = s.drop_scale / (s.days_per_month * s.every) if s.drop_scale > 0 else 0.0
    return admin, fu, threshold, per_unit


_POOL = None


def _rng_pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max(1, default_threads()))
    return _POOL


def default_threads() -> int:
    import numba

    return numba.get_num_threads()


def run_block(settings: MonteCarloSettings, first: int, count: int, keep_data: bool = False):
    """Simulate and analyse replicates ``first .. first+count-1`` (``first`` a multiple of CHUNK).

    Returns the per-replicate result table (and the simulated data when ``keep_data``).
    """
    from walkback.montecarlo import _kernels as K

    if first % CHUNK:
        raise ValueError(f"a block must start at a multiple of {CHUNK}")
    chunks = range(first // CHUNK, -(-(first + count) // CHUNK))
    arrays = _allocate(settings, len(chunks) * CHUNK)
    # numpy's generators release the GIL while filling arrays: draw chunks on all cores
    list(
        _rng_pool().map(
            lambda jc: fill_random_numbers(
                settings, jc[1], arrays, slice(jc[0] * CHUNK, (jc[0] + 1) * CHUNK)
            ),
            enumerate(chunks),
        )
    )
    arrays = [a[:count] for a in arrays]
    s = settings
    admin, fu, threshold, per_unit = _tables(s)
    out, times, events, arms = K.simulate_and_analyse(
        *arrays,
        np.asarray(s.cum_rate),
        np.asarray(s.rate_edges),
        s.window,
        admin,
        np.asarray(s.cell_cum),
        np.asarray(s.block_sizes, dtype=np.int64),
        s.ratio_t,
        s.ratio_sum,
        per_unit,
        s.every,
        fu,
        threshold,
        1.0 / s.shape,
        s.scale,
        s.hr,
        s.ndays,
        CONF_CODES[s.conf_type],
        z_value(1 - s.alpha),
        s.ties == "efron",
        s.tau,
        keep_data,
        4 * default_threads(),
    )
    if np.isnan(out[:, 0]).any():  # a kernel row that never ran: never silently pass it on
        raise WalkbackError("internal error: a Monte Carlo replicate was not computed")
    table = finish(out, s, first)
    if keep_data:
        return table, (times, events.astype(np.int64), arms)
    return table


def finish(out: np.ndarray, s: MonteCarloSettings, first: int = 0) -> dict[str, np.ndarray]:
    """Per-replicate columns: the kernel's plus HR, CIs and p-values (as the single estimators)."""
    from walkback.montecarlo._kernels import COLUMNS, p_values

    t: dict[str, np.ndarray] = {"replicate": np.arange(first, first + len(out), dtype=np.int64)}
    for j, name in enumerate(COLUMNS):
        t[name] = out[:, j]
    z = z_value(1 - s.alpha)
    b, se = t["log_hr"], t["se_log_hr"]
    t["hr"] = np.exp(b)
    t["hr_lower"] = np.exp(b - z * se)
    t["hr_upper"] = np.exp(b + z * se)
    t["p_cox"], t["logrank_chisq"], t["p_logrank"] = p_values(
        b, se, t["logrank_o_minus_e"], t["logrank_var"]
    )
    t["rmst_difference"] = t["rmst_treatment"] - t["rmst_control"]
    for c in ("n_treatment", "n_control", "events_treatment", "events_control", "cox_iterations"):
        t[c] = t[c].astype(np.int64)
    return t


def to_frame(table: dict[str, np.ndarray]):
    """A per-replicate table as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame(table)


def z_value(conf_level: float) -> float:
    """Two-sided normal quantile (R ``qnorm(1 - (1 - level) / 2)``), without importing scipy."""
    return NormalDist().inv_cdf(1.0 - (1.0 - conf_level) / 2.0)


# ---- summaries ----------------------------------------------------------------------------------
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
        }


# ---- running -------------------------------------------------------------------------------------
def _blocks(replicates: int, block: int) -> Iterator[tuple[int, int]]:
    for first in range(0, replicates, block):
        yield first, min(block, replicates - first)


def _worker_init() -> None:
    import numba

    numba.set_num_threads(1)  # one process per core: no thread oversubscription


def _block_results(
    settings: MonteCarloSettings, replicates: int, block: int, workers: int, scheduler: str | None
) -> Iterator[dict[str, np.ndarray]]:
    jobs = list(_blocks(replicates, block))
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise WalkbackError(
                "--scheduler needs Dask: pip install 'walkback[distributed]'"
            ) from None
        import dask
        from dask.utils import parse_timedelta

        # fail within 10 s (Dask waits 30 s by default), or sooner if configured so
        timeout = min(
            10.0, parse_timedelta(dask.config.get("distributed.comm.timeouts.connect", "30s"))
        )
        try:
            client = Client(scheduler, timeout=timeout)
        except OSError as exc:
            raise WalkbackError(
                f"--scheduler: cannot reach the Dask scheduler at {scheduler} ({exc}); check "
                "the address (e.g. tcp://host:8786) and that the scheduler is running"
            ) from None
        with client:
            futures = [client.submit(run_block, settings, f, c, pure=False) for f, c in jobs]
            for fut in futures:  # in block order, so outputs are written in replicate order
                yield fut.result()
        return
    if workers <= 1:
        for f, c in jobs:
            yield run_block(settings, f, c)
        return
    ctx = get_context("spawn")  # numba's threads and fork do not mix
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init) as pool:
        futures = [pool.submit(run_block, settings, f, c) for f, c in jobs]
        for fut in futures:
            yield fut.result()


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
                k: v
                for k, v in asdict(self.settings).items()
                if k
                in ("n", "hr", "conf_type", "ties", "alpha", "tau", "shape", "scale", "drop_scale")
            },
        }
        return d


def run(
    settings: MonteCarloSettings,
    replicates: int,
    *,
    block: int = 1024,
    workers: int = 1,
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> MonteCarloResult:
    """Run ``replicates`` trials in blocks; stream per-replicate results to ``out`` (.parquet or
    .csv) if given; return the summary. ``block`` is rounded up to a multiple of CHUNK."""
    if replicates < 1:
        raise ValueError(f"replicates must be >= 1, got {replicates}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    block = max(CHUNK, -(-int(block) // CHUNK) * CHUNK)
    acc = _Accumulator(settings.hr, settings.alpha)
    writer = _Writer(out) if out is not None else None
    t0 = time.perf_counter()
    try:
        for table in _block_results(settings, replicates, block, workers, scheduler):
            acc.add(table)
            if writer:
                writer.write(table)
            if progress:
                progress(acc.n, replicates, time.perf_counter() - t0)
    finally:
        if writer:
            writer.close()
    seconds = time.perf_counter() - t0
    backend = "dask" if scheduler else ("processes" if workers > 1 else "local")
    return MonteCarloResult(settings, acc.summary(), seconds, block, workers, backend)


class _Writer:
    """Streams per-replicate tables to Parquet (row group per block) or CSV."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".parquet", ".pq", ".csv"):
            raise ValueError(f"--out must end in .parquet or .csv (got '{path}')")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.kind = "csv" if suffix == ".csv" else "parquet"
        self._pq = None
        self._first = True

    def write(self, table: dict[str, np.ndarray]) -> None:
        if self.kind == "csv":
            to_frame(table).to_csv(
                self.path,
                mode="w" if self._first else "a",
                header=self._first,
                index=False,
                lineterminator="\n",
            )
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            tab = pa.table(table)
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, tab.schema)
            self._pq.write_table(tab)
        self._first = False

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()


def default_workers() -> int:
    return max(
        1,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )
