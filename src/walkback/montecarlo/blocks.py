"""Blocks of replicates: per-chunk seeding, the random numbers, the compiled kernels, and driving
blocks in this process, in worker processes or on a Dask cluster.

Randomness: replicates are grouped in fixed chunks of ``CHUNK`` (64); chunk ``c`` draws all its
random numbers from ``SeedSequence(seed, spawn_key=(c,))`` (the ``c``-th spawned child of the
seed), so replicate ``i``'s data depend only on ``(seed, i)``: results are identical whatever the
block size (a multiple of the chunk), the number of worker processes or the backend.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from statistics import NormalDist

import numpy as np

from walkback.exceptions import WalkbackError
from walkback.interrupts import deferred
from walkback.limits import (
    MC_BYTES_PER_PARTICIPANT,
    MC_BYTES_PER_REPLICATE,
    check_size,
    memory_budget,
)
from walkback.max_abs_normal import MAXCOMBO_COMBOS
from walkback.montecarlo.settings import CONF_CODES, MonteCarloSettings

CHUNK = 64
#: participants simulated and analysed per call of the compiled kernel: about 0.2 s of work, so a
#: signal waits at most that long; smaller pieces cost throughput (2**18: 1.8x slower, 2**21:
#: within 5% of one call per block, measured on 40,960 WalkBack replicates)
PIECE_PARTICIPANTS = 2**21


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
    from walkback.draws import admin_months

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
    kernel_args = (
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
        (s.delay / s.scale) ** s.shape if s.delay > 0 else 0.0,
        s.ndays,
        CONF_CODES[s.conf_type],
        z_value(1 - s.alpha),
        s.ties == "efron",
        s.tau,
        kernel_tests(s.test_params),
        keep_data,
        4 * default_threads(),
    )
    # The compiled kernel cannot be interrupted: run it in pieces of well under a second and let
    # SIGINT / SIGTERM stop the run between pieces (walkback.interrupts). Rows are independent
    # replicates, so the pieces give the same numbers as one call.
    step = max(4 * default_threads(), PIECE_PARTICIPANTS // max(s.n, 1))
    step = -(-count // -(-count // step))  # pieces of equal size: no short last piece
    pieces = []
    for a in range(0, count, step):
        with deferred():
            pieces.append(K.simulate_and_analyse(*(x[a : a + step] for x in arrays), *kernel_args))
    out, tout, times, events, arms = (np.concatenate(parts) for parts in zip(*pieces, strict=True))
    if np.isnan(out[:, 0]).any():  # a kernel row that never ran: never silently pass it on
        raise WalkbackError("internal error: a Monte Carlo replicate was not computed")
    table = finish(out, s, first, tout)
    if keep_data:
        return table, (times, events.astype(np.int64), arms)
    return table


def finish(
    out: np.ndarray, s: MonteCarloSettings, first: int = 0, tout: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per-replicate columns: the kernel's plus HR, CIs and p-values (as the single estimators),
    then per weighted test ``NAME_z``, ``NAME_chisq``, ``NAME_p`` (and ``maxcombo_winner``)."""
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
    for i, (name, (kind, _, _)) in enumerate(zip(s.tests, s.test_params, strict=True)):
        for j, field in enumerate(("z", "chisq", "p")):
            t[f"{name}_{field}"] = tout[:, i, j].copy()
        if kind == "maxcombo":
            names = np.array([_fh_name(r, g) for r, g in MAXCOMBO_COMBOS] + [""])
            code = tout[:, i, 3]
            t[f"{name}_winner"] = names[np.where(np.isnan(code), -1, code).astype(np.int64)]
    return t


def kernel_tests(parsed: tuple[tuple[str, float, float], ...]):
    """The kernels' form of the tests: kind codes, rhos, gammas, MaxCombo's rhos and gammas."""
    from walkback.montecarlo._test_kernels import KIND_CODES

    return (
        np.array([KIND_CODES[k] for k, _, _ in parsed], dtype=np.int64),
        np.array([r for _, r, _ in parsed], dtype=float),
        np.array([g for _, _, g in parsed], dtype=float),
        np.array([r for r, _ in MAXCOMBO_COMBOS], dtype=float),
        np.array([g for _, g in MAXCOMBO_COMBOS], dtype=float),
    )


def _fh_name(rho: float, gamma: float) -> str:
    return f"fh({rho:g},{gamma:g})"


def z_value(conf_level: float) -> float:
    """Two-sided normal quantile (R ``qnorm(1 - (1 - level) / 2)``), without importing scipy."""
    return NormalDist().inv_cdf(1.0 - (1.0 - conf_level) / 2.0)


def check_limits(n: int | None, replicates: int) -> None:
    """Refuse, before any work, a run whose memory would not fit this machine (one line naming
    the option, the limit and the memory it would need). ``n`` (participants per trial) may be
    None when it comes from the spec (whose own limit is checked when it is loaded)."""
    if replicates < 1:
        raise ValueError(f"--replicates must be a whole number >= 1, got {replicates}")
    if n is not None:
        check_size(
            "--n",
            n,
            CHUNK * MC_BYTES_PER_PARTICIPANT,
            f"one block of {CHUNK} simulated trials of that size",
        )
    check_size(
        "--replicates",
        replicates,
        MC_BYTES_PER_REPLICATE,
        "the per-replicate hazard ratios and medians kept for the summary",
    )


def fit_block(settings: MonteCarloSettings, block: int) -> int:
    """``block`` rounded up to a multiple of CHUNK, and lowered (to a multiple of CHUNK) so that a
    block's random numbers take at most a quarter of the memory budget. Results do not depend on
    the block size."""
    block = max(CHUNK, -(-int(block) // CHUNK) * CHUNK)
    most = memory_budget() // 4 // (max(settings.n, 1) * MC_BYTES_PER_PARTICIPANT)
    return max(CHUNK, min(block, most // CHUNK * CHUNK))


def _blocks(replicates: int, block: int) -> Iterator[tuple[int, int]]:
    for first in range(0, replicates, block):
        yield first, min(block, replicates - first)


def _worker_init() -> None:
    import numba

    numba.set_num_threads(1)  # one process per core: no thread oversubscription


def _block_results(
    settings: MonteCarloSettings, replicates: int, block: int, workers: int, scheduler: str | None
) -> Iterator[dict[str, np.ndarray]]:
    jobs = _blocks(replicates, block)
    if scheduler is not None:
        from walkback.montecarlo.scheduler import dask_results

        yield from dask_results(scheduler, run_block, settings, jobs)
        return
    if workers <= 1:
        for f, c in jobs:
            yield run_block(settings, f, c)
        return
    ctx = get_context("spawn")  # numba's threads and fork do not mix
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init)
    try:
        pending: deque = deque()
        for f, c in jobs:  # at most 2 blocks per worker in flight: memory stays bounded
            pending.append(pool.submit(run_block, settings, f, c))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:  # on an interrupt or error do not wait for queued blocks
        pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    return max(
        1,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )
