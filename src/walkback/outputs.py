"""Writing outputs safely: every file goes to a temporary name in its target folder and is renamed
into place only when complete, so an interrupted or failed run never leaves a partial file that
looks finished; existing files are kept unless overwriting was asked for.

One helper for every command that writes: :func:`check_output` (before any work: the path is
usable and, without ``force``, not already there), :class:`AtomicFile` / :func:`atomic_path` (the
temporary file and its rename), :func:`write_text` and :func:`write_bytes`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from walkback.exceptions import WalkbackError

__all__ = [
    "AtomicFile",
    "OutputError",
    "atomic_path",
    "check_output",
    "check_output_dir",
    "write_bytes",
    "write_text",
]


class OutputError(WalkbackError, ValueError):
    """An output path cannot be written (or would overwrite a file without ``--force``)."""


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output(
    path: str | Path, *, force: bool = False, option: str = "--out", sidecars=()
) -> Path:
    """Check before any work that ``path`` can be written; return it as a Path.

    Refused (one line naming the path): an existing folder; a file in the way of its folder; a
    folder that cannot be written; an existing file (or sidecar, such as the twin's ``.json``)
    unless ``force``.
    """
    p = Path(path)
    if str(path) == "":
        raise OutputError(f"{option}: the path is empty; give a file name")
    if p.is_dir():
        raise OutputError(f"{option} {p}: is a folder; give a file name inside it")
    parent = _nearest_existing(p.parent if str(p.parent) else Path("."))
    if not parent.is_dir():
        raise OutputError(f"{option} {p}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {p}: the folder {parent} is not writable")
    if not force:
        for q in (p, *(Path(s) for s in sidecars)):
            if q.exists():
                raise OutputError(
                    f"{option} {p}: {q} already exists; pass --force to overwrite it or choose "
                    "another path"
                )
    return p


def check_output_dir(path: str | Path, *, option: str = "--out-dir") -> Path:
    """Check before any work that ``path`` is (or can become) a writable folder."""
    p = Path(path)
    if str(path) == "":
        raise OutputError(f"{option}: the path is empty; give a folder name")
    if p.exists() and not p.is_dir():
        raise OutputError(f"{option} {p}: is a file, not a folder; give a folder (it is created)")
    parent = _nearest_existing(p)
    if not parent.is_dir():
        raise OutputError(f"{option} {p}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {p}: the folder {parent} is not writable")
    return p


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class AtomicFile:
    """A temporary file beside ``path`` (same folder, same suffix, hidden name).

    Write to :attr:`tmp`; :meth:`commit` renames it onto ``path``; :meth:`discard` removes it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.stem}.", suffix=f".part{self.path.suffix}", dir=folder
            )
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {_reason(exc)}") from None
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> Path:
        """Move the finished temporary file into place (with the usual file permissions)."""
        try:
            os.chmod(self.tmp, 0o666 & ~_umask())
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot write {self.path}: {_reason(exc)}") from None
        return self.path

    def discard(self) -> None:
        """Remove the temporary file (nothing is left behind)."""
        with contextlib.suppress(OSError):
            self.tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; rename it onto ``path`` when the block ends normally,
    remove it when the block raises (errors, KeyboardInterrupt, SIGTERM)."""
    f = AtomicFile(path)
    try:
        yield f.tmp
    except BaseException:
        f.discard()
        raise
    f.commit()


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {_reason(exc)}") from None
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; return the path."""
    return write_bytes(path, text.encode("utf-8"))
