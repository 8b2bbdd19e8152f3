"""Cox model design matrices as R's ``model.matrix`` builds them: arm factor, covariates, factors.

The arm is a factor whose reference level is the control arm; each treatment arm gets one
indicator column. A covariate column of numbers enters as it is; a column of text is a factor
with R's treatment contrasts: one indicator per level except the reference, which is the first
level in sorted order unless the user names it (``NAME:REF``). Missing cells (empty, ``NA``,
``NaN``, as R's ``read.csv`` reads them) are found here so that loading can drop or refuse them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkback.cells import OK, label_text, parse_numbers
from walkback.exceptions import DataError

#: Cell texts read as missing in covariate columns (R's ``na.strings`` plus the empty cell)
MISSING_TEXT = frozenset({"", "NA", "NaN", "nan", "<NA>"})


@dataclass(frozen=True)
class CovariateSpec:
    """A requested covariate: its column and, for a factor, the chosen reference level."""

    column: str
    reference: str | None = None

    @classmethod
    def parse(cls, spec: str) -> CovariateSpec:
        """``"age"`` or ``"celltype:large"`` (reference level after the last colon)."""
        text = str(spec)
        name, sep, ref = text.rpartition(":")
        if sep and name:
            return cls(name, ref)
        return cls(text)


@dataclass(frozen=True)
class Term:
    """One model term and the coefficient columns it spans in the design matrix."""

    name: str
    kind: str  # "arm", "numeric" or "factor"
    columns: tuple[str, ...]
    levels: tuple[str, ...] = ()
    reference: str | None = None


@dataclass(frozen=True)
class Design:
    """Design matrix (rows x coefficients) with its terms, arm columns first."""

    x: np.ndarray
    names: tuple[str, ...]
    terms: tuple[Term, ...]

    def columns_of(self, kind: str) -> np.ndarray:
        """Indices of the coefficients of every term of ``kind``."""
        idx = [self.names.index(c) for t in self.terms if t.kind == kind for c in t.columns]
        return np.asarray(idx, dtype=np.int64)


def missing_mask(col: pd.Series) -> np.ndarray:
    """True where a cell is missing: NA/None/NaN, or text in :data:`MISSING_TEXT` once stripped."""
    na = col.isna().to_numpy()
    if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        text = col.astype(str).str.strip()
        na |= text.isin(MISSING_TEXT).to_numpy()
    return na


def _as_numbers(col: pd.Series) -> np.ndarray | None:
    """The column as float64 if every cell is a finite number (or boolean), else None."""
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(col.dtype):
        values = col.to_numpy(dtype=float)
        return values if np.isfinite(values).all() else None
    text = col.astype(str).str.strip()
    lowered = text.str.lower()
    if lowered.isin(("true", "false")).all():
        return (lowered == "true").to_numpy(dtype=float)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    return values if np.isfinite(values).all() else None


def _labels(col: pd.Series) -> np.ndarray:
    """Text labels: integral floats as integer text, others stripped (as arm labels are read)."""

    def one(v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    return np.array([one(v) for v in col.tolist()], dtype=object)


def covariate_term(
    col: pd.Series, spec: CovariateSpec, *, source: str | None
) -> tuple[np.ndarray, Term]:
    """The design columns and term of one covariate (no missing cells: drop them first)."""
    values = None if spec.reference is not None else _as_numbers(col)
    if values is not None:
        return values[:, None], Term(spec.column, "numeric", (spec.column,))
    labels = _labels(col)
    levels = tuple(sorted(set(labels.tolist())))
    ref = levels[0] if spec.reference is None else spec.reference
    if ref not in levels:
        raise DataError(
            f"reference level {ref!r} is not a value of this covariate",
            source=source,
            column=spec.column,
            fix=f"choose one of {', '.join(repr(v) for v in levels[:12])}"
            + (" ..." if len(levels) > 12 else ""),
        )
    if len(levels) < 2:
        raise DataError(
            f"a factor covariate needs at least two levels; every row is {ref!r}",
            source=source,
            column=spec.column,
            fix="drop this covariate",
        )
    others = [v for v in levels if v != ref]
    x = np.column_stack([(labels == v).astype(float) for v in others])
    names = tuple(f"{spec.column}={v}" for v in others)
    return x, Term(spec.column, "factor", names, levels=levels, reference=ref)


def build_design(
    arm_codes: np.ndarray,
    arm_labels: Sequence[str],
    frame: pd.DataFrame,
    covariates: Sequence[CovariateSpec],
    *,
    arm_name: str = "arm",
    source: str | None = None,
) -> Design:
    """Arm indicators (reference = ``arm_labels[0]``, the control) then each covariate's columns.

    Coefficients are named ``COLUMN=LEVEL`` for the arm and factors, ``COLUMN`` for numbers.
    """
    codes = np.asarray(arm_codes, dtype=np.int64)
    blocks = [np.column_stack([(codes == j).astype(float) for j in range(1, len(arm_labels))])]
    arm_cols = tuple(f"{arm_name}={v}" for v in arm_labels[1:])
    terms = [Term(arm_name, "arm", arm_cols, tuple(arm_labels), arm_labels[0])]
    for spec in covariates:
        if spec.column not in frame.columns:
            raise DataError(
                "covariate column not found",
                source=source,
                column=spec.column,
                fix=f"columns are: {', '.join(map(str, frame.columns))}",
            )
        x, term = covariate_term(frame[spec.column], spec, source=source)
        blocks.append(x)
        terms.append(term)
    names = tuple(c for t in terms for c in t.columns)
    if len(set(names)) != len(names):
        raise DataError("a covariate is listed twice or clashes with an arm label", source=source)
    return Design(np.column_stack(blocks), names, tuple(terms))


def numeric_terms(names: Sequence[str]) -> tuple[Term, ...]:
    """One numeric term per coefficient: the terms of a fit on a plain numeric matrix."""
    return tuple(Term(str(n), "numeric", (str(n),)) for n in names)


def encode_row(
    terms: Sequence[Term],
    names: Sequence[str],
    values: Mapping[str, object],
    *,
    where: str = "covariates",
) -> np.ndarray:
    """The design row (R ``model.matrix`` of one ``newdata`` row) for values on the data's scale.

    ``values`` maps each term's name to its value: a number for a numeric term, a level (label)
    for a factor or the arm. Every term needs a value; unknown names, unknown levels and text for
    a number are errors naming the term and the fix. The row is not centred.
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"{where} must be a mapping of term name to value, got {type(values)}")
    known = {t.name: t for t in terms}
    listing = ", ".join(repr(t) for t in known)
    for key in values:
        if key not in known:
            raise DataError(
                "not a term of the model",
                column=str(key),
                fix=f"the model's terms are {listing}",
            )
    missing = [t.name for t in terms if t.name not in values]
    if missing:
        raise DataError(
            f"no value given for {', '.join(repr(m) for m in missing)}; every term of the model "
            "needs one (as every variable of the formula in R's newdata)",
            fix=f"give a value for each of {listing}",
        )
    row = np.zeros(len(names))
    for t in terms:
        v = values[t.name]
        if t.kind == "numeric":
            num, kind = parse_numbers(pd.Series([v], dtype=object), allow_bool=True)
            if kind[0] != OK:
                raise DataError(
                    "this term is a number in the model; the value is not a finite number",
                    column=t.name,
                    value=v,
                    fix="give a number such as 60",
                )
            row[names.index(t.columns[0])] = num[0]
            continue
        label = label_text(v)
        if label not in t.levels:
            shown = ", ".join(repr(x) for x in t.levels[:12]) + (
                " ..." if len(t.levels) > 12 else ""
            )
            raise DataError(
                "not a level of this factor in the data",
                column=t.name,
                value=v,
                fix=f"choose one of {shown}",
            )
        if label != t.reference:
            row[names.index(f"{t.name}={label}")] = 1.0
    return row
