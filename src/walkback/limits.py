"""Size limits that fit the machine, checked before work starts.

A request whose memory would not fit is refused with one line that names the option, the largest
value this machine allows, and why (the memory the request would need). The budget is half the
installed memory (other programs need the rest); ``WALKBACK_MEMORY_BUDGET`` (bytes, e.g. ``4e9``)
lowers or raises it.
"""

from __future__ import annotations

import os

from walkback.exceptions import WalkbackError

__all__ = [
    "BOOTSTRAP_BYTES_PER_RESAMPLE",
    "MC_BYTES_PER_PARTICIPANT",
    "MC_BYTES_PER_REPLICATE",
    "RECONSTRUCT_BYTES_PER_PARTICIPANT",
    "SPEC_BYTES_PER_PARTICIPANT",
    "LimitError",
    "check_size",
    "format_bytes",
    "memory_budget",
    "physical_memory",
]

#: Monte Carlo: the random numbers and kernel scratch of one participant in one replicate of a block
MC_BYTES_PER_PARTICIPANT = 40
#: Monte Carlo: what the summary keeps per replicate (HR, two medians) and its sorting copies
MC_BYTES_PER_REPLICATE = 64
#: simulate / twin / calibrate: one simulated participant (all outcome columns, DataFrame copies)
SPEC_BYTES_PER_PARTICIPANT = 2048
#: economics: the cost and QALY differences per resample and the CEAC / interval copies
BOOTSTRAP_BYTES_PER_RESAMPLE = 64
#: reconstruct: one reconstructed participant (arm, time, event and the working arrays)
RECONSTRUCT_BYTES_PER_PARTICIPANT = 256


class LimitError(WalkbackError, ValueError):
    """A requested size needs more memory than this machine's budget."""


def physical_memory() -> int:
    """Installed memory in bytes (16 GiB when the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 2**30


def memory_budget() -> int:
    """Bytes one walkback run may plan to use: half the installed memory, or
    ``WALKBACK_MEMORY_BUDGET`` when set."""
    env = os.environ.get("WALKBACK_MEMORY_BUDGET")
    if env:
        try:
            value = float(env)
        except ValueError:
            raise LimitError(
                f"WALKBACK_MEMORY_BUDGET must be a number of bytes like 4e9 (got {env!r})"
            ) from None
        if value > 0:
            return int(value)
    return physical_memory() // 2


def format_bytes(n: float) -> str:
    """A byte count in plain units: ``23.8 GiB``."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{int(n)} bytes"


def check_size(option: str, value: int, bytes_each: float, what: str, fixed: float = 0) -> None:
    """Refuse ``value`` (of ``option``) when ``fixed + value * bytes_each`` exceeds the budget.

    Parameters
    ----------
    option : str
        How the user gave the value (``"--replicates"``, ``"spec arms n"``).
    value : int
        The requested size.
    bytes_each : float
        Memory per unit of ``value``.
    what : str
        What the memory is for, ending the sentence "... would need X".
    fixed : float
        Memory needed whatever the value.
    """
    budget = memory_budget()
    need = fixed + float(value) * bytes_each
    if need <= budget:
        return
    limit = max(0, int((budget - fixed) // bytes_each))
    raise LimitError(
        f"{option} {value:,} is over this machine's limit of {limit:,}: {what} would need "
        f"{format_bytes(need)} of memory, and the budget is {format_bytes(budget)} (half the "
        f"installed {format_bytes(physical_memory())}; WALKBACK_MEMORY_BUDGET changes it)"
    )
