"""Reproduce a trial's published figures from participant-level data and report the comparison.

``reproduce(spec, data)`` computes every published (non-derived) target of the spec on ``data``
under the spec's conventions and checks it against the printed precision. The renderers are
deterministic (no timestamps, fixed key order), so a diff of ``reports/`` means a number changed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from walkback.io import read_trial
from walkback.spec import TrialSpec
from walkback.targets import TargetResult, arrays_from_frame, evaluate

TOLERANCES = ("printed", "sampling")


@dataclass(frozen=True)
class Reproduction:
    spec: TrialSpec
    data_label: str
    results: tuple[TargetResult, ...]
    provenance: str = ""
    tolerance: str = "printed"
    misses: dict = field(default_factory=dict)  # sampling tolerance: target name -> Miss
    family: dict | None = None  # sampling tolerance: the family-wise adjustment

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
            "provenance": self.provenance,
            "tolerance": self.tolerance,
            **({"family": self.family} if self.family else {}),
            "conventions": {
                "conf_type": self.spec.conf_type,
                "ties": self.spec.ties,
                "strata": list(self.spec.analysis_strata),
                "alpha": self.spec.alpha,
            },
            "counts": {
                s: sum(r.status == s for r in self.results) for s in ("pass", "fail", "missing")
            },
            "targets": [
                {**r.to_dict(), **self.misses[r.target.name].to_dict()}
                if r.target.name in self.misses
                else r.to_dict()
                for r in self.results
            ],
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
    spec: TrialSpec,
    frame: pd.DataFrame,
    data_label: str,
    names: list[str] | None = None,
    *,
    tolerance: str = "printed",
    spread: dict | None = None,
    provenance: str = "",
) -> Reproduction:
    """Compute every published target on ``frame`` and judge it: at the printed precision, or
    (``tolerance="sampling"``) within sampling error (:mod:`walkback.checks.sampling`; ``spread``
    defaults to the model's cached sampling spread)."""
    if tolerance not in TOLERANCES:
        raise ValueError(f"tolerance must be one of {', '.join(TOLERANCES)}, got {tolerance!r}")
    if names is not None:
        check_target_names(spec, names)
    data = arrays_from_frame(spec, frame, data_label)
    results = evaluate(spec, data, names)
    if tolerance == "printed":
        return Reproduction(spec, data_label, tuple(results), provenance)
    from walkback.checks.sampling import apply_sampling

    if spread is None:
        from walkback.checks.spread import model_spread

        spread = model_spread(spec)
    results, misses, family = apply_sampling(spec, results, spread, data)
    return Reproduction(spec, data_label, tuple(results), provenance, tolerance, misses, family)


def provenance(spec: TrialSpec, data_label: str, sidecar: dict | None, twin: bool) -> str:
    """What a reproduction shows, given where its data came from (a twin's sidecar says so)."""
    if twin or (sidecar and "make_twin" in str(sidecar.get("generator", ""))):
        return (
            f"The data are the {spec.name} synthetic twin, constructed (by a deterministic "
            "search from the calibrated model) so that its analysis lands on the published "
            "figures. Reproducing them shows that this analysis pipeline gives the paper's "
            "numbers from data shaped like the trial's, under the conventions below; it does "
            "not show that the trial's participant data are known. R survival, run "
            "independently on the same file, gives the same figures (tests/reference/twin/)."
        )
    return (
        f"The data are {data_label}, not the synthetic twin: a pass means these data agree with "
        "the published figure under the conventions and tolerance below."
    )


def read_sidecar(path: str | Path) -> dict | None:
    """The metadata sidecar written beside a data file (``X.json`` for ``X.csv``), if any."""
    side = Path(path).with_suffix(".json")
    try:
        d = json.loads(side.read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


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
    if x == math.inf:
        return "NR"
    decimals = max(0, -math.floor(math.log10(precision) + 1e-9))
    return f"{x:,.{decimals}f}"


def rows(rep: Reproduction) -> list[tuple[str, ...]]:
    from walkback.spec.targets import TIME_UNITS, TIME_VALUED

    out = []
    for r in rep.results:
        t = r.target
        # time-valued figures are shown in the unit the paper printed them in
        f = TIME_UNITS[t.unit] if t.statistic in TIME_VALUED else 1.0
        prec = t.precision / f

        def shown(x, fmt=_fmt, f=f, prec=prec):
            return fmt(x if x is None else x / f, prec)

        pub = shown(t.value, _published)
        if t.ci:
            pub += f" ({shown(t.ci[0], _published)} to {shown(t.ci[1], _published)})"
        if r.value is None:
            got = "-"
        else:
            got = shown(r.value.estimate)
            if t.ci:
                got += f" ({shown(r.value.lower)} to {shown(r.value.upper)})"
        if f != 1.0:
            pub, got = f"{pub} {t.unit}", f"{got} {t.unit}"
        if rep.tolerance == "sampling":
            m = rep.misses.get(t.name)
            miss = "-" if m is None or m.miss_se is None else f"{m.miss_se:+.2f}"
            out.append((t.label, pub, got, miss, r.status.upper()))
        else:
            out.append((t.label, pub, got, f"{prec:g}", r.status.upper()))
    return out


def _head(rep: Reproduction) -> tuple[str, ...]:
    fourth = "Miss (SE)" if rep.tolerance == "sampling" else "Printed precision"
    return ("Target", "Published", "Reproduced", fourth, "Status")


def render_text(rep: Reproduction) -> str:
    head = _head(rep)
    body = rows(rep)
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(5)]
    line = "  ".join(f"{{:{w}}}" for w in widths)
    c = rep.to_dict()["counts"]
    out = [
        f"walkback reproduce: {rep.spec.name} on {rep.data_label}",
        *([rep.provenance] if rep.provenance else []),
        _conventions(rep),
        "",
        line.format(*head),
        line.format(*("-" * w for w in widths)),
    ]
    out += [line.format(*r) for r in body]
    out += [
        "",
        f"{c['pass']} passed, {c['fail']} failed, {c['missing']} not computable: " + _verdict(rep),
    ]
    return "\n".join(out)


def _verdict(rep: Reproduction) -> str:
    if rep.tolerance == "sampling":
        ok = "ALL TARGETS WITHIN SAMPLING ERROR"
        return ok if rep.all_passed else "NOT " + ok
    return "ALL TARGETS REPRODUCED" if rep.all_passed else "NOT ALL TARGETS REPRODUCED"


def _conventions(rep: Reproduction) -> str:
    s = rep.spec
    strata = ", ".join(s.analysis_strata) or "none"
    head = (
        f"Conventions: KM CI transform '{s.conf_type}', Cox ties '{s.ties}', strata {strata}, "
        f"{100 * (1 - s.alpha):g}% intervals. "
    )
    if rep.tolerance == "sampling":
        f = rep.family
        return head + (
            "Sampling tolerance: a value passes when the published figure lies within "
            f"{f['critical_z']:.2f} SE of it (miss = (published - reproduced) / SE on the "
            "statistic's scale; SE from this dataset's CI, else the model's sampling SD, with "
            f"the published rounding); {f['targets']} targets at the Sidak level "
            f"{f['per_target_alpha']:.5f} each, family-wise {f['family_alpha']:g}."
        )
    return head + (
        "A value passes when it rounds to the published figure at its printed precision (CI "
        "limits too)."
    )


def render_markdown(rep: Reproduction) -> str:
    s = rep.spec
    out = [
        f"# Reproduction: {s.name}",
        "",
        *([rep.provenance, ""] if rep.provenance else []),
        f"Every number the model assumes (not published) is marked as an assumption, with its "
        f"reason, in the spec: [{SPEC_COPY}]({SPEC_COPY}) (a copy of `{s.source}`, sha256 "
        f"`{s.sha256[:12]}`).",
        "",
        f"{s.citation}",
        "",
        f"Data: `{rep.data_label}`.",
        "",
        _conventions(rep),
        "",
        "| " + " | ".join(_head(rep)) + " |",
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


SPEC_COPY = "spec.toml"


def spec_bytes(spec: TrialSpec) -> bytes:
    """The bytes of the spec file ``spec`` was read from (checked against its sha256)."""
    import hashlib

    prefix = "walkback/trials/"
    if spec.source.startswith(prefix):
        from importlib import resources

        data = resources.files("walkback.trials").joinpath(spec.source[len(prefix) :]).read_bytes()
    else:
        data = Path(spec.source).read_bytes()
    if hashlib.sha256(data).hexdigest() != spec.sha256:
        raise ValueError(f"{spec.source} changed since it was read; run again")
    return data


def write_reports(rep: Reproduction, out_dir: str | Path) -> list[Path]:
    """reproduction.md, reproduction.json and the spec (its assumptions) in ``out_dir``; each
    file written aside and renamed into place, so a reader never sees half a file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        out / "reproduction.md": render_markdown(rep).encode(),
        out / "reproduction.json": (
            json.dumps(rep.to_dict(), indent=2, sort_keys=True) + "\n"
        ).encode(),
        out / SPEC_COPY: spec_bytes(rep.spec),
    }
    for path, data in files.items():
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return list(files)
