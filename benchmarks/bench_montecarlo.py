"""Benchmark: `walkback montecarlo` against a lifelines loop and an R survival loop, in one run.

Per replicate, all three simulate a WalkBack-sized trial from the same calibrated model and
compute the two Kaplan-Meier medians (with CIs) and the Cox hazard ratio (with CI):

* walkback: the whole `walkback montecarlo --replicates N --seed 1 --json` process, timed from
  outside (start-up, spec, calibration cache, compiled-kernel cache and all);
* lifelines: a Python loop (the same trial model in numpy for the data, then KaplanMeierFitter
  x 2 with median CIs and RMST, logrank_test, CoxPHFitter), timed inside the loop;
* R: benchmarks/r_loop.R (the same simulation written in R, survfit + quantile + RMST,
  survdiff, coxph), timed inside R (R's start-up excluded, which favours R).

All three do the work of a walkback replicate: two KM medians with CIs, RMST per arm, the
log-rank test and the Cox HR with its CI.

It also checks agreement per replicate: on replicates simulated by the engine, lifelines' HR and
medians vs walkback's. With --million it runs 1,000,000 replicates and reports peak memory.

    python benchmarks/bench_montecarlo.py [--replicates 50000] [--lifelines 100] [--r 300]
                                          [--million] [--maxcombo 20000]
                                          [--json benchmarks/results/montecarlo.json]

With --maxcombo N it also times what `--test maxcombo` adds to a replicate (under a delayed
effect, HR 0.6 after day 180) against an R loop doing the same MaxCombo analysis
(benchmarks/r_maxcombo.R), and prints the ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WALKBACK = [sys.executable, "-m", "walkback"]


def run_walkback(replicates: int, seed: int = 1, extra: tuple[str, ...] = ()) -> dict:
    """Time the whole CLI process; return its JSON plus the outside wall time and peak RSS."""
    cmd = [*WALKBACK, "montecarlo", "--replicates", str(replicates), "--seed", str(seed), "--json"]
    cmd += list(extra)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"walkback montecarlo failed: {err.strip()}")
    d = json.loads(out)
    d["wall_seconds"] = wall
    d["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return d


def lifelines_loop(replicates: int, seed: int = 1) -> dict:
    import pandas as pd
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test
    from lifelines.utils import median_survival_times, restricted_mean_survival_time

    from walkback.calibrate import calibrate
    from walkback.simulate import (
        draw_baseline,
        event_days,
        followup_days,
        latent_exponentials,
        spawn_streams,
    )
    from walkback.spec import load_spec

    spec = load_spec("walkback")
    model = calibrate(spec).model
    tau = round(spec.min_months * spec.days_per_month)
    t0 = time.perf_counter()
    hrs = []
    for i in range(replicates):
        # the same trial model, only what the analysis needs (recruitment, stratified blocks,
        # follow-up with dropout, the primary outcome), as plain numpy
        streams = spawn_streams(seed * 1_000_003 + i, spec)
        base = draw_baseline(spec, streams["baseline"])
        treated = base["treated"]
        days = event_days(spec, model, latent_exponentials(spec, streams, treated.size), treated)[
            "activity_limiting"
        ]
        fu = followup_days(spec, base, model.dropout_rate)
        d = pd.DataFrame(
            {"t": np.minimum(days, fu), "e": (days <= fu).astype(int), "arm": treated.astype(int)}
        )
        # the same work as a walkback replicate: KM medians with CIs, RMST, log-rank, Cox
        for a in (1, 0):
            kmf = KaplanMeierFitter().fit(d.t[d.arm == a], d.e[d.arm == a])
            _ = kmf.median_survival_time_, median_survival_times(kmf.confidence_interval_)
            _ = restricted_mean_survival_time(kmf, t=tau)  # its variance is a slow quadrature
        _ = logrank_test(d.t[d.arm == 1], d.t[d.arm == 0], d.e[d.arm == 1], d.e[d.arm == 0])
        cph = CoxPHFitter().fit(d, "t", "e")
        hrs.append(float(np.exp(cph.params_["arm"])))
    seconds = time.perf_counter() - t0
    return {
        "replicates": replicates,
        "seconds": seconds,
        "per_replicate": seconds / replicates,
        "hr_mean": float(np.mean(hrs)),
    }


def agreement(replicates: int, seed: int = 1) -> dict:
    """lifelines on the engine's own simulated replicates: HR and medians vs walkback's."""
    import pandas as pd
    from lifelines import CoxPHFitter, KaplanMeierFitter

    from walkback.montecarlo.engine import run_block, settings_from_spec
    from walkback.spec import load_spec

    settings = settings_from_spec(load_spec("walkback"), seed)
    table, (times, events, treated) = run_block(settings, 0, replicates, keep_data=True)
    hr_rel, med_equal, med_n = [], 0, 0
    for i in range(replicates):
        d = pd.DataFrame({"t": times[i], "e": events[i], "arm": treated[i].astype(int)})
        hr = float(np.exp(CoxPHFitter().fit(d, "t", "e").params_["arm"]))
        hr_rel.append(abs(hr / table["hr"][i] - 1))
        for a, col in ((1, "median_treatment"), (0, "median_control")):
            m = KaplanMeierFitter().fit(d.t[d.arm == a], d.e[d.arm == a]).median_survival_time_
            med_n += 1
            med_equal += bool(m == table[col][i] or (np.isinf(m) and np.isnan(table[col][i])))
    return {
        "replicates": replicates,
        "hr_max_rel_diff": float(max(hr_rel)),
        "medians_equal": med_equal,
        "medians_compared": med_n,
    }


def r_loop(replicates: int, seed: int = 1) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    from walkback.montecarlo.engine import settings_from_spec
    from walkback.spec import load_spec

    s = settings_from_spec(load_spec("walkback"), seed)
    with tempfile.TemporaryDirectory() as tmp:
        params, out = Path(tmp) / "params.json", Path(tmp) / "r.json"
        params.write_text(json.dumps(dataclasses.asdict(s)))
        subprocess.run(
            [
                "Rscript",
                str(ROOT / "benchmarks" / "r_loop.R"),
                str(params),
                str(replicates),
                str(out),
            ],
            check=True,
        )
        return json.loads(out.read_text())


MAXCOMBO_SCENARIO = ("--hr", "0.6", "--delay", "180")  # a delayed effect: HR 0.6 after day 180


def maxcombo_cost(replicates: int, r_replicates: int, seed: int = 1) -> dict:
    """What `--test maxcombo` adds per replicate (whole processes with and without it, under a
    delayed effect), against an R loop doing the same analysis (benchmarks/r_maxcombo.R: survdiff
    rho = 0, 1, the G(0,1), G(1,1) statistics, mvtnorm::pmvnorm)."""
    run_walkback(256, seed, (*MAXCOMBO_SCENARIO, "--test", "maxcombo"))  # warm the kernels
    base = run_walkback(replicates, seed, MAXCOMBO_SCENARIO)
    with_mc = run_walkback(replicates, seed, (*MAXCOMBO_SCENARIO, "--test", "maxcombo"))
    added = (with_mc["wall_seconds"] - base["wall_seconds"]) / replicates
    out = {
        "replicates": replicates,
        "walkback_per_replicate": base["wall_seconds"] / replicates,
        "walkback_maxcombo_per_replicate": with_mc["wall_seconds"] / replicates,
        "walkback_added_per_replicate": added,
        "walkback_power": with_mc["tests"]["maxcombo"],
        "walkback_power_logrank": with_mc["power_logrank"],
        "r": None,
    }
    if shutil.which("Rscript") is None:
        return out
    from walkback.montecarlo.engine import settings_from_spec
    from walkback.spec import load_spec

    s = settings_from_spec(load_spec("walkback"), seed, hr=0.6, delay=180.0)
    with tempfile.TemporaryDirectory() as tmp:
        params, res = Path(tmp) / "params.json", Path(tmp) / "r.json"
        params.write_text(json.dumps(dataclasses.asdict(s)))
        script = str(ROOT / "benchmarks" / "r_maxcombo.R")
        subprocess.run(["Rscript", script, str(params), str(r_replicates), str(res)], check=True)
        out["r"] = json.loads(res.read_text())
    out["ratio_r"] = out["r"]["per_replicate"] / max(added, 1e-9)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicates", type=int, default=50_000)
    ap.add_argument("--lifelines", type=int, default=100)
    ap.add_argument("--r", type=int, default=300)
    ap.add_argument("--agreement", type=int, default=200)
    ap.add_argument("--million", action="store_true", help="also run 1,000,000 replicates")
    ap.add_argument(
        "--maxcombo",
        type=int,
        default=0,
        metavar="N",
        help="also time --test maxcombo on N replicates (and the R MaxCombo loop on --r)",
    )
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()

    print("warming up (calibration and compiled-kernel caches) ...", flush=True)
    run_walkback(256)
    wb = run_walkback(args.replicates)
    wb_per = wb["wall_seconds"] / args.replicates
    ll = lifelines_loop(args.lifelines)
    r = r_loop(args.r)
    agree = agreement(args.agreement)

    rows = [("walkback (whole process)", args.replicates, wb["wall_seconds"], wb_per)]
    rows.append(("lifelines loop", ll["replicates"], ll["seconds"], ll["per_replicate"]))
    if r:
        rows.append(("R survival loop", r["replicates"], r["seconds"], r["per_replicate"]))
    print(f"\n{'':26}{'replicates':>11}{'seconds':>10}{'per replicate':>16}{'ratio':>10}")
    for name, n, sec, per in rows:
        ratio = per / wb_per
        print(f"{name:26}{n:>11,}{sec:>10.2f}{1e6 * per:>13.1f} us{ratio:>9.0f}x")
    print(
        f"\nwalkback: HR mean {wb['hr_mean']:.4f}, coverage {wb['hr_ci_coverage']:.3f}, "
        f"power {wb['power_cox']:.3f}, peak RSS {wb['peak_rss_mb']:.0f} MB"
    )
    print(
        f"lifelines loop HR mean {ll['hr_mean']:.4f}"
        + (f"; R loop HR mean {r['hr_mean']:.4f}" if r else "; R not available")
    )
    print(
        f"agreement on {agree['replicates']} engine replicates: lifelines HR max relative "
        f"difference {agree['hr_max_rel_diff']:.1e}; medians equal in "
        f"{agree['medians_equal']}/{agree['medians_compared']}"
    )
    result = {
        "walkback": wb,
        "lifelines": ll,
        "r": r,
        "agreement": agree,
        "ratio_r": (r["per_replicate"] / wb_per) if r else None,
        "ratio_lifelines": ll["per_replicate"] / wb_per,
        "cpu_count": os.cpu_count(),
    }
    if args.maxcombo:
        mc = maxcombo_cost(args.maxcombo, args.r)
        r_mc = mc["r"]
        print(
            f"\n--test maxcombo (HR 0.6 after day 180), {args.maxcombo:,} replicates: walkback "
            f"{1e6 * mc['walkback_per_replicate']:.1f} us per replicate without, "
            f"{1e6 * mc['walkback_maxcombo_per_replicate']:.1f} us with (adds "
            f"{1e6 * mc['walkback_added_per_replicate']:.1f} us); power MaxCombo "
            f"{mc['walkback_power']['power']:.3f} vs log-rank {mc['walkback_power_logrank']:.3f}"
        )
        if r_mc:
            print(
                f"R MaxCombo loop (survdiff rho 0/1, G(0,1), G(1,1), pmvnorm), {r_mc['replicates']}"
                f" replicates: {1e3 * r_mc['per_replicate']:.2f} ms per replicate, "
                f"{mc['ratio_r']:,.0f}x walkback's added cost; R rejects {r_mc['reject']:.3f}"
            )
        result["maxcombo"] = mc
    if args.million:
        big = run_walkback(1_000_000)
        print(
            f"1,000,000 replicates: {big['wall_seconds']:.1f} s, peak RSS "
            f"{big['peak_rss_mb']:.0f} MB"
        )
        result["million"] = {
            "wall_seconds": big["wall_seconds"],
            "peak_rss_mb": big["peak_rss_mb"],
            "hr_mean": big["hr_mean"],
        }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
