"""`walkback check`: are the calibrated model's simulated results in their expected range?"""

from __future__ import annotations

import argparse
import json
import sys

from walkback.cli._common import EXIT_OK, SPEC_HELP, _nonneg_int, _pos_int

EXIT_OUT_OF_RANGE = 1

EPILOG = """\
Simulates N trials from the calibrated spec (the primary outcome, as `walkback montecarlo`),
analyses each as `walkback analyze` would, and reports for every quantity the Monte Carlo mean,
its standard error (MCSE), the 2.5-97.5% range of the replicates and a status. Default checks:
each target's model value agrees with the published one within the printed precision plus 3
MCSE (geometric means for HRs and medians, normal quantiles for p-values); the HR CI's coverage
lies in the binomial 99% range of its nominal level. --expect adds ranges for any quantity.

exit codes: 0 every checked quantity in range; 1 some out of range (each named on stderr);
2 bad input.

JSON (--json; the same bytes for the same spec, seed and N; timings only with --timing):
  {"targets": [{"name", "published", "mean", "mcse", "lower", "upper", "status", "check",
   "allowed", "not_reached"}], "all_in_range", "out_of_range", "replicates", "seed", ...}

examples:
  walkback check --replicates 2000 --seed 3 --json
  walkback check --replicates 2000 --seed 3 --expect expect.toml
     with expect.toml:  [expect]
                        hr_mean = [0.70, 0.745]
                        power_logrank = [0.93, 1.0]
"""


def add_parser(sub) -> None:
    """Register check."""
    c = sub.add_parser(
        "check",
        help="CI check: simulated results stay in their expected range (exit 1 if not)",
        description="Check that trials simulated from a spec's calibrated model reproduce its "
        "published figures on average, and that any --expect ranges hold.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--spec", default="walkback", help=SPEC_HELP)
    c.add_argument(
        "--replicates", type=_pos_int, required=True, metavar="N", help="simulated trials"
    )
    c.add_argument("--seed", type=_nonneg_int, required=True, metavar="K", help="seed")
    c.add_argument("--expect", metavar="FILE.toml", help="[expect] name = [lower, upper] ranges")
    c.add_argument("--workers", type=_pos_int, default=1, metavar="K", help="worker processes")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.add_argument("--timing", action="store_true", help="add the run time (JSON 'seconds')")
    c.set_defaults(func=_cmd_check)


def progress_bar(stream):
    """A progress callback drawing a bar on ``stream``."""

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total)
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} simulated trials",
            end="" if done < total else "\n",
            file=stream,
            flush=True,
        )

    return show


def _cmd_check(args: argparse.Namespace) -> int:
    from walkback.checks.expect import read_expect
    from walkback.checks.montecarlo import quantity_names, render_text, run_check
    from walkback.spec import load_spec

    spec = load_spec(args.spec)
    expect = read_expect(args.expect, quantity_names(spec)) if args.expect else None
    res = run_check(
        spec,
        args.replicates,
        args.seed,
        expect=expect,
        workers=args.workers,
        progress=progress_bar(sys.stderr) if sys.stderr.isatty() else None,
        timing=args.timing,
    )
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, sort_keys=True, allow_nan=False))
    else:
        print(render_text(res))
    bad = [q for q in res.quantities if q.status == "fail"]
    for q in bad:
        mean = "none" if q.mean is None else f"{q.mean:.6g}"
        rng = "" if q.allowed is None else f" not in [{q.allowed[0]:.6g}, {q.allowed[1]:.6g}]"
        print(f"walkback check: out of range: {q.name} = {mean}{rng} ({q.check})", file=sys.stderr)
    return EXIT_OUT_OF_RANGE if bad else EXIT_OK
