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
from walkback.exceptions import DataError, shown_value

__all__ = [
    "Where",
    "arm_label",
    "check_columns",
    "check_ids",
    "event_array",
    "strata_codes",
    "strata_names",
    "arm_codes",
    "missing_cells",
    "time_array",
    "treatment_labels",
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
    text = ", ".join(shown_value(x, 40) for x in items[:limit])
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


def event_array(
    col: pd.Series,
    name: str,
    where: Where,
    event_value: object = 1,
    censor_value: object = 0,
) -> np.ndarray:
    """The event indicator as int8: 1 = event, 0 = censored.

    Cells are compared with ``event_value`` and ``censor_value`` as label text (numbers through
    their value: "1", "1.0" and 1 agree); TRUE/FALSE in any letter case (and booleans) read as
    1/0. Any other value is an error that lists the values found and the options that fit them.
    """
    ev, cens = label_text(event_value), label_text(censor_value)
    if ev is None or cens is None or ev == cens:
        raise where.error(
            f"event value {ev!r} and censoring value {cens!r} must be two different labels",
            column=name,
            fix="pass --event-value and --censor-value (event_value=, censor_value=)",
        )
    values, kinds = parse_numbers(col, allow_bool=True)
    labels = _event_labels(values, kinds, col)
    is_event = labels == ev
    is_censor = labels == cens
    bad = np.flatnonzero(~(is_event | is_censor))
    if bad.size:
        first = int(bad[0])
        kind = int(kinds[first])
        if kind in (EMPTY, MISSING) and (kinds[bad] == kind).all():
            rule = _EVENT_RULES[kind].split(";")[0]
            raise where.error(
                f"{rule}; it must be {cens} (censored) or {ev} (event)",
                column=name,
                rows=bad,
                value=_shown(col.iloc[first]),
                fix="fill it in, or pass --na drop (na='drop') to exclude rows with missing values",
            )
        found = sorted({"<missing>" if lab is None else str(lab) for lab in labels.tolist()})
        fix = "recode the column, or pass --event-value/--censor-value to match the data"
        if set(found) == {"1", "2"}:
            fix = (
                "if 2 = event and 1 = censored (R's Surv coding), pass --event-value 2 "
                "--censor-value 1 (event_value=2, censor_value=1)"
            )
        raise where.error(
            f"event must be {cens} (censored) or {ev} (event); values found: {_quote_list(found)}",
            column=name,
            rows=bad,
            value=_shown(col.iloc[first]),
            fix=fix,
        )
    return is_event.astype(np.int8)


def _event_labels(values: np.ndarray, kinds: np.ndarray, col: pd.Series) -> np.ndarray:
    """Each event cell's label: a number's label text (one per distinct number: a label string
    per row, not a new one), other cells as :func:`_text_label` reads them."""
    labels = np.empty(len(values), dtype=object)
    ok = kinds == OK
    distinct, which = np.unique(values[ok], return_inverse=True)
    labels[ok] = np.array([label_text(v) for v in distinct], dtype=object)[which]
    other = np.flatnonzero(~ok)
    if other.size:
        labels[other] = [_text_label(c) for c in col.iloc[other].tolist()]
    return labels


def _text_label(cell: object) -> str | None:
    """A non-numeric event cell as a label: TRUE/FALSE in any case are 1/0."""
    text = label_text(cell)
    if text is not None and text.lower() in ("true", "false"):
        return "1" if text.lower() == "true" else "0"
    return text


def arm_codes(
    col: pd.Series,
    name: str,
    control: str,
    treatments: tuple[str, ...] | None,
    where: Where,
    *,
    other_arms: str = "error",
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """Arm code of every row (0 = control, j = the j-th treatment), the treatments and a keep mask.

    ``treatments=None`` makes every other label a treatment, in sorted order. Rows whose label is
    not a named arm are an error, or with ``other_arms="drop"`` are marked False in the keep mask.
    """
    labels = [label_text(v) for v in col.tolist()]
    if treatments is None:
        treatments = tuple(sorted({lab for lab in labels if lab not in (None, control)}))
    arms = (control, *treatments)
    index = {a: i for i, a in enumerate(arms)}
    codes = np.fromiter((index.get(lab, -1) for lab in labels), dtype=np.int64, count=len(labels))
    bad = np.flatnonzero(codes < 0)
    keep = codes >= 0
    if bad.size and other_arms != "drop":
        found = list(dict.fromkeys("<missing>" if lab is None else lab for lab in labels))
        unexpected = list(dict.fromkeys(labels[i] for i in bad))
        hints = [
            f"{lab!r} differs from {exp!r} only in letter case"
            for lab in unexpected
            if lab is not None
            for exp in arms
            if lab != exp and lab.casefold() == exp.casefold()
        ]
        hint = f" ({'; '.join(hints)})" if hints else ""
        if len(arms) == 2:
            named = f"neither treatment {arms[1]!r} nor control {control!r}"
        else:
            named = f"not one of the named arms: control {control!r}, treatments " + ", ".join(
                repr(a) for a in treatments
            )
        raise where.error(
            f"arm label is {named}; labels found: {_quote_list(found)}{hint}",
            column=name,
            rows=bad,
            value=_shown(col.iloc[int(bad[0])]),
            fix="recode those rows, pass arm labels that match the file (compared as exact text "
            "after stripping surrounding spaces), or exclude them with --other-arms drop",
        )
    present = np.bincount(codes[keep], minlength=len(arms))
    for j, label in enumerate(arms):
        if present[j] == 0:
            arm = "control" if j == 0 else "treatment"
            others = sorted({lab for lab in labels if lab is not None} - {label})
            rest = "the only row is" if len(labels) == 1 else "the labels found are"
            raise where.error(
                f"no rows in the {arm} arm: no arm label is {label!r}; {rest} "
                f"{_quote_list(others)}",
                column=name,
                fix=f"a comparison needs every named arm; check the {arm} label and the data",
            )
    if len(arms) < 2:
        raise where.error(
            f"only the control arm {control!r} is present; a comparison needs two or more arms",
            column=name,
            fix="check the arm column and the control label",
        )
    return codes, tuple(treatments), keep


def missing_cells(col: pd.Series) -> np.ndarray:
    """True where a cell is missing: empty, NA/NaN/None, or an NA spelling (R's na.strings)."""
    labels = [label_text(v) for v in col.tolist()]
    return np.fromiter(
        (lab is None or lab == "" or lab in _NA_LABELS for lab in labels),
        dtype=bool,
        count=len(labels),
    )


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


def treatment_labels(treatment, control: str, arm_col: str, where: Where) -> tuple[str, ...] | None:
    """The treatment argument as label texts (None = every other label)."""
    if treatment is None:
        return None
    items = [treatment] if isinstance(treatment, str | int | float) else list(treatment)
    labels = tuple(arm_label("treatment", v, where) for v in items)
    for lab in labels:
        if lab == control:
            raise where.error(
                f"treatment and control have the same label {lab!r}",
                column=arm_col,
                fix="pass the two different arm labels as treatment= and control=",
            )
    if len(set(labels)) != len(labels):
        raise where.error(
            f"a treatment label is repeated: {', '.join(map(repr, labels))}",
            column=arm_col,
            fix="name each arm once",
        )
    return labels
