"""The accuracy report of ``walkback reconstruct --report``: the overlay figure (drawn by
:mod:`walkback.plotting.reconstruction_report`), the numbers at risk, JSON and markdown."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from walkback.plotting.reconstruction_report import overlay_figure
from walkback.reconstruct.result import ReconstructionResult, reconstruction_summary

__all__ = ["write_report"]


def _fmt(x: float | None, digits: int = 3) -> str:
    return "NA" if x is None else f"{x:.{digits}f}"


def _rmst_text(rm: dict[str, float] | None) -> str:
    return "NA" if rm is None else f"{rm['estimate']:.2f} ({rm['se']:.2f})"


def _markdown_table(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        cells = [f"{v:g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(
    result: ReconstructionResult,
    directory: str | os.PathLike[str],
    *,
    treatment: str | None = None,
    control: str | None = None,
    tau: float | None = None,
    sources: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the accuracy report of a reconstruction; deterministic (no timestamps).

    Files: ``overlay.png`` (reconstructed vs digitised curves), ``at_risk.csv`` and
    ``at_risk.md`` (reconstructed vs published numbers at risk per interval), ``report.json``
    (:func:`reconstruction_summary`) and ``report.md``.

    Parameters
    ----------
    result : ReconstructionResult
    directory : str or os.PathLike
        Created if missing; files in it are overwritten.
    treatment, control, tau
        As for :func:`reconstruction_summary`.
    sources : mapping, optional
        Input file names to record (e.g. ``{"curve": "curve.csv", "at_risk": "at_risk.csv"}``).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from walkback.outputs import atomic_path, check_output_dir, write_text

    out = check_output_dir(directory, option="--report")
    summary = reconstruction_summary(result, treatment=treatment, control=control, tau=tau)
    if sources:
        summary["sources"] = dict(sources)
    written = []

    fig = overlay_figure(result)
    png = out / "overlay.png"
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=120, metadata={"Software": None})
    written.append(png)

    table = result.intervals.copy()
    table["difference"] = table["n_at_risk_reconstructed"] - table["n_at_risk_published"]
    csv_path = out / "at_risk.csv"
    write_text(csv_path, table.to_csv(index=False, lineterminator="\n"))
    md_path = out / "at_risk.md"
    write_text(
        md_path, "# Numbers at risk: reconstructed vs published\n\n" + _markdown_table(table)
    )
    written += [csv_path, md_path]

    js = out / "report.json"
    write_text(js, json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n")
    written.append(js)
    md = out / "report.md"
    write_text(md, _report_markdown(summary, table))
    written.append(md)
    return written


def _report_markdown(summary: dict[str, Any], table: pd.DataFrame) -> str:
    s = summary["settings"]
    lines = ["# Reconstruction report", ""]
    if summary.get("sources"):
        lines.append(
            "Inputs: " + ", ".join(f"{k} `{v}`" for k, v in sorted(summary["sources"].items()))
        )
        lines.append("")
    lines += [
        f"Method: {s['method']}; monotone fit `{s['monotone']}`; censoring {s['censoring']}.",
        "",
        "| arm | n | events | median (95% CI) | digitised median | RMST (SE) | max curve diff |",
        "|---|---|---|---|---|---|---|",
    ]
    for a, d in summary["arms"].items():
        med = d["median"]
        rm = d["rmst"]
        lines.append(
            f"| {a} | {d['n']} | {d['events']} | {_fmt(med['estimate'], 2)} "
            f"({_fmt(med['lower'], 2)} to {_fmt(med['upper'], 2)}) | "
            f"{_fmt(d['median_digitised'], 2)} | "
            f"{_rmst_text(rm)} | "
            f"{summary['curve_fit'][a]['max_abs_diff']:.4f} |"
        )
    lines.append("")
    lines.append(f"RMST horizon tau = {s['tau']:g} ({s['tau_rule']}).")
    hr = summary["hazard_ratio"]
    if hr is not None:
        lines.append("")
        lines.append(
            f"Hazard ratio ({summary['treatment']} vs {summary['control']}, Cox, Efron ties): "
            f"{hr['estimate']:.3f} (95% CI {hr['lower']:.3f} to {hr['upper']:.3f}), "
            f"p = {hr['p']:.3g}."
        )
    diff = summary["rmst_difference"]
    if diff is not None:
        lines.append(
            f"RMST difference ({summary['treatment']} - {summary['control']}): "
            f"{diff['difference']:.2f} (95% CI {diff['lower']:.2f} to {diff['upper']:.2f})."
        )
    if hr is None:
        lines.append("")
        lines.append("No hazard ratio: name two arms with --treatment and --control.")
    lines += ["", "## Numbers at risk", "", _markdown_table(table)]
    lines += ["## Notes", ""]
    lines += [f"- {n}" for n in summary["notes"]] or ["- none"]
    lines += ["", "![overlay](overlay.png)", ""]
    return "\n".join(lines)
