"""The plain-CSV reader (pyarrow, large files) gives the row-by-row reader's trial, or leaves the
file to it: same cells, rows, lines and errors. Files are small here; the size threshold and the
block size are lowered so that both readers and block boundaries are exercised."""

from __future__ import annotations

import numpy as np
import pytest

from walkback import io as wio
from walkback import plain_csv
from walkback.exceptions import DataError
from walkback.io import read_trial

HEADER = b"id,arm,note,days,event\n"
ROWS = [
    b"a1,ctl,x,10,1\n",
    b"a2,trt, y ,20.5,0\n",
    b"a3,trt,\xc3\xa9t\xc3\xa9,7,1\n",
    b"a4,ctl,,30,0\n",
    b"a5,trt,z,3,1\n",
]
ROLES = dict(time_col="days", event_col="event", arm_col="arm", control="ctl")


def _read(path, *, fast: bool, block: int = 5, **kw):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plain_csv, "FAST_CSV_BYTES", 0 if fast else 1 << 62)
        mp.setattr(plain_csv, "_BLOCK", block)
        return read_trial(path, **ROLES, **kw)


def _same(a, b) -> None:
    for name in ("time", "event", "arm", "lines"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert list(a.frame.columns) == list(b.frame.columns)
    for col in a.frame.columns:
        assert a.frame[col].tolist() == b.frame[col].tolist(), col


def _forbid_rows(monkeypatch) -> None:
    def refuse(*args, **kw):
        raise AssertionError("the plain file went to the row-by-row reader")

    monkeypatch.setattr(wio, "_parse_csv_rows", refuse)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["nobom", "bom"])
@pytest.mark.parametrize("block", [1, 2, 3, 7, 1 << 20])
@pytest.mark.parametrize("extra", [True, False], ids=["all", "used"])
def test_plain_file_same_trial_as_row_reader(tmp_path, newline, bom, block, extra):
    path = tmp_path / "t.csv"
    path.write_bytes(bom + b"".join(r.replace(b"\n", newline) for r in [HEADER, *ROWS]))
    slow = _read(path, fast=False, extra_columns=extra)
    with pytest.MonkeyPatch.context() as mp:
        _forbid_rows(mp)
        fast = _read(path, fast=True, block=block, extra_columns=extra)
    _same(fast, slow)
    assert list(fast.frame.columns) == (
        ["id", "arm", "note", "days", "event"] if extra else ["arm", "days", "event"]
    )


def test_used_columns_of_a_large_file_are_compact_and_covariates_stay_text(tmp_path):
    """Role columns that repeat come as categoricals of the same text; a covariate stays an
    object column (the model reads covariates by their type)."""
    path = tmp_path / "t.csv"
    path.write_bytes(HEADER + b"".join(ROWS) * 8)
    kw = dict(extra_columns=False, covariates=["id"])
    fast, slow = _read(path, fast=True, **kw), _read(path, fast=False, **kw)
    _same(fast, slow)
    assert list(fast.frame.columns) == ["id", "arm", "days", "event"]
    assert {c: str(fast.frame[c].dtype) for c in fast.frame.columns} == {
        "id": "object",
        "arm": "category",
        "days": "category",
        "event": "category",
    }


@pytest.mark.parametrize(
    "tail",
    [b"\n", b"\n\n", b"\r\n\r\n"[1:], b'a6,ctl,"q",4,1\n'],
    ids=["blank", "blanks", "crlf-blank", "quoted"],
)
def test_files_that_are_not_plain_give_the_row_readers_trial(tmp_path, tail):
    """Trailing blank lines (once read as rows of empty cells) and quotes go row by row."""
    path = tmp_path / "t.csv"
    path.write_bytes(HEADER + b"".join(ROWS) + tail)
    _same(_read(path, fast=True), _read(path, fast=False))
    assert _read(path, fast=True, extra_columns=False).n == len(ROWS) + tail.startswith(b"a6")


@pytest.mark.parametrize(
    "bad",
    [b"a6,trt,\xff,4,1\n", b"a6,trt,p\rq,4,1\n", b"a6,trt,q,4\n", b"\n" + ROWS[0]],
    ids=["latin1-unused-column", "lone-cr", "short-row", "blank-inside"],
)
@pytest.mark.parametrize("extra", [True, False], ids=["all", "used"])
def test_bad_files_give_the_row_readers_error(tmp_path, bad, extra):
    path = tmp_path / "t.csv"
    path.write_bytes(HEADER + b"".join(ROWS) + bad)
    errors = []
    for fast in (True, False):
        with pytest.raises(DataError) as err:
            _read(path, fast=fast, block=3, extra_columns=extra)
        errors.append(str(err.value))
    assert errors[0] == errors[1]


def test_missing_column_is_reported_against_the_whole_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(HEADER + b"".join(ROWS))
    with pytest.raises(DataError, match="'id', 'arm', 'note', 'days', 'event'"):
        read_trial(path, **{**ROLES, "time_col": "dayz"}, extra_columns=False)
