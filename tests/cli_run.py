"""Shared helper for the CLI tests: run `walkback` in-process and capture its output."""

from __future__ import annotations

from walkback.cli import main


def run(argv, capsys):
    """Exit code, stdout and stderr of ``walkback *argv`` (arguments may be paths)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
