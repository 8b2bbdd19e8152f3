"""One table cell as a value: label text, or a strictly parsed number with the kind of problem.

The lowest layer of reading data (numpy and pandas only): :mod:`walkback.validate` (the rules of
:class:`~walkback.schema.TrialData`), :func:`walkback.columns.arm_column` and the input checks of
:mod:`walkback.reconstruct` all read cells through these functions, so a value means the same
thing everywhere.
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np
import pandas as pd

__all__ = [
    "EMPTY",
    "INFINITE",
    "MISSING",
    "NEGATIVE",
    "NOT_01",
    "NOT_NUMBER",
    "OK",
    "code_labels",
    "label_text",
    "parse_numbers",
]

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INFINITY = re.compile(r"[+-]?inf(?:inity)?", re.IGNORECASE)
# Text meaning "missing" in common exports (R, pandas, Excel, SAS/Stata); case-insensitive.
_NA_TEXT = frozenset(
    {"na", "nan", "+nan", "-nan", "n/a", "#n/a", "<na>", "null", "none", "nat", ".", "missing"}
)

# Problem kinds for numeric cells (parse_numbers gives the first five; rules add the others).
OK, EMPTY, MISSING, NOT_NUMBER, INFINITE, NEGATIVE, NOT_01 = range(7)


def label_text(v: object) -> str | None:
    """A cell as a label string (surrounding whitespace stripped); None when missing.

    Integers and integral floats become their integer text (1 and 1.0 -> "1").
    """
    if isinstance(v, str):
        return v.strip()
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isnan(f):
            return None
        if f.is_integer():
            return str(int(f))
        return repr(f)
    return str(v).strip()


def _parse_cell(v: object, allow_bool: bool) -> tuple[float, int]:
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return math.nan, EMPTY
        if _NUMBER.fullmatch(s):
            f = float(s)
            return (f, OK) if math.isfinite(f) else (math.nan, INFINITE)
        if s.lower() in _NA_TEXT:
            return math.nan, MISSING
        if _INFINITY.fullmatch(s):
            return math.nan, INFINITE
        return math.nan, NOT_NUMBER
    if v is None or v is pd.NA or v is pd.NaT:
        return math.nan, MISSING
    if isinstance(v, bool | np.bool_):
        return (float(v), OK) if allow_bool else (math.nan, NOT_NUMBER)
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isnan(f):
            return math.nan, MISSING
        if math.isinf(f):
            return math.nan, INFINITE
        return f, OK
    return math.nan, NOT_NUMBER


def parse_numbers(values: pd.Series, allow_bool: bool) -> tuple[np.ndarray, np.ndarray]:
    """Float value and problem kind of every cell; text cells are parsed strictly."""
    n = len(values)
    dtype = values.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        # real numbers, bool and nullable numeric types
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
        kinds = np.zeros(n, dtype=np.int8)
        kinds[np.isnan(out)] = MISSING
        kinds[np.isinf(out)] = INFINITE
        return out, kinds
    out = np.empty(n, dtype=np.float64)
    kinds = np.empty(n, dtype=np.int8)
    for i, v in enumerate(values.tolist()):
        out[i], kinds[i] = _parse_cell(v, allow_bool)
    return out, kinds


def code_labels(values) -> np.ndarray:
    """Cells of a code column (e.g. competing-risks status) as code text, None where missing.

    A cell that reads as a number is that number's label (1, 1.0, "1" and "1.0" are all "1");
    other text is itself, stripped; empty cells, missing markers and infinities are None.
    """
    cells = pd.Series(np.asarray(values, dtype=object).ravel(), dtype=object)
    numbers, kinds = parse_numbers(cells, allow_bool=False)
    out = np.empty(len(cells), dtype=object)
    for i, (v, x, kind) in enumerate(zip(cells.tolist(), numbers, kinds, strict=True)):
        if kind == OK:
            out[i] = label_text(float(x))
        elif kind in (EMPTY, MISSING, INFINITE):
            out[i] = None
        else:
            out[i] = label_text(v)
    return out
