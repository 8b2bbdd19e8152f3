"""The trial-model commands: simulate, calibrate, twin, reproduce."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from walkback.cli._common import (
    EXIT_OK,
    FORCE_HELP,
    SPEC_HELP,
    UsageError,
    _check_out,
    _progress,
)


def add_parser(sub) -> None:
    """Register simulate, calibrate, twin and reproduce."""
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
    s.add_argument("--force", action="store_true", help=FORCE_HELP)
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
    t.add_argument(
        "--force", action="store_true", help="overwrite an existing output and its .json sidecar"
    )
    t.set_defaults(func=_cmd_twin)

    r = sub.add_parser(
        "reproduce",
        help="compare published figures with those computed from data",
        description="Compute every published figure of a trial spec from participant-level data "
        "(the synthetic twin by default, or --data: a real export or a reconstruction with the "
        "spec's columns) and compare at the printed precision (--tolerance printed) or within "
        "sampling error (--tolerance sampling). Prints the table (or JSON); writes "
        "reproduction.md, reproduction.json and spec.toml only to --out-dir. Exit code 0 when "
        "every target passes, 1 otherwise, 2 for bad input.",
        epilog="examples:\n  walkback reproduce\n"
        "  walkback reproduce --data data/synthetic/walkback_twin.csv --json\n"
        "  walkback reproduce --data ipd.csv --time-col time --event-col event \\\n"
        "      --targets median_activity_limiting_intervention,median_activity_limiting_control,"
        "hr_activity_limiting   # a reconstruction from the published figure\n"
        "  walkback simulate --seed 7 --out trial.csv && walkback reproduce --data trial.csv "
        "--tolerance sampling\n\n"
        "--tolerance sampling: a target passes when the published value lies within z* SE of "
        "this dataset's value\n(SE from the dataset's CI, else the model's sampling SD; z* "
        "Sidak-adjusted over the targets so that\na trial simulated from the model passes all of "
        "them about 95% of the time); the table shows each miss in SE.",
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
        "--tolerance",
        choices=("printed", "sampling"),
        default="printed",
        help="printed: rounds to the published figure (default); sampling: within sampling "
        "error, family-wise adjusted",
    )
    r.add_argument(
        "--out-dir",
        metavar="DIR",
        help="write reproduction.md, reproduction.json and spec.toml to DIR, replacing those "
        "files there (default: write nothing)",
    )
    r.add_argument("--json", action="store_true", help="print the JSON report instead of a table")
    r.set_defaults(func=_cmd_reproduce)


def _check_table_out(args: argparse.Namespace, command: str, sidecars=()) -> None:
    if Path(args.out).suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise UsageError(
            f"walkback {command}: error: --out must end in .csv or .parquet (got '{args.out}')"
        )
    _check_out(args.out, args.force, sidecars=sidecars)


def _write_frame(frame, out: str) -> None:
    from walkback.outputs import atomic_path

    with atomic_path(out) as tmp:
        if Path(out).suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False, lineterminator="\n")
        else:
            frame.to_parquet(tmp, index=False)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from walkback.simulate import simulate
    from walkback.spec import load_spec

    if args.seed < 0:
        raise UsageError("walkback simulate: error: --seed must be >= 0")
    _check_table_out(args, "simulate")
    spec = load_spec(args.spec)
    frame = simulate(spec, args.seed)
    _write_frame(frame, args.out)
    print(f"wrote {len(frame)} participants ({spec.name}, seed {args.seed}) to {args.out}")
    return EXIT_OK


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
    determined = (cal.fit or {}).get("determined_by", {})
    for k, v in cal.solved.items():
        by = determined.get(k)
        print(f"  {k} = {v:.6g}" + (f"  (determined by {', '.join(by)})" if by else ""))
    print("Model (per outcome):")
    for name, w in cal.model.outcomes.items():
        print(f"  {name}: {w.describe()}")
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
            f"  {r.target:{w0}}  published {_num(r.published, 8, 'g')} "
            f"expected {_num(r.expected, 10, '.4g')} [{r.method}]{tag}"
        )
    if cal.fit is not None:
        misfit = cal.fit["misfit"]
        worst = max(abs(m["z"]) for m in misfit)
        print(
            "Remaining misfit of the free-parameter fit (expected - published, in the SEs the "
            f"published CIs or precisions imply; worst {worst:.2f}):"
        )
        w1 = max(len(m["target"]) for m in misfit)
        for m in misfit:
            print(
                f"  {m['target']:{w1}}  published {_num(m['published'], 8, 'g')} "
                f"expected {_num(m['expected'], 10, '.4g')} z {m['z']:+.2f}"
            )
    return EXIT_OK


def _num(x, width: int, fmt: str) -> str:
    """A number for the calibrate table; "NR" (not reached) and missing values as text."""
    if isinstance(x, str) or x is None:
        return f"{x or '-':<{width}}"
    if x == float("inf"):
        return f"{'NR':<{width}}"
    return f"{x:<{width}{fmt}}"


def _cmd_twin(args: argparse.Namespace) -> int:
    from walkback.spec import load_spec
    from walkback.twin import make_twin, write_twin

    _check_table_out(args, "twin", sidecars=[Path(args.out).with_suffix(".json")])
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
    from walkback.outputs import check_output_dir
    from walkback.reproduce import (
        check_target_names,
        load_data,
        provenance,
        read_sidecar,
        render_text,
        reproduce,
        write_reports,
    )
    from walkback.spec import load_spec

    if args.out_dir is not None:  # reports only where asked (checked before any work)
        check_output_dir(args.out_dir)
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
        prov = provenance(spec, label, read_sidecar(args.data), twin=False)
    else:
        from walkback.twin import make_twin

        frame, label = make_twin(spec, progress=_progress).frame, f"{spec.name} synthetic twin"
        if sys.stderr.isatty():
            print(file=sys.stderr)
        prov = provenance(spec, label, None, twin=True)
    rep = reproduce(spec, frame, label, names, tolerance=args.tolerance, provenance=prov)
    if args.out_dir is not None:  # only where asked: never over a checkout's committed reports
        write_reports(rep, args.out_dir)
    if args.json:
        print(json.dumps(rep.to_dict(), indent=2, sort_keys=True, allow_nan=False))
    else:
        print(render_text(rep))
    return EXIT_OK if rep.all_passed else 1
