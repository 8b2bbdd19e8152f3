"""Benchmark: peak memory of `walkback analyze` on a large CSV file, against the file's size.

Writes a CSV of ``--rows`` participants (default 5,000,000: about 320 MiB, near the issue's
371 MB file; the columns of a trial export: id, arm, two strata, age, sex, a date, times, the
event), built from the WalkBack twin, then runs `walkback analyze` on it in a child process:
with the plain-CSV reader (pyarrow, the default for large plain files) and, unless --skip-old,
with the row-by-row reader it replaces (forced by raising ``walkback.plain_csv.FAST_CSV_BYTES``).

What is measured: the peak resident set size of the whole child process (``ru_maxrss``: the
interpreter, numpy/pandas/pyarrow, numba once the concordance kernel loads, the data and every
estimator's scratch), divided by the file's size; the same command on the 701-row twin shows
the interpreter and libraries alone (without numba, which loads only for strata over 4,000
rows). Prints each run's peak, ratio and time, and whether
the JSON outputs of the two readers are identical. The goal: peak below 3x the file size.

    python benchmarks/bench_analyze_memory.py [--rows 5000000] [--skip-old]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "data" / "synthetic" / "walkback_twin.csv"
COLUMNS = [
    "participant_id",
    "arm",
    "episodes_gt2",
    "referral",
    "age",
    "sex",
    "randomised_on",
    "followup_days",
    "care_seeking_days",
    "activity_limiting_days",
    "activity_limiting_event",
]
ARGS = [
    "--time-col", "activity_limiting_days", "--event-col", "activity_limiting_event",
    "--arm-col", "arm", "--treatment", "intervention", "--control", "control",
    "--times", "90,180,365", "--tau", "365", "--json",
]  # fmt: skip
CHILD = """
import sys, resource, walkback.plain_csv as pc
if sys.argv[1] == "old":
    pc.FAST_CSV_BYTES = 1 << 62
from walkback.cli import main
code = main(sys.argv[2:])
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"PEAK_KIB {peak_kib}", file=sys.stderr)
sys.exit(code)
"""


def write_file(path: Path, rows: int) -> None:
    twin = pd.read_csv(TWIN, dtype=str)[COLUMNS]
    reps = -(-rows // len(twin))
    with path.open("w", newline="") as f:
        f.write(",".join(COLUMNS) + "\n")
        for r in range(reps):
            part = twin.copy()
            part["participant_id"] = [f"P{r:05d}-{i:04d}" for i in range(len(twin))]
            take = min(len(part), rows - r * len(twin))
            part.iloc[:take].to_csv(f, header=False, index=False, lineterminator="\n")


def run(kind: str, path: Path) -> tuple[float, float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, kind, "analyze", str(path), *ARGS],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{kind} reader: exit {proc.returncode}: {proc.stderr.strip()[-400:]}")
    peak = next(int(x.split()[1]) for x in proc.stderr.splitlines() if x.startswith("PEAK_KIB"))
    return peak * 1024.0, seconds, json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--skip-old", action="store_true", help="only the new reader")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.csv"
        write_file(path, args.rows)
        size = path.stat().st_size
        print(f"{args.rows:,} rows, {size / 2**20:,.0f} MiB ({path.name})")
        base, _, _ = run("new", TWIN)
        print(f"  the same command on the {TWIN.name} (701 rows): peak RSS {base / 2**20:,.0f} MiB")
        results = {}
        for kind in ("new", "old") if not args.skip_old else ("new",):
            peak, seconds, out = run(kind, path)
            results[kind] = out
            print(
                f"  {kind} reader: peak RSS {peak / 2**20:,.0f} MiB = {peak / size:.2f}x the file "
                f"({'below' if peak < 3 * size else 'NOT below'} the goal of 3x); {seconds:.1f} s"
            )
        if "old" in results:
            a, b = results["new"], results["old"]
            same = a == b
            print(f"  JSON outputs identical: {same}")
            if not same:
                raise SystemExit("the two readers disagree")
        hr = results["new"]["hazard_ratio"]
        print(f"  HR {hr['estimate']:.4f} (n = {sum(results['new']['n'].values()):,})")


if __name__ == "__main__":
    main()
