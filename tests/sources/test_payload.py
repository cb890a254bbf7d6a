"""MQTT payloads decode to the same values, or fail with the same reason and message, whichever JSON
decoder reads them: msgspec first, the standard library for what msgspec refuses."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_lstm.core.samples import parse_number, timestamp_of
from edge_lstm.errors import FrameError
from edge_lstm.sources.payload import PayloadParser

FEATURES = ("a", "b", "c")
readings = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.none(),
    st.booleans(),
    st.sampled_from(["", "nan", "NA", "null", " 2.5 ", "x"]),
)
documents = st.fixed_dictionaries({}, optional={name: readings for name in (*FEATURES, "ts", "w")})


def standard_library_reading(payload: bytes) -> tuple[list[float], float] | str:
    """What the parser gave before msgspec: the standard library's json, then the same field rules."""
    try:
        document = json.loads(payload.decode("utf-8"))
        if not isinstance(document, dict):
            return "wrong_type"
        values = []
        for key in FEATURES:
            if key not in document:
                return "missing_field"
            values.append(parse_number(document[key], key))
        if "ts" not in document:
            return "missing_field"
        return values, timestamp_of(document["ts"])
    except FrameError as error:
        return error.reason
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "not_json"


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=400, deadline=None)
@given(documents)
def test_every_object_payload_reads_as_the_standard_library_reads_it(document: dict[str, object]) -> None:
    payload = json.dumps(document).encode()  # NaN and Infinity as the literals msgspec refuses
    parser = PayloadParser("json", FEATURES, timestamp_field="ts")
    expected = standard_library_reading(payload)
    try:
        values, timestamp = parser.parse(payload)
    except FrameError as error:
        assert error.reason == expected
        return
    assert not isinstance(expected, str), expected
    assert all(same(float(v), e) for v, e in zip(values, expected[0], strict=True)) and timestamp == expected[1]


@pytest.mark.parametrize(
    ("payload", "reason", "message"),
    [
        (b"\xff\xfe{}", "not_utf8", "payload is not UTF-8 text"),
        (b'{"a": "\xff"}', "not_utf8", "payload is not UTF-8 text"),
        (b"not json", "not_json", "payload is not JSON: 'not json'"),
        (b"{" * 5000, "not_json", f"payload is not JSON: {'{' * 60!r}"),
        (b"[1, 2, 3]", "wrong_type", "expected a JSON object, got list"),
        (b'{"a": 1, "b": 2}', "missing_field", "missing field 'c'"),
        (b'{"a": 1, "b": 2, "c": "yes"}', "not_a_number", "field c is not a number: 'yes'"),
    ],
)
def test_bad_payloads_fail_with_their_reason_and_message(payload: bytes, reason: str, message: str) -> None:
    with pytest.raises(FrameError) as caught:
        PayloadParser("json", FEATURES).parse(payload)
    assert (caught.value.reason, str(caught.value)) == (reason, message)


def test_two_state_readings_are_one_and_zero_on_every_path() -> None:
    """A pump's running flag or a Home Assistant binary sensor: JSON booleans and on/off words."""
    parser = PayloadParser("json", FEATURES)
    payload = b'{"a": true, "b": "off", "c": " On "}'
    assert parser.parse(payload)[0].tolist() == [1.0, 0.0, 1.0]
    assert [v.tolist() for v, _ in parser.samples(payload)] == [[1.0, 0.0, 1.0]]
    assert PayloadParser("csv", FEATURES).parse(b"false,TRUE,2.5")[0].tolist() == [0.0, 1.0, 2.5]


def test_literals_msgspec_refuses_still_read_as_before() -> None:
    parser = PayloadParser("json_array", FEATURES, timestamp_field="first")
    values, timestamp = parser.parse(b"[10, NaN, Infinity, 1e400]")
    assert timestamp == 10.0 and np.isnan(values[0]) and values[1] == values[2] == np.inf
    values, _ = PayloadParser("json", FEATURES).parse(b'{"a": "\\ud800x", "b": 1, "c": 2, "a": 3}')
    assert values.tolist() == [3.0, 1.0, 2.0]  # the last of a duplicated key, as json reads it


@pytest.mark.parametrize(
    ("fmt", "payload"),
    [
        (
            "json",
            b'[{"a": 1, "b": 2, "c": 3, "ts": 10}, {"a": 4, "b": 5, "ts": 11}, {"a": 7, "b": 8, "c": 9, "ts": 12}]',
        ),
        ("json_array", b"[[10, 1, 2, 3], [11, 4, 5], [12, 7, 8, 9]]"),
        ("csv", b"10,1,2,3\r\n11,4,5\n\n12,7,8,9\n"),
    ],
)
def test_a_batch_gives_each_sample_or_its_own_error_in_order(fmt: str, payload: bytes) -> None:
    parser = PayloadParser(fmt, FEATURES, timestamp_field="ts" if fmt == "json" else "first")
    first, bad, last = parser.samples(payload)
    assert isinstance(first, tuple) and isinstance(last, tuple)
    np.testing.assert_array_equal(first[0], [1, 2, 3])
    np.testing.assert_array_equal(last[0], [7, 8, 9])
    assert (first[1], last[1]) == (10.0, 12.0)
    assert isinstance(bad, FrameError) and str(bad).startswith("sample 2 of 3: ")
    assert bad.reason == ("missing_field" if fmt == "json" else "wrong_length")


def test_one_sample_is_a_batch_of_one_and_a_bad_payload_is_refused_whole() -> None:
    parser = PayloadParser("json_array", FEATURES)
    (only,) = parser.samples(b"[1, 2, 3]")
    assert isinstance(only, tuple) and only[0].tolist() == [1.0, 2.0, 3.0]
    for payload, reason in ((b"[]", "wrong_length"), (b"{", "not_json"), (b'{"a": 1}', "wrong_type")):
        with pytest.raises(FrameError) as error:
            parser.samples(payload)
        assert error.value.reason == reason
    with pytest.raises(FrameError, match="csv has no values"):
        PayloadParser("csv", FEATURES).samples(b"\n \n")


@settings(max_examples=400, deadline=None)
@given(documents, st.dictionaries(st.sampled_from(["x", "unit", "seq"]), readings, max_size=2), st.booleans())
def test_the_typed_shortcut_reads_every_payload_as_the_general_path(
    document: dict[str, object], extra: dict[str, object], watch: bool
) -> None:
    """``samples`` decodes a plain object of numbers straight into a typed record; whatever the payload,
    it gives the values, or the error (reason and message), of the general path. With a watched
    channel ``w`` too, which a payload may lack."""
    payload = json.dumps({**extra, **document}).encode()
    parser = PayloadParser("json", FEATURES, timestamp_field="ts", watched=("w",) if watch else ())
    try:
        general = parser.general_samples(payload)
    except FrameError as error:
        with pytest.raises(FrameError) as raised:
            parser.samples(payload)
        assert (raised.value.reason, str(raised.value)) == (error.reason, str(error))
        return
    got = parser.samples(payload)
    assert len(got) == len(general) == 1
    (values, timestamp), (want, want_timestamp) = got[0], general[0]  # type: ignore[misc]
    assert values.dtype == want.dtype and all(same(float(v), float(w)) for v, w in zip(values, want, strict=True))
    assert timestamp == want_timestamp


def test_watched_channels_follow_the_features_and_may_be_missing() -> None:
    """Channels training left out of the model but still watches come after the features: read by
    name, NaN when a payload lacks them; a reading of one that is not a number is still refused."""
    parser = PayloadParser("json", FEATURES, watched=("w", "v"))
    for payload in (b'{"a": 1, "b": 2, "c": 3, "w": 4.5}', b'{"a": 1, "b": 2, "c": 3, "w": 4.5, "v": null}'):
        for values, _ in (parser.parse(payload), parser.samples(payload)[0]):  # type: ignore[misc]
            assert values[:4].tolist() == [1.0, 2.0, 3.0, 4.5] and math.isnan(values[4])
    with pytest.raises(FrameError, match="field w is not a number"):
        parser.parse(b'{"a": 1, "b": 2, "c": 3, "w": "x"}')
    with pytest.raises(FrameError, match="missing field 'c'"):  # a model feature is never optional
        parser.parse(b'{"a": 1, "b": 2, "w": 4}')
    positional = PayloadParser("json_array", FEATURES, fields=("w", "c", "b", "a"), watched=("w", "v"))
    values, _ = positional.parse(b"[9, 3, 2, 1]")
    assert values[:4].tolist() == [1.0, 2.0, 3.0, 9.0] and math.isnan(values[4])
    values, _ = PayloadParser("csv", FEATURES, watched=("w",)).parse(b"1,2,3")  # not among the fields: NaN
    assert values[:3].tolist() == [1.0, 2.0, 3.0] and math.isnan(values[3])


def test_a_timestamp_in_milliseconds_reads_as_seconds_as_node_red_sends_it() -> None:
    parser = PayloadParser("json", FEATURES, timestamp_field="ts")
    values, timestamp = parser.parse(b'{"a": 1, "b": 2, "c": 3, "ts": 1767225600250}')  # Date.now()
    assert values.tolist() == [1.0, 2.0, 3.0] and timestamp == 1767225600.25
    assert parser.parse(b'{"a": 1, "b": 2, "c": 3, "ts": 1767225600.25}')[1] == 1767225600.25
