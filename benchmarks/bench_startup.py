"""Benchmark: `walkback analyze` on the twin, whole process, against Rscript doing the same
analysis (R survival: Kaplan-Meier per arm with median CIs and RMST, Cox with Wald/LR/score tests
and concordance, log-rank, cox.zph, reverse-KM median follow-up), in the same run.

Runs are interleaved (walkback, R, walkback, R, ...) so both see the same machine load; the
median of each is compared and the ratio printed. The HR and both medians are checked to agree.

    python benchmarks/bench_startup.py [--runs 7] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "data" / "synthetic" / "walkback_twin.csv"
WALKBACK = Path(sys.executable).with_name("walkback")
ARGS = [
    "--time-col", "activity_limiting_days", "--event-col", "activity_limiting_event",
    "--arm-col", "arm", "--treatment", "intervention", "--control", "control",
]  # fmt: skip
R_CODE = r"""
suppressMessages(library(survival))
d <- read.csv(commandArgs(trailingOnly = TRUE)[1])
d$arm <- factor(d$arm, levels = c("control", "intervention"))
y <- Surv(d$activity_limiting_days, d$activity_limiting_event)
km <- survfit(y ~ arm, data = d)
tau <- min(tapply(d$activity_limiting_days, d$arm, max))
tab <- summary(km, rmean = tau)$table
fit <- coxph(y ~ arm, data = d)
s <- summary(fit)
lr <- survdiff(y ~ arm, data = d)
zph <- cox.zph(fit)
fu <- survfit(Surv(d$activity_limiting_days, 1 - d$activity_limiting_event) ~ 1)
print(km); print(s); print(lr); print(zph); print(fu)
cat(sprintf("RESULT %.10g %.10g %.10g\n", exp(coef(fit)), tab[2, "median"], tab[1, "median"]))
"""


def _time(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()
    rscript = shutil.which("Rscript")
    if rscript is None:
        sys.exit("bench_startup: Rscript not found (apt-get install r-base-core r-cran-survival)")
    wb_cmd = [str(WALKBACK), "analyze", str(TWIN), *ARGS, "--json"]
    with tempfile.TemporaryDirectory() as tmp:
        rfile = Path(tmp) / "analyze.R"
        rfile.write_text(R_CODE)
        r_cmd = [rscript, str(rfile), str(TWIN)]
        _time(wb_cmd), _time(r_cmd)  # first runs fill the OS file cache for both
        wb, r = [], []
        for _ in range(args.runs):
            s, wb_out = _time(wb_cmd)
            wb.append(s)
            s, r_out = _time(r_cmd)
            r.append(s)
    d = json.loads(wb_out)
    r_hr, r_med_t, r_med_c = (float(x) for x in r_out.split("RESULT")[1].split())
    hr_diff = abs(d["hazard_ratio"]["estimate"] / r_hr - 1)
    same_medians = (d["median"]["treatment"]["estimate"], d["median"]["control"]["estimate"]) == (
        r_med_t,
        r_med_c,
    )
    res = {
        "runs": args.runs,
        "walkback_analyze_median_s": statistics.median(wb),
        "rscript_median_s": statistics.median(r),
        "ratio_walkback_over_r": statistics.median(wb) / statistics.median(r),
        "walkback_s": wb,
        "rscript_s": r,
        "hr_relative_difference": hr_diff,
        "medians_equal": same_medians,
    }
    print(
        f"walkback analyze (whole process): median {res['walkback_analyze_median_s']:.3f} s "
        f"over {args.runs} runs"
    )
    print(f"Rscript, same analysis:           median {res['rscript_median_s']:.3f} s")
    print(f"ratio walkback / R: {res['ratio_walkback_over_r']:.2f} (goal <= 0.7)")
    print(f"agreement: HR relative difference {hr_diff:.1e}; medians equal: {same_medians}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
