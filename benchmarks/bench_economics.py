"""Benchmark: the cost-effectiveness bootstrap (5,000 resamples of the 701-participant twin).

Times walkback.economics.bootstrap against a plain Python loop over resamples (numpy per
replicate) and, when Rscript is present, an R loop (sample() within arm, 5,000 times), all in the
same run, and prints the probability of cost-effectiveness each gives (they differ only by Monte
Carlo error: different random streams).

    python benchmarks/bench_economics.py [--resamples 5000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from walkback.economics import bootstrap

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "data" / "synthetic" / "walkback_twin.csv"
R_CODE = r"""
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); B <- as.integer(args[2]); set.seed(2024)
it <- which(d$arm == "intervention"); ic <- which(d$arm == "control")
t0 <- proc.time()[["elapsed"]]
inb <- replicate(B, {
  st <- sample(it, replace = TRUE); sc <- sample(ic, replace = TRUE)
  28000 * (mean(d$qaly_12m[st]) - mean(d$qaly_12m[sc])) -
    (mean(d$cost_total_aud[st]) - mean(d$cost_total_aud[sc]))
})
cat(sprintf('{"seconds": %.6f, "prob": %.6f}', proc.time()[["elapsed"]] - t0, mean(inb > 0)))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resamples", type=int, default=5000)
    args = ap.parse_args()
    d = pd.read_csv(TWIN)
    t = (d["arm"] == "intervention").to_numpy()
    cost, qaly = d["cost_total_aud"].to_numpy(), d["qaly_12m"].to_numpy()

    bootstrap(cost, qaly, t, 100, 1)  # warm-up
    t0 = time.perf_counter()
    boot = bootstrap(cost, qaly, t, args.resamples, 2024)
    wb = time.perf_counter() - t0

    rng = np.random.default_rng(2024)
    it, ic = np.flatnonzero(t), np.flatnonzero(~t)
    t0 = time.perf_counter()
    inb = []
    for _ in range(args.resamples):
        st, sc = rng.choice(it, it.size), rng.choice(ic, ic.size)
        inb.append(
            28000 * (qaly[st].mean() - qaly[sc].mean()) - (cost[st].mean() - cost[sc].mean())
        )
    loop = time.perf_counter() - t0

    rows = [
        ("walkback (vectorised)", wb, boot.prob_cost_effective(28000)),
        ("numpy loop", loop, float(np.mean(np.array(inb) > 0))),
    ]
    if shutil.which("Rscript"):
        with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as f:
            f.write(R_CODE)
        out = subprocess.run(
            ["Rscript", f.name, str(TWIN), str(args.resamples)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        r = json.loads(out)
        rows.append(("R loop", r["seconds"], r["prob"]))
    print(f"{args.resamples:,} bootstrap resamples of {len(d)} participants")
    print(f"{'':24}{'seconds':>10}{'ratio':>9}{'P(cost-effective at 28,000)':>30}")
    for name, sec, p in rows:
        print(f"{name:24}{sec:>10.3f}{sec / wb:>8.0f}x{p:>30.4f}")


if __name__ == "__main__":
    main()
