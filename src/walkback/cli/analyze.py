"""`walkback analyze`: the standard time-to-event analysis of a trial of two or more arms."""

from __future__ import annotations

import argparse
import json
import os
import sys

from walkback._typing import CONF_TYPES, CONVENTIONS, TIES
from walkback.cli._common import EXIT_OK, _alpha, _positive, _test_name

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


def _label_list(text: str) -> list[str]:
    labels = [x.strip() for x in text.split(",")]
    if not all(labels):
        raise argparse.ArgumentTypeError(f"empty label in {text!r}; give labels as A or A,B")
    return labels


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
    o.add_argument("--json", action="store_true", help="print the JSON contract instead of a table")
    a.set_defaults(func=_cmd_analyze)


def read_trial_args(args: argparse.Namespace, extra_columns=()):
    """The trial the arguments of :func:`add_trial_arguments` describe; dropped rows on stderr.

    ``extra_columns`` are checked for missing values under ``--na`` like covariates.
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
        id_col=args.id_col,
        covariates=tuple(dict.fromkeys([*args.covariate, *extra_columns])),
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
    return trial


def _cmd_analyze(args: argparse.Namespace) -> int:
    from walkback.analysis import analyze
    from walkback.report.text import analysis_table

    conf_type, ties = CONVENTIONS[args.convention]
    conf_type = args.conf_type or conf_type
    ties = args.ties or ties
    trial = read_trial_args(args)
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
    )
    if args.json:
        out = res.to_dict()
        out["settings"]["convention"] = args.convention
        out["source"] = os.path.basename(args.data)
        print(json.dumps(out, indent=2, sort_keys=True, allow_nan=False))
    else:
        print(analysis_table(res, source=args.data))
    return EXIT_OK
