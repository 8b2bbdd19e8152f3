"""Reading large, plain CSV files with pyarrow's reader, as text cells, in little memory.

:func:`walkback.io.read_trial` reads every cell as text with Python's csv module, which needs
about fifteen times the file's size for millions of rows; files that are plain (see
:func:`parse_plain_csv`) give the same cells through pyarrow at about two to three times.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["FAST_CSV_BYTES", "parse_plain_csv"]

#: files at least this large go through :func:`parse_plain_csv` (pyarrow) when they can
FAST_CSV_BYTES = 4 * 2**20


def parse_plain_csv(
    data: bytes, check_header: Callable[[list[str]], None], requested: Sequence[str] = ()
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Parse a large, plain CSV file with pyarrow's reader; None when the file is not plain.

    Plain: UTF-8 without NUL bytes, no quote characters, no blank lines, no lone carriage
    returns, distinct header names, a field per header column on every line. Then every record is
    one line (line numbers are exact) and the cells are the same text as the row-by-row reader's,
    at a fraction of its memory: equal text cells share one object, and the columns not in
    ``requested`` stay as pandas' Arrow-backed text (``pd.ArrowDtype(pa.string())``, the same
    values without a Python object per cell). Anything else (and every
    error) is left to the row-by-row reader (walkback.io), whose messages name lines and values.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if (
        b'"' in body
        or b"\x00" in body
        or b"\n\n" in body.rstrip(b"\r\n")
        or b"\r\n\r\n" in body.rstrip(b"\r\n")
        or body.count(b"\r") != body.count(b"\r\n")
    ):
        return None
    first = body.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        header = next(csv.reader([first.decode("utf-8")]))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return None
    if not header or len(set(header)) != len(header):
        return None
    check_header(header)  # raises DataError for a file with another separator
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                null_values=[],
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows == 0:
        return None
    columns = {}
    wanted = set(requested)
    for name in header:  # one column at a time: the text cells of one column exist at once
        col = table.column(name)
        if name in wanted:
            columns[name] = col.to_pandas(deduplicate_objects=True).to_numpy(object)
        else:
            columns[name] = pd.Series(pd.arrays.ArrowExtensionArray(col))
    del table
    pa.default_memory_pool().release_unused()  # the parsed table's buffers go back to the system
    frame = pd.DataFrame(columns, copy=False)
    frame.columns = pd.Index(header, dtype=object)
    return frame, np.arange(2, len(frame) + 2, dtype=np.int64)
