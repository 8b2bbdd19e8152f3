"""What every command shares: argument types, the one-line usage error, exit codes, progress.

Exit codes: 0 success; 1 a check failed (reproduce, report); 2 bad input or usage (one line on
stderr); 3 an unexpected internal error; 128 + the signal number when stopped: 130 SIGINT (Ctrl-C),
143 SIGTERM, 141 when the reader of stdout went away (`walkback ... | head`, quietly).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from walkback.exceptions import WalkbackError

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 2, 3
EXIT_SIGINT, EXIT_BROKEN_PIPE, EXIT_SIGTERM = 130, 141, 143


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


#: below this, 1 - alpha / 2 is 1 in double precision (nearly): the normal quantile is infinite
ALPHA_MIN = 1e-12


def _alpha(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--alpha wants a number between {ALPHA_MIN:g} and 1 (e.g. 0.05), got {text!r}"
        ) from None
    if not ALPHA_MIN <= v < 1:
        raise argparse.ArgumentTypeError(
            f"--alpha must be at least {ALPHA_MIN:g} and below 1 (got {text}): smaller values "
            "make the confidence level 1 in double precision and the intervals infinite"
        )
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
    try:
        v = int(text)
    except ValueError:
        v = None
    if v is None or v < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= 1 (1, 2, 3, ...), got {text!r}"
        ) from None
    return v


def _test_name(text: str) -> str:
    """A weighted test's name as ``analyze --test`` and ``montecarlo --test`` take it."""
    from walkback.analysis.tests import parse_test

    try:
        parse_test(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def _scheduler(text: str) -> str:
    """A Dask scheduler address; an empty one is an error (it would silently run locally)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the address is empty; give the Dask scheduler's address (e.g. tcp://host:8786), "
            "or leave --scheduler out to run on this machine"
        )
    return text.strip()


FORCE_HELP = "overwrite existing output files (default: refuse, before any work)"


def _check_out(path: str, force: bool, option: str = "--out", sidecars=()) -> None:
    """Before any work: the output path is usable and, without --force, not already there."""
    from walkback.outputs import check_output

    check_output(path, force=force, option=option, sidecars=sidecars)


def _progress(msg: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\033[K{msg}", end="", file=sys.stderr, flush=True)


_NUMPY_SCALAR = re.compile(r"np\.(?:float|int|uint|bool_?|str_)\w*\(([^()]*)\)")


def _one_line(exc: BaseException) -> str:
    """The message on one line, numpy scalars shown as plain numbers, at most 600 characters."""
    text = _NUMPY_SCALAR.sub(r"\1", " ".join(str(exc).split())) or type(exc).__name__
    return text if len(text) <= 600 else text[:597] + "..."


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


def _check_sizes(ns, replicates: int) -> None:
    """Monte Carlo sizes (--n values, --replicates) within this machine's limits, before work."""
    from walkback.montecarlo.blocks import check_limits

    for n in ns:
        check_limits(n, replicates)
