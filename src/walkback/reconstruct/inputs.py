"""Reading and checking the two inputs of :func:`~walkback.reconstruct.reconstruct`: the digitised
curve (``arm,time,survival``) and the published at-risk table (``arm,time,n_at_risk``).

Files are read as text by :func:`walkback.io.read_csv_frame` and cells are parsed by
:mod:`walkback.cells`, as for trial data; errors name the file and its line numbers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback.cells import OK, label_text, parse_numbers
from walkback.exceptions import DataError
from walkback.io import read_csv_frame

__all__ = [
    "AT_RISK_COLUMNS",
    "CURVE_COLUMNS",
    "Arm",
    "Where",
    "at_risk_by_arm",
    "check_sizes_and_ranges",
    "check_events",
    "curve_by_arm",
    "read_at_risk",
    "read_curve",
]

CURVE_COLUMNS = ("arm", "time", "survival")
AT_RISK_COLUMNS = ("arm", "time", "n_at_risk")


@dataclass(frozen=True)
class Where:
    """Where a frame's rows came from, for error messages."""

    source: str
    unit: str
    numbers: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, default: str) -> Where:
        # read_curve / read_at_risk record each row's line by index label, which survives
        # sorting and filtering; anything else is counted in 1-based rows
        lines = frame.attrs.get("lines")
        source = frame.attrs.get("source")
        if isinstance(lines, dict) and source is not None:
            found = [lines.get(i) for i in frame.index]
            if all(x is not None for x in found):
                return cls(str(source), "line", np.asarray(found, dtype=np.int64))
        return cls(default, "row", np.arange(1, len(frame) + 1))

    def error(
        self,
        rule: str,
        *,
        column: str | None = None,
        rows: Sequence[int] | np.ndarray | None = None,
        value: object = None,
        fix: str | None = None,
    ) -> DataError:
        lines = None if rows is None else [int(self.numbers[i]) for i in rows]
        err = DataError(rule, source=self.source, column=column, lines=lines, value=value, fix=fix)
        return err if self.unit == "line" else err.with_unit(self.unit)


def _read(path: str | os.PathLike[str], columns: tuple[str, ...]) -> pd.DataFrame:
    source = os.fspath(path)
    frame, lines = read_csv_frame(source, columns)
    frame.attrs["source"] = source
    frame.attrs["lines"] = dict(zip(frame.index.tolist(), lines.tolist(), strict=True))
    return frame


def read_curve(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read digitised Kaplan-Meier points from a CSV file with columns ``arm,time,survival``.

    Cells are read as text and checked by :func:`reconstruct`, whose errors then name this file
    and its line numbers (the header is line 1). Extra columns are ignored.

    Parameters
    ----------
    path : str or os.PathLike
        UTF-8, comma-separated CSV with a header line.

    Returns
    -------
    pandas.DataFrame
        The file's cells as text; ``attrs`` records the file name and line numbers.

    Raises
    ------
    DataError
        The file is missing, empty, not UTF-8 text, or not comma-separated CSV.
    """
    return _read(path, CURVE_COLUMNS)


def read_at_risk(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a published at-risk table from a CSV file with columns ``arm,time,n_at_risk``.

    One row per arm and time, as printed under the figure; see :func:`read_curve`.

    Parameters
    ----------
    path : str or os.PathLike
        UTF-8, comma-separated CSV with a header line.

    Returns
    -------
    pandas.DataFrame
        The file's cells as text; ``attrs`` records the file name and line numbers.

    Raises
    ------
    DataError
        The file is missing, empty, not UTF-8 text, or not comma-separated CSV.
    """
    return _read(path, AT_RISK_COLUMNS)


def _check_columns(frame: pd.DataFrame, columns: tuple[str, ...], where: Where) -> None:
    import difflib

    present = [str(c) for c in frame.columns]
    missing = [c for c in columns if c not in present]
    if missing:
        hints = []
        for c in missing:
            near = [p for p in present if p.strip().casefold() == c]
            near = near or difflib.get_close_matches(c, present, n=1)
            hints.append(f"{c!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        raise where.error(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(hints)}; "
            f"the columns present are {', '.join(repr(p) for p in present[:20])}",
            column=missing[0] if len(missing) == 1 else None,
            fix=f"the file needs the columns {','.join(columns)} (header on line 1)",
        )
    for c in columns:
        if present.count(c) > 1:
            raise where.error(
                f"{present.count(c)} columns are named {c!r}",
                column=c,
                fix="give the columns distinct names",
            )
    if len(frame) == 0:
        raise where.error(
            "no data rows", fix=f"add one row per point below the header {','.join(columns)}"
        )


def _labels(col: pd.Series, where: Where) -> np.ndarray:
    labels = [label_text(v) for v in col.tolist()]
    bad = [i for i, v in enumerate(labels) if not v]
    if bad:
        raise where.error(
            "arm label is empty or missing",
            column="arm",
            rows=bad,
            fix="give every row the arm's label, as in the other file",
        )
    return np.asarray(labels, dtype=object)


def _numbers(col: pd.Series, name: str, where: Where, what: str) -> np.ndarray:
    values, kinds = parse_numbers(col, allow_bool=False)
    bad = np.flatnonzero(kinds != OK)
    if bad.size:
        raise where.error(
            f"{what} must be a finite number",
            column=name,
            rows=bad,
            value=col.iloc[int(bad[0])],
            fix="write plain decimal numbers such as 12 or 0.85 (no units, no % sign)",
        )
    return values


@dataclass(frozen=True)
class Arm:
    """One arm's rows of a checked input: positions in the frame, times and values."""

    label: str
    rows: np.ndarray  # positions in the source frame
    time: np.ndarray
    value: np.ndarray


def curve_by_arm(curve: pd.DataFrame) -> tuple[dict[str, Arm], Where]:
    """The checked digitised points of each arm (in order of appearance), and their source."""
    if not isinstance(curve, pd.DataFrame):
        raise TypeError(f"curve must be a pandas DataFrame, not {type(curve).__name__}")
    where = Where.of(curve, "<curve DataFrame>")
    _check_columns(curve, CURVE_COLUMNS, where)
    arm = _labels(curve["arm"], where)
    time = _numbers(curve["time"], "time", where, "time")
    surv = _numbers(curve["survival"], "survival", where, "survival")
    return _split(arm, time, surv), where


def at_risk_by_arm(at_risk: pd.DataFrame) -> tuple[dict[str, Arm], Where]:
    """The checked at-risk table of each arm (from time 0, never increasing), and its source."""
    if not isinstance(at_risk, pd.DataFrame):
        raise TypeError(f"at_risk must be a pandas DataFrame, not {type(at_risk).__name__}")
    where = Where.of(at_risk, "<at-risk DataFrame>")
    _check_columns(at_risk, AT_RISK_COLUMNS, where)
    arm = _labels(at_risk["arm"], where)
    time = _numbers(at_risk["time"], "time", where, "time")
    n = _numbers(at_risk["n_at_risk"], "n_at_risk", where, "the number at risk")
    bad = np.flatnonzero((n < 0) | (n != np.round(n)))
    if bad.size:
        raise where.error(
            "the number at risk must be a whole number >= 0",
            column="n_at_risk",
            rows=bad,
            value=at_risk["n_at_risk"].iloc[int(bad[0])],
            fix="copy the numbers at risk exactly as printed under the figure",
        )
    bad = np.flatnonzero(time < 0)
    if bad.size:
        raise where.error(
            "at-risk time is negative",
            column="time",
            rows=bad,
            value=at_risk["time"].iloc[int(bad[0])],
            fix="at-risk tables start at time 0",
        )
    arms = _split(arm, time, n)
    for a in arms.values():
        order = np.argsort(a.time, kind="stable")
        t, v, rows = a.time[order], a.value[order], a.rows[order]
        dup = np.flatnonzero(np.diff(t) == 0)
        if dup.size:
            raise where.error(
                f"arm {a.label!r} has two numbers at risk at time {t[dup[0]]:g}",
                column="time",
                rows=sorted([int(rows[dup[0]]), int(rows[dup[0] + 1])]),
                fix="give one number at risk per arm and time",
            )
        if t[0] > 0:
            raise where.error(
                f"the at-risk table of arm {a.label!r} starts at time {t[0]:g}, not 0; the "
                "number randomised (at time 0) fixes the number of participants",
                column="time",
                rows=[int(rows[0])],
                fix=f"add the row {a.label},0,<number randomised>",
            )
        up = np.flatnonzero(np.diff(v) > 0)
        if up.size:
            j = int(up[0])
            raise where.error(
                f"the number at risk of arm {a.label!r} increases from {v[j]:g} at time "
                f"{t[j]:g} to {v[j + 1]:g} at time {t[j + 1]:g}; it can only fall",
                column="n_at_risk",
                rows=[int(rows[j + 1])],
                value=v[j + 1],
                fix="check the numbers against the figure (a row copied into the wrong arm?)",
            )
        if v[0] <= 0:
            raise where.error(
                f"arm {a.label!r} has no participants at time 0",
                column="n_at_risk",
                rows=[int(rows[0])],
                value=v[0],
                fix="the first number at risk is the number randomised",
            )
    return arms, where


def _split(arm: np.ndarray, time: np.ndarray, value: np.ndarray) -> dict[str, Arm]:
    out: dict[str, Arm] = {}
    for label in dict.fromkeys(arm.tolist()):
        rows = np.flatnonzero(arm == label)
        out[label] = Arm(label, rows, time[rows], value[rows])
    return out


def check_events(events: Mapping[str, int] | None, arms: dict[str, Arm]) -> dict[str, int]:
    """The total events given per arm, checked against the at-risk table's arms and sizes."""
    if events is None:
        return {}
    out: dict[str, int] = {}
    for key, value in events.items():
        label = str(key).strip()
        if label not in arms:
            raise DataError(
                f"total events given for arm {label!r}, which is not in the at-risk table "
                f"(arms: {', '.join(repr(a) for a in arms)})",
                fix="use the arm labels of the at-risk table",
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = float("nan")
        n0 = int(arms[label].value[np.argmin(arms[label].time)])
        if not (v == v and v == round(v) and 0 <= v <= n0):
            raise DataError(
                f"total events of arm {label!r} must be a whole number from 0 to {n0} "
                "(the number randomised)",
                value=value,
                fix="give the number of events the paper reports for that arm",
            )
        out[label] = int(v)
    return out


#: a curve and an at-risk table whose time ranges differ by more than this factor are refused
RANGE_FACTOR = 4.0


def check_sizes_and_ranges(
    curve_arms: dict[str, Arm], risk_arms: dict[str, Arm], cwhere: Where, rwhere: Where
) -> None:
    """Before any work: the participants fit in memory, and each arm's curve and at-risk table
    cover the same time range (a curve in months with a table in days is refused).

    Refused: participants at risk at a time more than ``RANGE_FACTOR`` times the curve's last
    point, or a curve running past ``RANGE_FACTOR`` times the table's last time. Either suggests
    other units (days vs weeks or months, months vs years); a table a little past the digitised
    curve is normal (the curve is flat there) and allowed.
    """
    from walkback.limits import RECONSTRUCT_BYTES_PER_PARTICIPANT, check_size

    total = int(sum(a.value[np.argmin(a.time)] for a in risk_arms.values()))
    check_size(
        f"{rwhere.source}: participants at time 0 (all arms)",
        total,
        RECONSTRUCT_BYTES_PER_PARTICIPANT,
        "reconstructing that many participants",
    )
    for label, risk in risk_arms.items():
        pts = curve_arms[label]
        curve_end = float(np.max(pts.time))
        alive = risk.value > 0
        late = np.flatnonzero(alive & (risk.time > RANGE_FACTOR * curve_end))
        units = "are both in the same time units (days, months, years)?"
        if late.size:
            j = int(late[np.argmax(risk.time[late])])
            raise rwhere.error(
                f"arm {label!r} has {risk.value[j]:g} at risk at time {risk.time[j]:g}, after its "
                f"curve ends (time {curve_end:g} in {cwhere.source}): the curve and the at-risk "
                f"table cover different time ranges",
                column="time",
                rows=[int(risk.rows[j])],
                fix=f"check that the two files {units}",
            )
        risk_end = float(np.max(risk.time))
        if risk.time.size > 1 and curve_end > RANGE_FACTOR * risk_end:
            raise cwhere.error(
                f"arm {label!r}: the curve runs to time {curve_end:g}, more than "
                f"{RANGE_FACTOR:g} times the at-risk table's last time ({risk_end:g} in "
                f"{rwhere.source}): the two cover different time ranges",
                column="time",
                rows=[int(pts.rows[int(np.argmax(pts.time))])],
                fix=f"check that the two files {units}",
            )
