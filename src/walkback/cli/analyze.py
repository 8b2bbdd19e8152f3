"""`walkback analyze`: the standard time-to-event analysis of a trial of two or more arms."""

from __future__ import annotations

import argparse
import json
import os
import sys

from walkback._typing import CONF_TYPES, CONVENTIONS, TIES
from walkback.cli._common import (
    EXIT_OK,
    UsageError,
    _alpha,
    _float_list,
    _label_list,
    _positive,
    _test_name,
)

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
  walkback analyze colon.csv --time-col time --event-col status --arm-col rx --control Obs \\
      --covariate age --covariate sex --times 365,1000 --adjusted-at age=60,sex=1
  walkback analyze bladder.csv --start-col start --time-col stop --event-col event \\
      --arm-col rx --control 1 --id-col id --times 12,24     # recurrent events: AG + MCF

JSON keys (--json): n, events, median, survival_at, hazard_ratio, logrank, ph_test, rmst,
settings (and adjusted_survival_at with --adjusted-at); null means not reached or not defined.
With --start-col/--entry-col/--weights-col/--cluster-col: hazard_ratio gains se_model and
robust, model robust_score_chisq, arms and mcf (with --start-col and --id-col) the mean
cumulative function; settings name the columns.
"""


def _assignments(text: str) -> dict[str, str]:
    """``NAME=VALUE[,NAME=VALUE...]`` -> {NAME: VALUE} (values kept as text, read by the model)."""
    out: dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise argparse.ArgumentTypeError(
                f"--adjusted-at wants NAME=VALUE pairs separated by commas, like age=60,sex=1; "
                f"got {part.strip()!r}"
            )
        if name in out:
            raise argparse.ArgumentTypeError(f"--adjusted-at names {name!r} twice")
        out[name] = value
    return out


def add_trial_arguments(p: argparse.ArgumentParser):
    """The data file, its columns and arms, codings, missing values, strata and covariates
    (shared by every command that reads a trial); returns the "options" group to extend."""
    p.add_argument("data", metavar="DATA", help="CSV or Parquet file, one row per participant")
    g = p.add_argument_group("columns and arms (required)")
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
    o = p.add_argument_group("options")
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
    return o


def add_parser(sub) -> None:
    """Register analyze."""
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
    o = add_trial_arguments(a)
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
    o.add_argument(
        "--test",
        action="append",
        default=[],
        type=_test_name,
        metavar="NAME",
        help="a further test of the arms (repeatable): logrank, fh(RHO,GAMMA) (Fleming-Harrington; "
        "fh(1,0) = R survdiff rho = 1), gehan, tarone-ware, peto, maxcombo (two arms); "
        "stratified with --strata; JSON 'tests', each named as written",
    )
    o.add_argument(
        "--ph-transform",
        choices=("km", "rank", "identity", "log"),
        default="km",
        help="time transform of the PH tests (R cox.zph; default km): JSON ph_test.terms and "
        "ph_test.global",
    )
    o.add_argument(
        "--adjusted-at",
        type=_assignments,
        metavar="NAME=VALUE[,...]",
        help="with --times: each arm's survival predicted by the Cox model with every covariate "
        "at these values (numbers, factor levels; R survfit(fit, newdata)); strata values pick "
        "one stratum, else a curve per stratum. JSON adjusted_survival_at",
    )
    o.add_argument("--json", action="store_true", help="print the JSON contract instead of a table")
    add_interval_arguments(a)
    a.set_defaults(func=_cmd_analyze)


def add_interval_arguments(a: argparse.ArgumentParser) -> None:
    """(start, stop] rows, delayed entry, case weights and clusters (R's Surv(start, stop,
    event), weights = and cluster())."""
    g = a.add_argument_group(
        "(start, stop] data, delayed entry, weights, clusters",
        "Any of these runs the analysis as R survival does for such data: KM with risk sets\n"
        "from the intervals, Cox (Andersen-Gill for recurrent events), robust SEs. The log-rank\n"
        "test is not defined for intervals or weights (R's survdiff refuses them; JSON logrank\n"
        "null, model.score_chisq stands in); --test, --tau, RMST and PH tests are not offered.",
    )
    g.add_argument(
        "--start-col",
        metavar="S",
        help="start of each row's at-risk interval (start, time]: several rows per participant "
        "(recurrent events, time-varying covariates); with --id-col, a participant's rows must "
        "not overlap, and the mean cumulative function per arm is reported (JSON 'mcf')",
    )
    g.add_argument(
        "--entry-col",
        metavar="E",
        help="delayed entry (left truncation): at risk on (entry, time], one row per participant",
    )
    g.add_argument("--weights-col", metavar="W", help="case weights >= 0 (R's weights =)")
    g.add_argument(
        "--cluster-col",
        metavar="ID",
        help="clusters of the robust sandwich variance (R's cluster()): hazard_ratio.se is the "
        "robust SE, se_model the model-based one; the CI and Wald p use the robust SE. Without "
        "it R's defaults hold: robust by --id-col when a participant has 2+ events, by row when "
        "a weight is not a whole number",
    )


def _interval_mode(args: argparse.Namespace) -> bool:
    return any(
        getattr(args, k, None) is not None
        for k in ("start_col", "entry_col", "weights_col", "cluster_col")
    )


def read_trial_args(
    args: argparse.Namespace, extra_columns=(), *, unique_ids: bool = True, all_columns=True
):
    """The trial the arguments of :func:`add_trial_arguments` describe; dropped rows on stderr.

    ``extra_columns`` are checked for missing values under ``--na`` like covariates;
    ``unique_ids=False`` leaves the id column to the caller (several rows per participant);
    ``all_columns=False`` keeps only the named columns in ``trial.frame`` (less memory).
    """
    from walkback.io import read_trial

    trial = read_trial(
        args.data,
        time_col=args.time_col,
        event_col=args.event_col,
        arm_col=args.arm_col,
        treatment=args.treatment,
        control=args.control,
        strata=tuple(args.strata),
        id_col=args.id_col if unique_ids else None,
        covariates=tuple(dict.fromkeys([*args.covariate, *extra_columns])),
        na=args.na,
        other_arms=args.other_arms,
        event_value=args.event_value,
        censor_value=args.censor_value,
        extra_columns=all_columns,
    )
    for d in trial.dropped:
        shown = ", ".join(map(str, d.lines[:10])) + (" ..." if len(d.lines) > 10 else "")
        print(
            f"walkback: excluded {d.rows} of {trial.n + sum(x.rows for x in trial.dropped)} rows "
            f"({d.reason}: {', '.join(d.columns)}; lines {shown})",
            file=sys.stderr,
        )
    return trial


def _cmd_analyze(args: argparse.Namespace) -> int:
    from walkback.analysis import analyze
    from walkback.report.text import analysis_table

    conf_type, ties = CONVENTIONS[args.convention]
    conf_type = args.conf_type or conf_type
    ties = args.ties or ties
    if args.adjusted_at is not None and not args.times:
        raise UsageError(
            "walkback analyze: error: --adjusted-at needs --times (the times to report the "
            "adjusted survival at), e.g. --times 180,365"
        )
    if _interval_mode(args):
        if args.adjusted_at is not None:
            raise UsageError(
                "walkback analyze: error: --adjusted-at is not available with "
                "--start-col/--entry-col/--weights-col/--cluster-col (the baseline hazard of "
                "(start, stop] or weighted data is not implemented); leave one of them out"
            )
        return _cmd_analyze_intervals(args, conf_type, ties)
    trial = read_trial_args(args, all_columns=False)  # the analysis reads no other column
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
        tests=tuple(args.test),
        ph_transform=args.ph_transform,
        adjusted_at=args.adjusted_at,
    )
    return _print_result(args, res, analysis_table)


def _print_result(args: argparse.Namespace, res, table) -> int:
    """The JSON contract (with the convention and source) or the text table ``table`` renders."""
    if args.json:
        out = res.to_dict()
        out["settings"]["convention"] = args.convention
        out["source"] = os.path.basename(args.data)
        print(json.dumps(out, indent=2, sort_keys=True, allow_nan=False))
    else:
        print(table(res, source=args.data))
    return EXIT_OK


def _cmd_analyze_intervals(args: argparse.Namespace, conf_type: str, ties: str) -> int:
    from walkback.analysis.intervals import analyze_intervals
    from walkback.cli._common import UsageError
    from walkback.interval_columns import read_interval_columns
    from walkback.report.intervals_text import interval_analysis_table

    refused = [f"--{k}" for k, v in (("test", args.test), ("tau", args.tau)) if v]
    if refused:
        raise UsageError(
            f"walkback: error: {', '.join(refused)} cannot be used with --start-col, "
            "--entry-col, --weights-col or --cluster-col (not defined for such data here)"
        )
    extra = [
        c
        for c in (args.start_col, args.entry_col, args.weights_col, args.cluster_col, args.id_col)
        if c is not None
    ]
    # with --na drop, rows missing any of these go too (R's na.omit); else each is an error
    trial = read_trial_args(
        args, extra if args.na == "drop" else (), unique_ids=args.start_col is None
    )
    cols = read_interval_columns(
        trial,
        start_col=args.start_col,
        entry_col=args.entry_col,
        weights_col=args.weights_col,
        cluster_col=args.cluster_col,
        id_col=args.id_col,
        timefix=args.timefix,
    )
    res = analyze_intervals(
        trial,
        cols,
        conf_type=conf_type,
        ties=ties,
        times=args.times,
        alpha=args.alpha,
        covariates=tuple(args.covariate),
        timefix=args.timefix,
        time_unit=args.time_unit,
    )
    return _print_result(args, res, interval_analysis_table)
