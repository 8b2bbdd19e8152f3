"""Competing-risks status codes: one column coding censoring and each cause, as cmprsk's
``fstatus`` or survival's ``factor(status)``.

Codes are compared as text: a cell that reads as a number is that number's label (1, 1.0, "1"
and "1.0" are the same code "1"), any other text is itself after stripping surrounding
whitespace. Empty cells and missing markers (NA, NaN, null, ...) are missing, never a code.
"""

from __future__ import annotations

import numpy as np

from walkback.cells import code_labels
from walkback.estimators._checks import _error

#: integer codes used inside the kernels (cmprsk's crr/crstm coding)
CENSORED, CAUSE, OTHER = 0, 1, 2


def status_labels(status, n: int, name: str = "status") -> np.ndarray:
    """Status values as label text (object array); missing values are an error."""
    arr = np.asarray(status, dtype=object)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise _error(
            f"must be a 1-D array of length {n} (one per time), got shape {arr.shape}", name
        )
    labels = code_labels(arr)
    missing = np.flatnonzero([v is None for v in labels])
    if missing.size:
        raise _error("status codes must not be missing", name, missing, arr[missing[0]])
    return labels


def code_text(value: object, what: str) -> str:
    """One code (a cause or the censoring value) as code text."""
    text = code_labels([value])[0]
    if text is None:
        raise ValueError(f"{what} must be a code of the status column, got {value!r}")
    return text


def cause_codes(
    status, n: int, cause: object, censor: object, name: str = "status", *, require: bool = True
) -> np.ndarray:
    """Status as 0 (censored), 1 (the cause of interest) or 2 (any other cause).

    The cause must differ from the censoring code and, with ``require``, occur at least once;
    every code other than the censoring code is a cause.
    """
    labels = status_labels(status, n, name)
    k, c = code_text(cause, "cause"), code_text(censor, "censor")
    if k == c:
        raise ValueError(f"the cause ({k!r}) and the censoring code ({c!r}) must differ")
    if require and not (labels == k).any():
        found = ", ".join(repr(v) for v in sorted(set(labels.tolist())))
        raise _error(
            f"cause {k!r} does not occur (codes found: {found})",
            name,
            fix="name a cause code that occurs in the data",
        )
    return np.where(labels == c, CENSORED, np.where(labels == k, CAUSE, OTHER)).astype(np.int64)
