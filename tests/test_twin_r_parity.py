"""The synthetic twins reproduce their trials' published figures under R survival, too.

tests/reference/twin/twin_check.R computes every published target of each twin with R's survival
package (``make reference``; see tests/reference/twin/README.md) and writes ``<name>_r.json``.
These tests need no R. For each twin they check that

(a) every R value (and CI limit, where published) rounds to the published figure;
(b) walkback's own value (``walkback.reproduce``) equals R's to 1e-6 relative (1e-10 floor);
(c) the twin CSV is the committed one: its sha256 matches the twin's metadata sidecar and the
    export, and its md5 matches the one R recorded for the file it read;

except for ``prob_cost_effective``, a bootstrap share: R runs its own bootstrap (2000 resamples,
set.seed(2024), R's RNG) and walkback the spec's (5000 resamples, numpy seed 2024), so the two
differ by Monte Carlo error. For it (a) is |R - published| <= 0.02 and (b) |walkback - R| <= 0.02.

The R results must be current: same targets, published values, conventions and bootstrap
settings as the spec.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cache
from pathlib import Path

import pytest

from walkback.reproduce import load_data, reproduce
from walkback.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "tests" / "reference" / "twin"
RTOL, ATOL = 1e-6, 1e-10
# bootstrap targets: R's own resampling (twin_check.R), compared within a Monte Carlo tolerance
BOOTSTRAP_STATS = {"prob_cost_effective"}
R_BOOT_RESAMPLES, R_BOOT_SEED, BOOT_TOL = 2000, 2024, 0.02
REGEN = "rerun `make reference` (see tests/reference/twin/README.md)"

NAMES = sorted(p.name.removesuffix("_r.json") for p in TWIN.glob("*_r.json"))


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


@cache
def _load(name: str):
    exported = _json(TWIN / f"{name}_targets.json")
    r = _json(TWIN / f"{name}_r.json")
    s = exported["spec"]
    spec = load_spec(ROOT / s if s.endswith(".toml") else s)
    return exported, r, spec


@cache
def _walkback_values(name: str) -> dict:
    exported, _, spec = _load(name)
    frame = load_data(spec, ROOT / exported["csv"])
    rep = reproduce(spec, frame, exported["csv"])
    return {res.target.name: res.value for res in rep.results}


def _none_nan(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _within(x: float | None, ref: float, tol: float) -> bool:
    return x is not None and math.isfinite(x) and abs(x - ref) <= tol + 1e-12


def test_every_twin_has_r_results():
    exported = sorted(p.name.removesuffix("_targets.json") for p in TWIN.glob("*_targets.json"))
    assert exported, f"no *_targets.json in {TWIN}; {REGEN}"
    assert NAMES == exported, f"*_r.json {NAMES} do not match *_targets.json {exported}; {REGEN}"


@pytest.mark.parametrize("name", NAMES)
def test_r_results_are_current(name):
    """The R results cover exactly the spec's published targets, values and conventions."""
    exported, r, spec = _load(name)
    assert r["spec"] == name
    assert r["csv"] == exported["csv"]
    assert r["conventions"] == {
        "conf_type": spec.conf_type,
        "ties": spec.ties,
        "strata": list(spec.analysis_strata),
        "alpha": spec.alpha,
    }, REGEN
    published = [t for t in spec.targets if not t.derived]
    assert [t["name"] for t in r["targets"]] == [t.name for t in published], REGEN
    for got, t in zip(r["targets"], published, strict=True):
        assert got["statistic"] == t.statistic, (t.name, REGEN)
        assert got["published"] == t.value, (t.name, REGEN)
        assert got["published_ci"] == (list(t.ci) if t.ci else None), (t.name, REGEN)
        assert got["precision"] == t.precision, (t.name, REGEN)
        if t.statistic in BOOTSTRAP_STATS:
            boot = got["bootstrap"]
            assert boot["resamples"] == R_BOOT_RESAMPLES, (t.name, REGEN)
            assert boot["seed"] == R_BOOT_SEED, (t.name, REGEN)
            assert boot["tolerance"] == BOOT_TOL, (t.name, REGEN)
            assert boot["wtp"] == t.wtp, (t.name, REGEN)
        else:
            assert "bootstrap" not in got, (t.name, REGEN)
    ec = spec.economics
    want = None if ec is None else {"resamples": ec.resamples, "seed": ec.seed}
    assert exported["bootstrap"] == want, REGEN


@pytest.mark.parametrize("name", NAMES)
def test_r_values_round_to_published(name):
    """(a) Under R survival every target rounds to the published figure (CI limits too)."""
    _, r, spec = _load(name)
    misses = []
    for got in r["targets"]:
        t = spec.target(got["name"])
        if t.statistic in BOOTSTRAP_STATS:
            ok = _within(got["estimate"], t.value, BOOT_TOL)
            assert ok == got["rounds_to_published"], f"{t.name}: R's flag disagrees with its value"
            if not ok:
                misses.append(f"{t.name}: R {got['estimate']} vs published {t.value} (+/- 0.02)")
            continue
        pieces = [("value", got["estimate"], t.value)]
        if t.ci is not None:
            pieces += [("lower", got["lower"], t.ci[0]), ("upper", got["upper"], t.ci[1])]
        ok = all(x is not None and abs(x - ref) < t.precision / 2 for _, x, ref in pieces)
        assert ok == got["rounds_to_published"], f"{t.name}: R's flag disagrees with its values"
        if not ok:
            misses.append(
                f"{t.name}: R {[x for _, x, _ in pieces]} vs published "
                f"{[ref for _, _, ref in pieces]} (precision {t.precision:g})"
            )
    assert not misses, "\n".join(misses)


@pytest.mark.parametrize("name", NAMES)
def test_walkback_matches_r(name):
    """(b) walkback's reproduced values equal R's (estimate and any interval limits)."""
    _, r, _ = _load(name)
    mine = _walkback_values(name)
    diffs = []
    for got in r["targets"]:
        v = mine[got["name"]]
        assert v is not None, f"{got['name']}: walkback could not compute it"
        if got["statistic"] in BOOTSTRAP_STATS:  # two bootstraps, two RNGs: Monte Carlo error
            if got["estimate"] is None or not _within(v.estimate, got["estimate"], BOOT_TOL):
                diffs.append(
                    f"{got['name']}: walkback {v.estimate!r} vs R {got['estimate']!r} (+/- 0.02)"
                )
            continue
        for key in ("estimate", "lower", "upper"):
            ref = got[key]
            x = _none_nan(getattr(v, key))
            if ref is None and key != "estimate" and x is not None:
                continue  # R reports no interval for this statistic; walkback's is extra
            if ref is None or x is None:
                if ref is not x:
                    diffs.append(f"{got['name']}.{key}: walkback {x} vs R {ref}")
                continue
            if not math.isclose(x, ref, rel_tol=RTOL, abs_tol=ATOL):
                diffs.append(f"{got['name']}.{key}: walkback {x!r} vs R {ref!r}")
    assert not diffs, "\n".join(diffs)


@pytest.mark.parametrize("name", NAMES)
def test_csv_is_the_committed_twin(name):
    """(c) The file R checked is the twin its metadata sidecar describes."""
    exported, r, _ = _load(name)
    csv = ROOT / exported["csv"]
    data = csv.read_bytes()
    sidecar = _json(csv.with_suffix(".json"))
    sha = hashlib.sha256(data).hexdigest()
    assert sha == sidecar["sha256"], f"{exported['csv']} differs from its sidecar's sha256"
    assert sha == exported["csv_sha256"], f"{exported['csv']} changed since the export; {REGEN}"
    assert hashlib.md5(data, usedforsecurity=False).hexdigest() == r["csv_md5"], (
        f"{exported['csv']} is not the file twin_check.R read; {REGEN}"
    )
