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

Modules: :mod:`~walkback.montecarlo.settings` (``MonteCarloSettings``, ``settings_from_spec``),
:mod:`~walkback.montecarlo.blocks` (seeding, ``run_block``, local / process / Dask driving),
:mod:`~walkback.montecarlo.summary` (the streaming summary, ``MonteCarloResult``) and this one
(``run``, streaming per-replicate output). Their public names are importable from here too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from walkback.montecarlo.blocks import (
    CHUNK,
    _block_results,
    check_limits,
    default_threads,
    default_workers,
    fill_random_numbers,
    finish,
    fit_block,
    run_block,
    z_value,
)
from walkback.montecarlo.settings import CONF_CODES, MonteCarloSettings, settings_from_spec
from walkback.montecarlo.summary import MonteCarloResult, _Accumulator

__all__ = [
    "CHUNK",
    "CONF_CODES",
    "check_limits",
    "fit_block",
    "MonteCarloResult",
    "MonteCarloSettings",
    "default_threads",
    "default_workers",
    "fill_random_numbers",
    "finish",
    "iter_tables",
    "run",
    "run_block",
    "settings_from_spec",
    "to_frame",
    "z_value",
]


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
    .csv) if given; return the summary. ``block`` is rounded up to a multiple of CHUNK (and
    lowered when a block would not fit in memory).

    ``out`` is written to a temporary file beside it and renamed into place only when every
    replicate is in, so an interrupted run leaves no partial file; an existing ``out`` is replaced
    (the CLI refuses it without --force)."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    check_limits(settings.n, replicates)
    block = fit_block(settings, block)
    acc = _Accumulator(settings.hr, settings.alpha, tests=settings.tests)
    writer = _Writer(out) if out is not None else None
    t0 = time.perf_counter()
    try:
        for table in _block_results(settings, replicates, block, workers, scheduler):
            acc.add(table)
            if writer:
                writer.write(table)
            if progress:
                progress(acc.n, replicates, time.perf_counter() - t0)
    except BaseException:
        if writer:
            writer.abort()
        raise
    if writer:
        writer.close()
    seconds = time.perf_counter() - t0
    backend = "dask" if scheduler else ("processes" if workers > 1 else "local")
    return MonteCarloResult(settings, acc.summary(), seconds, block, workers, backend)


class _Writer:
    """Streams per-replicate tables to Parquet (row group per block) or CSV, into a temporary file
    that :meth:`close` renames into place (:meth:`abort` removes it)."""

    def __init__(self, path: str | Path) -> None:
        from walkback.outputs import AtomicFile

        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".parquet", ".pq", ".csv"):
            raise ValueError(f"--out must end in .parquet or .csv (got '{path}')")
        self.kind = "csv" if suffix == ".csv" else "parquet"
        self._file = AtomicFile(self.path)
        self._pq = None
        self._first = True

    def write(self, table: dict[str, np.ndarray]) -> None:
        if self.kind == "csv":
            to_frame(table).to_csv(
                self._file.tmp,
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
                self._pq = pq.ParquetWriter(self._file.tmp, tab.schema)
            self._pq.write_table(tab)
        self._first = False

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        self._file.commit()

    def abort(self) -> None:
        if self._pq is not None:
            with contextlib.suppress(Exception):
                self._pq.close()
        self._file.discard()


def to_frame(table: dict[str, np.ndarray]):
    """A per-replicate table as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame(table)


def iter_tables(
    settings: MonteCarloSettings,
    replicates: int,
    *,
    block: int = 4096,
    workers: int = 1,
    scheduler: str | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """The per-replicate result tables of ``replicates`` trials, block by block in replicate
    order (the same replicates ``run`` summarises)."""
    if replicates < 1:
        raise ValueError(f"replicates must be >= 1, got {replicates}")
    block = max(CHUNK, -(-int(block) // CHUNK) * CHUNK)
    yield from _block_results(settings, replicates, block, workers, scheduler)
