"""The one validated container for two-arm time-to-event trial data.

``TrialData.from_frame`` checks a table row by row and either returns a ``TrialData`` with exactly
the input rows, in input order, or raises a one-line ``DataError`` naming the source, column, first
offending lines, value, rule and fix. Nothing is dropped, reordered or coerced silently.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from walkback.exceptions import DataError

__all__ = ["DATAFRAME_SOURCE", "TrialData"]

DATAFRAME_SOURCE = "<DataFrame>"
"""``TrialData.source`` for data that did not come from a file."""

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INFINITY = re.compile(r"[+-]?inf(?:inity)?", re.IGNORECASE)
# Text meaning "missing" in common exports (R, pandas, Excel, SAS/Stata); case-insensitive.
_NA_TEXT = frozenset(
    {"na", "nan", "+nan", "-nan", "n/a", "#n/a", "<na>", "null", "none", "nat", ".", "missing"}
)
# In label columns (strata, ids) only these exact spellings mean missing ("None" may be a level).
_NA_LABELS = frozenset({"NA", "NaN", "nan", "<NA>", "N/A", "#N/A"})

# Problem kinds for numeric cells.
_OK, _EMPTY, _MISSING, _NOT_NUMBER, _INFINITE, _NEGATIVE, _NOT_01 = range(7)

_TIME_RULES = {
    _EMPTY: ("time is empty", "fill in the follow-up time or remove the row from the file"),
    _MISSING: ("time is missing (NA/NaN)", "fill in the follow-up time or remove the row"),
    _NOT_NUMBER: (
        "time is not a number",
        "write times as plain decimal numbers such as 12 or 3.5 "
        "(no units, no thousands separators)",
    ),
    _INFINITE: ("time is infinite", "replace it with the finite follow-up time"),
    _NEGATIVE: ("time is negative", "follow-up time cannot be negative; correct the value"),
}
_EVENT_FIX = "code the event column as 1 (event observed) or 0 (censored)"
_EVENT_RULES = {
    _EMPTY: "event is empty; it must be 0 (censored) or 1 (event)",
    _MISSING: "event is missing (NA/NaN); it must be 0 (censored) or 1 (event)",
    _NOT_01: "event must be 0 (censored) or 1 (event)",
}


@dataclass(frozen=True)
class _Where:
    """Where rows came from, for error messages."""

    source: str
    unit: str
    lines: np.ndarray  # location number of each row

    def error(
        self,
        rule: str,
        *,
        column: object = None,
        rows: Iterable[int] | None = None,
        lines: list[int] | None = None,
        value: object = None,
        fix: str | None = None,
    ) -> DataError:
        if rows is not None:
            lines = [int(self.lines[i]) for i in rows]
        err = DataError(
            rule,
            source=self.source,
            column=None if column is None else str(column),
            lines=lines,
            value=value,
            fix=fix,
        )
        return err if self.unit == "line" else err.with_unit(self.unit)


def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.copy()
        a.flags.writeable = False
    return a


def _shown(v: object) -> object:
    """A cell as it should appear in a message (Python scalars; missing shown as <NA>)."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NA or v is pd.NaT:
        return pd.NA
    return v


def _quote_list(items: Iterable[object], limit: int = 8) -> str:
    items = list(items)
    text = ", ".join(repr(x) for x in items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _label(v: object) -> str | None:
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
            return math.nan, _EMPTY
        if _NUMBER.fullmatch(s):
            f = float(s)
            return (f, _OK) if math.isfinite(f) else (math.nan, _INFINITE)
        if s.lower() in _NA_TEXT:
            return math.nan, _MISSING
        if _INFINITY.fullmatch(s):
            return math.nan, _INFINITE
        return math.nan, _NOT_NUMBER
    if v is None or v is pd.NA or v is pd.NaT:
        return math.nan, _MISSING
    if isinstance(v, bool | np.bool_):
        return (float(v), _OK) if allow_bool else (math.nan, _NOT_NUMBER)
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isnan(f):
            return math.nan, _MISSING
        if math.isinf(f):
            return math.nan, _INFINITE
        return f, _OK
    return math.nan, _NOT_NUMBER


def _parse_numbers(values: pd.Series, allow_bool: bool) -> tuple[np.ndarray, np.ndarray]:
    """Float value and problem kind of every cell; text cells are parsed strictly."""
    n = len(values)
    dtype = values.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        # real numbers, bool and nullable numeric types
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
        kinds = np.zeros(n, dtype=np.int8)
        kinds[np.isnan(out)] = _MISSING
        kinds[np.isinf(out)] = _INFINITE
        return out, kinds
    out = np.empty(n, dtype=np.float64)
    kinds = np.empty(n, dtype=np.int8)
    for i, v in enumerate(values.tolist()):
        out[i], kinds[i] = _parse_cell(v, allow_bool)
    return out, kinds


def _first_problem(kinds: np.ndarray) -> tuple[int, int, np.ndarray] | None:
    """(first bad position, its kind, all positions with that kind), or None when all are fine."""
    bad = np.flatnonzero(kinds != _OK)
    if bad.size == 0:
        return None
    first = int(bad[0])
    kind = int(kinds[first])
    return first, kind, np.flatnonzero(kinds == kind)


def _as_names(strata: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(strata, str):
        return (strata,)
    return tuple(strata)


def _arm_label(role: str, value: object, where: _Where) -> str:
    if isinstance(value, bool | np.bool_) or not isinstance(value, str | numbers.Real):
        raise TypeError(f"{role} must be a str (or a number), not {type(value).__name__}")
    label = _label(value)
    if not label:
        raise where.error(
            f"the {role} arm label is empty or missing",
            value=_shown(value),
            fix=f"pass {role}= as the label used in the arm column",
        )
    return label


def _check_columns(df: pd.DataFrame, roles: list[tuple[str, str]], where: _Where) -> None:
    seen: dict[str, str] = {}
    for role, name in roles:
        if name in seen:
            raise where.error(
                f"the same column is given as both {seen[name]} and {role}",
                column=name,
                fix="pass a different column for each role",
            )
        seen[name] = role
    existing = [str(c) for c in df.columns]
    missing = [(role, name) for role, name in roles if name not in df.columns]
    if missing:
        parts = []
        for role, name in missing:
            hint = ""
            near = [c for c in existing if c.strip().casefold() == str(name).strip().casefold()]
            near = near or difflib.get_close_matches(str(name), existing, n=1)
            if near:
                hint = f" (did you mean {near[0]!r}?)"
            parts.append(f"{name!r} ({role}){hint}")
        noun = "column" if len(missing) == 1 else "columns"
        raise where.error(
            f"missing {noun} {', '.join(parts)}; "
            f"the columns present are {_quote_list(existing, 30)}",
            column=missing[0][1] if len(missing) == 1 else None,
            fix="rename the column in the data or pass the existing column name",
        )
    for role, name in roles:
        count = int((df.columns == name).sum())
        if count > 1:
            raise where.error(
                f"{count} columns are named {name!r} ({role}); the column to use is ambiguous",
                column=name,
                fix="give the columns distinct names",
            )


def _time_array(col: pd.Series, name: str, where: _Where) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col.dtype):
        raise where.error(
            "time column is boolean; time must be a number >= 0",
            column=name,
            fix="pass the follow-up time column as time_col",
        )
    values, kinds = _parse_numbers(col, allow_bool=False)
    kinds[(kinds == _OK) & (values < 0)] = _NEGATIVE
    problem = _first_problem(kinds)
    if problem is not None:
        first, kind, rows = problem
        rule, fix = _TIME_RULES[kind]
        raise where.error(
            f"{rule}; time must be a finite number >= 0",
            column=name,
            rows=rows,
            value=_shown(col.iloc[first]),
            fix=fix,
        )
    return values + 0.0  # turns -0.0 into 0.0


def _event_array(col: pd.Series, name: str, where: _Where) -> np.ndarray:
    values, kinds = _parse_numbers(col, allow_bool=True)
    kinds[(kinds == _OK) & (values != 0) & (values != 1)] = _NOT_01
    kinds[(kinds == _NOT_NUMBER) | (kinds == _INFINITE)] = _NOT_01
    problem = _first_problem(kinds)
    if problem is not None:
        first, kind, rows = problem
        raise where.error(
            _EVENT_RULES[kind],
            column=name,
            rows=rows,
            value=_shown(col.iloc[first]),
            fix=_EVENT_FIX,
        )
    return values.astype(np.int8)


def _treated_array(
    col: pd.Series, name: str, treatment: str, control: str, where: _Where
) -> np.ndarray:
    labels = [_label(v) for v in col.tolist()]
    treated = np.fromiter((lab == treatment for lab in labels), dtype=bool, count=len(labels))
    is_control = np.fromiter((lab == control for lab in labels), dtype=bool, count=len(labels))
    bad = np.flatnonzero(~(treated | is_control))
    if bad.size:
        found = list(dict.fromkeys("<missing>" if lab is None else lab for lab in labels))
        unexpected = list(dict.fromkeys(labels[i] for i in bad))
        hints = [
            f"{lab!r} differs from {exp!r} only in letter case"
            for lab in unexpected
            if lab is not None
            for exp in (treatment, control)
            if lab != exp and lab.casefold() == exp.casefold()
        ]
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise where.error(
            f"arm label is neither treatment {treatment!r} nor control {control!r}; "
            f"labels found: {_quote_list(found)}{hint}",
            column=name,
            rows=bad,
            value=_shown(col.iloc[int(bad[0])]),
            fix="recode those rows, or pass treatment=/control= labels that match the file "
            "(labels are compared as exact text after stripping surrounding spaces)",
        )
    for arm, label, present, other in (
        ("treatment", treatment, treated, control),
        ("control", control, is_control, treatment),
    ):
        if not present.any():
            rest = "the only row is" if len(labels) == 1 else f"all {len(labels)} rows are"
            raise where.error(
                f"no rows in the {arm} arm: no arm label is {label!r}; {rest} {other!r}",
                column=name,
                fix=f"a two-arm comparison needs both arms; check the {arm}= label and the data",
            )
    return treated


def _label_column(col: pd.Series, name: str, what: str, where: _Where) -> list[str]:
    """Labels of a strata or id column; rejects empty and missing cells."""
    labels = [_label(v) for v in col.tolist()]
    empty = [i for i, lab in enumerate(labels) if lab == ""]
    missing = [i for i, lab in enumerate(labels) if lab is None or lab in _NA_LABELS]
    if empty or missing:
        if empty and (not missing or empty[0] < missing[0]):
            rows, rule = empty, f"{what} value is empty"
        else:
            rows, rule = missing, f"{what} value is missing (NA)"
        raise where.error(
            rule,
            column=name,
            rows=rows,
            value=_shown(col.iloc[rows[0]]),
            fix=f"fill in the {what} value for every row",
        )
    return labels  # type: ignore[return-value]


def _strata_codes(
    df: pd.DataFrame, cols: tuple[str, ...], where: _Where
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    if not cols:
        return None, ()
    per_col = [_label_column(df[c], c, "strata", where) for c in cols]
    keys = list(zip(*per_col, strict=True))
    levels = sorted(set(keys))
    index = {k: i for i, k in enumerate(levels)}
    codes = np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))
    labels = tuple(", ".join(f"{c}={v}" for c, v in zip(cols, k, strict=True)) for k in levels)
    return codes, labels


def _check_ids(col: pd.Series, name: str, where: _Where) -> None:
    labels = _label_column(col, name, "id", where)
    first_seen: dict[str, int] = {}
    duplicate: tuple[int, int] | None = None
    repeated: set[str] = set()
    for i, lab in enumerate(labels):
        if lab in first_seen:
            repeated.add(lab)
            if duplicate is None:
                duplicate = (first_seen[lab], i)
        else:
            first_seen[lab] = i
    if duplicate is not None:
        a, b = duplicate
        la, lb = int(where.lines[a]), int(where.lines[b])
        others = f" ({len(repeated)} ids are repeated in all)" if len(repeated) > 1 else ""
        raise where.error(
            f"duplicate id {labels[b]!r}: first on {where.unit} {la}, again on {where.unit} {lb}; "
            f"ids must be unique{others}",
            column=name,
            lines=[la, lb],
            value=_shown(col.iloc[b]),
            fix="remove the repeated row or correct the id",
        )


@dataclass(frozen=True, eq=False, repr=False)
class TrialData:
    """Validated two-arm time-to-event data: one row per patient, input rows in input order.

    Build it with :meth:`TrialData.from_frame` or :func:`walkback.io.read_trial`; both validate
    every row. The derived arrays are read-only and aligned with ``frame`` row by row.

    Attributes
    ----------
    frame : pandas.DataFrame
        Every column and row of the input, in input order, as read (CSV cells stay text). Treat
        it as read-only.
    time_col, event_col, arm_col : str
        Names of the follow-up time, event indicator and arm columns.
    treatment, control : str
        Arm labels, as text.
    time : numpy.ndarray
        float64 follow-up times, finite and >= 0.
    event : numpy.ndarray
        int8 event indicator: 1 = event observed, 0 = censored.
    treated : numpy.ndarray
        bool, True for rows in the treatment arm.
    strata : numpy.ndarray or None
        int64 codes ``0..k-1`` of the combined strata columns; None without strata.
    strata_labels : tuple of str
        Label of each stratum code, e.g. ``"celltype=squamous"`` or ``"a=1, b=x"``. Codes follow the
        sorted order of the tuples of (text) strata values.
    strata_cols : tuple of str
        Names of the strata columns.
    id_col : str or None
        Name of the patient id column, if any; ids are unique.
    source : str or None
        File path the data came from, or ``"<DataFrame>"``.
    """

    frame: pd.DataFrame
    time_col: str
    event_col: str
    arm_col: str
    treatment: str
    control: str
    time: np.ndarray
    event: np.ndarray
    treated: np.ndarray
    strata: np.ndarray | None = None
    strata_labels: tuple[str, ...] = ()
    strata_cols: tuple[str, ...] = ()
    id_col: str | None = None
    source: str | None = None

    _DTYPES = {"time": np.float64, "event": np.int8, "treated": np.bool_, "strata": np.int64}

    def __post_init__(self) -> None:
        n = len(self.frame)
        for name, dtype in self._DTYPES.items():
            arr = getattr(self, name)
            if arr is None and name == "strata":
                continue
            if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.shape != (n,):
                raise TypeError(
                    f"TrialData.{name} must be a {np.dtype(dtype).name} array of length {n}; "
                    "build TrialData with TrialData.from_frame"
                )
            object.__setattr__(self, name, _readonly(arr))
        object.__setattr__(self, "strata_cols", tuple(self.strata_cols))
        object.__setattr__(self, "strata_labels", tuple(self.strata_labels))

    @property
    def n(self) -> int:
        """Number of rows (patients)."""
        return int(self.time.shape[0])

    @property
    def n_treatment(self) -> int:
        """Number of rows in the treatment arm."""
        return int(self.treated.sum())

    @property
    def n_control(self) -> int:
        """Number of rows in the control arm."""
        return self.n - self.n_treatment

    @property
    def n_events(self) -> int:
        """Number of observed events (both arms)."""
        return int(self.event.sum())

    def __repr__(self) -> str:
        strata = f", strata={len(self.strata_labels)}" if self.strata is not None else ""
        return (
            f"TrialData(n={self.n}, treatment={self.treatment!r} ({self.n_treatment}), "
            f"control={self.control!r} ({self.n_control}), events={self.n_events}{strata}, "
            f"source={self.source!r})"
        )

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        time_col: str,
        event_col: str,
        arm_col: str,
        treatment: str | int | float,
        control: str | int | float,
        strata: str | Sequence[str] = (),
        id_col: str | None = None,
        source: str | None = None,
        line_offset: int = 2,
        line_numbers: Sequence[int] | np.ndarray | None = None,
        line_unit: Literal["line", "row"] = "line",
    ) -> TrialData:
        """Validate a table of trial data and wrap it, keeping every row in order.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per patient. Columns may be text (e.g. read from CSV as strings) or typed.
        time_col : str
            Follow-up time column: numbers (text cells may have surrounding spaces), finite, >= 0.
        event_col : str
            Event column: 1 = event, 0 = censored. Text "0", "1", "0.0", "1.0" and booleans are
            accepted.
        arm_col : str
            Arm column. Labels are compared with ``treatment`` and ``control`` as exact text after
            stripping surrounding whitespace; integer and integral float values are compared as
            integer text (1 and 1.0 both match "1").
        treatment, control : str, int or float
            The two arm labels; numbers are compared through their text as above.
        strata : str or sequence of str, optional
            Stratification column(s); every cell must be non-empty and not NA.
        id_col : str, optional
            Patient id column; ids must be non-empty and unique.
        source : str, optional
            Where the data came from, for messages; defaults to ``"<DataFrame>"``.
        line_offset : int, default 2
            Location number of the first row in messages (2 = first data line of a CSV file whose
            header is line 1).
        line_numbers : sequence of int, optional
            Location number of each row, overriding ``line_offset`` (e.g. when quoted values span
            several lines).
        line_unit : {"line", "row"}, default "line"
            Word used for locations in messages.

        Returns
        -------
        TrialData
            Validated data with the same rows in the same order as ``df``.

        Raises
        ------
        DataError
            A column is missing or a value breaks a rule: a time that is empty, missing, not a
            number, infinite or negative; an event not 0/1; an arm label that is neither
            ``treatment`` nor ``control``; only one arm present; treatment equal to control; an
            empty or NA strata value; an empty or duplicate id; no rows.
        TypeError
            ``df`` is not a DataFrame or an arm label is neither text nor a number.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame, not {type(df).__name__}")
        n = len(df)
        if line_numbers is None:
            lines = np.arange(n, dtype=np.int64) + line_offset
        else:
            lines = np.asarray(line_numbers, dtype=np.int64)
            if lines.shape != (n,):
                raise ValueError(f"line_numbers must have one entry per row ({n})")
        where = _Where(DATAFRAME_SOURCE if source is None else source, line_unit, lines)

        strata_cols = _as_names(strata)
        treat = _arm_label("treatment", treatment, where)
        ctrl = _arm_label("control", control, where)
        if treat == ctrl:
            raise where.error(
                f"treatment and control have the same label {treat!r}",
                column=arm_col,
                fix="pass the two different arm labels as treatment= and control=",
            )
        roles = [("time_col", time_col), ("event_col", event_col), ("arm_col", arm_col)]
        roles += [("strata", c) for c in strata_cols]
        if id_col is not None:
            roles.append(("id_col", id_col))
        _check_columns(df, roles, where)
        if n == 0:
            raise where.error(
                "there are no data rows", fix="supply one row per patient below the header"
            )

        time = _time_array(df[time_col], time_col, where)
        event = _event_array(df[event_col], event_col, where)
        treated = _treated_array(df[arm_col], arm_col, treat, ctrl, where)
        codes, labels = _strata_codes(df, strata_cols, where)
        if id_col is not None:
            _check_ids(df[id_col], id_col, where)

        return cls(
            frame=df.copy(),
            time_col=time_col,
            event_col=event_col,
            arm_col=arm_col,
            treatment=treat,
            control=ctrl,
            time=_readonly(time),
            event=_readonly(event),
            treated=_readonly(treated),
            strata=None if codes is None else _readonly(codes),
            strata_labels=labels,
            strata_cols=strata_cols,
            id_col=id_col,
            source=where.source,
        )

    def subset(self, mask: ArrayLike) -> TrialData:
        """Rows selected by a boolean mask, in their original order.

        Parameters
        ----------
        mask : array_like of bool
            One entry per row; True keeps the row.

        Returns
        -------
        TrialData
            The selected rows. Strata codes are renumbered ``0..k-1`` over the strata present.

        Raises
        ------
        DataError
            The selection is empty or leaves only one arm.
        TypeError
            ``mask`` is not boolean.
        ValueError
            ``mask`` does not have one entry per row.
        """
        keep = np.asarray(mask)
        if keep.dtype != np.bool_:
            raise TypeError(f"mask must be boolean, not {keep.dtype}")
        if keep.shape != (self.n,):
            raise ValueError(f"mask must have one entry per row ({self.n}), got shape {keep.shape}")
        treated = self.treated[keep]
        for arm, label, count in (
            ("treatment", self.treatment, int(treated.sum())),
            ("control", self.control, int((~treated).sum())),
        ):
            if count == 0:
                raise DataError(
                    f"the subset has no rows in the {arm} arm {label!r}",
                    source=self.source,
                    column=self.arm_col,
                    fix="choose a subset that contains both arms",
                )
        codes: np.ndarray | None = None
        labels: tuple[str, ...] = ()
        if self.strata is not None:
            present, inverse = np.unique(self.strata[keep], return_inverse=True)
            codes = inverse.astype(np.int64).reshape(-1)
            labels = tuple(self.strata_labels[int(c)] for c in present)
        return TrialData(
            frame=self.frame.iloc[keep].copy(),
            time_col=self.time_col,
            event_col=self.event_col,
            arm_col=self.arm_col,
            treatment=self.treatment,
            control=self.control,
            time=self.time[keep],
            event=self.event[keep],
            treated=treated,
            strata=codes,
            strata_labels=labels,
            strata_cols=self.strata_cols,
            id_col=self.id_col,
            source=self.source,
        )
