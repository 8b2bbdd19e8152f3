"""The one validated container for two-arm time-to-event trial data.

``TrialData.from_frame`` checks a table row by row and either returns a ``TrialData`` with exactly
the input rows, in input order, or raises a one-line ``DataError`` naming the source, column, first
offending lines, value, rule and fix. Nothing is dropped, reordered or coerced silently.

The rules themselves are plain functions in :mod:`walkback.validate`; this module is the container.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from walkback.exceptions import DataError
from walkback.validate import (
    Where,
    arm_label,
    check_columns,
    check_ids,
    event_array,
    strata_codes,
    strata_names,
    time_array,
    treated_array,
)

__all__ = ["DATAFRAME_SOURCE", "TrialData"]

DATAFRAME_SOURCE = "<DataFrame>"
"""``TrialData.source`` for data that did not come from a file."""


def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.copy()
        a.flags.writeable = False
    return a


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
        where = Where(DATAFRAME_SOURCE if source is None else source, line_unit, lines)

        strata_cols = strata_names(strata)
        treat = arm_label("treatment", treatment, where)
        ctrl = arm_label("control", control, where)
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
        check_columns(df, roles, where)
        if n == 0:
            raise where.error(
                "there are no data rows", fix="supply one row per patient below the header"
            )

        time = time_array(df[time_col], time_col, where)
        event = event_array(df[event_col], event_col, where)
        treated = treated_array(df[arm_col], arm_col, treat, ctrl, where)
        codes, labels = strata_codes(df, strata_cols, where)
        if id_col is not None:
            check_ids(df[id_col], id_col, where)

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
