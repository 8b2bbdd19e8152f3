"""The one validated container for time-to-event trial data with two or more arms.

``TrialData.from_frame`` checks a table row by row and either returns a ``TrialData`` with exactly
the input rows, in input order, or raises a one-line ``DataError`` naming the source, column, first
offending lines, value, rule and fix. Nothing is dropped, reordered or coerced silently: rows are
excluded only when asked (``na="drop"``, ``other_arms="drop"``), and then counted in ``dropped``.

The rules themselves are plain functions in :mod:`walkback.validate`; this module is the container.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from walkback.design import CovariateSpec
from walkback.exceptions import DataError
from walkback.missing import Dropped, apply_na_action
from walkback.validate import (
    Where,
    arm_codes,
    arm_label,
    check_columns,
    check_ids,
    event_array,
    strata_codes,
    strata_names,
    time_array,
    treatment_labels,
)

__all__ = ["DATAFRAME_SOURCE", "Dropped", "TrialData"]

DATAFRAME_SOURCE = "<DataFrame>"
"""``TrialData.source`` for data that did not come from a file."""


def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.copy()
        a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False, repr=False)
class TrialData:
    """Validated time-to-event data: one row per patient, input rows in input order.

    Build it with :meth:`TrialData.from_frame` or :func:`walkback.io.read_trial`; both validate
    every row. The derived arrays are read-only and aligned with ``frame`` row by row.

    Attributes
    ----------
    frame : pandas.DataFrame
        Every column and row of the input, in input order, as read (CSV cells stay text). Treat
        it as read-only.
    time_col, event_col, arm_col : str
        Names of the follow-up time, event indicator and arm columns.
    control : str
        Label of the reference arm, as text.
    treatments : tuple of str
        Labels of the other arms (one for a two-arm trial), as text.
    time : numpy.ndarray
        float64 follow-up times, finite and >= 0.
    event : numpy.ndarray
        int8 event indicator: 1 = event observed, 0 = censored.
    arm : numpy.ndarray
        int64 arm code of each row: 0 = control, j = ``treatments[j - 1]``.
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
    lines : numpy.ndarray
        Location number of each row in the source (file line, or 1-based row), for messages.
    dropped : tuple of Dropped
        Rows excluded on request (missing values, unnamed arms); empty when none were.
    """

    frame: pd.DataFrame
    time_col: str
    event_col: str
    arm_col: str
    control: str
    treatments: tuple[str, ...]
    time: np.ndarray
    event: np.ndarray
    arm: np.ndarray
    strata: np.ndarray | None = None
    strata_labels: tuple[str, ...] = ()
    strata_cols: tuple[str, ...] = ()
    id_col: str | None = None
    source: str | None = None
    lines: np.ndarray | None = None
    line_unit: str = "line"
    dropped: tuple[Dropped, ...] = ()

    _DTYPES = {"time": np.float64, "event": np.int8, "arm": np.int64, "strata": np.int64}

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
        object.__setattr__(self, "treatments", tuple(self.treatments))
        lines = np.arange(n, dtype=np.int64) + 2 if self.lines is None else self.lines
        object.__setattr__(self, "lines", _readonly(np.asarray(lines, dtype=np.int64)))

    @property
    def n(self) -> int:
        """Number of rows (patients)."""
        return int(self.time.shape[0])

    @property
    def arms(self) -> tuple[str, ...]:
        """Every arm label, the control first."""
        return (self.control, *self.treatments)

    @property
    def treatment(self) -> str:
        """The treatment arm's label (two-arm trials only)."""
        return self.treatments[self._two_arm("treatment")]

    @property
    def treated(self) -> np.ndarray:
        """bool, True for rows in the treatment arm (two-arm trials only)."""
        self._two_arm("treated")
        return _readonly(self.arm == 1)

    def _two_arm(self, what: str) -> int:
        if len(self.treatments) != 1:
            raise DataError(
                f"TrialData.{what} is defined for two arms; this trial has {len(self.arms)} "
                f"({', '.join(map(repr, self.arms))})",
                source=self.source,
                column=self.arm_col,
                fix="use TrialData.arms and TrialData.arm (codes, 0 = control)",
            )
        return 0

    @property
    def n_treatment(self) -> int:
        """Number of rows in the treatment arm (two-arm trials only)."""
        return int(self.treated.sum())

    @property
    def n_control(self) -> int:
        """Number of rows in the control arm."""
        return int((self.arm == 0).sum())

    def n_arm(self) -> dict[str, int]:
        """Number of rows per arm label, the control first."""
        counts = np.bincount(self.arm, minlength=len(self.arms))
        return {a: int(c) for a, c in zip(self.arms, counts, strict=True)}

    @property
    def n_events(self) -> int:
        """Number of observed events (both arms)."""
        return int(self.event.sum())

    def __repr__(self) -> str:
        strata = f", strata={len(self.strata_labels)}" if self.strata is not None else ""
        counts = self.n_arm()
        if len(self.treatments) == 1:
            arms = (
                f"treatment={self.treatment!r} ({self.n_treatment}), "
                f"control={self.control!r} ({self.n_control})"
            )
        else:
            arms = f"control={self.control!r}, arms={counts!r}"
        dropped = sum(d.rows for d in self.dropped)
        drop = f", dropped={dropped}" if dropped else ""
        return (
            f"TrialData(n={self.n}, {arms}, events={self.n_events}{strata}{drop}, "
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
        control: str | int | float,
        treatment: str | int | float | Sequence[str | int | float] | None = None,
        strata: str | Sequence[str] = (),
        id_col: str | None = None,
        covariates: Sequence[str] = (),
        na: Literal["error", "drop"] = "error",
        other_arms: Literal["error", "drop"] = "error",
        event_value: object = 1,
        censor_value: object = 0,
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
            Event column: ``event_value`` = event, ``censor_value`` = censored (default 1 and 0;
            R data sets often use 2 and 1). Numbers compare by value ("1.0" is 1); TRUE/FALSE in
            any case and booleans read as 1/0.
        arm_col : str
            Arm column. Labels are compared as exact text after stripping surrounding whitespace;
            integer and integral float values are compared as integer text (1 and 1.0 match "1").
        control : str, int or float
            The reference arm's label.
        treatment : label or sequence of labels, optional
            The other arm(s); default every other label in the column (sorted).
        strata : str or sequence of str, optional
            Stratification column(s); every cell must be non-empty and not NA.
        id_col : str, optional
            Patient id column; ids must be non-empty and unique.
        covariates : sequence of str, optional
            Covariate columns the analysis will use (``NAME`` or ``NAME:REF``): checked to exist,
            and for missing values under ``na``.
        na : {"error", "drop"}
            A missing value in a used column (time, event, arm, strata, covariates) is an error,
            or (``"drop"``, R's ``na.omit``) its row is excluded and counted in ``dropped``.
        other_arms : {"error", "drop"}
            Rows whose arm is not named: an error, or excluded and counted in ``dropped``.
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
            Validated data with the same rows in the same order as ``df`` (less the rows dropped
            on request, which ``dropped`` counts).

        Raises
        ------
        DataError
            A column is missing or a value breaks a rule: a time that is empty, missing, not a
            number, infinite or negative; an event value that is neither coding; an arm label that
            is not named; a named arm without rows; control equal to a treatment; an empty or NA
            strata value; an empty or duplicate id; a missing covariate value; no rows.
        TypeError
            ``df`` is not a DataFrame or an arm label is neither text nor a number.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame, not {type(df).__name__}")
        if na not in ("error", "drop"):
            raise ValueError(f"na must be 'error' or 'drop', got {na!r}")
        if other_arms not in ("error", "drop"):
            raise ValueError(f"other_arms must be 'error' or 'drop', got {other_arms!r}")
        n = len(df)
        if line_numbers is None:
            lines = np.arange(n, dtype=np.int64) + line_offset
        else:
            lines = np.asarray(line_numbers, dtype=np.int64)
            if lines.shape != (n,):
                raise ValueError(f"line_numbers must have one entry per row ({n})")
        where = Where(DATAFRAME_SOURCE if source is None else source, line_unit, lines)

        strata_cols = strata_names(strata)
        ctrl = arm_label("control", control, where)
        treats = treatment_labels(treatment, ctrl, arm_col, where)
        cov_cols = tuple(dict.fromkeys(CovariateSpec.parse(c).column for c in covariates))
        roles = [("time_col", time_col), ("event_col", event_col), ("arm_col", arm_col)]
        roles += [("strata", c) for c in strata_cols]
        if id_col is not None:
            roles.append(("id_col", id_col))
        roles += [("covariate", c) for c in cov_cols]
        check_columns(df, roles, where)
        if n == 0:
            raise where.error(
                "there are no data rows", fix="supply one row per patient below the header"
            )
        used = list(dict.fromkeys([time_col, event_col, arm_col, *strata_cols, *cov_cols]))
        df, lines, dropped = apply_na_action(df, used, cov_cols, na, where)
        where = Where(where.source, where.unit, lines)
        arm, treats, keep = arm_codes(
            df[arm_col], arm_col, ctrl, treats, where, other_arms=other_arms
        )
        if not keep.all():
            dropped.append(
                Dropped(
                    int((~keep).sum()),
                    (arm_col,),
                    tuple(int(v) for v in lines[~keep]),
                    "arm not named",
                )
            )
            df, lines, arm = df.loc[keep], lines[keep], arm[keep]
            where = Where(where.source, where.unit, lines)
        time = time_array(df[time_col], time_col, where)
        event = event_array(df[event_col], event_col, where, event_value, censor_value)
        codes, labels = strata_codes(df, strata_cols, where)
        if id_col is not None:
            check_ids(df[id_col], id_col, where)

        return cls(
            frame=df.copy(),
            time_col=time_col,
            event_col=event_col,
            arm_col=arm_col,
            control=ctrl,
            treatments=treats,
            time=_readonly(time),
            event=_readonly(event),
            arm=_readonly(arm),
            strata=None if codes is None else _readonly(codes),
            strata_labels=labels,
            strata_cols=strata_cols,
            id_col=id_col,
            source=where.source,
            lines=lines,
            line_unit=line_unit,
            dropped=tuple(dropped),
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
            The selection leaves an arm without rows.
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
        counts = np.bincount(self.arm[keep], minlength=len(self.arms))
        for j, label in enumerate(self.arms):
            if counts[j] == 0:
                arm = "control" if j == 0 else "treatment"
                raise DataError(
                    f"the subset has no rows in the {arm} arm {label!r}",
                    source=self.source,
                    column=self.arm_col,
                    fix="choose a subset that contains every arm",
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
            control=self.control,
            treatments=self.treatments,
            time=self.time[keep],
            event=self.event[keep],
            arm=self.arm[keep],
            strata=codes,
            strata_labels=labels,
            strata_cols=self.strata_cols,
            id_col=self.id_col,
            source=self.source,
            lines=self.lines[keep],
            line_unit=self.line_unit,
            dropped=self.dropped,
        )
