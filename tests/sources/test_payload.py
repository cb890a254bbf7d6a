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
documents = st.fixed_dictionaries({}, optional={name: readings for name in (*FEATURES, "ts")})


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
        (b'{"a": 1, "b": 2, "c": true}', "not_a_number", "field c is a boolean"),
    ],
)
def test_bad_payloads_fail_with_their_reason_and_message(payload: bytes, reason: str, message: str) -> None:
    with pytest.raises(FrameError) as caught:
        PayloadParser("json", FEATURES).parse(payload)
    assert (caught.value.reason, str(caught.value)) == (reason, message)


def test_literals_msgspec_refuses_still_read_as_before() -> None:
    parser = PayloadParser("json_array", FEATURES, timestamp_field="first")
    values, timestamp = parser.parse(b"[10, NaN, Infinity, 1e400]")
    assert timestamp == 10.0 and np.isnan(values[0]) and values[1] == values[2] == np.inf
    values, _ = PayloadParser("json", FEATURES).parse(b'{"a": "\\ud800x", "b": 1, "c": 2, "a": 3}')
    assert values.tolist() == [3.0, 1.0, 2.0]  # the last of a duplicated key, as json reads it
