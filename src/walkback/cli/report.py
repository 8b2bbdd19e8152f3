"""`walkback report`: the deterministic report site (reproduction, figures, notebooks)."""

from __future__ import annotations

import argparse
from pathlib import Path

from walkback.cli._common import EXIT_OK, SPEC_HELP, UsageError


def add_parser(sub) -> None:
    """Register report."""
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
    rp.add_argument(
        "--out-dir",
        required=True,
        metavar="DIR",
        help="folder to write the site to (its files there are replaced)",
    )
    rp.add_argument(
        "--notebooks", metavar="DIR", help="execute and render every notebook in DIR (omit to skip)"
    )
    rp.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from walkback.outputs import check_output_dir
    from walkback.plotting.trial_figures import write_figures
    from walkback.report import site
    from walkback.reproduce import load_data, provenance, read_sidecar, reproduce, write_reports
    from walkback.spec import load_spec

    check_output_dir(args.out_dir)
    spec = load_spec(args.spec)
    if args.notebooks and not Path(args.notebooks).is_dir():
        raise UsageError(f"walkback report: error: --notebooks {args.notebooks} is not a folder")
    if args.data:
        frame, label = load_data(spec, args.data), args.data
        prov = provenance(spec, label, read_sidecar(args.data), twin=False)
    else:
        from walkback.twin import make_twin

        frame, label = make_twin(spec).frame, f"{spec.name} synthetic twin"
        prov = provenance(spec, label, None, twin=True)
    rep = reproduce(spec, frame, label, provenance=prov)
    out = Path(args.out_dir)
    written = write_reports(rep, out)
    written += write_figures(spec, frame, out / "figures")
    if args.notebooks:
        written += site.render_notebooks(args.notebooks, out / "notebooks")
    written.append(site.write_index(out, f"{spec.name}: reproduction report"))
    print(f"wrote {len(written)} files to {out}/ (open {out / 'index.html'})")
    return EXIT_OK if rep.all_passed else 1
