"""Export each twin's published targets for the independent R check (twin_check.R).

    .venv/bin/python tests/reference/twin/export_targets.py      (from the repo root, or anywhere)

For every entry in TWINS below this writes ``tests/reference/twin/<name>_targets.json``: the twin
CSV (path relative to the repo root, and its sha256), the spec's arm labels and conventions
(conf_type, ties, strata, alpha), walkback's bootstrap settings (the [economics] resamples and
seed, for the record) and every non-derived target (with its column, level, arm and wtp).
``twin_check.R`` then computes each target in R (survival for the time-to-event figures) from the
CSV alone and writes ``<name>_r.json``; the parity test (tests/test_twin_r_parity.py) compares R's
values with the published figures and with walkback's.

Two kinds of entry:

- ``Committed(name, spec, csv)``: a twin already in the repository (e.g. data/synthetic/...).
- ``Built(name, spec)``: the twin is built here from the spec with ``walkback.twin.make_twin`` and
  written by ``walkback.twin.write_twin`` to ``tests/reference/twin/<name>_twin.csv`` (plus its
  ``<name>_twin.json`` metadata sidecar). Deterministic, so rebuilding gives the same bytes.

``spec`` is what ``walkback.spec.load_spec`` takes: a packaged name (``"walkback"``) or a path to a
TOML file relative to the repo root (e.g. ``"tests/specs/mytrial.toml"``).

Output is deterministic (sorted keys, indent 2). Stale ``*_targets.json`` (entries no longer listed)
are removed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


@dataclass(frozen=True)
class Committed:
    """A twin CSV committed to the repository (its sidecar is the same path with .json)."""

    name: str
    spec: str
    csv: str  # relative to the repo root


@dataclass(frozen=True)
class Built:
    """A twin built from ``spec`` and written to tests/reference/twin/<name>_twin.csv."""

    name: str
    spec: str


TWINS: list[Committed | Built] = [
    Committed("walkback", "walkback", "data/synthetic/walkback_twin.csv"),
    # Built("mytrial", "tests/specs/mytrial.toml"),
]


def _spec_arg(spec: str) -> str | Path:
    """The argument for load_spec: a packaged name as is, a .toml path under the repo root."""
    return ROOT / spec if spec.endswith(".toml") else spec


def _rel(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def twin_csv(entry: Committed | Built, spec, out_dir: Path = HERE) -> Path:
    """The twin CSV for an entry; built (and written with its sidecar) for a Built entry."""
    if isinstance(entry, Committed):
        path = ROOT / entry.csv
        if not path.is_file():
            raise SystemExit(f"{entry.name}: twin CSV {entry.csv} not found")
        return path
    from walkback.twin import make_twin, write_twin

    path = out_dir / f"{entry.name}_twin.csv"
    print(f"{entry.name}: building the twin of {entry.spec} (make_twin) ...", file=sys.stderr)
    write_twin(make_twin(spec), path)
    return path


def export(entry: Committed | Built, out_dir: Path = HERE) -> Path:
    from walkback.spec import load_spec

    spec = load_spec(_spec_arg(entry.spec))
    csv = twin_csv(entry, spec, out_dir)
    sidecar = csv.with_suffix(".json")
    if not sidecar.is_file():
        raise SystemExit(f"{entry.name}: metadata sidecar {_rel(sidecar)} not found")
    targets = [
        {
            "name": t.name,
            "label": t.label,
            "statistic": t.statistic,
            "outcome": t.outcome,
            "arm": t.arm,
            "column": t.column,
            "level": t.level,
            "wtp": t.wtp,
            "value": t.value,
            "ci": list(t.ci) if t.ci is not None else None,
            "precision": t.precision,
        }
        for t in spec.targets
        if not t.derived
    ]
    doc = {
        "name": entry.name,
        "spec": entry.spec,
        # a path spec's source is an absolute path; record the repo-relative one instead
        "spec_source": entry.spec if entry.spec.endswith(".toml") else spec.source,
        "spec_sha256": spec.sha256,
        "csv": _rel(csv),
        "csv_sha256": _sha256(csv),
        "arms": dict(spec.arm_labels),
        "conventions": {
            "conf_type": spec.conf_type,
            "ties": spec.ties,
            "strata": list(spec.analysis_strata),
            "alpha": spec.alpha,
        },
        # walkback's own bootstrap (prob_cost_effective); twin_check.R runs its own with R's RNG
        "bootstrap": (
            None
            if spec.economics is None
            else {"resamples": spec.economics.resamples, "seed": spec.economics.seed}
        ),
        "targets": targets,
    }
    out = out_dir / f"{entry.name}_targets.json"
    out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return out


def main(twins: list[Committed | Built] = TWINS, out_dir: Path = HERE) -> int:
    names = [e.name for e in twins]
    if len(set(names)) != len(names):
        raise SystemExit(f"duplicate twin names in TWINS: {names}")
    written = []
    for entry in twins:
        out = export(entry, out_dir)
        written.append(out.resolve())
        n = len(json.loads(out.read_text())["targets"])
        print(f"{entry.name:<16} {n:3d} targets -> {out.name}", file=sys.stderr)
    for stale in sorted(out_dir.glob("*_targets.json")):
        if stale.resolve() not in written:
            stale.unlink()
            print(f"removed stale {stale.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
