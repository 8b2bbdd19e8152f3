"""walkback: re-analyse and reproduce randomised trials with time-to-event outcomes.

R survival is the reference implementation; every convention (CI transform, ties) is an explicit,
recorded argument.
"""

from __future__ import annotations

__version__ = "0.1.0"
