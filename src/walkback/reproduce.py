"""Reproduce a trial's published figures from participant-level data and report the comparison.

``reproduce(spec, data)`` computes every published (non-derived) target of the spec on ``data``
under the spec's conventions and checks it against the printed precision. The renderers are
deterministic (no timestamps, fixed key order), so a diff of ``reports/`` means a number changed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from walkback.io import read_trial
from walkback.spec import TrialSpec
from walkback.targets import TargetResult, arrays_from_frame, evaluate


@dataclass(frozen=True)
class Reproduction:
    spec: TrialSpec
    data_label: str
    results: tuple[TargetResult, ...]

    @property
    def all_passed(self) -> bool:
        return all(r.status == "pass" for r in self.results)

    def to_dict(self) -> dict:
        return {
            "all_passed": self.all_passed,
            "spec": {
                "name": self.spec.name,
                "source": self.spec.source,
                "sha256": self.spec.sha256,
                "citation": self.spec.citation,
            },
            "data": self.data_label,
            "conventions": {
                "conf_type": self.spec.conf_type,
                "ties": self.spec.ties,
                "strata": list(self.spec.analysis_strata),
                "alpha": self.spec.alpha,
            },
            "counts": {
                s: sum(r.status == s for r in self.results) for s in ("pass", "fail", "missing")
            },
            "targets": [r.to_dict() for r in self.results],
        }


def load_data(
    spec: TrialSpec, path: str | Path, time_col: str | None = None, event_col: str | None = None
) -> pd.DataFrame:
    """Read and validate a participant-level file with the spec's columns (CSV or Parquet).

    ``time_col``/``event_col`` name the primary outcome's columns when the file calls them
    something else (a reconstruction from a published figure has ``arm,time,event``); they are
    then read as the spec's ``<primary>_days``/``<primary>_event``.
    """
    p = spec.primary.name
    trial = read_trial(
        path,
        time_col=time_col or f"{p}_days",
        event_col=event_col or f"{p}_event",
        arm_col="arm",
        treatment=spec.arm_labels["treatment"],
        control=spec.arm_labels["control"],
    )
    frame = trial.frame
    if time_col is not None:
        frame = frame.rename(columns={time_col: f"{p}_days", event_col: f"{p}_event"})
    return frame


def check_target_names(spec: TrialSpec, names: list[str]) -> None:
    """Reject an empty selection, unknown names and derived (calibration-only) targets."""
    if not names:
        raise ValueError("--targets is empty; give comma-separated target names")
    published = {t.name for t in spec.targets if not t.derived}
    derived = {t.name for t in spec.targets if t.derived}
    for n in names:
        if n in derived:
            raise ValueError(
                f"target '{n}' is derived (used only to calibrate), not a published figure; "
                f"published targets: {', '.join(sorted(published))}"
            )
        if n not in published:
            raise ValueError(
                f"unknown target '{n}'; published targets: {', '.join(sorted(published))}"
            )


def reproduce(
    spec: TrialSpec, frame: pd.DataFrame, data_label: str, names: list[str] | None = None
) -> Reproduction:
    if names is not None:
        check_target_names(spec, names)
    data = arrays_from_frame(spec, frame, data_label)
    return Reproduction(spec, data_label, tuple(evaluate(spec, data, names)))


# ---- rendering ---------------------------------------------------------------------------------
def _fmt(x: float | None, precision: float) -> str:
    """A reproduced number: whole numbers as such, others with two digits beyond the printed
    precision (so a near-miss at the rounding edge is visible)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NR"
    if precision >= 1 and float(x).is_integer():
        return f"{x:,.0f}"
    decimals = max(0, -math.floor(math.log10(precision) + 1e-9)) + 2
    return f"{x:,.{decimals}f}"


def _published(x: float, precision: float) -> str:
    decimals = max(0, -math.floor(math.log10(precision) + 1e-9))
    return f"{x:,.{decimals}f}"


def rows(rep: Reproduction) -> list[tuple[str, str, str, str, str]]:
    out = []
    for r in rep.results:
        t = r.target
        pub = _published(t.value, t.precision)
        if t.ci:
            pub += f" ({_published(t.ci[0], t.precision)} to {_published(t.ci[1], t.precision)})"
        if r.value is None:
            got = "-"
        else:
            got = _fmt(r.value.estimate, t.precision)
            if t.ci:
                got += (
                    f" ({_fmt(r.value.lower, t.precision)} to {_fmt(r.value.upper, t.precision)})"
                )
        out.append((t.label, pub, got, f"{t.precision:g}", r.status.upper()))
    return out


def render_text(rep: Reproduction) -> str:
    head = ("Target", "Published", "Reproduced", "Printed precision", "Status")
    body = rows(rep)
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(5)]
    line = "  ".join(f"{{:{w}}}" for w in widths)
    c = rep.to_dict()["counts"]
    out = [
        f"walkback reproduce: {rep.spec.name} on {rep.data_label}",
        _conventions(rep),
        "",
        line.format(*head),
        line.format(*("-" * w for w in widths)),
    ]
    out += [line.format(*r) for r in body]
    out += [
        "",
        f"{c['pass']} passed, {c['fail']} failed, {c['missing']} not computable: "
        + ("ALL TARGETS REPRODUCED" if rep.all_passed else "NOT ALL TARGETS REPRODUCED"),
    ]
    return "\n".join(out)


def _conventions(rep: Reproduction) -> str:
    s = rep.spec
    strata = ", ".join(s.analysis_strata) or "none"
    return (
        f"Conventions: KM CI transform '{s.conf_type}', Cox ties '{s.ties}', strata {strata}, "
        f"{100 * (1 - s.alpha):g}% intervals. A value passes when it rounds to the published "
        "figure at its printed precision (CI limits too)."
    )


def render_markdown(rep: Reproduction) -> str:
    s = rep.spec
    out = [
        f"# Reproduction: {s.name}",
        "",
        f"{s.citation}",
        "",
        f"Data: `{rep.data_label}`. Spec: `{s.source}` (sha256 `{s.sha256[:12]}`).",
        "",
        _conventions(rep),
        "",
        "| Target | Published | Reproduced | Printed precision | Status |",
        "|---|---|---|---|---|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows(rep)]
    c = rep.to_dict()["counts"]
    out += [
        "",
        f"**{c['pass']} passed, {c['fail']} failed, {c['missing']} not computable.**",
        "",
        "Sources and confidence:",
        "",
    ]
    out += [
        f"- {r.target.label}: {r.target.source} (confidence: {r.target.confidence})"
        for r in rep.results
    ]
    return "\n".join(out) + "\n"


def write_reports(rep: Reproduction, out_dir: str | Path) -> list[Path]:
    """Write reproduction.md and .json in ``out_dir`` (each whole, replacing earlier ones)."""
    from walkback.outputs import check_output_dir, write_text

    out = check_output_dir(out_dir)
    md, js = out / "reproduction.md", out / "reproduction.json"
    write_text(md, render_markdown(rep))
    write_text(js, json.dumps(rep.to_dict(), indent=2, sort_keys=True) + "\n")
    return [md, js]
