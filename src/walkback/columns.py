"""Columns of a table read by :func:`walkback.io.read_table` as checked arrays.

Used by the commands that read a trial file without building a
:class:`~walkback.schema.TrialData` (safety, economics): each check fails with one
:class:`~walkback.exceptions.DataError` naming the column, the lines and a value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkback.cells import label_text
from walkback.exceptions import DataError

__all__ = ["arm_column", "numeric_column"]


def numeric_column(
    frame: pd.DataFrame,
    name: str,
    lines: np.ndarray,
    unit: str,
    source: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    whole: bool = False,
) -> np.ndarray:
    """A column as finite floats; one clear error naming the lines and values otherwise."""
    raw = frame[name]
    values = pd.to_numeric(
        raw.astype(str).str.strip() if raw.dtype == object else raw, errors="coerce"
    ).to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    rule = "must be a finite number"
    if not bad.any() and minimum is not None:
        bad = values < minimum
        rule = f"must be >= {minimum:g}"
    if not bad.any() and maximum is not None:
        bad = values > maximum
        rule = f"must be <= {maximum:g}"
    if not bad.any() and whole:
        bad = values != np.round(values)
        rule = "must be a whole number"
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        err = DataError(
            rule,
            source=source,
            column=name,
            lines=[int(x) for x in lines[bad]],
            value=raw.iloc[first],
            fix="correct or remove those values",
        )
        raise err.with_unit(unit) if unit != "line" else err
    return values


def arm_column(
    frame: pd.DataFrame,
    name: str,
    treatment: str,
    control: str,
    lines: np.ndarray,
    unit: str,
    source: str,
) -> np.ndarray:
    """Treatment indicator from an arm column; every label must be one of the two."""
    # integral floats compare as integer text, as in read_trial
    labels = np.array([label_text(v) for v in frame[name]], dtype=object)
    bad = ~np.isin(labels, [str(treatment), str(control)])
    if bad.any():
        err = DataError(
            f"arm label is neither treatment '{treatment}' nor control '{control}'",
            source=source,
            column=name,
            lines=[int(x) for x in lines[bad]],
            value=labels[bad][0],
            fix="recode those rows, or pass --treatment/--control",
        )
        raise err.with_unit(unit) if unit != "line" else err
    treated = labels == str(treatment)
    if treated.all() or not treated.any():
        missing = control if treated.all() else treatment
        raise DataError(
            f"no rows in the arm labelled '{missing}'",
            source=source,
            column=name,
            fix="a comparison needs both arms",
        )
    return treated
