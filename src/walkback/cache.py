"""A small on-disk store for expensive, deterministic results (the calibration of a spec, the
model's sampling spread of its targets), keyed and checked by digests.

An entry is a JSON file holding ``key`` (what the result was computed from: the spec's sha256, a
digest of the code that computes it, the numpy version, the settings), ``payload`` (the result)
and ``sha256``, the digest of key and payload together. An entry is used only when its key equals
the one asked for *and* its digest matches its content, so an entry that was edited, truncated or
computed by other code is never used silently: the caller recomputes it and a one-line note says
why on stderr.

Entries are looked up first in the user cache (``$WALKBACK_CACHE_DIR``, default
``~/.cache/walkback``; ``WALKBACK_NO_CACHE=1`` turns it off), then beside the spec for packaged
specs (``trials/<spec>.<kind>.json``, shipped so that a fresh install starts fast). A shipped
entry whose key no longer matches (the spec or the code changed since it was written) is
recomputed like any other; ``make calibration`` rewrites the shipped ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
SHIPPED_DIR = PACKAGE_ROOT / "trials"


def code_digest(parts: tuple[str, ...]) -> str:
    """sha256 over the source of the package files and folders ``parts`` (relative to the
    package), in sorted path order: any edit to code that shapes a result changes the digest."""
    h = hashlib.sha256()
    for part in parts:
        p = PACKAGE_ROOT / part
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p]
        for f in files:
            h.update(f.relative_to(PACKAGE_ROOT).as_posix().encode())
            h.update(b"\0")
            h.update(f.read_bytes())
    return h.hexdigest()


def entry_digest(key: dict, payload: dict) -> str:
    """The digest an entry stores: sha256 of key and payload as canonical JSON."""
    text = json.dumps({"key": key, "payload": payload}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def user_dir() -> Path | None:
    """The user cache folder, or None when ``WALKBACK_NO_CACHE`` is set."""
    if os.environ.get("WALKBACK_NO_CACHE"):
        return None
    return Path(os.environ.get("WALKBACK_CACHE_DIR") or Path.home() / ".cache" / "walkback")


def entry_path(kind: str, key: dict) -> Path | None:
    """Where the user cache keeps the entry for ``key``."""
    root = user_dir()
    if root is None:
        return None
    short = entry_digest(key, {})[:24]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(key.get("spec", "spec")))[:40]
    return root / kind / f"{name}-{short}.json"


def shipped_path(kind: str, spec_source: str) -> Path | None:
    """Where a packaged spec's shipped entry lives (None for a spec read from a file)."""
    prefix = "walkback/trials/"
    if not (spec_source.startswith(prefix) and spec_source.endswith(".toml")):
        return None
    return SHIPPED_DIR / f"{spec_source[len(prefix) : -len('.toml')]}.{kind}.json"


def read_entry(path: Path, key: dict, what: str, note: Callable[[str], None]) -> dict | None:
    """The payload stored at ``path`` if its key is ``key`` and its digest matches; else None,
    with a note naming the file and the reason (a missing file is silent)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        note(f"{what}: cannot read {path} ({exc.strerror}); recomputing")
        return None
    try:
        d = json.loads(text)
        stored_key, payload, digest = d["key"], d["payload"], d["sha256"]
    except (ValueError, KeyError, TypeError):
        note(f"{what}: {path} is not a readable cache entry; recomputing")
        return None
    if entry_digest(stored_key, payload) != digest:
        note(f"{what}: {path} does not match its checksum (edited or damaged); recomputing")
        return None
    if stored_key != key:
        changed = sorted(k for k in set(key) | set(stored_key) if key.get(k) != stored_key.get(k))
        note(f"{what}: {path} was computed for another {', '.join(changed)}; recomputing")
        return None
    return payload


def write_entry(path: Path | None, key: dict, payload: dict) -> None:
    """Write an entry atomically (a temporary file renamed into place); a read-only cache
    folder only costs the recomputation next time."""
    if path is None:
        return
    text = json.dumps(
        {"key": key, "payload": payload, "sha256": entry_digest(key, payload)},
        indent=1,
        sort_keys=True,
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text + "\n")
        os.replace(tmp, path)
    except OSError:
        pass


def stderr_note(message: str) -> None:
    """Print a cache note on stderr (one line)."""
    print(f"walkback: note: {message}", file=sys.stderr)


def cached(
    kind: str,
    key: dict,
    compute: Callable[[], dict],
    *,
    what: str,
    spec_source: str = "",
    note: Callable[[str], None] = stderr_note,
) -> dict:
    """The payload for ``key``: from the user cache, else the shipped entry of a packaged spec
    (``spec_source`` as ``TrialSpec.source``), else ``compute()`` (then stored in the user
    cache). ``key['spec']`` names the spec in the file name."""
    user = entry_path(kind, key)
    if user is not None:
        payload = read_entry(user, key, what, note)
        if payload is not None:
            return payload
    shipped = shipped_path(kind, spec_source)
    if shipped is not None and shipped.is_file():
        payload = read_entry(shipped, key, f"{what} (shipped)", note)
        if payload is not None:
            return payload
    payload = compute()
    write_entry(user, key, payload)
    return payload
