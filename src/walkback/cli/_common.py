"""What every command shares: argument types, the one-line usage error, exit codes, progress.

Exit codes: 0 success; 1 a check failed (reproduce, report); 2 bad input or usage (one line on
stderr); 3 an unexpected internal error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

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


def _float_list(text: str) -> list[float]:
    """Comma-separated finite numbers >= 0 (landmark times)."""
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            v = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--times wants comma-separated numbers like 90,180,365; got {part!r}"
            ) from None
        if not v >= 0 or v == float("inf"):
            raise argparse.ArgumentTypeError(f"--times must be finite and >= 0; got {part!r}")
        out.append(v)
    return out


def _label_list(text: str) -> list[str]:
    """Comma-separated non-empty labels."""
    labels = [x.strip() for x in text.split(",")]
    if not all(labels):
        raise argparse.ArgumentTypeError(f"empty label in {text!r}; give labels as A or A,B")
    return labels


def _finite(text: str) -> float:
    """A finite number."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
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


FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def _check_plot_path(command: str, path: str | None) -> None:
    """--plot must name a .png, .svg or .pdf file (checked before any work is done)."""
    if path and Path(path).suffix.lower() not in FIGURE_SUFFIXES:
        raise UsageError(
            f"walkback {command}: error: --plot must end in .png, .svg or .pdf (got '{path}')"
        )


def _write_figure(path: str, draw: Callable[[], object]) -> None:
    """Draw a figure in walkback's style and write it to ``path`` (300 dpi): written aside and
    renamed into place, so a reader never sees a half-written file."""
    from walkback.plotting import style

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{target.suffix}")
    with style():
        draw().savefig(tmp, dpi=300)
    tmp.replace(target)
