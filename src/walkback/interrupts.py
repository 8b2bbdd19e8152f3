"""Interrupting long work: SIGINT and SIGTERM end a run between pieces of work, never inside one.

Python runs signal handlers only between bytecodes, so a compiled (numba) kernel cannot be stopped
midway, and a handler that raises while the kernel returns its result turns into a ``SystemError``.
Long work therefore runs in pieces inside :func:`deferred`: a signal that arrives is recorded, the
current piece finishes (well under a second), and the matching exception is raised after it:
``KeyboardInterrupt`` for SIGINT, :class:`Terminated` for SIGTERM. The CLI turns them into exit
codes 130 and 143 (128 + the signal number).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["Terminated", "deferred", "raise_for", "terminate_raises"]


class Terminated(BaseException):
    """SIGTERM arrived (a ``BaseException`` like ``KeyboardInterrupt``: not caught as an error)."""

    signum = signal.SIGTERM


def raise_for(signum: int) -> None:
    """Raise the exception that stands for signal ``signum``."""
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Record SIGINT / SIGTERM during the block and raise for the first one after it.

    Outside the main thread (where handlers cannot be set) the block simply runs.
    """
    if not _on_main_thread():
        yield
        return
    got: list[int] = []

    def record(signum, frame):  # noqa: ARG001 - signal handler signature
        got.append(signum)

    old = {
        s: signal.signal(s, record)
        for s in (signal.SIGINT, signal.SIGTERM)
        if signal.getsignal(s) is not signal.SIG_IGN  # an ignored signal stays ignored
    }
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    if got:
        raise_for(got[0])


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """During the block, SIGTERM raises :class:`Terminated` (Python's default is to die silently,
    leaving partial files); the previous handler comes back after it."""
    if not _on_main_thread() or signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        yield
        return

    def on_term(signum, frame):  # noqa: ARG001 - signal handler signature
        raise_for(signum)

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
