"""The columns of (start, stop] data, delayed entry, case weights, clusters and participant ids.

``read_interval_columns(trial, ...)`` reads them from a validated trial's frame and applies their
rules, each failure a one-line :class:`~walkback.exceptions.DataError` naming the column and the
lines: a missing or non-numeric value; a start/entry time that is not below the row's time
(rows are at risk on (start, time]); a negative or non-finite weight; two rows of one participant
whose intervals overlap; with one row per participant (no start column), a repeated id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback.cells import OK, label_text, parse_numbers
from walkback.estimators._intervals import timefix_intervals
from walkback.exceptions import DataError
from walkback.schema import TrialData
from walkback.validate import Where, check_columns, check_ids, missing_cells

__all__ = ["IntervalColumns", "read_interval_columns"]


@dataclass(frozen=True)
class IntervalColumns:
    """Validated extra columns, row-aligned with the trial (``None`` where not given).

    ``start`` holds the start (``kind="start"``, counting-process rows) or entry
    (``kind="entry"``, delayed entry, one row per participant) times.
    """

    start: np.ndarray | None = None
    kind: str | None = None
    start_col: str | None = None
    weights: np.ndarray | None = None
    weights_col: str | None = None
    cluster: np.ndarray | None = None
    cluster_col: str | None = None
    ids: np.ndarray | None = None
    id_col: str | None = None

    @property
    def any(self) -> bool:
        return self.start is not None or self.weights is not None or self.cluster is not None

    def settings(self) -> dict:
        return {
            "start_col": self.start_col if self.kind == "start" else None,
            "entry_col": self.start_col if self.kind == "entry" else None,
            "weights_col": self.weights_col,
            "cluster_col": self.cluster_col,
            "id_col": self.id_col,
        }


def _numbers(trial: TrialData, where: Where, col: str, what: str) -> np.ndarray:
    values, kinds = parse_numbers(trial.frame[col], allow_bool=False)
    missing = missing_cells(trial.frame[col])
    bad = np.flatnonzero(missing)
    if bad.size:
        raise where.error(
            f"{what} value is missing",
            column=col,
            rows=bad,
            fix="fill it in, or pass --na drop (na='drop') to exclude rows with missing values",
        )
    bad = np.flatnonzero((kinds != OK) | ~np.isfinite(values))
    if bad.size:
        raise where.error(
            f"{what} must be a finite number",
            column=col,
            rows=bad,
            value=trial.frame[col].iloc[int(bad[0])],
            fix="write plain decimal numbers such as 12 or 3.5",
        )
    return values + 0.0


def _labels(trial: TrialData, where: Where, col: str, what: str) -> np.ndarray:
    bad = np.flatnonzero(missing_cells(trial.frame[col]))
    if bad.size:
        raise where.error(
            f"{what} is missing", column=col, rows=bad, fix="fill in every row's label"
        )
    return np.array([label_text(v) for v in trial.frame[col].tolist()], dtype=object).astype(str)


def _start(trial: TrialData, where: Where, col: str, kind: str) -> np.ndarray:
    s = _numbers(trial, where, col, kind)
    bad = np.flatnonzero(s < 0)
    if bad.size:
        raise where.error(f"{kind} time is negative", column=col, rows=bad, value=s[bad[0]])
    bad = np.flatnonzero(s >= trial.time)
    if bad.size:
        first = int(bad[0])
        raise where.error(
            f"{kind} must be < the time in '{trial.time_col}' (a row is at risk on ({kind}, time])",
            column=col,
            rows=bad,
            value=(float(s[first]), float(trial.time[first])),
            fix="correct the times or remove rows whose interval is empty",
        )
    return s


def _overlaps(where: Where, col: str, ids: np.ndarray, start, stop) -> None:
    order = np.lexsort((start, ids))
    same = ids[order[1:]] == ids[order[:-1]]
    bad = np.flatnonzero(same & (start[order[1:]] < stop[order[:-1]]))
    if bad.size:
        rows = np.unique(np.concatenate((order[bad], order[bad + 1])))
        raise where.error(
            "intervals of one participant overlap (a row starts before the previous one ends)",
            column=col,
            rows=rows,
            value=str(ids[order[bad[0]]]),
            fix="each participant's (start, time] rows must follow one another",
        )


def read_interval_columns(
    trial: TrialData,
    *,
    start_col: str | None = None,
    entry_col: str | None = None,
    weights_col: str | None = None,
    cluster_col: str | None = None,
    id_col: str | None = None,
    timefix: bool = True,
) -> IntervalColumns:
    """Read and check the extra columns of (start, stop], delayed-entry or weighted data.

    ``start_col``: counting-process rows (several per participant allowed; with ``id_col`` a
    participant's rows must not overlap). ``entry_col``: delayed entry, one row per participant
    (``id_col`` values must be unique). ``weights_col``: case weights >= 0. ``cluster_col``:
    labels of the robust variance's clusters. ``timefix``: overlaps are judged after R's
    ``aeqSurv`` merges near-tied times, as the analysis will see them.
    """
    where = Where(trial.source, trial.line_unit, trial.lines)
    if start_col is not None and entry_col is not None:
        raise DataError(
            "give either a start column (several rows per participant) or an entry column "
            "(one row per participant), not both",
            source=trial.source,
            fix="drop --entry-col or --start-col",
        )
    roles = [("time_col", trial.time_col), ("event_col", trial.event_col)]
    roles += [("arm_col", trial.arm_col)]
    for role, name in [
        ("start_col", start_col),
        ("entry_col", entry_col),
        ("weights_col", weights_col),
        ("cluster_col", cluster_col),
    ]:
        if name is not None:
            roles.append((role, name))
    if id_col is not None and id_col != cluster_col:
        roles.append(("id_col", id_col))
    check_columns(trial.frame, roles, where)
    kind = "start" if start_col is not None else ("entry" if entry_col is not None else None)
    col = start_col if start_col is not None else entry_col
    start = None if col is None else _start(trial, where, col, kind)
    weights = None
    if weights_col is not None:
        weights = _numbers(trial, where, weights_col, "weight")
        bad = np.flatnonzero(weights < 0)
        if bad.size:
            raise where.error(
                "weight is negative; case weights must be >= 0",
                column=weights_col,
                rows=bad,
                value=float(weights[bad[0]]),
                fix="correct the weights (R's coxph and survfit refuse negative weights)",
            )
        if not (weights > 0).any():
            raise where.error("every weight is 0", column=weights_col, fix="check the column")
    cluster = None if cluster_col is None else _labels(trial, where, cluster_col, "cluster")
    ids = None
    if id_col is not None:
        ids = _labels(trial, where, id_col, "id")
        if kind == "start":
            a, b = start, np.asarray(trial.time)
            if timefix:
                a, b = timefix_intervals(a, b)
            _overlaps(where, id_col, ids, a, b)
        else:
            check_ids(trial.frame[id_col], id_col, where)
    return IntervalColumns(
        start=start,
        kind=kind,
        start_col=col,
        weights=weights,
        weights_col=weights_col,
        cluster=cluster,
        cluster_col=cluster_col,
        ids=ids,
        id_col=id_col,
    )
