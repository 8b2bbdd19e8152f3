"""Parity with R survival: every quantity of the analyze contract, every reference case and setting.

Reference JSON comes from tests/reference/reference.R (``make reference``); inputs from R's own
trial datasets and seeded synthetic ones (tests/reference/make_inputs.py). Tolerance: 1e-6
relative, with an absolute floor of 1e-10 for quantities that are exactly zero.

Run as a script to print the parity summary (quantities compared, worst relative error):
    python tests/test_reference_parity.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from walkback.analysis import analyze
from walkback.io import read_trial

REF = Path(__file__).resolve().parent / "reference"
RTOL, ATOL = 1e-6, 1e-10


def _cases() -> list[dict]:
    return json.loads((REF / "cases.json").read_text())


def _settings_id(s: dict) -> str:
    strata = "+".join(s["strata"]) or "nostrata"
    return f"{s['conf_type']}-{s['ties']}-{strata}-a{s['alpha']}"


def _params():
    for case in _cases():
        expected = json.loads((REF / "expected" / f"{case['id']}.json").read_text())
        for res in expected["results"]:
            yield pytest.param(case, res, id=f"{case['id']}-{_settings_id(res['settings'])}")


def run_case(case: dict, settings: dict) -> dict:
    trial = read_trial(
        REF / case["file"],
        time_col=case["time_col"],
        event_col=case["event_col"],
        arm_col=case["arm_col"],
        treatment=case["treatment"],
        control=case["control"],
        strata=tuple(settings["strata"]),
    )
    res = analyze(
        trial,
        conf_type=settings["conf_type"],
        ties=settings["ties"],
        times=case["times"],
        tau=case["tau"],
        alpha=settings["alpha"],
    )
    return res.to_dict()


def compare(expected, actual, path: str = "") -> list[tuple[str, object, object, float]]:
    """Walk ``expected`` and return (path, expected, actual, relative error) for every leaf.

    A leaf that does not match structurally (null vs number, missing key, wrong length) gets an
    infinite error.
    """
    out: list[tuple[str, object, object, float]] = []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [(path, expected, actual, math.inf)]
        for k, v in expected.items():
            if k not in actual:
                out.append((f"{path}.{k}", v, "<missing>", math.inf))
            else:
                out += compare(v, actual[k], f"{path}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [(path, expected, actual, math.inf)]
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out += compare(e, a, f"{path}[{i}]")
        return out
    if expected is None or actual is None:
        return [(path, expected, actual, 0.0 if expected is actual else math.inf)]
    if isinstance(expected, str):
        return [(path, expected, actual, 0.0 if expected == actual else math.inf)]
    e, a = float(expected), float(actual)
    err = abs(a - e)
    rel = 0.0 if err <= ATOL else err / abs(e) if e != 0 else math.inf
    return [(path, expected, actual, rel)]


@pytest.mark.parametrize(("case", "expected"), list(_params()))
def test_analyze_matches_r_survival(case, expected):
    actual = run_case(case, expected["settings"])
    bad = [c for c in compare(expected, actual) if not c[3] <= RTOL]
    assert not bad, "\n".join(f"{p}: R {e!r} vs walkback {a!r} (rel {r:.2g})" for p, e, a, r in bad)


def test_reference_covers_the_promised_ground():
    cases = _cases()
    kinds = {c["kind"] for c in cases}
    assert kinds == {"real", "synthetic"}
    assert sum(c["kind"] == "real" for c in cases) >= 5
    settings = [r["settings"] for p in _params() for r in [p.values[1]]]
    assert {s["conf_type"] for s in settings} == {"log", "log-log", "plain"}
    assert {s["ties"] for s in settings} == {"efron", "breslow"}
    assert any(s["strata"] for s in settings)
    # somewhere a median is not reached (null), and somewhere a curve sits exactly at 0.5
    medians = [
        r.values[1]["median"][arm]["estimate"]
        for r in _params()
        for arm in ("treatment", "control")
    ]
    assert any(m is None for m in medians)


if __name__ == "__main__":
    total, worst, n_settings = 0, (0.0, ""), 0
    for p in _params():
        case, expected = p.values
        n_settings += 1
        for path, _e, _a, rel in compare(expected, run_case(case, expected["settings"])):
            total += 1
            if rel > worst[0]:
                worst = (rel, f"{p.id}{path}")
    print(f"{len(_cases())} cases, {n_settings} case x settings runs, {total} quantities compared")
    print(f"worst relative error {worst[0]:.3g} at {worst[1]}")
