"""Checks at every public kernel entry, and R's ``timefix`` (``aeqSurv``) for near-tied times.

A kernel given R's 1/2 status coding, NaN or negative times or a group vector without the levels
it compares would return a number that looks right and is not. These checks turn each such input
into a :class:`~walkback.exceptions.DataError` (a ``ValueError``) that names the argument, the
first offending positions (0-based), the values found and the fix.
"""

from __future__ import annotations

import numpy as np

from walkback.exceptions import DataError

#: R's default tolerance in ``aeqSurv`` (as ``all.equal``): sqrt(.Machine$double.eps)
TIMEFIX_TOL = float(np.sqrt(np.finfo(float).eps))


def _error(rule: str, name: str, bad: np.ndarray | None = None, value=None, fix=None) -> DataError:
    lines = None if bad is None else [int(i) for i in bad]
    return DataError(
        rule, source=f"argument '{name}'", lines=lines, value=value, fix=fix
    ).with_unit("position")


def _shape_error(arr: np.ndarray, n: int, name: str) -> DataError:
    return _error(f"must be a 1-D array of length {n} (one per time), got shape {arr.shape}", name)


def _shown_values(values: np.ndarray, limit: int = 6) -> str:
    found = np.unique(values)
    text = ", ".join(f"{v:g}" if isinstance(v, float) else repr(v) for v in found[:limit].tolist())
    return text + (f" and {found.size - limit} more" if found.size > limit else "")


def _numbers_or_self(arr: np.ndarray) -> np.ndarray:
    """An object array of numbers (e.g. a pandas column) as float; anything else unchanged."""
    try:
        return arr.astype(float)
    except (TypeError, ValueError):
        return arr


def check_time(time, name: str = "time") -> np.ndarray:
    """Follow-up times as float64: 1-D, finite and >= 0."""
    arr = np.asarray(time)
    if arr.dtype.kind == "O":
        arr = _numbers_or_self(arr)
    if arr.ndim != 1:
        raise _error(f"must be a 1-D array, got shape {arr.shape}", name)
    if arr.dtype.kind not in "biuf":
        raise _error(
            f"times must be numbers, got an array of dtype {arr.dtype}",
            name,
            fix="convert the column to numbers first (e.g. pandas.to_numeric)",
        )
    t = arr.astype(float)
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise _error("times must be finite numbers (no NaN or infinity)", name, bad, t[bad[0]])
    bad = np.flatnonzero(t < 0)
    if bad.size:
        raise _error("times must be >= 0", name, bad, float(t[bad[0]]), fix="check the time origin")
    return t


def _zero_one(arr, n: int, name: str, what: str, fix: str, hint=None) -> np.ndarray:
    """A 1-D array of length ``n`` coded 0/1 (or booleans) as float; anything else an error.

    ``what`` names the values in messages; ``hint(found_values)`` may return a better fix.
    """
    arr = np.asarray(arr)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise _shape_error(arr, n, name)
    if arr.dtype == np.bool_:
        return arr.astype(float)
    if arr.dtype.kind == "O":
        arr = _numbers_or_self(arr)
    if arr.dtype.kind not in "biuf":
        raise _error(f"{what} must be coded 0/1 or booleans, got dtype {arr.dtype}", name, fix=fix)
    v = arr.astype(float)
    bad = np.flatnonzero(~((v == 0) | (v == 1)))
    if bad.size:
        finite = v[np.isfinite(v)]
        found = _shown_values(finite) if finite.size else "NaN"
        better = hint(set(np.unique(finite).tolist())) if hint else None
        raise _error(
            f"{what} must be coded 0/1; values found: {found}", name, bad, fix=better or fix
        )
    return v


def _r_status_hint(found: set) -> str | None:
    if found <= {1.0, 2.0}:
        return "these look like R's 1 = censored, 2 = event coding: pass (status == 2)"
    return None


def check_event(event, n: int, name: str = "event") -> np.ndarray:
    """Event indicators as int64 0/1 (booleans accepted); any other coding is an error."""
    v = _zero_one(
        event, n, name, "events", "recode as 1 = event, 0 = censored", hint=_r_status_hint
    )
    return v.astype(np.int64)


def check_two_groups(group, n: int, name: str = "group") -> np.ndarray:
    """A two-group indicator as bool (True = the group of interest): booleans or 0/1, both present.

    Text labels or other codes (e.g. 1/2) are refused rather than guessed.
    """
    fix = "pass (group == LABEL) for the group of interest, or use the k-group function"
    g = _zero_one(group, n, name, "the two groups", fix) == 1
    if g.all() or not g.any():
        raise _error(
            f"both groups must be present; all {n} values are {bool(g[0]) if n else 'missing'}",
            name,
        )
    return g


def check_codes(codes, n: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Any 1-D labels (numbers or text) -> (int64 codes 0..k-1 in sorted label order, labels)."""
    arr = np.asarray(codes)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise _shape_error(arr, n, name)
    if arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise _error("labels must not be missing (NaN)", name, bad)
    elif arr.dtype.kind == "O":
        missing = np.array([v is None or (isinstance(v, float) and v != v) for v in arr.tolist()])
        bad = np.flatnonzero(missing)
        if bad.size:
            raise _error("labels must not be missing (None/NaN)", name, bad)
        cells = arr.tolist()
        if all(isinstance(v, str) for v in cells):
            return _text_codes(cells)
    labels, inverse = np.unique(arr, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), labels


def _text_codes(cells: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """As ``np.unique(np.array(cells, str), return_inverse=True)`` (labels in code-point order,
    as numpy sorts text), without a fixed-width copy of every cell."""
    labels = sorted(set(cells))
    index = {v: i for i, v in enumerate(labels)}
    codes = np.fromiter((index[v] for v in cells), dtype=np.int64, count=len(cells))
    return codes, np.array(labels, dtype=str)


def check_length(values: np.ndarray, n: int, name: str) -> None:
    if values.shape[0] != n:
        raise _error(f"must have one entry per time ({n}), got {values.shape[0]}", name)


#: below this mean time the near-tie rule is applied to rescaled times (see :func:`timefix`)
TINY_SCALE = 2.0**-20


def timefix(time: np.ndarray, tolerance: float = TIMEFIX_TOL) -> np.ndarray:
    """Merge near-tied times exactly as R's ``aeqSurv`` (the ``timefix = TRUE`` default).

    Sorted distinct times closer than ``tolerance`` (absolutely, or relative to the mean absolute
    distinct time) are one time; every time in such a run takes the run's smallest value. When
    the mean distinct time is below ``TINY_SCALE`` (2^-20) the times are first scaled by a power of
    two to a mean near 1, where R's absolute tolerance would tie distinct times.
    """
    t = np.asarray(time, dtype=float)
    y = np.unique(t)
    y = y[np.isfinite(y)]
    if y.size < 2:
        return t
    # R's absolute tolerance would tie every time of data on a tiny scale (times x 1e-300): there
    # the rule is applied to the times scaled by a power of two (exact) to a mean near 1
    mean = np.mean(np.abs(y))
    scaled = np.ldexp(y, -int(np.floor(np.log2(mean)))) if 0 < mean < TINY_SCALE else y
    dy = np.diff(scaled)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(scaled)) <= tolerance)
    if not tied.any():
        return t
    cuts = y[np.concatenate(([True], ~tied))]
    return cuts[np.searchsorted(cuts, t, side="right") - 1]
