"""Reading large, plain CSV files with pyarrow's reader, as text cells, in little memory.

:func:`walkback.io.read_trial` reads every cell as text with Python's csv module, which needs
about fifteen times the file's size for millions of rows; files that are plain (see
:func:`parse_plain_csv`) give the same cells through pyarrow, read from the file in blocks, at
a fraction of the file's size when only some columns are kept.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

__all__ = ["FAST_CSV_BYTES", "parse_plain_csv", "used_columns"]

#: files at least this large go through :func:`parse_plain_csv` (pyarrow) when they can
FAST_CSV_BYTES = 4 * 2**20
_BLOCK = 16 * 2**20  # bytes scanned at a time
_BOM = b"\xef\xbb\xbf"


def used_columns(header: Sequence[str], requested: Sequence[str]) -> list[str] | None:
    """The header's columns that ``requested`` names, in file order; None (keep every column)
    unless each requested name is in the header exactly once, so that a missing or ambiguous
    column is reported against the whole header."""
    wanted = set(requested)
    if not all(header.count(name) == 1 for name in wanted):
        return None
    return [h for h in header if h in wanted]


def _file_blocks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            yield block


def _bytes_blocks(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for i in range(0, len(data), _BLOCK):
        yield bytes(view[i : i + _BLOCK])


def _plain_header(blocks: Iterator[bytes]) -> list[str] | None:
    """The header of a plain file given as consecutive blocks of bytes; None when not plain.

    Plain: UTF-8 without NUL bytes, no quote characters, no blank lines (trailing ones
    included), no lone carriage returns, a non-empty header of distinct names.
    """
    utf8 = codecs.getincrementaldecoder("utf-8")()
    first = b""
    tail = b""  # the end of the previous block: patterns may straddle two blocks
    returns = pairs = 0  # carriage returns, and CRLF pairs: equal when none is alone
    for block in blocks:
        if b'"' in block or b"\x00" in block:
            return None
        joined = tail + block
        if b"\n\n" in joined or b"\n\r\n" in joined:
            return None
        returns += block.count(b"\r")
        pairs += joined.count(b"\r\n") - tail.count(b"\r\n")
        try:
            utf8.decode(block)
        except UnicodeDecodeError:
            return None
        if b"\n" not in first:
            first += block[: block.find(b"\n") + 1 or len(block)]
        tail = joined[-2:]
    if returns != pairs:
        return None
    try:
        utf8.decode(b"", final=True)
        line = first.removeprefix(_BOM).split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
        header = next(csv.reader([line]))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return None
    if not header or len(set(header)) != len(header):
        return None
    return header


def _categorical(cells: np.ndarray) -> pd.Categorical | np.ndarray:
    """Text cells as a categorical of the same strings when they repeat, else unchanged."""
    cat = pd.Categorical(cells)
    return cat if len(cat.categories) <= len(cells) // 4 else cells


def parse_plain_csv(
    source: bytes | str | os.PathLike[str],
    check_header: Callable[[list[str]], None],
    requested: Sequence[str] = (),
    *,
    subset: bool = False,
    compact: Sequence[str] = (),
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Parse a large, plain CSV file (its bytes or its path) with pyarrow's reader; None when
    the file is not plain.

    Plain: UTF-8 without NUL bytes, no quote characters, no blank lines, no lone carriage
    returns, distinct header names, a field per header column on every line. Then every record is
    one line (line numbers are exact) and the cells are the same text as the row-by-row reader's,
    at a fraction of its memory: a path is read in blocks (the file is never in memory whole),
    equal text cells share one object, and the columns not in ``requested`` stay as pandas'
    Arrow-backed text (``pd.ArrowDtype(pa.string())``, the same values without a Python object
    per cell). With ``subset`` only the requested columns are kept (see :func:`used_columns`).
    Requested columns named in ``compact`` that repeat their values come as pandas categoricals
    of the same text cells (a code of one to four bytes per row instead of an 8-byte pointer).
    Anything else (and every error) is left to the row-by-row reader (walkback.io), whose
    messages name lines and values.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    is_bytes = isinstance(source, bytes | bytearray)
    try:
        header = _plain_header(
            _bytes_blocks(source) if is_bytes else _file_blocks(os.fspath(source))
        )
    except OSError:
        return None
    if header is None:
        return None
    check_header(header)  # raises DataError for a file with another separator
    keep = (used_columns(header, requested) if subset else None) or header
    try:
        stream = pa.BufferReader(source) if is_bytes else pa.OSFile(os.fspath(source))
        with stream:
            table = pacsv.read_csv(
                stream,
                read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1),
                parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    column_types={h: pa.string() for h in header},
                    null_values=[],
                    strings_can_be_null=False,
                    include_columns=keep,
                ),
            )
    except (pa.ArrowException, ValueError, OSError):
        return None
    if table.num_rows == 0:
        return None
    columns = {}
    wanted = set(requested)
    for name in keep:  # one column at a time: the text cells of one column exist at once
        col = table.column(name)
        if name in wanted:
            cells = col.to_pandas(deduplicate_objects=True).to_numpy(object)
            columns[name] = _categorical(cells) if name in compact else cells
        else:
            columns[name] = pd.Series(pd.arrays.ArrowExtensionArray(col))
    del table, col
    pa.default_memory_pool().release_unused()  # the parsed table's buffers go back to the system
    frame = pd.DataFrame(columns, copy=False)
    frame.columns = pd.Index(keep, dtype=object)
    return frame, np.arange(2, len(frame) + 2, dtype=np.int64)
