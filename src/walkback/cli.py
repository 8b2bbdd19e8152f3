"""Command-line interface. Parses arguments, prints, sets exit codes; holds no statistics.

Exit codes: 0 success; 2 bad input or usage (one line on stderr); 3 an unexpected internal error
(one line on stderr; set WALKBACK_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from walkback import __version__
from walkback._argtypes import positive as _positive
from walkback._json import json_ready
from walkback._typing import CONF_TYPES, CONVENTIONS, TIES
from walkback.cli_reconstruct import add_reconstruct_parser
from walkback.exceptions import WalkbackError

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 2, 3


class UsageError(WalkbackError):
    """Bad command-line usage."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit code 2 (argparse prints usage too)."""

    def error(self, message: str):  # noqa: D102 - argparse API
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


ANALYZE_EPILOG = """\
conventions:
  R survival    --conf-type log     --ties efron    (the default; --convention r)
  SAS, Stata    --conf-type log-log --ties breslow  (--convention sas | stata)
  An explicit --conf-type or --ties overrides the convention. Papers rarely say which they used:
  run both and see which reproduces the published numbers.

examples:
  walkback analyze trial.csv --time-col days --event-col event --arm-col arm \\
      --treatment intervention --control control --times 90,180,365 --tau 365
  walkback analyze trial.parquet --time-col t --event-col d --arm-col rx --treatment 1 \\
      --control 0 --strata site --convention sas --json

JSON keys (--json): n, events, median, survival_at, hazard_ratio, logrank, ph_test, rmst,
settings; null means not reached or not defined.
"""


def _float_list(text: str) -> list[float]:
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            v = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--times wants comma-separated numbers like 90,180,365; got {part!r}"
            ) from None
        if not v >= 0 or v == float("inf"):
            raise argparse.ArgumentTypeError(f"--times must be finite and >= 0; got {part!r}")
        out.append(v)
    return out


def _alpha(text: str) -> float:
    v = _positive(text)
    if v >= 1:
        raise argparse.ArgumentTypeError(f"--alpha must be between 0 and 1, got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="walkback",
        description="Re-analyse and reproduce randomised trials with time-to-event outcomes. "
        "Numbers match R survival; every convention is stated.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"walkback {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    a = sub.add_parser(
        "analyze",
        help="Kaplan-Meier, medians, Cox HRs, log-rank, PH test and RMST for a trial of 2+ arms",
        description="Analyse a trial of two or more arms (CSV or Parquet): Kaplan-Meier curves "
        "and medians per arm, survival at landmark times, one Cox model with the arm as a factor "
        "(reference = control; hazard ratio of each treatment arm vs control), the k-group "
        "log-rank test, tests of the arm term alone, concordance, median follow-up (reverse "
        "Kaplan-Meier), proportional-hazards tests (cox.zph, KM transform) and restricted mean "
        "survival time. With --strata the Cox model and log-rank test are stratified. Times "
        "closer than R's aeqSurv tolerance are ties, as R's timefix (--no-timefix to compare "
        "exactly).",
        epilog=ANALYZE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument("data", metavar="DATA", help="CSV or Parquet file, one row per participant")
    g = a.add_argument_group("columns and arms (required)")
    g.add_argument("--time-col", required=True, metavar="C", help="follow-up time column (>= 0)")
    g.add_argument(
        "--event-col",
        required=True,
        metavar="C",
        help="event column: --event-value = event, --censor-value = censored (default 1/0; "
        "TRUE/FALSE read as 1/0)",
    )
    g.add_argument("--arm-col", required=True, metavar="C", help="arm (group) column")
    g.add_argument(
        "--control", required=True, metavar="L", help="label of the control (reference) arm"
    )
    g.add_argument(
        "--treatment",
        type=_label_list,
        metavar="L[,L2,...]",
        help="label(s) of the treatment arm(s) (default: every label other than --control)",
    )
    o = a.add_argument_group("options")
    o.add_argument(
        "--event-value",
        default="1",
        metavar="V",
        help="value of the event column that means an event (default 1; R data often use 2)",
    )
    o.add_argument(
        "--censor-value",
        default="0",
        metavar="V",
        help="value that means censored (default 0; R data with 2 = event use 1)",
    )
    o.add_argument(
        "--other-arms",
        choices=("error", "drop"),
        default="error",
        help="rows whose arm is not named: an error (default) or excluded and counted",
    )
    o.add_argument(
        "--na",
        choices=("error", "drop"),
        default="error",
        help="a missing value in a used column: an error (default) or its row is excluded and "
        "reported (R's na.omit)",
    )
    o.add_argument(
        "--no-timefix",
        dest="timefix",
        action="store_false",
        help="compare times exactly instead of merging near ties as R's timefix",
    )
    o.add_argument(
        "--time-unit", default="days", metavar="U", help="unit of the time column (default days)"
    )
    o.add_argument(
        "--strata",
        action="append",
        default=[],
        metavar="C",
        help="stratify Cox and log-rank by this column (repeat for several)",
    )
    o.add_argument(
        "--covariate",
        action="append",
        default=[],
        metavar="C[:REF]",
        help="adjust the Cox model for this column (repeat for several): numbers as they are, "
        "text as a factor with R's treatment contrasts; REF names the reference level "
        "(default: the first in sorted order)",
    )
    o.add_argument("--id-col", metavar="C", help="participant id column (checked for duplicates)")
    o.add_argument(
        "--convention",
        choices=sorted(CONVENTIONS),
        default="r",
        help="software whose defaults to use for --conf-type and --ties (default r)",
    )
    o.add_argument(
        "--conf-type", choices=CONF_TYPES, help="KM CI transform (default: from --convention)"
    )
    o.add_argument("--ties", choices=TIES, help="Cox tie method (default: from --convention)")
    o.add_argument(
        "--times",
        type=_float_list,
        default=[],
        metavar="T1,T2,...",
        help="landmark times for survival and number at risk",
    )
    o.add_argument(
        "--tau",
        type=_positive,
        metavar="T",
        help="RMST horizon (default: the earlier of the arms' last follow-up times)",
    )
    o.add_argument("--alpha", type=_alpha, default=0.05, help="1 - confidence level (default 0.05)")
    o.add_argument("--json", action="store_true", help="print the JSON contract instead of a table")
    a.set_defaults(func=_cmd_analyze)
    _add_trial_model_commands(sub)
    add_reconstruct_parser(sub)
    return parser


SPEC_HELP = "trial spec: a packaged name (default: walkback) or a path to a .toml file"


def _add_trial_model_commands(sub) -> None:
    s = sub.add_parser(
        "simulate",
        help="simulate one participant-level trial from a spec",
        description="Simulate one trial from a trial spec (calibrated to its published "
        "summaries): stratified block randomisation, staggered recruitment, monthly follow-up "
        "with dropout, and linked outcomes. Same spec and seed, same data.",
        epilog="example:\n  walkback simulate --seed 7 --out trial.csv\n"
        "  walkback analyze trial.csv --time-col activity_limiting_days \\\n"
        "      --event-col activity_limiting_event --arm-col arm --treatment intervention "
        "--control control",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--spec", default="walkback", help=SPEC_HELP)
    s.add_argument("--seed", type=int, required=True, help="random seed (an integer >= 0)")
    s.add_argument("--out", required=True, metavar="PATH", help="output .csv or .parquet")
    s.set_defaults(func=_cmd_simulate)

    c = sub.add_parser(
        "calibrate",
        help="solve a spec's free parameters from its published summaries",
        description="Solve the generating model's free parameters ({ calibrate = ... } in the "
        "spec) and print the model's expected value next to every published target.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--spec", default="walkback", help=SPEC_HELP)
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.set_defaults(func=_cmd_calibrate)

    t = sub.add_parser(
        "twin",
        help="build the deterministic synthetic twin of a trial",
        description="Build the synthetic twin: one deterministic dataset from the calibrated "
        "model whose analysis reproduces every published figure to its printed precision. "
        "Writes the data and a metadata sidecar (<name>.json: spec hash, generator and numpy "
        "versions, sha256).",
        epilog="example:\n  walkback twin --out data/synthetic/walkback_twin.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("--spec", default="walkback", help=SPEC_HELP)
    t.add_argument("--out", required=True, metavar="PATH", help="output .csv or .parquet")
    t.set_defaults(func=_cmd_twin)

    r = sub.add_parser(
        "reproduce",
        help="compare published figures with those computed from data",
        description="Compute every published figure of a trial spec from participant-level data "
        "(the synthetic twin by default, or --data: a real export or a reconstruction with the "
        "spec's columns) and compare at the printed precision. Writes reproduction.md and "
        "reproduction.json. Exit code 0 when every target passes, 1 otherwise, 2 for bad input.",
        epilog="examples:\n  walkback reproduce\n"
        "  walkback reproduce --data data/synthetic/walkback_twin.csv --json\n"
        "  walkback reproduce --data ipd.csv --time-col time --event-col event \\\n"
        "      --targets median_activity_limiting_intervention,median_activity_limiting_control,"
        "hr_activity_limiting   # a reconstruction from the published figure",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--spec", default="walkback", help=SPEC_HELP)
    r.add_argument(
        "--data",
        metavar="FILE",
        help="participant-level CSV/Parquet with the spec's columns (default: the twin)",
    )
    r.add_argument(
        "--time-col",
        metavar="C",
        help="time column of the primary outcome when --data names it differently "
        "(e.g. 'time' in a `walkback reconstruct` output)",
    )
    r.add_argument("--event-col", metavar="C", help="event column to go with --time-col")
    r.add_argument(
        "--targets",
        metavar="NAME,...",
        help="check only these targets (default: every published target)",
    )
    r.add_argument(
        "--out-dir",
        default="reports",
        metavar="DIR",
        help="where to write reproduction.md and .json (default: reports)",
    )
    r.add_argument("--json", action="store_true", help="print the JSON report instead of a table")
    r.set_defaults(func=_cmd_reproduce)
    _add_montecarlo_commands(sub)
    _add_safety_economics_commands(sub)
    rp = sub.add_parser(
        "report",
        help="write the reports/ site: reproduction table, figures, notebooks, index.html",
        description="Write a deterministic report site: reproduction.md/.json/.html (published "
        "vs reproduced), figures (PNG and SVG), the notebooks executed in a fresh kernel and "
        "rendered to HTML, and index.html linking them. Exit code 1 when a published figure "
        "is not reproduced.",
        epilog="example:\n  walkback report --data data/synthetic/walkback_twin.csv "
        "--out-dir reports --notebooks notebooks",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rp.add_argument("--spec", default="walkback", help=SPEC_HELP)
    rp.add_argument("--data", metavar="FILE", help="participant-level data (default: the twin)")
    rp.add_argument("--out-dir", default="reports", metavar="DIR", help="default reports")
    rp.add_argument(
        "--notebooks", metavar="DIR", help="execute and render every notebook in DIR (omit to skip)"
    )
    rp.set_defaults(func=_cmd_report)


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


def _add_safety_economics_commands(sub) -> None:
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


def _cmd_report(args: argparse.Namespace) -> int:
    from walkback.plotting.trial_figures import write_figures
    from walkback.report import site
    from walkback.reproduce import load_data, reproduce, write_reports
    from walkback.spec import load_spec

    spec = load_spec(args.spec)
    if args.notebooks and not Path(args.notebooks).is_dir():
        raise UsageError(f"walkback report: error: --notebooks {args.notebooks} is not a folder")
    if args.data:
        frame, label = load_data(spec, args.data), args.data
    else:
        from walkback.twin import make_twin

        frame, label = make_twin(spec).frame, f"{spec.name} synthetic twin"
    rep = reproduce(spec, frame, label)
    out = Path(args.out_dir)
    written = write_reports(rep, out)
    written += write_figures(spec, frame, out / "figures")
    if args.notebooks:
        written += site.render_notebooks(args.notebooks, out / "notebooks")
    written.append(site.write_index(out, f"{spec.name}: reproduction report"))
    print(f"wrote {len(written)} files to {out}/ (open {out / 'index.html'})")
    return EXIT_OK if rep.all_passed else 1


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


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return v


def _pos_int(text: str) -> int:
    v = _nonneg_int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
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
    p.add_argument("--json", action="store_true", help="print JSON instead of a summary")


MC_EPILOG = """\
Each replicate simulates a trial from the calibrated spec (recruitment, stratified permuted
blocks, monthly follow-up with dropout, the primary outcome) and analyses it as `walkback
analyze` would: KM medians with CIs, Cox HR with Wald CI, log-rank test, RMST. Results are
identical whatever --block, --workers or --scheduler: replicate i depends only on (seed, i).

JSON keys: replicates, seed, power_logrank, power_cox, hr_mean, hr_median, hr_ci_coverage,
median_intervention_mean, median_control_mean, seconds (and more).

examples:
  walkback montecarlo --replicates 50000 --seed 1 --json
  walkback montecarlo --replicates 10000 --seed 2 --hr 0.8 --out reps.parquet
"""


def _add_montecarlo_commands(sub) -> None:
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
    m.add_argument("--out", metavar="FILE", help="per-replicate results (.parquet or .csv)")
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
        "power_schoenfeld, hr_median, seconds}\n\n"
        "examples:\n  walkback power --n 300,500,700,900 --replicates 2000 --seed 1\n"
        "  walkback power --hr 0.65,0.7,0.75,0.8 --replicates 2000 --seed 1 --json",
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
        **over,
    )


def _cmd_montecarlo(args: argparse.Namespace) -> int:
    from walkback.montecarlo.engine import run
    from walkback.spec import load_spec

    if args.out and Path(args.out).suffix.lower() not in (".parquet", ".pq", ".csv"):
        raise UsageError(
            f"walkback montecarlo: error: --out must end in .parquet or .csv (got '{args.out}')"
        )
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
    print(
        f"Model: n = {st.n}, Weibull PH shape {st.shape:.3f}, generating HR {st.hr:g}; "
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
    )
    print(
        f"Median days: intervention mean {_opt(d['median_intervention_mean'])} (not reached "
        f"{100 * d['median_intervention_not_reached']:.1f}%), control mean "
        f"{_opt(d['median_control_mean'])} (not reached "
        f"{100 * d['median_control_not_reached']:.1f}%)"
    )
    print(f"Events per trial: mean {d['events_mean']:.1f}")
    print(
        f"Time: {d['seconds']:.2f} s ({1e6 * d['seconds_per_replicate']:.0f} us per replicate)"
        + (f"; per-replicate results in {args.out}" if args.out else "")
    )
    return EXIT_OK


def _opt(x) -> str:
    return "NA" if x is None else f"{x:.1f}"


def _cmd_power(args: argparse.Namespace) -> int:
    from walkback.montecarlo.power import power_grid
    from walkback.spec import load_spec

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
    print(
        f"{key:>6}  {'HR':>6}  {'events':>7}  {'log-rank':>12}  {'Cox Wald':>12}  "
        f"{'Schoenfeld':>10}"
    )
    for r in rows:
        print(
            f"{r[key]:>6g}  {r['hr']:>6g}  {r['events_mean']:>7.1f}  "
            f"{r['power_logrank']:>6.3f} ±{r['power_logrank_mcse']:.3f}  "
            f"{r['power_cox']:>6.3f} ±{r['power_cox_mcse']:.3f}  {r['power_schoenfeld']:>10.3f}"
        )
    print("± is the Monte Carlo standard error; Schoenfeld's formula uses the simulated events.")
    return EXIT_OK


def _progress(msg: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\033[K{msg}", end="", file=sys.stderr, flush=True)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from walkback.simulate import simulate
    from walkback.spec import load_spec

    if args.seed < 0:
        raise UsageError("walkback simulate: error: --seed must be >= 0")
    _check_out(args.out, "simulate")
    spec = load_spec(args.spec)
    frame = simulate(spec, args.seed)
    _write_frame(frame, args.out)
    print(f"wrote {len(frame)} participants ({spec.name}, seed {args.seed}) to {args.out}")
    return EXIT_OK


def _check_out(out: str, command: str) -> None:
    if Path(out).suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise UsageError(
            f"walkback {command}: error: --out must end in .csv or .parquet (got '{out}')"
        )


def _write_frame(frame, out: str) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False, lineterminator="\n")
    else:
        frame.to_parquet(path, index=False)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from walkback.calibrate import calibrate
    from walkback.spec import load_spec

    cal = calibrate(load_spec(args.spec), progress=_progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(cal.to_dict(), indent=2, sort_keys=True))
        return EXIT_OK
    print(f"walkback calibrate: {cal.spec_name}")
    print("Solved parameters:")
    for k, v in cal.solved.items():
        print(f"  {k} = {v:.6g}")
    print("Model (per outcome):")
    for name, w in cal.model.outcomes.items():
        print(
            f"  {name}: Weibull PH shape {w.shape:.4g}, scale {w.scale:.4g} days, HR {w.hr:.4g}"
            f" (medians {w.median(False):.4g} control, {w.median(True):.4g} treatment)"
        )
    for name, w in cal.model.extras.items():
        print(
            f"  {name} (extra component): shape {w.shape:.4g}, scale {w.scale:.4g}, HR {w.hr:.4g}"
        )
    print(f"  dropout: {cal.model.dropout_rate:.4g} per year")
    print("Expected under the model vs published:")
    tab = cal.table()
    w0 = max(len(x) for x in tab.target)
    for r in tab.itertuples():
        tag = " (derived)" if r.derived else ""
        print(
            f"  {r.target:{w0}}  published {r.published:<8g} expected {r.expected:<10.4g} "
            f"[{r.method}]{tag}"
        )
    return EXIT_OK


def _cmd_twin(args: argparse.Namespace) -> int:
    from walkback.spec import load_spec
    from walkback.twin import make_twin, write_twin

    _check_out(args.out, "twin")
    spec = load_spec(args.spec)
    result = make_twin(spec, progress=_progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    meta = write_twin(result, args.out)
    print(
        f"wrote the {spec.name} twin ({meta['rows']} participants) to {args.out} "
        f"(sha256 {meta['sha256'][:16]}...; metadata {Path(args.out).with_suffix('.json')})"
    )
    return EXIT_OK


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from walkback.reproduce import (
        check_target_names,
        load_data,
        render_text,
        reproduce,
        write_reports,
    )
    from walkback.spec import load_spec

    spec = load_spec(args.spec)
    names = None
    if args.targets is not None:
        names = [x.strip() for x in args.targets.split(",") if x.strip()]
        check_target_names(spec, names)
    if (args.time_col is None) != (args.event_col is None):
        raise UsageError("walkback reproduce: error: give --time-col and --event-col together")
    if args.data:
        frame = load_data(spec, args.data, args.time_col, args.event_col)
        label = args.data
    else:
        from walkback.twin import make_twin

        frame, label = make_twin(spec, progress=_progress).frame, f"{spec.name} synthetic twin"
        if sys.stderr.isatty():
            print(file=sys.stderr)
    rep = reproduce(spec, frame, label, names)
    write_reports(rep, args.out_dir)
    if args.json:
        print(json.dumps(rep.to_dict(), indent=2, sort_keys=True, allow_nan=False))
    else:
        print(render_text(rep))
    return EXIT_OK if rep.all_passed else 1


def _label_list(text: str) -> list[str]:
    labels = [x.strip() for x in text.split(",")]
    if not all(labels):
        raise argparse.ArgumentTypeError(f"empty label in {text!r}; give labels as A or A,B")
    return labels


def _cmd_analyze(args: argparse.Namespace) -> int:
    from walkback.analysis import analyze
    from walkback.io import read_trial
    from walkback.report.text import analysis_table

    conf_type, ties = CONVENTIONS[args.convention]
    conf_type = args.conf_type or conf_type
    ties = args.ties or ties
    trial = read_trial(
        args.data,
        time_col=args.time_col,
        event_col=args.event_col,
        arm_col=args.arm_col,
        treatment=args.treatment,
        control=args.control,
        strata=tuple(args.strata),
        id_col=args.id_col,
        covariates=tuple(args.covariate),
        na=args.na,
        other_arms=args.other_arms,
        event_value=args.event_value,
        censor_value=args.censor_value,
    )
    for d in trial.dropped:
        shown = ", ".join(map(str, d.lines[:10])) + (" ..." if len(d.lines) > 10 else "")
        print(
            f"walkback: excluded {d.rows} of {trial.n + sum(x.rows for x in trial.dropped)} rows "
            f"({d.reason}: {', '.join(d.columns)}; lines {shown})",
            file=sys.stderr,
        )
    res = analyze(
        trial,
        conf_type=conf_type,
        ties=ties,
        times=args.times,
        tau=args.tau,
        alpha=args.alpha,
        covariates=tuple(args.covariate),
        timefix=args.timefix,
        time_unit=args.time_unit,
    )
    if args.json:
        out = res.to_dict()
        out["settings"]["convention"] = args.convention
        out["source"] = os.path.basename(args.data)
        print(json.dumps(out, indent=2, sort_keys=True, allow_nan=False))
    else:
        print(analysis_table(res, source=args.data))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            raise UsageError("walkback: error: a command is required (see 'walkback --help')")
        return args.func(args)
    except UsageError as exc:
        print(_one_line(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (WalkbackError, ValueError, OSError) as exc:
        # ValueError/OSError here are bad values or unreadable paths from the user
        print(f"walkback: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("walkback: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, never a traceback unless asked
        if os.environ.get("WALKBACK_DEBUG"):
            traceback.print_exc()
        print(
            f"walkback: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(please report; WALKBACK_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
