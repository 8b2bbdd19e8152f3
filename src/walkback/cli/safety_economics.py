"""`walkback safety` (adverse events) and `walkback economics` (cost-effectiveness)."""

from __future__ import annotations

import argparse
import json

import numpy as np

from walkback._json import json_ready
from walkback.cli._common import EXIT_OK, _alpha, _nonneg_int, _pos_int, _positive


def _arm_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", metavar="DATA", help="CSV or Parquet file, one row per participant")
    p.add_argument("--arm-col", default="arm", metavar="C", help="arm column (default arm)")
    p.add_argument(
        "--treatment",
        default="intervention",
        metavar="L",
        help="treatment arm label (default intervention)",
    )
    p.add_argument(
        "--control", default="control", metavar="L", help="control arm label (default control)"
    )
    p.add_argument("--alpha", type=_alpha, default=0.05, help="1 - confidence level (default 0.05)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a summary")


def add_parser(sub) -> None:
    """Register safety and economics."""
    s = sub.add_parser(
        "safety",
        help="adverse events: proportions, risk difference, Fisher's test, event-rate ratio",
        description="Compare adverse events between arms: the share with at least one event "
        "(risk difference with Newcombe's CI, Fisher's exact test, as WalkBack's SAP) and the "
        "rate of events per participant (negative-binomial or Poisson regression, rate ratio "
        "with Wald CI).",
        epilog="example:\n  walkback safety data/synthetic/walkback_twin.csv --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _arm_options(s)
    s.add_argument(
        "--ae-col",
        default="adverse_event_12m",
        metavar="C",
        help="0/1 column: at least one adverse event (default adverse_event_12m)",
    )
    s.add_argument(
        "--count-col",
        default="lower_limb_ae_count",
        metavar="C",
        help="event-count column (default lower_limb_ae_count)",
    )
    s.add_argument(
        "--model",
        choices=("negative_binomial", "poisson"),
        default="negative_binomial",
        help="count model (default negative_binomial)",
    )
    s.set_defaults(func=_cmd_safety)

    e = sub.add_parser(
        "economics",
        help="cost-effectiveness: ICER, net monetary benefit, bootstrap, acceptability curve",
        description="Cost-effectiveness from participant-level costs and QALYs: incremental "
        "cost and QALYs (treatment minus control), ICER, net monetary benefit at --wtp, a "
        "non-parametric bootstrap of arms (participants resampled within arm; seeded) with the "
        "probability of being cost-effective and the acceptability curve, and rate ratios of "
        "resource use (negative binomial) when the visit and work-day columns are present.",
        epilog="example:\n  walkback economics data/synthetic/walkback_twin.csv --wtp 28000 "
        "--bootstrap 5000 --seed 2024",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _arm_options(e)
    e.add_argument(
        "--cost-col",
        default="cost_total_aud",
        metavar="C",
        help="total cost per participant (default cost_total_aud)",
    )
    e.add_argument("--qaly-col", default="qaly_12m", metavar="C", help="QALYs (default qaly_12m)")
    e.add_argument(
        "--wtp", type=_positive, default=28000.0, help="willingness to pay per QALY (default 28000)"
    )
    e.add_argument(
        "--bootstrap",
        type=_pos_int,
        default=5000,
        metavar="B",
        help="bootstrap resamples (default 5000)",
    )
    e.add_argument(
        "--seed",
        type=_nonneg_int,
        default=2024,
        metavar="S",
        help="bootstrap seed (default 2024, the WalkBack spec's)",
    )
    e.add_argument(
        "--adjust-baseline",
        metavar="C",
        nargs="?",
        const="eq5d_baseline",
        help="adjust the QALY difference for baseline utility by regression "
        "(column, default eq5d_baseline)",
    )
    e.set_defaults(func=_cmd_economics)


def _read_arms(args, columns):
    from walkback.io import arm_column, read_table

    frame, lines, unit = read_table(args.data, [args.arm_col, *columns])
    treated = arm_column(frame, args.arm_col, args.treatment, args.control, lines, unit, args.data)
    return frame, lines, unit, treated


def _cmd_safety(args: argparse.Namespace) -> int:
    from walkback.io import numeric_column
    from walkback.safety import compare_proportions, rate_ratio

    frame, lines, unit, treated = _read_arms(args, [args.ae_col, args.count_col])
    ae = numeric_column(
        frame, args.ae_col, lines, unit, args.data, minimum=0, maximum=1, whole=True
    )
    counts = numeric_column(frame, args.count_col, lines, unit, args.data, minimum=0, whole=True)
    level = 1 - args.alpha
    prop = compare_proportions(ae, treated, level)
    rr = rate_ratio(counts, treated, args.model, level)
    out = {
        "adverse_events": prop.to_dict(),
        "event_rate": rr.to_dict(),
        "labels": {"treatment": args.treatment, "control": args.control},
    }
    if args.json:
        print(json.dumps(json_ready(out), indent=2, sort_keys=True, allow_nan=False))
        return EXIT_OK
    pct = f"{100 * level:g}%"
    print(f"walkback safety: {args.data}")
    print(
        f"At least one adverse event ({args.ae_col}): {args.treatment} {prop.events_treatment}"
        f"/{prop.n_treatment} ({100 * prop.share_treatment:.1f}%), {args.control} "
        f"{prop.events_control}/{prop.n_control} ({100 * prop.share_control:.1f}%)"
    )
    print(
        f"  risk difference {100 * prop.risk_difference:+.1f} points ({pct} CI "
        f"{100 * prop.lower:+.1f} to {100 * prop.upper:+.1f}; {prop.ci_method}); "
        f"Fisher's exact p = {prop.fisher_p:.2f}"
    )
    print(
        f"Events ({args.count_col}): {args.treatment} {rr.total_treatment:.0f}, "
        f"{args.control} {rr.total_control:.0f}; rate ratio {rr.ratio:.2f} ({pct} CI "
        f"{rr.lower:.2f} to {rr.upper:.2f}), p = {rr.p:.2g} [{rr.model.replace('_', ' ')}]"
    )
    return EXIT_OK


def _cmd_economics(args: argparse.Namespace) -> int:
    from walkback import economics
    from walkback.io import numeric_column
    from walkback.safety import rate_ratio

    cols = [args.cost_col, args.qaly_col] + ([args.adjust_baseline] if args.adjust_baseline else [])
    frame, lines, unit, treated = _read_arms(args, cols)
    cost = numeric_column(frame, args.cost_col, lines, unit, args.data, minimum=0)
    qaly = numeric_column(frame, args.qaly_col, lines, unit, args.data)
    base = (
        numeric_column(frame, args.adjust_baseline, lines, unit, args.data)
        if args.adjust_baseline
        else None
    )
    boot = economics.bootstrap(cost, qaly, treated, args.bootstrap, args.seed, base)
    pt = boot.point
    lo_c, hi_c = np.quantile(boot.d_cost, [args.alpha / 2, 1 - args.alpha / 2])
    lo_q, hi_q = np.quantile(boot.d_qaly, [args.alpha / 2, 1 - args.alpha / 2])
    ceac = boot.ceac()
    use = {}
    for c in ("healthcare_visits_12m", "work_days_lost_12m"):
        if c in frame.columns:
            y = numeric_column(frame, c, lines, unit, args.data, minimum=0, whole=True)
            use[c] = rate_ratio(y, treated, "negative_binomial", 1 - args.alpha).to_dict()
    out = {
        "mean_cost": {"treatment": pt.cost_treatment, "control": pt.cost_control},
        "mean_qaly": {"treatment": pt.qaly_treatment, "control": pt.qaly_control},
        "incremental_cost": pt.d_cost,
        "incremental_qaly": pt.d_qaly,
        "incremental_cost_ci": [float(lo_c), float(hi_c)],
        "incremental_qaly_ci": [float(lo_q), float(hi_q)],
        "icer": pt.icer,
        "quadrant": pt.quadrant,
        "wtp": args.wtp,
        "net_monetary_benefit": pt.nmb(args.wtp),
        "prob_cost_effective": boot.prob_cost_effective(args.wtp),
        "bootstrap": {
            "resamples": boot.resamples,
            "seed": boot.seed,
            "method": "participants resampled with replacement within arm",
            "quadrants": boot.quadrant_shares(),
        },
        "ceac": ceac.to_dict(orient="list"),
        "baseline_adjusted": pt.adjusted,
        "resource_use_rate_ratios": use,
        "labels": {"treatment": args.treatment, "control": args.control},
    }
    if args.json:
        print(json.dumps(json_ready(out), indent=2, sort_keys=True, allow_nan=False))
        return EXIT_OK
    pct = f"{100 * (1 - args.alpha):g}%"
    print(f"walkback economics: {args.data} ({args.cost_col}, {args.qaly_col})")
    print(
        f"Mean cost: {args.treatment} {pt.cost_treatment:,.2f}, {args.control} "
        f"{pt.cost_control:,.2f}; incremental {pt.d_cost:,.2f} ({pct} bootstrap CI "
        f"{lo_c:,.2f} to {hi_c:,.2f})"
    )
    adj = " (adjusted for baseline utility)" if pt.adjusted else ""
    print(
        f"Mean QALYs: {args.treatment} {pt.qaly_treatment:.4f}, {args.control} "
        f"{pt.qaly_control:.4f}; incremental{adj} {pt.d_qaly:.4f} ({pct} CI {lo_q:.4f} to "
        f"{hi_q:.4f})"
    )
    print(
        f"ICER: {pt.icer:,.0f} per QALY gained ({pt.quadrant}); net monetary benefit at "
        f"{args.wtp:,.0f}: {pt.nmb(args.wtp):,.2f}"
    )
    print(
        f"Probability cost-effective at {args.wtp:,.0f} per QALY: "
        f"{boot.prob_cost_effective(args.wtp):.3f} ({boot.resamples:,} bootstrap resamples, "
        f"seed {boot.seed})"
    )
    marks = [0, 10_000, 20_000, 28_000, 50_000, 100_000]
    curve = boot.ceac(marks)
    print(
        "Acceptability: "
        + ", ".join(
            f"{int(w):,}: {p:.2f}"
            for w, p in zip(curve.wtp, curve.prob_cost_effective, strict=True)
        )
    )
    for c, r in use.items():
        print(
            f"{c}: rate ratio {r['ratio']:.2f} ({pct} CI {r['lower']:.2f} to {r['upper']:.2f})"
            " [negative binomial]"
        )
    return EXIT_OK
