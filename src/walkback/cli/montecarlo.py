"""Simulation studies: `walkback montecarlo` and `walkback power`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from walkback._typing import CONF_TYPES, TIES
from walkback.cli._common import (
    EXIT_OK,
    FORCE_HELP,
    SPEC_HELP,
    UsageError,
    _alpha,
    _check_out,
    _check_sizes,
    _nonneg_int,
    _pos_int,
    _positive,
    _scheduler,
    _test_name,
)


def _int_list(text: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers like 400,600,800; got {text!r}"
        ) from None
    if not out or min(out) < 4:
        raise argparse.ArgumentTypeError(f"each sample size must be >= 4; got {text!r}")
    return out


def _positive_list(text: str) -> list[float]:
    try:
        out = [_positive(x) for x in text.split(",") if x.strip()]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected positive numbers like 0.65,0.7,0.75; got {text!r}"
        ) from None
    if not out:
        raise argparse.ArgumentTypeError(f"expected positive numbers like 0.65,0.7; got {text!r}")
    return out


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (v >= 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a number of days >= 0; got {text!r}")
    return v


def _mc_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", default="walkback", help=SPEC_HELP)
    p.add_argument(
        "--replicates", type=_pos_int, required=True, metavar="N", help="number of simulated trials"
    )
    p.add_argument(
        "--seed",
        type=_nonneg_int,
        required=True,
        metavar="S",
        help="replicate i depends only on (S, i)",
    )
    p.add_argument(
        "--workers",
        type=_pos_int,
        default=1,
        metavar="K",
        help="local worker processes (default 1: one process using all cores)",
    )
    p.add_argument(
        "--scheduler",
        type=_scheduler,
        metavar="ADDRESS",
        help="run blocks on a Dask cluster (pip install 'walkback[distributed]')",
    )
    p.add_argument(
        "--block",
        type=_pos_int,
        default=4096,
        metavar="B",
        help="replicates per block (rounded up to a multiple of 64; default 4096)",
    )
    p.add_argument("--conf-type", choices=CONF_TYPES, help="KM CI transform (default: the spec's)")
    p.add_argument("--ties", choices=TIES, help="Cox tie method (default: the spec's)")
    p.add_argument("--alpha", type=_alpha, help="significance level (default: the spec's, 0.05)")
    p.add_argument(
        "--tau",
        type=_positive,
        metavar="T",
        help="RMST horizon in days (default: the minimum follow-up)",
    )
    p.add_argument(
        "--test",
        action="append",
        default=[],
        type=_test_name,
        metavar="NAME",
        help="a weighted test run on every replicate (repeatable; as `analyze --test`): logrank, "
        "fh(RHO,GAMMA), gehan, tarone-ware, peto, maxcombo; per test the rejection rate at "
        "alpha with its Monte Carlo SE and the distribution of z (JSON 'tests', keyed by NAME "
        "as written)",
    )
    p.add_argument(
        "--delay",
        type=_nonneg_float,
        default=0.0,
        metavar="DAYS",
        help="a delayed effect: the treatment arm's hazard equals the control's for the first "
        "DAYS days and is HR times it afterwards (non-proportional hazards; default 0: the "
        "spec's proportional hazards throughout)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a summary")


MC_EPILOG = """\
Each replicate simulates a trial from the calibrated spec (recruitment, stratified permuted
blocks, monthly follow-up with dropout, the primary outcome) and analyses it as `walkback
analyze` would: KM medians with CIs, Cox HR with Wald CI, log-rank test, RMST. Results are
identical whatever --block, --workers or --scheduler: replicate i depends only on (seed, i).

With --test NAME each replicate also runs that weighted log-rank test (or MaxCombo: the largest
|z| of FH(0,0), FH(0,1), FH(1,0), FH(1,1), its p from their joint normal) inside the compiled
kernels, equal to `analyze --test` on the same data. With --delay DAYS the treatment's HR
applies only after DAYS (a delayed effect), so power under non-proportional hazards can be
compared between tests; --hr is then the HR after the delay.

JSON keys: replicates, seed, power_logrank, power_cox, hr_mean, hr_median, hr_ci_coverage,
median_intervention_mean, median_control_mean, seconds (and more); with --test, tests: {NAME:
{power, power_mcse, z_mean, z_sd, z_q025, z_q25, z_median, z_q75, z_q975, p_undefined,
winner_share (maxcombo)}}. --out adds per replicate NAME_z, NAME_chisq, NAME_p (and
maxcombo_winner).

examples:
  walkback montecarlo --replicates 50000 --seed 1 --json
  walkback montecarlo --replicates 10000 --seed 2 --hr 0.8 --out reps.parquet
  walkback montecarlo --replicates 5000 --seed 1 --hr 0.6 --delay 180 --test maxcombo
"""


def add_parser(sub) -> None:
    """Register montecarlo and power."""
    m = sub.add_parser(
        "montecarlo",
        help="simulation study: many simulated trials, analysed, summarised",
        description="Run a Monte Carlo study of the spec's trial: power, HR sampling "
        "distribution and CI coverage, medians. Streams in blocks, so memory stays bounded.",
        epilog=MC_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _mc_options(m)
    m.add_argument("--n", type=_pos_int, metavar="N", help="participants per trial (default: spec)")
    m.add_argument("--hr", type=_positive, metavar="HR", help="generating HR (default: spec)")
    m.add_argument(
        "--out",
        metavar="FILE",
        help="per-replicate results (.parquet or .csv; written whole or not at all)",
    )
    m.add_argument("--force", action="store_true", help=FORCE_HELP)
    m.set_defaults(func=_cmd_montecarlo)

    w = sub.add_parser(
        "power",
        help="power by simulation over a grid of sample sizes or hazard ratios",
        description="Power of the log-rank test and the Cox Wald test by simulation, for each "
        "sample size (--n) or generating hazard ratio (--hr) on a grid, next to Schoenfeld's "
        "formula evaluated at the simulated number of events. All grid points share the seed "
        "(common random numbers), so the curve is smooth.",
        epilog="JSON keys (--json): spec, replicates, seed, grid: a list of {n, hr, alpha, "
        "events_mean, power_logrank, power_logrank_mcse, power_cox, power_cox_mcse, "
        "power_schoenfeld, hr_median, seconds, and with --test: tests: {NAME: {power, "
        "power_mcse}}}. --delay DAYS: the HR applies only after DAYS (Schoenfeld's formula "
        "then assumes proportional hazards and overstates power)\n\n"
        "examples:\n  walkback power --n 300,500,700,900 --replicates 2000 --seed 1\n"
        "  walkback power --hr 0.65,0.7,0.75,0.8 --replicates 2000 --seed 1 --json\n"
        "  walkback power --n 400,700 --delay 180 --test maxcombo --replicates 2000 --seed 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _mc_options(w)
    g = w.add_mutually_exclusive_group(required=True)
    g.add_argument("--n", type=_int_list, metavar="N1,N2,...", help="sample sizes")
    g.add_argument("--hr", type=_positive_list, metavar="HR1,HR2,...", help="hazard ratios")
    w.set_defaults(func=_cmd_power)


def _mc_progress():
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, seconds: float) -> None:
        width = 30
        filled = int(width * done / total)
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} replicates "
            f"{seconds:.1f} s",
            end="" if done < total else "\n",
            file=sys.stderr,
            flush=True,
        )

    return show


def _mc_settings(args, spec, **over):
    from walkback.montecarlo.engine import settings_from_spec

    return settings_from_spec(
        spec,
        args.seed,
        conf_type=args.conf_type,
        ties=args.ties,
        alpha=args.alpha,
        tau=args.tau,
        delay=args.delay,
        tests=args.test,
        **over,
    )


def _cmd_montecarlo(args: argparse.Namespace) -> int:
    from walkback.montecarlo.engine import run
    from walkback.spec import load_spec

    if args.out and Path(args.out).suffix.lower() not in (".parquet", ".pq", ".csv"):
        raise UsageError(
            f"walkback montecarlo: error: --out must end in .parquet or .csv (got '{args.out}')"
        )
    if args.out:
        _check_out(args.out, args.force)
    _check_sizes([args.n], args.replicates)
    spec = load_spec(args.spec)
    settings = _mc_settings(args, spec, n=args.n, hr=args.hr)
    res = run(
        settings,
        args.replicates,
        block=args.block,
        workers=args.workers,
        scheduler=args.scheduler,
        out=args.out,
        progress=_mc_progress(),
    )
    d = res.to_dict()
    d["spec"] = spec.name
    if args.json:
        print(json.dumps(d, indent=2, sort_keys=True, allow_nan=False))
        return EXIT_OK
    st = settings
    print(
        f"walkback montecarlo: {spec.name}, {d['replicates']:,} replicates, seed {d['seed']} "
        f"({d['backend']}, {d['workers']} worker(s))"
    )
    effect = f"HR {st.hr:g} after day {st.delay:g} (1 before)" if st.delay else f"HR {st.hr:g}"
    print(
        f"Model: n = {st.n}, Weibull {'PH ' if not st.delay else ''}shape {st.shape:.3f}, "
        f"generating {effect}; "
        f"analysis: '{st.conf_type}' CI, '{st.ties}' ties, alpha {st.alpha:g}, "
        f"RMST tau {st.tau:g}"
    )
    print(
        f"Power (two-sided p < {st.alpha:g}): log-rank {d['power_logrank']:.3f}, "
        f"Cox Wald {d['power_cox']:.3f}"
    )
    print(
        f"Hazard ratio: mean {d['hr_mean']:.4f}, median {d['hr_median']:.4f}; "
        f"{100 * (1 - st.alpha):g}% CI coverage of {st.hr:g}: {d['hr_ci_coverage']:.3f}"
        + (" (the HR after the delay, not the average HR Cox estimates)" if st.delay else "")
    )
    print(
        f"Median days: intervention mean {_opt(d['median_intervention_mean'])} (not reached "
        f"{100 * d['median_intervention_not_reached']:.1f}%), control mean "
        f"{_opt(d['median_control_mean'])} (not reached "
        f"{100 * d['median_control_not_reached']:.1f}%)"
    )
    print(f"Events per trial: mean {d['events_mean']:.1f}")
    for name, t in d.get("tests", {}).items():
        print(_test_line(name, t, st.alpha))
    print(
        f"Time: {d['seconds']:.2f} s ({1e6 * d['seconds_per_replicate']:.0f} us per replicate)"
        + (f"; per-replicate results in {args.out}" if args.out else "")
    )
    return EXIT_OK


def _test_line(name: str, t: dict, alpha: float) -> str:
    """One weighted test's power and z distribution (and MaxCombo's winning components)."""
    line = (
        f"Test {name}: power (p < {alpha:g}) {t['power']:.3f} ±{t['power_mcse']:.3f}; z mean "
        f"{_opt(t['z_mean'], 3)}, SD {_opt(t['z_sd'], 3)}, 95% range [{_opt(t['z_q025'], 2)}, "
        f"{_opt(t['z_q975'], 2)}]"
    )
    if t["p_undefined"]:
        line += f"; p undefined in {t['p_undefined']:,} replicates"
    if "winner_share" in t:
        line += "; winner " + ", ".join(f"{w} {v:.2f}" for w, v in t["winner_share"].items())
    return line


def _opt(x, digits: int = 1) -> str:
    return "NA" if x is None else f"{x:.{digits}f}"


def _cmd_power(args: argparse.Namespace) -> int:
    from walkback.montecarlo.power import power_grid
    from walkback.spec import load_spec

    _check_sizes(args.n or [None], args.replicates)
    spec = load_spec(args.spec)
    grid = [("n", v) for v in args.n] if args.n else [("hr", v) for v in args.hr]
    rows = power_grid(
        [_mc_settings(args, spec, **{k: v}) for k, v in grid],
        args.replicates,
        block=args.block,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    if args.json:
        print(
            json.dumps(
                {"spec": spec.name, "replicates": args.replicates, "seed": args.seed, "grid": rows},
                indent=2,
                sort_keys=True,
                allow_nan=False,
            )
        )
        return EXIT_OK
    key = grid[0][0]
    print(
        f"walkback power: {spec.name}, {args.replicates:,} replicates per point, "
        f"seed {args.seed}, alpha {rows[0]['alpha']:g}"
    )
    names = list(args.test and rows[0]["tests"])
    print(
        f"{key:>6}  {'HR':>6}  {'events':>7}  {'log-rank':>12}  {'Cox Wald':>12}  "
        f"{'Schoenfeld':>10}" + "".join(f"  {n:>12}" for n in names)
    )
    for r in rows:
        print(
            f"{r[key]:>6g}  {r['hr']:>6g}  {r['events_mean']:>7.1f}  "
            f"{r['power_logrank']:>6.3f} ±{r['power_logrank_mcse']:.3f}  "
            f"{r['power_cox']:>6.3f} ±{r['power_cox_mcse']:.3f}  {r['power_schoenfeld']:>10.3f}"
            + "".join(
                f"  {r['tests'][n]['power']:>6.3f} ±{r['tests'][n]['power_mcse']:.3f}"
                for n in names
            )
        )
    if args.delay:
        print(f"Delayed effect: the HR applies after day {args.delay:g} (hazards equal before).")
    print("± is the Monte Carlo standard error; Schoenfeld's formula uses the simulated events.")
    return EXIT_OK
