"""`walkback competing`: competing risks in a two-arm trial (cumulative incidence, Gray's test,
Fine-Gray and cause-specific hazard ratios, a stacked incidence figure)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from walkback._typing import CONF_TYPES, TIES
from walkback.cli._common import (
    EXIT_OK,
    _alpha,
    _check_plot_path,
    _finite,
    _float_list,
    _label_list,
    _write_figure,
)

EPILOG = """\
The event column codes censoring (--censor-value) and each cause (numbers or text). Every other
code is a cause, unless --causes lists them all (then any other code is an error).

  cif         Aalen-Johansen cumulative incidence of --cause per arm with Gray's variance
              (R cmprsk::cuminc) and a pointwise CI of F (--conf-type, default log-log, R's
              survfit_confint); at --times (null after an arm's last follow-up time, as
              cmprsk::timepoints), or at every time of the cause when --times is not given
  gray        Gray's test of equal cumulative incidence (cuminc's Tests; rho = --rho,
              stratified with --strata)
  fine_gray   Fine-Gray subdistribution hazard ratio, treatment vs control (R cmprsk::crr with
              the arm as the covariate; censoring weights = Kaplan-Meier of censoring)
  cause_specific_hr  Cox hazard ratio of --cause with other causes censored (R coxph; --ties,
              stratified with --strata)

JSON keys (--json): cause, causes, censor_value, arms, n, status_counts, cif, gray, fine_gray,
cause_specific_hr, note, settings, source.

example:
  walkback competing mgus2.csv --time-col time --event-col event --arm-col sex \\
      --treatment M --control F --cause pcm --censor-value censor --times 60,120,240 \\
      --plot cif.png
"""


def add_parser(sub) -> None:
    """Register competing."""
    p = sub.add_parser(
        "competing",
        help="competing risks: cumulative incidence, Gray's test, Fine-Gray and cause-specific HRs",
        description="Competing-risks analysis of a two-arm trial (CSV or Parquet), as R's cmprsk "
        "(cuminc, crr) and survival (coxph).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help="CSV or Parquet file, one row per participant")
    g = p.add_argument_group("columns, arms and codes (required)")
    g.add_argument("--time-col", required=True, metavar="C", help="follow-up time column (>= 0)")
    g.add_argument(
        "--event-col", required=True, metavar="C", help="status column: censoring or a cause code"
    )
    g.add_argument("--arm-col", required=True, metavar="C", help="arm column")
    g.add_argument("--treatment", required=True, metavar="L", help="label of the treatment arm")
    g.add_argument("--control", required=True, metavar="L", help="label of the control arm")
    g.add_argument("--cause", required=True, metavar="K", help="code of the cause analysed")
    o = p.add_argument_group("options")
    o.add_argument(
        "--censor-value", default="0", metavar="C", help="code of censored rows (default 0)"
    )
    o.add_argument(
        "--causes",
        type=_label_list,
        metavar="K1,K2,...",
        help="every cause code (default: every code other than --censor-value)",
    )
    o.add_argument(
        "--other-arms",
        choices=("error", "drop"),
        default="error",
        help="rows whose arm is neither arm: an error (default) or excluded and counted",
    )
    o.add_argument(
        "--times", type=_float_list, default=[], metavar="T1,T2,...", help="times for the CIF table"
    )
    o.add_argument(
        "--conf-type",
        choices=CONF_TYPES,
        default="log-log",
        help="CI transform of the cumulative incidence (default log-log)",
    )
    o.add_argument("--alpha", type=_alpha, default=0.05, help="1 - confidence level (default 0.05)")
    o.add_argument("--ties", choices=TIES, default="efron", help="cause-specific Cox ties")
    o.add_argument("--rho", type=_finite, default=0.0, help="Gray's test weight power (default 0)")
    o.add_argument(
        "--strata", metavar="C", help="stratify Gray's test and the cause-specific Cox model"
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
    o.add_argument("--plot", metavar="FILE.png", help="write the stacked CIF figure")
    o.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_competing)


def _cmd_competing(args: argparse.Namespace) -> int:
    from walkback.analysis.competing import ARM_KEYS, competing_risks
    from walkback.competing_data import read_competing

    _check_plot_path("competing", args.plot)
    data = read_competing(
        args.data,
        time_col=args.time_col,
        event_col=args.event_col,
        arm_col=args.arm_col,
        treatment=args.treatment,
        control=args.control,
        cause=args.cause,
        censor_value=args.censor_value,
        causes=args.causes,
        strata=args.strata,
        other_arms=args.other_arms,
    )
    if data.dropped:
        shown = ", ".join(map(str, data.dropped[:10])) + (" ..." if len(data.dropped) > 10 else "")
        print(
            f"walkback: excluded {len(data.dropped)} rows of other arms (lines {shown})",
            file=sys.stderr,
        )
    res = competing_risks(
        data,
        times=args.times,
        conf_type=args.conf_type,
        conf_level=1.0 - args.alpha,
        ties=args.ties,
        rho=args.rho,
        timefix=args.timefix,
    )
    out = res.to_dict()
    out["settings"]["time_unit"] = args.time_unit
    out["source"] = os.path.basename(args.data)
    if args.plot:
        _plot(res, args)
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True, allow_nan=False))
        return EXIT_OK
    pct = f"{100 * (1 - args.alpha):g}%"
    print(
        f"walkback competing: {args.data}: cause '{data.cause}' "
        f"(other causes: {', '.join(k for k in data.causes if k != data.cause) or 'none'}; "
        f"censored = '{data.censor}')"
    )
    for key in ARM_KEYS:
        ev = out["status_counts"][key]
        print(
            f"  {key} {out['arms'][key]}: n {out['n'][key]}, "
            + ", ".join(f"'{k}' {v}" for k, v in ev.items())
        )
    print(f"Cumulative incidence of '{data.cause}' ({pct} CI, {args.conf_type}; Gray's variance)")
    for key in ARM_KEYS:
        rows = out["cif"][key] if args.times else out["cif"][key][-1:]
        for row in rows:
            print(f"  {out['arms'][key]:>12} at {row['time']:g} {args.time_unit}: {_ci(row)}")
    if not args.times:
        print("  (at each arm's last time of the cause; --times gives a table, --json every time)")
    gr = out["gray"]
    gp = (
        "not defined" if gr["chisq"] is None else f"chi-square {gr['chisq']:.3f}, p = {gr['p']:.3g}"
    )
    print(f"Gray's test (rho = {gr['rho']:g}{', stratified' if gr['stratified'] else ''}): {gp}")
    for name, key in (
        ("Fine-Gray subdistribution HR", "fine_gray"),
        ("Cause-specific HR", "cause_specific_hr"),
    ):
        print(f"{name}, {data.treatment} vs {data.control}: {_hr(out[key], pct, out['note'])}")
    print(
        f"Conventions: Aalen-Johansen CIF with Gray's variance (cmprsk cuminc), {args.conf_type} "
        f"CI; Fine-Gray as cmprsk crr (Kaplan-Meier censoring weights); cause-specific Cox with "
        f"{args.ties} ties, other causes censored"
        + (f"; Gray's test and Cox stratified by {args.strata}" if args.strata else "")
        + ("" if args.timefix else "; times compared exactly (--no-timefix)")
    )
    if args.plot:
        print(f"stacked CIF figure: {args.plot}")
    return EXIT_OK


def _hr(hr: dict | None, pct: str, note: str | None) -> str:
    if hr is None:
        return note or "not estimable"
    ci = f"{pct} CI {hr['lower']:.3f} to {hr['upper']:.3f}"
    return f"{hr['estimate']:.3f} ({ci}), p = {hr['p']:.3g}"


def _ci(row: dict) -> str:
    if row["cif"] is None:
        return "not observed (after the last follow-up time)"
    lo = "NA" if row["lower"] is None else f"{row['lower']:.3f}"
    hi = "NA" if row["upper"] is None else f"{row['upper']:.3f}"
    return f"{row['cif']:.3f} ({lo} to {hi})"


def _plot(res, args) -> None:
    from walkback.plotting import cif_stack

    first = res.data.cause  # the cause analysed at the bottom of the stack, read off the axis
    order = [first, *(k for k in res.data.causes if k != first)]
    curves = {
        f"{args.arm_col} = {res.arm_label(key)}": {k: res.curves[key][k] for k in order}
        for key in ("treatment", "control")
    }
    _write_figure(
        args.plot,
        lambda: (
            cif_stack(curves, xlabel=f"Time ({args.time_unit})", legend_title=args.event_col).figure
        ),
    )
