"""The `walkback` command: the parser assembled from one module per command family, and the
error-to-exit-code mapping (one line on stderr, never a traceback unless WALKBACK_DEBUG=1).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

import walkback.cli.analyze as analyze
import walkback.cli.check as check
import walkback.cli.competing as competing
import walkback.cli.montecarlo as montecarlo
import walkback.cli.reconstruct as reconstruct
import walkback.cli.report as report
import walkback.cli.safety_economics as safety_economics
import walkback.cli.subgroups as subgroups
import walkback.cli.trial_model as trial_model
from walkback import __version__
from walkback.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    UsageError,
    _one_line,
    _Parser,
)
from walkback.exceptions import WalkbackError
from walkback.interrupts import Terminated, terminate_raises


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="walkback",
        description="Re-analyse and reproduce randomised trials with time-to-event outcomes. "
        "Numbers match R survival; every convention is stated.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"walkback {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    for module in (
        analyze,
        subgroups,
        competing,
        trial_model,
        montecarlo,
        check,
        safety_economics,
        report,
        reconstruct,
    ):
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            raise UsageError("walkback: error: a command is required (see 'walkback --help')")
        with terminate_raises():
            code = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
            return code
    except BrokenPipeError:  # `walkback ... | head`: the reader left; end quietly, as SIGPIPE would
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except UsageError as exc:
        print(_one_line(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (WalkbackError, ValueError) as exc:
        print(f"walkback: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # an unreadable or unwritable path from the user: name it
        print(f"walkback: error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("walkback: interrupted (SIGINT); no partial output was left", file=sys.stderr)
        return EXIT_SIGINT
    except Terminated:
        print("walkback: terminated (SIGTERM); no partial output was left", file=sys.stderr)
        return EXIT_SIGTERM
    except Exception as exc:  # a bug: still one line, never a traceback unless asked
        if os.environ.get("WALKBACK_DEBUG"):
            traceback.print_exc()
        print(
            f"walkback: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(please report; WALKBACK_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _os_error(exc: OSError) -> str:
    """'cannot use PATH: reason' rather than Python's '[Errno 17] File exists'."""
    reason = exc.strerror or _one_line(exc)
    if exc.filename is None:
        return reason
    where = f"'{exc.filename}'"
    if exc.filename2 is not None:
        where += f" -> '{exc.filename2}'"
    return f"cannot use {where}: {reason}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced (tests): nothing to silence
        pass
