"""`walkback reconstruct`: participant data from a digitised Kaplan-Meier figure (argument glue).

Parses arguments, prints and writes files; the statistics live in :mod:`walkback.reconstruct`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from walkback.cli._common import _positive
from walkback.exceptions import WalkbackError

__all__ = ["RECONSTRUCT_EPILOG", "REPORT_FILES", "add_reconstruct_parser"]

#: the files `--report DIR` writes (walkback.reconstruct.write_report)
REPORT_FILES = ("overlay.png", "at_risk.csv", "at_risk.md", "report.json", "report.md")

RECONSTRUCT_EPILOG = """\
inputs (UTF-8, comma-separated, header on line 1; rows in any order, arms in any order):
  CURVE.csv     arm,time,survival    digitised points of each arm's curve: click the two corners
                of every step, from the start (0, 1) to the curve's end. Survival is a proportion
                (0 to 1) or a percent (0 to 100; detected when values exceed 1, and said so).
                Digitiser noise is cleaned: points slightly before 0 or above 1, points out of
                order, duplicates.
  AT_RISK.csv   arm,time,n_at_risk   the at-risk table printed under the figure, one row per arm
                and time; each arm starts at time 0 with its number randomised.
  Times are in the figure's units (days, months, years); the output keeps them.

output:
  IPD.csv       arm,time,event       one row per participant (event 1, censored 0): exactly the
                at-risk table's first number per arm, reproducing every published number at risk.
  --report DIR  overlay.png (reconstructed vs digitised curves), at_risk.csv and at_risk.md
                (reconstructed vs published numbers at risk), report.json and report.md (hazard
                ratio, medians, RMST, notes). Deterministic: no timestamps.

example (a complete one is in data/synthetic/km_example/):
  curve.csv                          at_risk.csv
    arm,time,survival                  arm,time,n_at_risk
    intervention,0,100                 intervention,0,349
    intervention,0.4,94.0              intervention,100,192
    intervention,2.1,94.0              ...
    intervention,2.3,92.8              control,0,352
    ...                                ...
  walkback reconstruct --curve curve.csv --at-risk at_risk.csv --out ipd.csv --report recon
  walkback analyze ipd.csv --time-col time --event-col event --arm-col arm \\
      --treatment intervention --control control

method: Guyot P, Ades AE, Ouwens MJ, Welton NJ. BMC Med Res Methodol 2012;12:9. Events come from
the drops of the curve (inverting the Kaplan-Meier product), censoring is spread evenly within
each at-risk interval and solved so that every published number at risk is matched; after the
last at-risk time the total events (--events) or the earlier censoring rate decide.
"""


def _events_item(text: str) -> tuple[str, int]:
    arm, sep, value = text.rpartition("=")
    if not sep or not arm.strip():
        raise argparse.ArgumentTypeError(
            f"--events wants ARM=D, an arm label and its total events, like control=220; "
            f"got {text!r}"
        )
    try:
        d = int(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--events wants a whole number of events after '=', like control=220; got {text!r}"
        ) from None
    if d < 0:
        raise argparse.ArgumentTypeError(f"--events must be >= 0; got {text!r}")
    return arm.strip(), d


def add_reconstruct_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``reconstruct`` command to the sub-parsers of ``walkback``'s parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The command's parser (its ``func`` default is :func:`_cmd_reconstruct`).
    """
    p = sub.add_parser(
        "reconstruct",
        help="participant data from a digitised Kaplan-Meier figure (Guyot method)",
        description="Reconstruct participant-level data (one row per participant: arm, time, "
        "event) from a published Kaplan-Meier figure: the digitised points of its curves and "
        "the at-risk table under it (Guyot et al. 2012). The output goes straight into "
        "'walkback analyze'.",
        epilog=RECONSTRUCT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("inputs and output (required)")
    g.add_argument(
        "--curve", required=True, metavar="CURVE.csv", help="digitised points: arm,time,survival"
    )
    g.add_argument(
        "--at-risk", required=True, metavar="AT_RISK.csv", help="at-risk table: arm,time,n_at_risk"
    )
    g.add_argument("--out", required=True, metavar="IPD.csv", help="output CSV: arm,time,event")
    o = p.add_argument_group("options")
    o.add_argument(
        "--events",
        action="append",
        default=[],
        type=_events_item,
        metavar="ARM=D",
        help="total events of an arm, when the paper gives it (repeat for each arm)",
    )
    o.add_argument(
        "--report",
        metavar="DIR",
        help="write the accuracy report (figure, at-risk table, HR, medians, RMST) to DIR",
    )
    o.add_argument(
        "--treatment",
        metavar="L",
        help="treatment arm for the report's HR (default: the at-risk file's first arm)",
    )
    o.add_argument(
        "--control",
        metavar="L",
        help="control arm for the report's HR (default: the at-risk file's second arm)",
    )
    o.add_argument(
        "--tau",
        type=_positive,
        metavar="T",
        help="RMST horizon in the report (default: the earlier of the arms' last times)",
    )
    o.add_argument(
        "--monotone",
        choices=("isotonic", "running-min"),  # walkback.reconstruct.MONOTONE; not imported here
        # so that building the parser stays light
        default="isotonic",
        help="how noisy points are made monotone (default isotonic)",
    )
    o.add_argument(
        "--force",
        action="store_true",
        help="overwrite an existing --out file and the report's files (default: refuse)",
    )
    p.set_defaults(func=_cmd_reconstruct)
    return p


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    """Run ``walkback reconstruct``; returns the exit code (errors are raised)."""
    from walkback.outputs import atomic_path, check_output, check_output_dir
    from walkback.reconstruct import (
        read_at_risk,
        read_curve,
        reconstruct,
        reconstruction_summary,
        write_report,
    )

    out = Path(args.out)
    if out.suffix.lower() != ".csv":
        raise WalkbackError(f"--out must be a .csv file (got '{args.out}')")
    check_output(out, force=args.force)  # every output checked before anything is written
    if args.report:
        rep = check_output_dir(args.report, option="--report")
        for name in REPORT_FILES:
            check_output(rep / name, force=args.force, option="--report")
    events: dict[str, int] = {}
    for arm, d in args.events:
        if arm in events:
            raise WalkbackError(f"--events gives arm {arm!r} twice; give each arm once")
        events[arm] = d
    curve = read_curve(args.curve)
    at_risk = read_at_risk(args.at_risk)
    res = reconstruct(curve, at_risk, events or None, monotone=args.monotone)
    summary = None
    if args.report or args.treatment or args.control:
        # check the arms before writing anything
        summary = reconstruction_summary(
            res, treatment=args.treatment, control=args.control, tau=args.tau
        )
    with atomic_path(out) as tmp:
        res.ipd.to_csv(tmp, index=False, lineterminator="\n")

    print(
        f"walkback reconstruct: {len(res.arms)} arm(s) from {args.curve} and {args.at_risk} "
        "(Guyot et al. 2012)"
    )
    table = res.summary()
    w = max(3, *(len(a) for a in res.arms))
    print(f"  {'arm':{w}}  {'n':>6}  {'events':>6}  {'censored':>8}  {'max |curve diff|':>16}")
    for r in table.itertuples(index=False):
        print(f"  {r.arm:{w}}  {r.n:>6}  {r.events:>6}  {r.censored:>8}  {r.max_abs_diff:>16.4f}")
    iv = res.intervals
    off = int((iv["n_at_risk_reconstructed"] != iv["n_at_risk_published"]).sum())
    if off == 0:
        print(f"Numbers at risk: all {len(iv)} published numbers reproduced exactly.")
    else:  # pragma: no cover - the algorithm matches every number by construction
        print(f"Numbers at risk: {off} of {len(iv)} differ from the published table.")
    if summary is not None and summary["hazard_ratio"] is not None:
        hr = summary["hazard_ratio"]
        print(
            f"Hazard ratio ({summary['treatment']} vs {summary['control']}, Cox, Efron ties): "
            f"{hr['estimate']:.3f} (95% CI {hr['lower']:.3f} to {hr['upper']:.3f})"
        )
    if res.notes:
        print("Notes:")
        for n in res.notes:
            print(f"  - {n}")
    print(f"Wrote {len(res.ipd)} participants to {args.out}")
    if args.report:
        files = write_report(
            res,
            args.report,
            treatment=args.treatment,
            control=args.control,
            tau=args.tau,
            sources={"curve": Path(args.curve).name, "at_risk": Path(args.at_risk).name},
        )
        print(f"Report in {args.report}: {', '.join(f.name for f in files)}")
    return 0


add_parser = add_reconstruct_parser
