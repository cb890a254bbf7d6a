"""Serial line protocols: framing, checksums, the three formats, and bytes nobody should send."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_lstm.errors import FrameError
from edge_lstm.sources.lines import LineAssembler, LineParser, nmea_checksum, strip_checksum

FEATURES = ("a", "b", "c")


def with_checksum(text: str) -> str:
    return f"{text}*{nmea_checksum(text):02X}"


def test_lines_split_across_reads_are_reassembled() -> None:
    assembler = LineAssembler()
    chunks = [b"1,2", b",3\r\n4,5,", b"6\n\n", b"7,8,9\r", b"\n"]
    lines = [line for chunk in chunks for line in assembler.feed(chunk)]
    assert lines == [b"1,2,3", b"4,5,6", b"7,8,9"]


def test_cr_line_endings() -> None:
    assert LineAssembler(line_ending="cr").feed(b"1,2\r3,4\r\n5") == [b"1,2", b"3,4"]


def test_an_overlong_line_is_dropped_whole_and_the_buffer_stays_bounded() -> None:
    assembler = LineAssembler(max_line=16)
    lines = assembler.feed(b"1,2\n" + b"9" * 40)
    lines += assembler.feed(b"9" * 1000)
    assert len(assembler._buffer) <= 16
    lines += assembler.feed(b"99\n3,4\n")
    assert lines == [b"1,2", b"3,4"] and assembler.overlong == 1


def test_nmea_checksum() -> None:
    assert strip_checksum("$GPGLL,5057.970,N*" + format(nmea_checksum("GPGLL,5057.970,N"), "02X")) == (
        "GPGLL,5057.970,N"
    )
    with pytest.raises(FrameError) as wrong:
        strip_checksum("1,2,3*00")
    assert wrong.value.reason == "checksum"
    with pytest.raises(FrameError) as missing:
        strip_checksum("1,2,3")
    assert missing.value.reason == "checksum_missing"


def test_forwarder_drops_the_first_line_and_learns_the_channel_count_from_the_second() -> None:
    parser = LineParser("forwarder", FEATURES)
    assert parser.parse(b".5,2") is None  # a line cut short: the port opened in its middle
    values, _ = parser.parse(b"1.5\t2 , 3") or (None, None)
    np.testing.assert_array_equal(values, [1.5, 2, 3])
    assert parser.detected_channels == 3
    with pytest.raises(FrameError) as short:
        parser.parse(b"1 2")
    assert short.value.reason == "wrong_length"
    parser.restart()
    assert parser.parse(b"4,5,6") is None


def test_forwarder_reports_the_channel_count_the_device_sends() -> None:
    parser = LineParser("forwarder", FEATURES)
    parser.parse(b"x")
    with pytest.raises(FrameError):
        parser.parse(b"1,2,3,4")
    assert parser.detected_channels == 4


def test_csv_header_maps_columns_by_name_in_any_order() -> None:
    parser = LineParser("csv", FEATURES)
    assert parser.parse(b"c,a,b,extra") is None
    values, _ = parser.parse(b"3,1,2,99") or (None, None)
    np.testing.assert_array_equal(values, [1, 2, 3])
    np.testing.assert_array_equal(LineParser("csv", FEATURES).parse(b"1,,3")[0], [1, np.nan, 3])  # type: ignore[index]
    with pytest.raises(FrameError) as bad:
        LineParser("csv", FEATURES).parse(b"a,b,z")
    assert bad.value.reason == "header"


def test_on_off_states_are_readings_not_a_header() -> None:
    parser = LineParser("csv", FEATURES)
    np.testing.assert_array_equal(parser.parse(b"on,OFF,true")[0], [1, 0, 1])  # type: ignore[index]
    assert parser.header is None  # a line of states is data


def test_a_header_names_the_watched_channels_too_and_they_are_nan_when_not_sent() -> None:
    parser = LineParser("csv", FEATURES, watched=("extra", "gone"))
    assert parser.parse(b"c,a,extra,b") is None
    np.testing.assert_array_equal(parser.parse(b"3,1,99,2")[0], [1, 2, 3, 99, np.nan])  # type: ignore[index]
    np.testing.assert_array_equal(parser.parse(b"3,1,,2")[0], [1, 2, 3, np.nan, np.nan])  # type: ignore[index]


def test_json_lines_with_checksum() -> None:
    parser = LineParser("json", FEATURES, checksum="nmea")
    line = with_checksum('{"a": 1, "b": 2, "c": 3}').encode()
    np.testing.assert_array_equal(parser.parse(line)[0], [1, 2, 3])  # type: ignore[index]
    with pytest.raises(FrameError) as bad:
        parser.parse(b'{"a": 1, "b": 2, "c": 3}*7F')
    assert bad.value.reason == "checksum"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\xff\xfe1,2,3", "not_utf8"),
        (b"1,2,abc", "not_a_number"),
        (b"1,2", "wrong_length"),
        (b"1,2,3,4", "wrong_length"),
        (b"\x00\x01\x02", "wrong_length"),
    ],
)
def test_bad_lines_are_refused_with_a_reason(line: bytes, reason: str) -> None:
    parser = LineParser("forwarder", FEATURES)
    parser.parse(b"first")
    with pytest.raises(FrameError) as error:
        parser.parse(line)
    assert error.value.reason == reason


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=40), st.sampled_from(["forwarder", "csv", "json"]), st.booleans())
def test_any_bytes_give_lines_values_or_counted_refusals(chunks: list[bytes], fmt: str, checksum: bool) -> None:
    assembler = LineAssembler(max_line=32)
    parser = LineParser(fmt, FEATURES, checksum="nmea" if checksum else "none")
    fed = 0
    for chunk in chunks:
        for line in assembler.feed(chunk):
            fed += 1
            assert 0 < len(line) <= 32 and b"\n" not in line
            try:
                parsed = parser.parse(line)
            except FrameError as error:
                assert error.reason
                continue
            if parsed is not None:
                assert parsed[0].shape == (3,)
    assert len(assembler._buffer) <= 32
    assert fed + assembler.overlong <= sum(c.count(b"\n") for c in chunks) + 1
