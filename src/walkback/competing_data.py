"""Read and validate competing-risks trial data: one time column, one status column coding
censoring and each cause (numbers or text), an arm column with two arms, optional strata.

Rows in equal rows out: every row is kept, or reading fails with one
:class:`~walkback.exceptions.DataError` naming the column, the lines (rows of a DataFrame or
Parquet file) and the value found.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback.cells import code_labels, label_text
from walkback.columns import arm_column, numeric_column
from walkback.exceptions import DataError

__all__ = ["CompetingData", "read_competing"]


@dataclass(frozen=True)
class CompetingData:
    """Validated competing-risks data; ``status`` holds the codes as label text."""

    time: np.ndarray
    status: np.ndarray
    treated: np.ndarray
    strata: np.ndarray | None
    cause: str
    censor: str
    causes: tuple[str, ...]
    treatment: str
    control: str
    source: str
    dropped: tuple[int, ...] = ()
    """Lines (rows) left out because their arm was neither arm (``other_arms="drop"``)."""

    @property
    def n(self) -> int:
        return int(self.time.size)


def _codes_text(labels) -> str:
    return ", ".join(repr(v) for v in sorted(set(labels)))


def read_competing(
    data: str | os.PathLike[str] | pd.DataFrame,
    *,
    time_col: str,
    event_col: str,
    arm_col: str,
    treatment: object,
    control: object,
    cause: object,
    censor_value: object = 0,
    causes: Sequence[object] | None = None,
    strata: str | None = None,
    other_arms: str = "error",
) -> CompetingData:
    """Read a CSV/Parquet file (or a DataFrame) for a competing-risks analysis.

    Parameters
    ----------
    data : path or pandas.DataFrame
        One row per participant.
    time_col, event_col, arm_col : str
        Follow-up time (finite, >= 0), status (``censor_value`` or a cause code) and arm columns.
    treatment, control : labels
        The two arms; every row must be in one of them.
    cause : code
        The cause analysed; it must occur.
    censor_value : code
        The status code of censored rows; it must occur unless ``causes`` declares every code.
    causes : codes, optional
        Every cause code; a status that is neither one of them nor ``censor_value`` is an error.
        Default: every code other than ``censor_value`` is a cause.
    strata : str, optional
        Stratification column (Gray's test, cause-specific Cox); cells must not be empty.
    other_arms : {"error", "drop"}
        Rows whose arm is neither arm: an error (default) or left out and listed in ``dropped``.
    """
    if other_arms not in ("error", "drop"):
        raise ValueError(f"other_arms must be 'error' or 'drop', got {other_arms!r}")
    columns = [time_col, event_col, arm_col] + ([strata] if strata else [])
    if isinstance(data, pd.DataFrame):
        source = "data frame"
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise DataError(
                "missing column(s) " + ", ".join(repr(c) for c in missing),
                source=source,
                fix="the columns present are " + ", ".join(repr(c) for c in data.columns),
            )
        frame, unit = data, "row"
        idx = data.index
        lines = np.asarray(idx) if pd.api.types.is_integer_dtype(idx) else np.arange(len(data))
    else:
        from walkback.io import read_table

        source = os.fspath(data)
        frame, lines, unit = read_table(source, columns)

    def fail(err: DataError) -> DataError:
        return err.with_unit(unit) if unit != "line" else err

    def required_labels(
        frame: pd.DataFrame, column: str, rule: str, fix: str, text=None
    ) -> np.ndarray:
        """A column's cells as label text (or ``text(cells)``); an empty or missing cell is an
        error naming its lines."""
        if text is None:
            values = np.array([label_text(v) for v in frame[column]], dtype=object)
        else:
            values = text(frame[column].to_numpy(dtype=object))
        empty = np.array([v is None or v == "" for v in values], dtype=bool)
        if empty.any():
            bad = [int(x) for x in lines[empty]]
            raise fail(DataError(rule, source=source, column=column, lines=bad, fix=fix))
        return values

    dropped: tuple[int, ...] = ()
    if other_arms == "drop":
        arm_labels = np.array([label_text(v) for v in frame[arm_col]], dtype=object)
        keep = np.isin(arm_labels, [label_text(treatment), label_text(control)])
        dropped = tuple(int(x) for x in np.asarray(lines)[~keep])
        frame, lines = frame.loc[keep], np.asarray(lines)[keep]

    time = numeric_column(frame, time_col, lines, unit, source, minimum=0.0)
    treated = arm_column(
        frame, arm_col, label_text(treatment), label_text(control), lines, unit, source
    )
    labels = required_labels(
        frame,
        event_col,
        "status is missing",
        "give every row the censoring code or a cause code",
        code_labels,
    )
    k, c = _code(cause, "--cause"), _code(censor_value, "--censor-value")
    found = set(labels.tolist())
    if k == c:
        raise DataError(
            f"--cause and --censor-value are both {k!r}",
            source=source,
            column=event_col,
            fix="name the cause analysed and the code of censored rows",
        )
    if causes is not None:
        declared = tuple(dict.fromkeys(_code(v, "--causes") for v in causes))
        if c in declared:
            raise DataError(
                f"the censoring code {c!r} is also declared a cause",
                source=source,
                column=event_col,
                fix="remove it from --causes",
            )
        if k not in declared:
            raise DataError(
                f"cause {k!r} is not among the declared causes ({', '.join(declared)})",
                source=source,
                column=event_col,
                fix="add it to --causes or pick a declared cause",
            )
        bad = ~np.isin(labels, [c, *declared])
        if bad.any():
            raise fail(
                DataError(
                    f"status is neither the censoring code {c!r} nor a declared cause "
                    f"({', '.join(declared)})",
                    source=source,
                    column=event_col,
                    lines=[int(x) for x in lines[bad]],
                    value=labels[bad][0],
                    fix="recode those rows, or declare the code with --causes",
                )
            )
    else:
        declared = tuple(sorted(found - {c}, key=_code_key))
        if c not in found:
            raise DataError(
                f"the censoring code {c!r} does not occur (codes found: {_codes_text(found)})",
                source=source,
                column=event_col,
                fix="pass --censor-value with the code of censored rows (or declare every cause "
                "with --causes if no row is censored)",
            )
    if k not in found:
        raise DataError(
            f"cause {k!r} does not occur (codes found: {_codes_text(found)})",
            source=source,
            column=event_col,
            fix="pass --cause with a code that occurs",
        )
    strata_values = None
    if strata:
        strata_values = required_labels(
            frame, strata, "stratum is missing", "fill in or remove those rows"
        )
    return CompetingData(
        time=time,
        status=labels,
        treated=treated,
        strata=strata_values,
        cause=k,
        censor=c,
        causes=declared,
        treatment=label_text(treatment),
        control=label_text(control),
        source=source,
        dropped=dropped,
    )


def _code(value: object, what: str) -> str:
    text = code_labels([value])[0]
    if text is None:
        raise ValueError(f"{what} must be a code of the status column, got {value!r}")
    return text


def _code_key(code: str) -> tuple:
    """Numeric codes in numeric order, then text codes in text order."""
    try:
        return (0, float(code), code)
    except ValueError:
        return (1, 0.0, code)
