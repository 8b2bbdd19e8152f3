"""The rules :meth:`TrialData.from_frame <walkback.schema.TrialData.from_frame>` applies, as plain
functions.

Each function checks one thing (the column roles, the time, event, arm, strata or id column) and
either returns the checked values or raises a one-line :class:`~walkback.exceptions.DataError`
through :class:`Where`, which names the source, column, first offending lines, value, rule and fix.
The container (:mod:`walkback.schema`) and the rules live apart so that each can be read on its
own; cells are read as values by :mod:`walkback.cells`.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback.cells import (
    EMPTY,
    INFINITE,
    MISSING,
    NEGATIVE,
    NOT_01,
    NOT_NUMBER,
    OK,
    label_text,
    parse_numbers,
)
from walkback.exceptions import DataError

__all__ = [
    "Where",
    "arm_label",
    "check_columns",
    "check_ids",
    "event_array",
    "strata_codes",
    "strata_names",
    "time_array",
    "treated_array",
]

# In label columns (strata, ids) only these exact spellings mean missing ("None" may be a level).
_NA_LABELS = frozenset({"NA", "NaN", "nan", "<NA>", "N/A", "#N/A"})

_TIME_RULES = {
    EMPTY: ("time is empty", "fill in the follow-up time or remove the row from the file"),
    MISSING: ("time is missing (NA/NaN)", "fill in the follow-up time or remove the row"),
    NOT_NUMBER: (
        "time is not a number",
        "write times as plain decimal numbers such as 12 or 3.5 "
        "(no units, no thousands separators)",
    ),
    INFINITE: ("time is infinite", "replace it with the finite follow-up time"),
    NEGATIVE: ("time is negative", "follow-up time cannot be negative; correct the value"),
}
_EVENT_FIX = "code the event column as 1 (event observed) or 0 (censored)"
_EVENT_RULES = {
    EMPTY: "event is empty; it must be 0 (censored) or 1 (event)",
    MISSING: "event is missing (NA/NaN); it must be 0 (censored) or 1 (event)",
    NOT_01: "event must be 0 (censored) or 1 (event)",
}


@dataclass(frozen=True)
class Where:
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


def _first_problem(kinds: np.ndarray) -> tuple[int, int, np.ndarray] | None:
    """(first bad position, its kind, all positions with that kind), or None when all are fine."""
    bad = np.flatnonzero(kinds != OK)
    if bad.size == 0:
        return None
    first = int(bad[0])
    kind = int(kinds[first])
    return first, kind, np.flatnonzero(kinds == kind)


def strata_names(strata: str | Sequence[str]) -> tuple[str, ...]:
    """The strata argument as a tuple of column names."""
    if isinstance(strata, str):
        return (strata,)
    return tuple(strata)


def arm_label(role: str, value: object, where: Where) -> str:
    """The ``treatment=`` or ``control=`` argument as label text; rejects empty labels."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, str | numbers.Real):
        raise TypeError(f"{role} must be a str (or a number), not {type(value).__name__}")
    label = label_text(value)
    if not label:
        raise where.error(
            f"the {role} arm label is empty or missing",
            value=_shown(value),
            fix=f"pass {role}= as the label used in the arm column",
        )
    return label


def check_columns(df: pd.DataFrame, roles: list[tuple[str, str]], where: Where) -> None:
    """Every role has its own column, present exactly once in ``df``."""
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


def time_array(col: pd.Series, name: str, where: Where) -> np.ndarray:
    """Follow-up times as float64: finite numbers >= 0."""
    if pd.api.types.is_bool_dtype(col.dtype):
        raise where.error(
            "time column is boolean; time must be a number >= 0",
            column=name,
            fix="pass the follow-up time column as time_col",
        )
    values, kinds = parse_numbers(col, allow_bool=False)
    kinds[(kinds == OK) & (values < 0)] = NEGATIVE
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


def event_array(col: pd.Series, name: str, where: Where) -> np.ndarray:
    """The event indicator as int8: 1 = event, 0 = censored."""
    values, kinds = parse_numbers(col, allow_bool=True)
    kinds[(kinds == OK) & (values != 0) & (values != 1)] = NOT_01
    kinds[(kinds == NOT_NUMBER) | (kinds == INFINITE)] = NOT_01
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


def treated_array(
    col: pd.Series, name: str, treatment: str, control: str, where: Where
) -> np.ndarray:
    """True for rows in the treatment arm; every label must be one of the two, both present."""
    labels = [label_text(v) for v in col.tolist()]
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


def _label_column(col: pd.Series, name: str, what: str, where: Where) -> list[str]:
    """Labels of a strata or id column; rejects empty and missing cells."""
    labels = [label_text(v) for v in col.tolist()]
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


def strata_codes(
    df: pd.DataFrame, cols: tuple[str, ...], where: Where
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Codes 0..k-1 of the combined strata columns and the label of each code."""
    if not cols:
        return None, ()
    per_col = [_label_column(df[c], c, "strata", where) for c in cols]
    keys = list(zip(*per_col, strict=True))
    levels = sorted(set(keys))
    index = {k: i for i, k in enumerate(levels)}
    codes = np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))
    labels = tuple(", ".join(f"{c}={v}" for c, v in zip(cols, k, strict=True)) for k in levels)
    return codes, labels


def check_ids(col: pd.Series, name: str, where: Where) -> None:
    """Patient ids are non-empty, not NA and unique."""
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
