"""`walkback subgroups`: the arm's hazard ratio per level of baseline variables; forest plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from walkback._typing import TIES
from walkback.cli._common import EXIT_OK, UsageError, _alpha

EPILOG = """\
Per level of each --by variable (its distinct values; numbers sort numerically): n and events per
arm and each treatment arm's hazard ratio vs control with its Wald CI, from the same Cox model as
`walkback analyze` fitted to that level's rows (R: coxph(..., subset = by == level)). Per
variable: the interaction test, the likelihood ratio of arm x variable against the main effects
(R: anova(coxph(~ arm + by), coxph(~ arm * by))). A level in which an arm has no events has no
hazard ratio (null, with a note). With --na drop, rows missing a --by value are left out of that
variable only (as R's na.omit per model) and counted.

JSON keys (--json): subgroups [{by, level, treatment, n, events, hazard_ratio, lower, upper, p,
note}], interaction [{by, chisq, df, p, missing, note}], overall, settings.

example:
  walkback subgroups colon.csv --time-col time --event-col status --arm-col rx --control Obs \\
      --by sex --by differ --na drop --plot forest.png
"""


def add_parser(sub) -> None:
    """Register subgroups."""
    from walkback.cli.analyze import add_trial_arguments

    s = sub.add_parser(
        "subgroups",
        help="hazard ratio per subgroup, interaction tests and a forest plot",
        description="Subgroup analysis of a trial of two or more arms (CSV or Parquet).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    o = add_trial_arguments(s)
    o.add_argument(
        "--by",
        action="append",
        required=True,
        metavar="C",
        help="baseline column defining subgroups (repeat for several)",
    )
    o.add_argument("--ties", choices=TIES, default="efron", help="Cox tie method (default efron)")
    o.add_argument("--alpha", type=_alpha, default=0.05, help="1 - confidence level (default 0.05)")
    o.add_argument("--plot", metavar="FILE.png", help="write the forest plot (.png, .svg or .pdf)")
    o.add_argument(
        "--plot-treatment", metavar="L", help="treatment arm of the forest plot (default: first)"
    )
    o.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=_cmd_subgroups)


def _cmd_subgroups(args: argparse.Namespace) -> int:
    from walkback.analysis.subgroups import subgroups
    from walkback.cli.analyze import read_trial_args

    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(
            f"walkback subgroups: error: --plot must end in .png, .svg or .pdf (got '{args.plot}')"
        )
    trial = read_trial_args(args)
    res = subgroups(
        trial,
        args.by,
        ties=args.ties,
        alpha=args.alpha,
        covariates=tuple(args.covariate),
        timefix=args.timefix,
        na=args.na,
    )
    out = res.to_dict()
    if args.plot:
        _plot(res, args)
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True, allow_nan=False))
        return EXIT_OK
    pct = f"{100 * (1 - args.alpha):g}%"
    control = trial.arms[0]
    print(f"walkback subgroups: {args.data} (control {control}; Cox '{args.ties}' ties)")
    inter = {i["by"]: i for i in out["interaction"]}
    for r in out["overall"] + out["subgroups"]:
        counts = ", ".join(f"{a} {r['events'][a]}/{r['n'][a]}" for a in trial.arms)
        if r["hazard_ratio"] is None:
            est = r["note"]
        else:
            est = f"HR {r['hazard_ratio']:.2f} ({pct} CI {r['lower']:.2f} to {r['upper']:.2f})"
        print(
            f"  {r['by']} = {r['level']}: {r['treatment']} vs {control}: {est}; events/n {counts}"
        )
    for by, i in inter.items():
        p = (
            "not estimable"
            if i["p"] is None
            else f"chi-square {i['chisq']:.2f} on {i['df']} df, p = {i['p']:.3g}"
        )
        extra = f"; {i['missing']} rows missing {by} left out" if i["missing"] else ""
        print(f"Interaction arm x {by}: {p}{extra}" + (f" ({i['note']})" if i["note"] else ""))
    if args.plot:
        print(f"forest plot: {args.plot}")
    return EXIT_OK


def _plot(res, args) -> None:
    from walkback.outputs import atomic_path
    from walkback.plotting import style, subgroup_forest

    with style(), atomic_path(args.plot) as tmp:  # complete files only
        fig = subgroup_forest(res, treatment=args.plot_treatment)
        fig.savefig(tmp, dpi=300)
