"""Warm-up for a fast cold start: ``python -m walkback.warmup`` (run by ``make install``).

Two things make a first run slow on a fresh clone: numba compiling the Monte Carlo and
concordance kernels (about 20 s on 2 cores), and solving the calibration. The warm-up compiles the
kernels into numba's on-disk cache (``__pycache__`` beside the sources; numba recompiles by
itself when a kernel's source changes) and makes sure the packaged specs' calibration and
sampling spread are at hand: the shipped entries (``trials/<spec>.calibration.json``,
``trials/<spec>.spread.json``) are used when their digests match the spec and the code, and are
otherwise recomputed into the user cache, with a note.

``python -m walkback.warmup --write-shipped`` (``make calibration``) recomputes the shipped
entries from scratch and rewrites them; run it after changing a packaged spec or the code that
calibrates or simulates (a test fails while they are stale).
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources


def packaged_specs() -> list[str]:
    """Names of the packaged specs (``trials/*.toml``)."""
    return sorted(
        p.name[: -len(".toml")]
        for p in resources.files("walkback.trials").iterdir()
        if p.name.endswith(".toml")
    )


def compile_kernels() -> None:
    """Run every compiled kernel once, so numba writes its on-disk cache."""
    import numpy as np

    from walkback.estimators.concordance import concordance
    from walkback.montecarlo.engine import run, settings_from_spec
    from walkback.spec import load_spec

    spec = load_spec("walkback")
    for ties in ("efron", "breslow"):
        run(settings_from_spec(spec, 0, ties=ties, n=64), 64, block=64)
    t = np.arange(1.0, 9.0)
    concordance(t, np.ones(8, dtype=int), t[::-1].copy())


def write_shipped(name: str) -> list[str]:
    """Recompute a packaged spec's calibration and spread from scratch and write them beside
    the spec."""
    from walkback.cache import shipped_path, write_entry
    from walkback.calibrate import cache_key as calibration_key
    from walkback.calibrate import calibration_from_dict, solve
    from walkback.checks.spread import compute_spread, spread_key
    from walkback.spec import load_spec

    spec = load_spec(name)
    cal = solve(spec)
    path = shipped_path("calibration", spec.source)
    write_entry(path, calibration_key(spec, cal.replicates, cal.seed), cal.to_dict())
    # the spread from the calibration just solved (not from any cache)
    model = calibration_from_dict(spec, cal.to_dict()).model
    spread = compute_spread(spec, model=model)
    path2 = shipped_path("spread", spec.source)
    write_entry(path2, spread_key(spec, spread["replicates"], spread["seed"]), spread)
    return [str(path), str(path2)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m walkback.warmup", description=__doc__.split("\n")[0]
    )
    p.add_argument("--write-shipped", action="store_true", help="rewrite the shipped entries")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    if args.write_shipped:
        for name in packaged_specs():
            for path in write_shipped(name):
                print(f"wrote {path}")
        return 0
    compile_kernels()
    from walkback.calibrate import calibrate
    from walkback.checks.spread import model_spread
    from walkback.spec import load_spec

    for name in packaged_specs():
        spec = load_spec(name)
        calibrate(spec)
        model_spread(spec)
    seconds = time.perf_counter() - t0
    print(
        f"walkback warm-up: kernels compiled, calibrations ready ({seconds:.0f} s)", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
