"""What every command shares: argument types, the one-line usage error, exit codes, progress.

Exit codes: 0 success; 1 a check failed (reproduce, report); 2 bad input or usage (one line on
stderr); 3 an unexpected internal error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from walkback.exceptions import WalkbackError

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 2, 3


class UsageError(WalkbackError):
    """Bad command-line usage."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit code 2 (argparse prints usage too)."""

    def error(self, message: str):  # noqa: D102 - argparse API
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


SPEC_HELP = "trial spec: a packaged name (default: walkback) or a path to a .toml file"


def _positive(text: str) -> float:
    """A finite number > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (v > 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _alpha(text: str) -> float:
    v = _positive(text)
    if v >= 1:
        raise argparse.ArgumentTypeError(f"--alpha must be between 0 and 1, got {text!r}")
    return v


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return v


def _pos_int(text: str) -> int:
    v = _nonneg_int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return v


def _test_name(text: str) -> str:
    """A weighted test's name as ``analyze --test`` and ``montecarlo --test`` take it."""
    from walkback.analysis.tests import parse_test

    try:
        parse_test(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def _progress(msg: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\033[K{msg}", end="", file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
