"""The CSV input contract, the training data policy, and exact error messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_lstm.sources.csv_file import CSVFormatError, read_csv
from edge_lstm.sources.csv_stream import CSVSource

SKAB_LIKE = (
    "datetime;Accelerometer1RMS;Current;Volume Flow RateRMS;anomaly;changepoint\r\n"
    "2020-03-09 10:14:33;0.0265;1.33;32.0;0.0;0.0\r\n"
    "2020-03-09 10:14:34;0.0261;1.35;32.0;0.0;0.0\r\n"
    "2020-03-09 10:14:36;0.0262;;32.0;1.0;1.0\r\n"
)


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, newline="")
    return path


def test_skab_format_needs_no_flags(tmp_path: Path) -> None:
    rec = read_csv(write(tmp_path, SKAB_LIKE))
    assert rec.features == ["Accelerometer1RMS", "Current", "Volume Flow RateRMS"]
    assert rec.timestamps is not None and list(np.diff(rec.timestamps)) == [1.0, 2.0]
    assert np.isnan(rec.values[2, 1])  # empty cell -> NaN, never 0
    assert list(rec.labels["anomaly"]) == [0.0, 0.0, 1.0]


def test_a_full_skab_shaped_file_needs_no_flags(tmp_path: Path) -> None:
    # SKAB's own layout, written here (its data is GPL-3.0 and not part of the repo): ';' separated,
    # a space between date and time, eight sensors, then the two label columns.
    sensors = (
        "Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;Temperature;Thermocouple;Voltage;Volume Flow RateRMS"
    )
    lines = [f"datetime;{sensors};anomaly;changepoint"]
    for i in range(1200):
        stamp = f"2020-03-09 10:{14 + i // 60:02d}:{i % 60:02d}"
        lines.append(f"{stamp};0.0266;0.0401;1.33;0.0547;79.3;26.0;233.1;32.0;{float(i >= 900)};{float(i == 900)}")
    rec = read_csv(write(tmp_path, "\n".join(lines) + "\n"))
    assert rec.features == sensors.split(";") and len(rec) == 1200
    assert rec.timestamps is not None and set(np.diff(rec.timestamps)) == {1.0}
    assert rec.labels["anomaly"].sum() == 300 and rec.labels["changepoint"].sum() == 1


def test_explicit_columns_and_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "t\tx\ty\n1\t2\t3\n2\t4\t5\n")
    rec = read_csv(path, sep="tab", timestamp="t", columns=["y"])
    assert rec.features == ["y"] and list(rec.values[:, 0]) == [3.0, 5.0]


def test_optional_columns_follow_and_are_nan_when_the_file_lacks_them(tmp_path: Path) -> None:
    path = write(tmp_path, "t,x,y,z\n1,2,3,4\n2,4,5,6\n")
    rec = read_csv(path, timestamp="t", columns=["y"], optional=["x", "absent"])
    assert rec.features == ["y", "x", "absent"]
    assert rec.values[:, :2].tolist() == [[3.0, 2.0], [5.0, 4.0]] and np.isnan(rec.values[:, 2]).all()


def test_missing_column_names_what_is_there(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(CSVFormatError, match=rf"^{path}: column 'c' not found; available columns: a, b$"):
        read_csv(path, columns=["a", "c"])


def test_on_off_and_true_false_are_one_and_zero_as_on_the_device(tmp_path: Path) -> None:
    path = write(tmp_path, "flow,running,valve\n2.5,true,ON\n0.1,False,off\n")
    assert read_csv(path).values.tolist() == [[2.5, 1.0, 1.0], [0.1, 0.0, 0.0]]


def test_non_numeric_value_names_line_and_column_and_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n3,oops\n")
    message = (
        rf"^{path}:3: column 'b' has non-numeric value 'oops'; if it is not a sensor, leave it out with --exclude 'b'$"
    )
    with pytest.raises(CSVFormatError, match=message):
        read_csv(path)
    with pytest.raises(CSVFormatError, match=r"'oops'; every chosen column must hold numbers$"):
        read_csv(path, columns=["a", "b"])
    clock = write(tmp_path, "Zeit,a\n2026-01-05 10:00:00,1\n", "zeit.csv")
    with pytest.raises(CSVFormatError, match=r"; if it is the time of each row, name it with --timestamp 'Zeit'$"):
        read_csv(clock)
    commas = write(tmp_path, "a;b\n1,5;2\n", "commas.csv")
    with pytest.raises(CSVFormatError, match=r"'1,5'; decimal commas are not read: write the number with a point"):
        read_csv(commas)
    grouped = {
        "1,165,267.82": r"thousands separators are not read: write the number without them "
        r"\(1165267.82, not 1,165,267.82\)$",
        "1,500": r"a comma is not read, as a decimal comma or as a thousands separator: write 1500 or 1.500$",
    }
    for number, fix in grouped.items():
        path = write(tmp_path, f'timestamp,value\n1,"{number}"\n', "grouped.csv")
        with pytest.raises(CSVFormatError, match=f"'{number}'; " + fix):
            read_csv(path)


def test_comment_lines_before_the_header_are_passed_over_and_said(tmp_path: Path) -> None:
    path = write(tmp_path, "# exported from grafana\n# 2026-01-05\ntimestamp,a\n1,10\n2,oops\n")
    with pytest.raises(CSVFormatError, match=r":5: column 'a' has non-numeric value 'oops'"):  # the file's own line
        read_csv(path)
    path.write_text("# exported from grafana\ntimestamp,a\n1,10\n2,20\n")
    rec = read_csv(path)
    assert rec.features == ["a"] and rec.values[:, 0].tolist() == [10.0, 20.0]
    assert rec.notes == [f"{path}: 1 comment line (#) before the header; not read"]


def test_a_file_written_newest_first_is_read_oldest_first_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,a,anomaly\n3,30,1\n2,20,0\n1,10,0\n")
    rec = read_csv(path)
    assert rec.timestamps is not None and rec.timestamps.tolist() == [1.0, 2.0, 3.0]
    assert rec.values[:, 0].tolist() == [10.0, 20.0, 30.0] and rec.labels["anomaly"].tolist() == [0.0, 0.0, 1.0]
    assert rec.notes == [f"{path}: rows are newest first; read oldest first"]
    shuffled = read_csv(write(tmp_path, "timestamp,a\n1,10\n3,30\n2,20\n", "shuffled.csv"))
    assert shuffled.values[:, 0].tolist() == [10.0, 30.0, 20.0] and shuffled.notes == []  # kept as recorded


@pytest.mark.parametrize(
    ("encoding", "note"),
    [
        ("utf-8-sig", None),
        ("cp1252", "not UTF-8 (byte 21); read as Windows-1252"),  # a spreadsheet export on Windows
        ("utf-16", "read as UTF-16 text"),  # Excel's "Unicode text", byte-order mark first
    ],
)
def test_windows_exports_are_read_with_their_encoding_on_both_readers(
    tmp_path: Path, encoding: str, note: str | None
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("timestamp\tTemperatur °C\n1\t21.5\n2\t21.0\n".encode(encoding))
    rec = read_csv(path)
    assert rec.features == ["Temperatur °C"] and rec.values[:, 0].tolist() == [21.5, 21.0]
    assert rec.notes == ([] if note is None else [f"{path}: {note}"])
    stream = CSVSource(path)  # the device's reader names the same channel
    assert stream.features == ["Temperatur °C"] and [s.values[0] for s in stream.take()] == [21.5, 21.0]


def test_the_stream_counts_a_row_spoilt_by_a_bad_byte_past_the_first_megabyte(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(b"a\n" + b"1\n" * (1 << 19) + b"\xff\n2\n")
    stream = CSVSource(path, batch=1 << 20)
    values = [s.values[0] for s in stream.take()]
    assert len(values) == (1 << 19) + 1 and values[-1] == 2.0
    assert stream.counters["bad_frame.not_a_number"] == 1 and stream.counters["bad_frames"] == 1


def test_a_binary_file_and_bad_bytes_past_the_first_megabyte_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "model.tflite"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(CSVFormatError, match=rf"^{binary}: not a text file \(it contains NUL bytes\); expected a CSV$"):
        read_csv(binary)
    late = tmp_path / "late.csv"
    late.write_bytes(b"a\n" + b"1\n" * (1 << 20) + "\u00b0\n".encode("utf-8")[:1] + b"\n")
    with pytest.raises(CSVFormatError, match=rf"^{late}: not UTF-8 text past its first megabyte; save it as UTF-8$"):
        read_csv(late)


def test_epoch_milliseconds_and_microseconds_are_read_as_seconds(tmp_path: Path) -> None:
    rec = read_csv(write(tmp_path, "ts,a\n1767225600000,1\n1767225601000,2\n1767225602000000,3\n"))
    assert rec.timestamps is not None and rec.timestamps.tolist() == [1767225600.0, 1767225601.0, 1767225602.0]


def test_bad_timestamp(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,a\nyesterday,1\n")
    with pytest.raises(CSVFormatError, match=r":2: cannot parse timestamp 'yesterday' in column 'timestamp'"):
        read_csv(path)


def test_missing_timestamp_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(CSVFormatError, match=r"timestamp column 'when' not found; available columns: a, b$"):
        read_csv(path, timestamp="when")


def test_sensors_need_a_name_of_their_own(tmp_path: Path) -> None:
    with pytest.raises(CSVFormatError, match=r": the header names columns 2 and 3 both 'a'; rename one$"):
        read_csv(write(tmp_path, "ts,a,a\n1,2,3\n", "twice.csv"))
    # A separator at the end of each line leaves an empty column with no name: not read, and said.
    trailing = write(tmp_path, "ts;a;b;\n1;2;3;\n2;4;5;\n", "trailing.csv")
    rec = read_csv(trailing)
    assert rec.features == ["a", "b"] and rec.values.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    assert rec.notes == [f"{trailing}: header column 4 has no name; not read"]
    # Columns not read may share a name (an export's unused extras).
    assert read_csv(write(tmp_path, "ts,a,a,b\n1,2,3,4\n", "chosen.csv"), columns=["b"]).features == ["b"]


def test_ragged_row_empty_file_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(CSVFormatError, match=r":3: expected 2 fields, found 3$"):
        read_csv(write(tmp_path, "a,b\n1,2\n1,2,3\n"))
    with pytest.raises(CSVFormatError, match=r"the file is empty; expected a header row$"):
        read_csv(write(tmp_path, "", "empty.csv"))
    with pytest.raises(CSVFormatError, match=r"no data rows after the header$"):
        read_csv(write(tmp_path, "a,b\n", "header.csv"))
    with pytest.raises(CSVFormatError, match=r"no such file$"):
        read_csv(tmp_path / "absent.csv")


def test_nan_rows_and_gaps_cut_training_segments(tmp_path: Path) -> None:
    from edge_lstm_train.data import split_recordings

    rows = ["timestamp,a,b"]
    for t in range(100):
        second = t if t < 60 else t + 100  # a 100 s gap after row 59
        value = "nan" if t == 20 else str(t)
        rows.append(f"{second},{value},{t * 2}")
    rec = read_csv(write(tmp_path, "\n".join(rows) + "\n"))
    splits = split_recordings([rec], val_fraction=0.1, calib_fraction=0.1, max_gap_periods=5, min_rows=10)
    assert splits.dropped_nan_rows == 1 and splits.gap_cuts == 1 and splits.sample_period_s == 1.0
    assert [len(s) for s in splits.train] == [20, 39, 20]
    assert all(np.isfinite(s).all() for s in splits.train)
    # A piece too short to learn from is joined to its neighbour across the gap (never across NaN).
    bridged = split_recordings([rec], val_fraction=0.1, calib_fraction=0.1, max_gap_periods=5, min_rows=30)
    assert [len(s) for s in bridged.train] == [20, 59] and bridged.bridged == 1 and bridged.gap_cuts == 0


def test_a_header_repeated_where_two_exports_were_joined_is_passed_over_and_said(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,a,b\n1,10,0\n2,11,0\ntimestamp,a,b\n3,12,1\n4,13,1\n")
    rec = read_csv(path)
    assert rec.values[:, 0].tolist() == [10.0, 11.0, 12.0, 13.0]
    assert rec.notes == [f"{path}: the header repeats on line 4; not read as data"]
    chosen = read_csv(path, columns=["b"])  # as replay reads a bundle's columns
    assert chosen.values[:, 0].tolist() == [0.0, 0.0, 1.0, 1.0]


def test_labels_other_than_0_and_a_positive_mark_are_refused_with_the_convention(tmp_path: Path) -> None:
    marks = write(tmp_path, "timestamp,a,anomaly\n1,10,0\n2,11,3\n3,12,\n4,13,true\n")
    assert read_csv(marks).labels["anomaly"].tolist()[:2] == [0.0, 3.0]  # a fault number marks an anomaly too
    for bad in ("-1", "0.5"):
        path = write(tmp_path, f"timestamp,a,anomaly\n1,10,0\n2,11,{bad}\n", "bad.csv")
        message = rf":3: label column 'anomaly' has '{bad}'; mark each anomalous row with 1 \(or a positive fault"
        with pytest.raises(CSVFormatError, match=message):
            read_csv(path)
