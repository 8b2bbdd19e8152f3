"""Cache entries (calibration, sampling spread) are keyed and checked by digests: an edited entry,
one computed for another spec or other code, is detected, noted on stderr and recomputed; the
shipped entries of the packaged spec are current; the code digest covers every function a
calibration calls."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import walkback.cache as cache
from walkback import calibrate as cal_module
from walkback.calibrate import CALIBRATION_CODE, cache_key, calibrate
from walkback.checks.spread import SPREAD_CODE, SPREAD_REPLICATES, SPREAD_SEED, spread_key
from walkback.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
MADE_UP = ROOT / "tests" / "specs" / "made_up_trial.toml"
DROPOUT = "dropout.annual_rate"


@pytest.fixture()
def user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WALKBACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("WALKBACK_NO_CACHE", raising=False)
    monkeypatch.setattr(cal_module, "_CACHE", {})  # no in-memory results from other tests
    return tmp_path / "cache"


def _entry(root: Path) -> Path:
    (path,) = (root / "calibration").glob("*.json")
    return path


def test_an_edited_calibration_entry_is_detected_and_recomputed(user_cache, capsys, monkeypatch):
    spec = load_spec(MADE_UP)
    first = calibrate(spec)
    assert capsys.readouterr().err == ""
    path = _entry(user_cache)
    d = json.loads(path.read_text())
    assert d["key"] == cache_key(spec, first.replicates, first.seed)
    assert d["payload"]["solved"][DROPOUT] == first.solved[DROPOUT]
    # edit the dropout rate, as a person (or a bad disk) might
    d["payload"]["solved"][DROPOUT] = 0.5
    path.write_text(json.dumps(d))
    monkeypatch.setattr(cal_module, "_CACHE", {})
    again = calibrate(spec)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not match its checksum" in err and str(path) in err
    assert again.solved == first.solved  # recomputed, not the edited 0.5
    assert again.model.dropout_rate == first.model.dropout_rate
    assert json.loads(path.read_text())["payload"]["solved"][DROPOUT] == first.solved[DROPOUT]


def test_unreadable_and_foreign_entries_are_recomputed(user_cache, capsys, monkeypatch):
    spec = load_spec(MADE_UP)
    first = calibrate(spec)
    path = _entry(user_cache)
    good = json.loads(path.read_text())
    capsys.readouterr()
    path.write_text("{not json")
    monkeypatch.setattr(cal_module, "_CACHE", {})
    assert calibrate(spec).solved == first.solved
    assert "not a readable cache entry" in capsys.readouterr().err
    # an entry written for other code (its own digest consistent) is not used either
    key = {**good["key"], "code_sha256": "0" * 64}
    payload = {**good["payload"], "solved": {**good["payload"]["solved"], DROPOUT: 0.5}}
    path.write_text(
        json.dumps({"key": key, "payload": payload, "sha256": cache.entry_digest(key, payload)})
    )
    monkeypatch.setattr(cal_module, "_CACHE", {})
    assert calibrate(spec).solved == first.solved
    err = capsys.readouterr().err
    assert "computed for another code_sha256" in err


def test_a_shipped_entry_that_was_edited_is_not_used(user_cache, tmp_path, capsys, monkeypatch):
    spec = load_spec("walkback")
    shipped = cache.shipped_path("calibration", spec.source)
    d = json.loads(shipped.read_text())
    d["payload"]["solved"][DROPOUT] = 0.5
    fake = tmp_path / "trials"
    fake.mkdir()
    (fake / shipped.name).write_text(json.dumps(d))
    monkeypatch.setattr(cache, "SHIPPED_DIR", fake)
    notes = []
    payload = cache.cached(
        "calibration",
        cache_key(spec, 200, 1),
        lambda: {"recomputed": True},
        what="calibration",
        spec_source=spec.source,
        note=notes.append,
    )
    assert payload == {"recomputed": True}
    assert len(notes) == 1 and "does not match its checksum" in notes[0]


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("calibration", lambda s: cache_key(s, 200, 1)),
        ("spread", lambda s: spread_key(s, SPREAD_REPLICATES, SPREAD_SEED)),
    ],
)
def test_shipped_entries_are_current(kind, key):
    """Fails after a change to the packaged spec or to the code that calibrates or simulates:
    run `make calibration` to rewrite src/walkback/trials/*.json (cold starts need them)."""
    spec = load_spec("walkback")
    notes = []
    payload = cache.read_entry(cache.shipped_path(kind, spec.source), key(spec), kind, notes.append)
    assert payload is not None, f"{notes}: run `make calibration`"


def test_code_digest_changes_with_the_code(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    monkeypatch.setattr(cache, "PACKAGE_ROOT", tmp_path)
    before = cache.code_digest(("pkg", "b.py"))
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    assert cache.code_digest(("pkg", "b.py")) != before


def test_calibration_code_covers_every_function_a_calibration_calls():
    """Every walkback function run while solving a calibration lives in CALIBRATION_CODE, so an
    edit to any of them changes the cache key."""
    script = f"""
import sys
from pathlib import Path
import walkback
import walkback.calibrate as cal
from walkback.spec import load_spec
root = Path(walkback.__file__).parent
spec = load_spec({str(MADE_UP)!r})
files = set()
def prof(frame, event, arg):
    # functions only (CO_OPTIMIZED): not module or class bodies run at import
    if event == "call" and frame.f_code.co_flags & 1:
        f = frame.f_code.co_filename
        if f.startswith(str(root)):
            files.add(Path(f).relative_to(root).as_posix())
sys.setprofile(prof)
cal.solve(spec)
sys.setprofile(None)
print("\\n".join(sorted(files)))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "calibrate.py" in out and "draws.py" in out
    covered = [p for p in out if any(p == c or p.startswith(c + "/") for c in CALIBRATION_CODE)]
    assert covered == out, sorted(set(out) - set(covered))


def test_spread_code_covers_every_function_a_spread_calls():
    """The same for the model's sampling spread (a few simulated trials are enough to run every
    function it calls)."""
    script = """
import sys
from pathlib import Path
import walkback
from walkback.calibrate import calibrate
from walkback.checks.spread import compute_spread
from walkback.spec import load_spec
root = Path(walkback.__file__).parent
spec = load_spec("walkback")
model = calibrate(spec).model
files = set()
def prof(frame, event, arg):
    if event == "call" and frame.f_code.co_flags & 1:
        f = frame.f_code.co_filename
        if f.startswith(str(root)):
            files.add(Path(f).relative_to(root).as_posix())
sys.setprofile(prof)
compute_spread(spec, replicates=2, model=model)
sys.setprofile(None)
print("\\n".join(sorted(files)))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    parts = CALIBRATION_CODE + SPREAD_CODE
    assert "simulate.py" in out and "targets.py" in out
    covered = [p for p in out if any(p == c or p.startswith(c + "/") for c in parts)]
    assert covered == out, sorted(set(out) - set(covered))
