"""Benchmark: the first `walkback montecarlo --replicates 1000` of a fresh install, with and
without the warm-up that `make install` runs (`python -m walkback.warmup`), in the same run.

Alternatives, each a whole `walkback montecarlo` process with its own empty caches
(NUMBA_CACHE_DIR for the compiled kernels, WALKBACK_CACHE_DIR for calibrations):

* cold: nothing compiled, and the spec read from a copy (so no shipped calibration applies):
  what the first run cost before this change;
* after warm-up: `python -m walkback.warmup` ran first (as `make install` does);
* warm-up, empty user cache: kernels compiled, calibration from the shipped entry only;
* warm: the same command again.

The summaries (timings removed) must be identical. With --fresh-clone the script also clones
this checkout to a temporary folder, runs `make install` there and times the first run in it.

    python benchmarks/bench_cold_start.py [--replicates 1000] [--fresh-clone] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SPEC = ROOT / "src" / "walkback" / "trials" / "walkback.toml"
TIMING_KEYS = ("seconds", "seconds_per_replicate", "spec")


def _run(cmd: list[str], env: dict, cwd: Path | None = None) -> tuple[float, dict | None]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, cwd=cwd).stdout
    seconds = time.perf_counter() - t0
    try:
        d = json.loads(out)
    except ValueError:
        return seconds, None
    return seconds, {k: v for k, v in d.items() if k not in TIMING_KEYS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--fresh-clone", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    mc = ["montecarlo", "--replicates", str(args.replicates), "--seed", "1", "--json"]
    res: dict[str, float] = {}
    summaries = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def env(name: str) -> dict:
            (tmp / name / "numba").mkdir(parents=True, exist_ok=True)
            return {
                **os.environ,
                "NUMBA_CACHE_DIR": str(tmp / name / "numba"),
                "WALKBACK_CACHE_DIR": str(tmp / name / "walkback"),
            }

        copy = tmp / "walkback.toml"
        copy.write_bytes(SPEC.read_bytes())
        e = env("cold")
        res["cold"], summaries["cold"] = _run([str(BIN / "walkback"), *mc, "--spec", str(copy)], e)

        e = env("warmed")
        res["warm_up_itself"], _ = _run([str(BIN / "python"), "-m", "walkback.warmup"], e)
        res["after_warm_up"], summaries["after_warm_up"] = _run([str(BIN / "walkback"), *mc], e)
        res["warm"], summaries["warm"] = _run([str(BIN / "walkback"), *mc], e)
        e2 = {**e, "WALKBACK_CACHE_DIR": str(tmp / "empty")}
        res["warmed_kernels_shipped_calibration"], summaries["shipped"] = _run(
            [str(BIN / "walkback"), *mc], e2
        )
        if args.fresh_clone:
            clone = tmp / "clone"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            t0 = time.perf_counter()
            subprocess.run(["make", "install"], cwd=clone, check=True, capture_output=True)
            res["fresh_clone_make_install"] = time.perf_counter() - t0
            e3 = {**os.environ, "WALKBACK_CACHE_DIR": str(tmp / "clone-cache")}
            e3.pop("NUMBA_CACHE_DIR", None)
            res["fresh_clone_first_run"], summaries["clone"] = _run(
                [str(clone / ".venv" / "bin" / "walkback"), *mc], e3, cwd=clone
            )
    same = all(s == summaries["warm"] for s in summaries.values())
    print(f"walkback montecarlo --replicates {args.replicates}, first run of a fresh install:")
    for k, v in res.items():
        print(f"  {k:<36} {v:7.2f} s")
    print(f"cold / after warm-up: {res['cold'] / res['after_warm_up']:.1f}x")
    if "fresh_clone_first_run" in res:
        print(
            f"fresh clone + make install, first run: {res['fresh_clone_first_run']:.2f} s "
            "(goal <= 4)"
        )
    print(f"summaries identical across all runs: {same}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({**res, "summaries_identical": same}, indent=2, sort_keys=True) + "\n"
        )


if __name__ == "__main__":
    main()
