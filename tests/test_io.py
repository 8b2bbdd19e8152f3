"""Tests for read_trial and TrialData: rows in equal rows out, or a one-line DataError."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkback.exceptions import DataError
from walkback.io import read_trial
from walkback.schema import TrialData

ARGS = dict(time_col="time", event_col="status", arm_col="arm", treatment="drug", control="placebo")

GOOD = (
    "id,time,status,arm,site\n"
    "p1,5,1,drug,north\n"
    "p2,3.5,0,placebo,south\n"
    "p3,0,1,drug,south\n"
    "p4,12,0,placebo,north\n"
)


def write(tmp_path: Path, text: str | bytes, name: str = "trial.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def rows(*lines: str, header: str = "time,status,arm") -> str:
    return "\n".join([header, *lines]) + "\n"


def error_for(path: Path, **overrides: object) -> str:
    with pytest.raises(DataError) as info:
        read_trial(path, **{**ARGS, **overrides})
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def located(message: str, where: str) -> bool:
    """True if the message's location part names ``where`` (e.g. "line 3" or "lines 3, 5")."""
    return re.search(rf"\b{re.escape(where)}\b", message) is not None


# ---------------------------------------------------------------------------------------- valid


def test_reads_good_file(tmp_path: Path) -> None:
    td = read_trial(write(tmp_path, GOOD), **ARGS)
    assert isinstance(td, TrialData)
    assert (td.n, td.n_treatment, td.n_control, td.n_events) == (4, 2, 2, 2)
    np.testing.assert_array_equal(td.time, [5.0, 3.5, 0.0, 12.0])
    np.testing.assert_array_equal(td.event, [1, 0, 1, 0])
    np.testing.assert_array_equal(td.treated, [True, False, True, False])
    assert td.time.dtype == np.float64 and td.event.dtype == np.int8 and td.treated.dtype == bool
    assert td.strata is None and td.strata_labels == ()
    assert td.source == str(tmp_path / "trial.csv")
    assert (td.treatment, td.control) == ("drug", "placebo")


def test_extra_columns_and_text_cells_kept(tmp_path: Path) -> None:
    td = read_trial(write(tmp_path, GOOD), **ARGS)
    assert list(td.frame.columns) == ["id", "time", "status", "arm", "site"]
    assert td.frame["site"].tolist() == ["north", "south", "south", "north"]
    assert td.frame["id"].tolist() == ["p1", "p2", "p3", "p4"]  # text stays text


def test_rows_in_equal_rows_out_and_order_preserved(tmp_path: Path) -> None:
    times = [9, 1, 7, 3, 8, 2, 6, 4, 5, 0]
    lines = [f"{t},{t % 2},{'drug' if t % 3 else 'placebo'}" for t in times]
    td = read_trial(write(tmp_path, rows(*lines)), **ARGS)
    assert td.n == len(td.frame) == len(times)
    np.testing.assert_array_equal(td.time, times)
    assert td.frame["time"].tolist() == [str(t) for t in times]


def test_arrays_are_read_only(tmp_path: Path) -> None:
    td = read_trial(write(tmp_path, GOOD), **ARGS, strata="site")
    for arr in (td.time, td.event, td.treated, td.strata):
        assert arr is not None and not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 0


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()
    td = read_trial(write(tmp_path, data), **ARGS)
    assert list(td.frame.columns)[0] == "id"
    assert td.frame["site"].tolist() == ["north", "south", "south", "north"]  # no stray \r
    np.testing.assert_array_equal(td.time, [5.0, 3.5, 0.0, 12.0])


def test_quoted_arm_labels_with_commas_and_quotes(tmp_path: Path) -> None:
    text = rows(
        '1,1,"drug, 10 mg ""high"""', '2,0,"placebo, matched"', '3,1,"drug, 10 mg ""high"""'
    )
    labels = {"treatment": 'drug, 10 mg "high"', "control": "placebo, matched"}
    td = read_trial(write(tmp_path, text), **{**ARGS, **labels})
    np.testing.assert_array_equal(td.treated, [True, False, True])
    assert td.frame["arm"].tolist()[1] == "placebo, matched"


def test_quoted_value_spanning_lines_keeps_line_numbers(tmp_path: Path) -> None:
    text = 'time,status,arm,note\n1,1,drug,\n2,0,placebo,"two\nline note"\n-3,1,drug,\n'
    message = error_for(write(tmp_path, text))
    assert located(message, "line 5")  # header 1, rows on lines 2, 3-4 and 5


def test_whitespace_around_numbers_and_labels(tmp_path: Path) -> None:
    td = read_trial(write(tmp_path, rows("  5 , 1 , drug ", "\t3.5,0.0 ,placebo")), **ARGS)
    np.testing.assert_array_equal(td.time, [5.0, 3.5])
    np.testing.assert_array_equal(td.event, [1, 0])
    np.testing.assert_array_equal(td.treated, [True, False])


def test_integer_float_and_zero_times(tmp_path: Path) -> None:
    td = read_trial(
        write(tmp_path, rows("0,1,drug", "7,0,placebo", "2.25,1,drug", "1e2,0,placebo")), **ARGS
    )
    np.testing.assert_array_equal(td.time, [0.0, 7.0, 2.25, 100.0])


@pytest.mark.parametrize("zero,one", [("0", "1"), ("0.0", "1.0")])
def test_event_text_accepted(tmp_path: Path, zero: str, one: str) -> None:
    td = read_trial(write(tmp_path, rows(f"1,{one},drug", f"2,{zero},placebo")), **ARGS)
    np.testing.assert_array_equal(td.event, [1, 0])


def test_trailing_blank_lines_accepted(tmp_path: Path) -> None:
    td = read_trial(write(tmp_path, rows("1,1,drug", "2,0,placebo") + "\n\n"), **ARGS)
    assert td.n == 2


def test_numeric_labels_compared_as_text(tmp_path: Path) -> None:
    td = read_trial(
        write(tmp_path, rows("1,1,1", "2,0,0")), **{**ARGS, "treatment": 1, "control": 0}
    )
    assert (td.treatment, td.control) == ("1", "0")
    np.testing.assert_array_equal(td.treated, [True, False])


def test_strata_codes_and_labels(tmp_path: Path) -> None:
    text = rows(
        "1,1,drug,b,2",
        "2,0,placebo,a,1",
        "3,1,drug,b,1",
        "4,0,placebo,a,1",
        header="time,status,arm,s1,s2",
    )
    td = read_trial(write(tmp_path, text), **ARGS, strata=("s1", "s2"))
    assert td.strata_labels == ("s1=a, s2=1", "s1=b, s2=1", "s1=b, s2=2")
    np.testing.assert_array_equal(td.strata, [2, 0, 1, 0])
    assert td.strata is not None and td.strata.dtype == np.int64
    one = read_trial(write(tmp_path, GOOD), **ARGS, strata="site")
    assert one.strata_labels == ("site=north", "site=south")
    np.testing.assert_array_equal(one.strata, [0, 1, 1, 0])
    assert one.strata_cols == ("site",)


def test_unique_ids_accepted(tmp_path: Path) -> None:
    td = read_trial(write(tmp_path, GOOD), **ARGS, id_col="id")
    assert td.id_col == "id"


def test_parquet_round_trip_matches_csv(tmp_path: Path) -> None:
    csv_path = write(tmp_path, GOOD)
    from_csv = read_trial(csv_path, **ARGS, strata="site", id_col="id")
    frame = pd.DataFrame(
        {
            "id": ["p1", "p2", "p3", "p4"],
            "time": [5, 3.5, 0, 12],
            "status": [1, 0, 1, 0],
            "arm": ["drug", "placebo", "drug", "placebo"],
            "site": ["north", "south", "south", "north"],
        }
    )
    for name in ("trial.parquet", "trial.pq", "trial.data"):  # the last one is sniffed
        pq_path = tmp_path / name
        frame.to_parquet(pq_path)
        from_pq = read_trial(pq_path, **ARGS, strata="site", id_col="id")
        for attr in ("time", "event", "treated", "strata"):
            np.testing.assert_array_equal(getattr(from_pq, attr), getattr(from_csv, attr))
            assert getattr(from_pq, attr).dtype == getattr(from_csv, attr).dtype
        assert from_pq.strata_labels == from_csv.strata_labels
        assert list(from_pq.frame.columns) == list(frame.columns)


def test_parquet_typed_columns(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    pd.DataFrame(
        {"time": [1, 2, 3], "status": [True, False, True], "arm": [1.0, 2.0, 1.0]}
    ).to_parquet(path)
    td = read_trial(path, **{**ARGS, "treatment": 1, "control": "2"})
    np.testing.assert_array_equal(td.event, [1, 0, 1])
    np.testing.assert_array_equal(td.treated, [True, False, True])
    assert (td.treatment, td.control) == ("1", "2")


def test_unknown_extension_sniffed_as_csv(tmp_path: Path) -> None:
    td = read_trial(write(tmp_path, GOOD, name="trial.dat"), **ARGS)
    assert td.n == 4


def test_from_frame_and_subset() -> None:
    df = pd.DataFrame(
        {
            "time": [1.0, 2.0, 3.0, 4.0],
            "status": [1, 0, 1, 1],
            "arm": ["drug", "placebo", "drug", "placebo"],
            "s": ["x", "y", "z", "y"],
        }
    )
    td = TrialData.from_frame(df, **ARGS, strata="s")
    assert td.source == "<DataFrame>"
    df.loc[0, "time"] = 99.0  # the container does not share the caller's frame
    assert td.frame["time"].iloc[0] == 1.0
    sub = td.subset(np.array([False, True, True, True]))
    np.testing.assert_array_equal(sub.time, [2.0, 3.0, 4.0])
    assert sub.strata_labels == ("s=y", "s=z")
    np.testing.assert_array_equal(sub.strata, [0, 1, 0])
    assert not sub.time.flags.writeable
    with pytest.raises(DataError, match="no rows in the control arm 'placebo'"):
        td.subset(np.array([True, False, True, False]))
    with pytest.raises(TypeError):
        td.subset([1, 0, 1, 0])


def test_from_frame_messages_use_given_line_offset() -> None:
    df = pd.DataFrame({"time": [1.0, -2.0], "status": [1, 0], "arm": ["drug", "placebo"]})
    with pytest.raises(DataError, match=r"<DataFrame>, column 'time', line 3: time is negative"):
        TrialData.from_frame(df, **ARGS)
    with pytest.raises(DataError, match=r"column 'time', row 2: time is negative"):
        TrialData.from_frame(df, **ARGS, line_offset=1, line_unit="row")


def test_no_warnings_on_typical_read(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    read_trial(write(tmp_path, GOOD), **ARGS, strata="site", id_col="id")
    assert len(recwarn) == 0


# -------------------------------------------------------------------------------------- rejected


def test_missing_file(tmp_path: Path) -> None:
    message = error_for(tmp_path / "nope.csv")
    assert "file not found" in message


def test_directory_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    assert "is a directory" in error_for(tmp_path / "dir.csv")


def test_missing_column_lists_existing(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, GOOD), event_col="event")
    assert "missing column 'event' (event_col)" in message
    for name in ("id", "time", "status", "arm", "site"):
        assert repr(name) in message
    assert "column 'event'" in message


def test_missing_columns_several_and_case_hint(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, GOOD), time_col="Time", strata=("centre",))
    assert "'Time' (time_col)" in message and "'centre' (strata)" in message
    assert "did you mean 'time'?" in message


@pytest.mark.parametrize(
    "cell,rule",
    [
        ("", "time is empty"),
        ("abc", "time is not a number"),
        ("3 days", "time is not a number"),
        ("1,5", None),  # unquoted comma: reported as a field-count problem instead
        ("nan", "time is missing"),
        ("NaN", "time is missing"),
        ("NA", "time is missing"),
        ("inf", "time is infinite"),
        ("-Infinity", "time is infinite"),
        ("1e999", "time is infinite"),
        ("-1", "time is negative"),
        ("-0.5", "time is negative"),
    ],
)
def test_bad_times(tmp_path: Path, cell: str, rule: str | None) -> None:
    text = rows("1,1,drug", "2,0,placebo", f"{cell},1,drug", "4,0,placebo")
    message = error_for(write(tmp_path, text))
    assert located(message, "line 4")
    if rule is None:
        assert "4 fields but the header has 3" in message
        return
    assert "column 'time'" in message and rule in message
    assert f"(got {cell!r})" in message
    assert ">= 0" in message


def test_bad_times_list_all_lines_with_same_problem(tmp_path: Path) -> None:
    text = rows("1,1,drug", "x,0,placebo", "-1,1,drug", "y,0,placebo")
    message = error_for(write(tmp_path, text))
    assert located(message, "lines 3, 5") and "(got 'x')" in message


@pytest.mark.parametrize("cell", ["2", "yes", "", "-1", "0.5", "T", "NA"])
def test_bad_events(tmp_path: Path, cell: str) -> None:
    message = error_for(write(tmp_path, rows("1,1,drug", f"2,{cell},placebo")))
    assert "column 'status'" in message and located(message, "line 3")
    assert f"(got {cell!r})" in message
    assert "0 (censored) or 1 (event)" in message


@pytest.mark.parametrize(("yes", "no"), [("TRUE", "FALSE"), ("true", "false"), ("True", "fAlSe")])
def test_true_false_events_read_as_one_zero(tmp_path: Path, yes: str, no: str) -> None:
    td = read_trial(write(tmp_path, rows(f"1,{yes},drug", f"2,{no},placebo")), **ARGS)
    assert td.event.tolist() == [1, 0]


def test_r_status_coding_is_refused_with_the_fix(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, rows("1,2,drug", "2,1,placebo", "3,2,drug")))
    assert located(message, "lines 2, 4") and "values found: '1', '2'" in message
    assert "--event-value 2 --censor-value 1" in message
    td = read_trial(
        write(tmp_path, rows("1,2,drug", "2,1,placebo", "3,2,drug")),
        **ARGS,
        event_value=2,
        censor_value=1,
    )
    assert td.event.tolist() == [1, 0, 1]


def test_unexpected_arm_labels(tmp_path: Path) -> None:
    text = rows("1,1,drug", "2,0,Placebo", "3,1,placebo", "4,0,", "5,1,drug")
    message = error_for(write(tmp_path, text))
    assert "column 'arm'" in message and located(message, "lines 3, 5")
    assert "(got 'Placebo')" in message
    assert "treatment 'drug'" in message and "control 'placebo'" in message
    assert "labels found: 'drug', 'Placebo', 'placebo', ''" in message
    assert "only in letter case" in message


@pytest.mark.parametrize(
    "present,missing_arm", [("drug", "control 'placebo'"), ("placebo", "treatment 'drug'")]
)
def test_only_one_arm(tmp_path: Path, present: str, missing_arm: str) -> None:
    message = error_for(write(tmp_path, rows(f"1,1,{present}", f"2,0,{present}")))
    assert "column 'arm'" in message and f"no rows in the {missing_arm.split()[0]} arm" in message
    assert missing_arm.split()[1] in message


def test_treatment_equals_control(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, GOOD), control="drug")
    assert "same label 'drug'" in message and "column 'arm'" in message


def test_treatment_equals_control_as_number(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, rows("1,1,1", "2,0,2")), treatment=1, control=1.0)
    assert "same label '1'" in message


def test_duplicate_ids(tmp_path: Path) -> None:
    text = rows(
        "a,1,1,drug", "b,2,0,placebo", "c,3,1,drug", "b,4,0,placebo", header="id,time,status,arm"
    )
    message = error_for(write(tmp_path, text), id_col="id")
    assert "column 'id'" in message and "duplicate id 'b'" in message
    assert located(message, "lines 3, 5") and "first on line 3, again on line 5" in message


def test_empty_id(tmp_path: Path) -> None:
    text = rows("a,1,1,drug", ",2,0,placebo", header="id,time,status,arm")
    message = error_for(write(tmp_path, text), id_col="id")
    assert (
        "column 'id'" in message and located(message, "line 3") and "id value is empty" in message
    )


def test_empty_file(tmp_path: Path) -> None:
    assert "file is empty (0 bytes)" in error_for(write(tmp_path, b""))


def test_whitespace_only_file(tmp_path: Path) -> None:
    assert "file is empty" in error_for(write(tmp_path, "\n \n"))


def test_header_only_file(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, "time,status,arm\n"))
    assert "no data rows" in message and located(message, "line 1")


def test_binary_file(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, b"time,status,arm\n1,1,drug\x00\x01\x02\n"))
    assert "not a UTF-8 text file" in message and located(message, "line 2")


def test_invalid_utf8(tmp_path: Path) -> None:
    data = rows("1,1,drug", "2,0,placebo", "3,1,caf\u00e9").encode("latin-1")
    message = error_for(write(tmp_path, data))
    assert "not a UTF-8 text file" in message and located(message, "line 4")
    assert r"b'\xe9'" in message


def test_parquet_file_with_csv_extension(tmp_path: Path) -> None:
    pd.DataFrame({"time": [1.0], "status": [1], "arm": ["drug"]}).to_parquet(tmp_path / "t.parquet")
    path = write(tmp_path, (tmp_path / "t.parquet").read_bytes(), name="t.csv")
    message = error_for(path)
    assert "not a UTF-8 text file" in message and "Parquet" in message


@pytest.mark.parametrize("sep,name", [(";", "semicolon"), ("\t", "tab")])
def test_not_comma_separated(tmp_path: Path, sep: str, name: str) -> None:
    text = rows(f"1{sep}1{sep}drug", f"2{sep}0{sep}placebo", header=f"time{sep}status{sep}arm")
    message = error_for(write(tmp_path, text))
    assert f"looks {name}-separated; walkback reads comma-separated CSV" in message
    assert located(message, "line 1")


@pytest.mark.parametrize("line,count", [("2,0,placebo,extra", 4), ("2,0", 2)])
def test_wrong_number_of_fields(tmp_path: Path, line: str, count: int) -> None:
    message = error_for(write(tmp_path, rows("1,1,drug", line, "3,1,drug")))
    assert located(message, "line 3") and f"has {count} fields but the header has 3" in message
    assert f"(got {line!r})" in message


def test_unterminated_quote(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, rows("1,1,drug", '2,0,"placebo', "3,1,drug")))
    assert "malformed CSV quoting" in message and located(message, "line 3")


def test_blank_line_inside_data(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, "time,status,arm\n1,1,drug\n\n2,0,placebo\n"))
    assert "blank line" in message and located(message, "line 3")


@pytest.mark.parametrize(
    "cell,rule", [("", "strata value is empty"), ("NA", "strata value is missing")]
)
def test_bad_strata_values(tmp_path: Path, cell: str, rule: str) -> None:
    text = rows("1,1,drug,a", f"2,0,placebo,{cell}", header="time,status,arm,site")
    message = error_for(write(tmp_path, text), strata="site")
    assert "column 'site'" in message and located(message, "line 3") and rule in message
    assert f"(got {cell!r})" in message


def test_duplicate_header_name_for_requested_column(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, rows("1,1,drug,2", header="time,status,arm,time")))
    assert "2 columns are named 'time'" in message


def test_parquet_errors_say_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pd.DataFrame(
        {"time": [1.0, 2.0, -3.0], "status": [1, 0, 1], "arm": ["drug", "placebo", "drug"]}
    ).to_parquet(path)
    message = error_for(path)
    assert "column 'time', row 3: time is negative" in message and "(got -3.0)" in message


def test_parquet_nan_time_and_bad_event(tmp_path: Path) -> None:
    path = tmp_path / "nan.parquet"
    pd.DataFrame(
        {"time": [1.0, float("nan")], "status": [1, 2], "arm": ["drug", "placebo"]}
    ).to_parquet(path)
    message = error_for(path)
    assert "row 2: time is missing" in message and "(got nan)" in message
    pd.DataFrame({"time": [1.0, 2.0], "status": [1, 2], "arm": ["drug", "placebo"]}).to_parquet(
        path
    )
    message = error_for(path)
    assert "column 'status', row 2" in message and "(got 2)" in message


def test_parquet_text_time_rejected(tmp_path: Path) -> None:
    path = tmp_path / "text.parquet"
    pd.DataFrame({"time": ["1", "2"], "status": [1, 0], "arm": ["drug", "placebo"]}).to_parquet(
        path
    )
    message = error_for(path)
    assert "column 'time'" in message and "must be stored as a numeric column" in message


def test_corrupt_parquet(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, b"PAR1 this is not really parquet PAR1", name="x.parquet"))
    assert "not a readable Parquet file" in message
    message = error_for(write(tmp_path, GOOD, name="y.parquet"))
    assert "not a Parquet file" in message
