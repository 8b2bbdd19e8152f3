"""Command-line interface: parses arguments, prints, sets exit codes; holds no statistics.

One module per command family (:mod:`~walkback.cli.analyze`, :mod:`~walkback.cli.trial_model`,
:mod:`~walkback.cli.montecarlo`, :mod:`~walkback.cli.safety_economics`,
:mod:`~walkback.cli.report`, :mod:`~walkback.cli.reconstruct`), each with ``add_parser(sub)``;
shared argument types and exit codes in :mod:`~walkback.cli._common`; :mod:`~walkback.cli.main`
assembles the parser. A new command is a new module listed in ``main``.
"""

from walkback.cli._common import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, UsageError
from walkback.cli.main import build_parser, main

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_OK", "UsageError", "build_parser", "main"]
