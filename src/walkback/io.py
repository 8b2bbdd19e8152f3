"""Read trial data from CSV or Parquet files into a validated :class:`~walkback.schema.TrialData`.

Rows in equal rows out: every data row of the file becomes one row of ``TrialData``, in file order,
or reading fails with a one-line :class:`~walkback.exceptions.DataError`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from walkback import plain_csv
from walkback.columns import arm_column, numeric_column  # re-exported: read_table's users
from walkback.design import CovariateSpec
from walkback.exceptions import DataError
from walkback.plain_csv import parse_plain_csv, used_columns
from walkback.schema import TrialData

__all__ = ["arm_column", "numeric_column", "read_csv_frame", "read_table", "read_trial"]

_CSV_SUFFIXES = frozenset({".csv", ".txt"})
_PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
_PARQUET_MAGIC = b"PAR1"
_TEXT_FIX = "save the data as a UTF-8 comma-separated CSV file (e.g. 'CSV UTF-8' in Excel)"


def read_trial(
    path: str | os.PathLike[str],
    *,
    time_col: str,
    event_col: str,
    arm_col: str,
    control: str | int | float,
    treatment: str | int | float | Sequence[str | int | float] | None = None,
    strata: str | Sequence[str] = (),
    id_col: str | None = None,
    covariates: Sequence[str] = (),
    na: str = "error",
    other_arms: str = "error",
    event_value: object = 1,
    censor_value: object = 0,
    extra_columns: bool = True,
) -> TrialData:
    """Read and validate a trial dataset (two or more arms) from a CSV or Parquet file.

    The format follows the extension: ``.csv``/``.txt`` are CSV, ``.parquet``/``.pq`` are Parquet;
    any other file is Parquet if it starts with the Parquet magic bytes and CSV otherwise.

    CSV files must be UTF-8 (a byte-order mark is accepted), comma-separated, with a header line.
    Every cell is read as text, so nothing becomes NaN behind your back; CRLF line endings, quoted
    fields (containing commas, quotes or line breaks) and extra columns are accepted, and numbers
    may have surrounding spaces. Error messages count lines as an editor does: the header is line 1,
    the first data row line 2.

    Parquet columns keep their types: time must be a numeric column, event a 0/1 integer, float or
    boolean column. Error messages count 1-based rows.

    Arm labels are compared as exact text after stripping surrounding whitespace; integer and
    integral float values compare as integer text (an arm value 1 or 1.0 matches ``treatment="1"``
    or ``treatment=1``).

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    time_col : str
        Follow-up time column: finite numbers >= 0.
    event_col : str
        Event column: 1 = event observed, 0 = censored ("0", "1", "0.0", "1.0" in CSV).
    arm_col : str
        Arm column; every label must be a named arm (or ``other_arms="drop"``) and every named
        arm must occur.
    control : str, int or float
        The reference arm's label; numbers are compared through their text.
    treatment : label or sequence of labels, optional
        The other arm(s); default every other label.
    strata : str or sequence of str, optional
        Stratification column(s); cells must be non-empty.
    id_col : str, optional
        Patient id column; ids must be unique.
    covariates, na, other_arms, event_value, censor_value
        As for :meth:`TrialData.from_frame <walkback.schema.TrialData.from_frame>`.
    extra_columns : bool, default True
        Keep the file's other columns in ``TrialData.frame``; False keeps only the columns named
        above (the same numbers, in less memory: a large plain CSV file's other columns are not
        even parsed, and its time, event, arm, strata and id cells may come as pandas
        categoricals of the same text).

    Returns
    -------
    TrialData
        Every row of the file, in file order, with its columns (extra columns included unless
        ``extra_columns`` is False).

    Raises
    ------
    DataError
        The file is missing, unreadable, empty, not UTF-8 text, not comma-separated, has rows with
        the wrong number of fields, or any value breaks a rule of :meth:`TrialData.from_frame`.
    """
    source = os.fspath(path)
    head = _read_bytes(Path(source), source, 4)  # the whole file only for Parquet or small CSV
    suffix = Path(source).suffix.lower()
    roles = dict(
        time_col=time_col,
        event_col=event_col,
        arm_col=arm_col,
        treatment=treatment,
        control=control,
        strata=strata,
        id_col=id_col,
        covariates=covariates,
        na=na,
        other_arms=other_arms,
        event_value=event_value,
        censor_value=censor_value,
        source=source,
    )
    requested = [time_col, event_col, arm_col]
    requested += [strata] if isinstance(strata, str) else list(strata)
    requested += [id_col] if id_col is not None else []
    covariate_cols = [CovariateSpec.parse(c).column for c in covariates]
    requested += covariate_cols
    if suffix in _PARQUET_SUFFIXES or (
        suffix not in _CSV_SUFFIXES and head.startswith(_PARQUET_MAGIC)
    ):
        data = _read_bytes(Path(source), source)
        frame = _parse_parquet(data, source, time_col=time_col, event_col=event_col)
        del data
        if not extra_columns:
            frame = _used_frame(frame, requested)
        return TrialData.from_frame(frame, **roles, line_offset=1, line_unit="row")
    # without the other columns, the columns only validated (not covariates, which the model
    # reads by their type) may be held as categoricals of the same text
    roles_only = None if extra_columns else [c for c in requested if c not in covariate_cols]
    frame, lines = _parse_csv_file(Path(source), source, requested, roles_only)
    return TrialData.from_frame(frame, **roles, line_numbers=lines)


def _used_frame(frame: pd.DataFrame, requested: list[str]) -> pd.DataFrame:
    """The requested columns of ``frame`` (all of them when one is missing or ambiguous)."""
    keep = used_columns([str(c) for c in frame.columns], requested)
    return frame if keep is None or len(keep) == len(frame.columns) else frame[keep]


def _parse_csv_file(
    path: Path, source: str, requested: list[str], compact: list[str] | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """As :func:`_parse_csv`; a large plain file is read in blocks, never whole. ``compact``
    None keeps every column; a list keeps the requested ones, these as compact as they come."""
    subset = compact is not None
    if os.stat(path).st_size >= plain_csv.FAST_CSV_BYTES:
        check = lambda h: _check_separator(h, source, requested)  # noqa: E731
        fast = parse_plain_csv(path, check, requested, subset=subset, compact=compact or ())
        if fast is not None:
            return fast
    frame, lines = _parse_csv_rows(_read_bytes(path, source), source, requested)
    return (_used_frame(frame, requested) if subset else frame), lines


def read_csv_frame(
    path: str | os.PathLike[str], columns: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every cell of a CSV file as text, with the checks of :func:`read_trial` (UTF-8 text,
    comma-separated, a field per header column, no blank lines inside, at least one data row).

    ``columns`` are the columns the caller needs. They are not required here; they tell a file
    with another separator (a one-field header that does not name them) from a one-column CSV.
    :func:`read_trial` and :func:`read_table` parse CSV through the same code, after reading the
    file's bytes once to recognise Parquet.

    Returns the frame (object dtype, every cell text) and the line on which each data row starts
    (the header is line 1; quoted values may span lines). Raises :class:`DataError` otherwise.
    """
    source = os.fspath(path)
    return _parse_csv(_read_bytes(Path(source), source), source, list(columns))


def _read_bytes(path: Path, source: str, size: int = -1) -> bytes:
    """The file's bytes (its first ``size`` bytes when ``size`` >= 0), or a DataError."""
    try:
        with path.open("rb") as f:
            return f.read(size)
    except FileNotFoundError:
        raise DataError(
            "file not found",
            source=source,
            fix=f"check the path (working directory: {os.getcwd()})",
        ) from None
    except IsADirectoryError:
        raise DataError(
            "is a directory, not a file",
            source=source,
            fix="pass the path of a CSV or Parquet file",
        ) from None
    except PermissionError:
        raise DataError(
            "permission denied", source=source, fix="make the file readable or copy it elsewhere"
        ) from None
    except OSError as exc:
        raise DataError(
            f"cannot read the file ({exc.strerror or exc})", source=source, fix="check the path"
        ) from None


def _parse_parquet(data: bytes, source: str, *, time_col: str, event_col: str) -> pd.DataFrame:
    import pyarrow as pa

    if not data:
        raise DataError(
            "file is empty (0 bytes)", source=source, fix="write the data to the file again"
        )
    if not data.startswith(_PARQUET_MAGIC):
        raise DataError(
            "not a Parquet file (it does not start with the 'PAR1' magic bytes)",
            source=source,
            value=data[:4],
            fix="rename a CSV file to .csv, or write the data with pandas.DataFrame.to_parquet",
        )
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except (OSError, ValueError, pa.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"not a readable Parquet file ({first})",
            source=source,
            fix="write the file again, e.g. with pandas.DataFrame.to_parquet",
        ) from None
    for name, kind, allow_bool, fix in (
        (time_col, "time", False, "store follow-up time as an integer or float column"),
        (event_col, "event", True, "store the event as an integer 0/1 or boolean column"),
    ):
        if name not in frame.columns or int((frame.columns == name).sum()) != 1:
            continue  # TrialData.from_frame reports missing and ambiguous columns
        dtype = frame[name].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
        if not numeric or (pd.api.types.is_bool_dtype(dtype) and not allow_bool):
            raise DataError(
                f"{kind} must be stored as a numeric column; this Parquet column has type {dtype}",
                source=source,
                column=name,
                fix=fix,
            )
    return frame


def _not_text(data: bytes, source: str) -> DataError | None:
    """The error for bytes that are not UTF-8 text, or None if they are."""
    rule = "not a UTF-8 text file"
    if data.startswith(_PARQUET_MAGIC):
        return DataError(
            f"{rule}: it looks like a Parquet file",
            source=source,
            fix="rename it to .parquet, or export the data as CSV",
        )
    if data.startswith(b"PK\x03\x04"):
        return DataError(
            f"{rule}: it looks like a zip archive or an Excel workbook",
            source=source,
            fix=_TEXT_FIX,
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return DataError(f"{rule}: it looks like UTF-16 text", source=source, fix=_TEXT_FIX)
    nul = data.find(b"\x00")
    if nul >= 0:
        return DataError(
            f"{rule}: it contains NUL bytes (binary data)",
            source=source,
            lines=[data.count(b"\n", 0, nul) + 1],
            fix=_TEXT_FIX,
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return DataError(
            f"{rule}: invalid UTF-8 byte(s) (perhaps Latin-1 or Windows-1252 encoded)",
            source=source,
            lines=[data.count(b"\n", 0, exc.start) + 1],
            value=data[exc.start : exc.end],
            fix=_TEXT_FIX,
        )
    return None


def _parse_csv(data: bytes, source: str, requested: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    fast = None
    if len(data) >= plain_csv.FAST_CSV_BYTES:
        fast = parse_plain_csv(data, lambda h: _check_separator(h, source, requested), requested)
    return fast if fast is not None else _parse_csv_rows(data, source, requested)


def _parse_csv_rows(
    data: bytes, source: str, requested: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """All cells of a CSV file as text, and the line number on which each data row starts."""
    if not data:
        raise DataError(
            "file is empty (0 bytes)",
            source=source,
            fix="a CSV file needs a header line and one line per patient",
        )
    error = _not_text(data, source)
    if error is not None:
        raise error
    text = data.decode("utf-8").removeprefix("\ufeff")
    if not text.strip():
        raise DataError(
            "file is empty (no header line)",
            source=source,
            fix="a CSV file needs a header line and one line per patient",
        )
    physical = io.StringIO(text, newline="").readlines()
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # a long cell is data
    reader = csv.reader(physical, strict=True)
    previous = 0  # physical lines consumed before the current record
    try:
        header = next(reader)
        if not header:
            raise DataError(
                "line 1 is blank; the header must be on line 1",
                source=source,
                lines=[1],
                fix="delete the blank line(s) above the header",
            )
        _check_separator(header, source, requested)
        rows: list[list[str]] = []
        starts: list[int] = []
        blank: list[int] = []
        wrong: list[tuple[int, int]] = []  # (line, number of fields)
        previous = reader.line_num
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if not row:
                blank.append(start)
                continue
            if blank:  # a blank line followed by data: reject it (trailing blank lines are fine)
                raise DataError(
                    "blank line inside the data; every line below the header must be a data row",
                    source=source,
                    lines=blank,
                    fix="delete the blank line(s)",
                )
            if len(row) != len(header):
                wrong.append((start, len(row)))
            rows.append(row)
            starts.append(start)
    except csv.Error as exc:
        raise DataError(
            f"malformed CSV quoting ({exc})",
            source=source,
            lines=[previous + 1],
            fix='check the quotes on that line; a quote inside a quoted value is written as ""',
        ) from None
    if wrong:
        line, count = wrong[0]
        raw = "".join(physical[line - 1 : line]).rstrip("\r\n")
        raise DataError(
            f"a row has {count} fields but the header has {len(header)}",
            source=source,
            lines=[ln for ln, _ in wrong],
            value=raw if len(raw) <= 80 else raw[:77] + "...",
            fix="quote values that contain commas, and give every row one value per header column",
        )
    if not rows:
        raise DataError(
            "the file has a header but no data rows",
            source=source,
            lines=[1],
            fix="add one line per patient below the header",
        )
    cells = np.empty((len(rows), len(header)), dtype=object)
    cells[:] = rows
    frame = pd.DataFrame(cells, columns=pd.Index(header, dtype=object), dtype=object)
    return frame, np.asarray(starts, dtype=np.int64)


def _check_separator(header: list[str], source: str, requested: list[str]) -> None:
    if len(header) != 1 or all(name in header for name in requested):
        return
    for char, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
        if char in header[0]:
            raise DataError(
                f"looks {name}-separated; walkback reads comma-separated CSV",
                source=source,
                lines=[1],
                value=header[0] if len(header[0]) <= 80 else header[0][:77] + "...",
                fix="re-save the file with commas between values "
                f"(e.g. pandas.read_csv(path, sep={char!r}).to_csv(new_path, index=False))",
            )


def read_table(
    path: str | os.PathLike[str], columns: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Read a CSV or Parquet file with the same checks as :func:`read_trial` (text, separator,
    field counts, empty files) and require ``columns``.

    Returns the frame (CSV cells as text), the line (CSV) or row (Parquet) number of each record,
    and the unit name ("line" or "row") for messages.
    """
    source = os.fspath(path)
    data = _read_bytes(Path(source), source)
    suffix = Path(source).suffix.lower()
    if suffix in _PARQUET_SUFFIXES or (
        suffix not in _CSV_SUFFIXES and data.startswith(_PARQUET_MAGIC)
    ):
        frame = _parse_parquet(data, source, time_col="", event_col="")
        lines, unit = np.arange(1, len(frame) + 1), "row"
    else:
        frame, lines = _parse_csv(data, source, list(columns))
        unit = "line"
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"missing column{'s' if len(missing) > 1 else ''} "
            + ", ".join(f"'{c}'" for c in missing),
            source=source,
            fix="the columns present are " + ", ".join(f"'{c}'" for c in frame.columns),
        )
    return frame, lines, unit
