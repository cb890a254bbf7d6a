"""The engine: routing topics to streams, and batched waves that equal each stream run on its own."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import random_reference_weights

from edge_lstm.core.detector import DetectorSettings, StreamDetector
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.engine.router import Pattern, Pending, Router
from edge_lstm.engine.wave import results, run_waves
from edge_lstm.runtime.reference import NumpyStepModel
from edge_lstm.sources.payload import PayloadParser

FEATURES = ["a", "b", "c"]


def settings(**overrides: object) -> DetectorSettings:
    base: dict[str, object] = {
        "features": FEATURES,
        "window": 4,
        "scaler": StandardScaler(np.zeros(3, np.float32), np.ones(3, np.float32)),
        "threshold": 0.5,
        "warmup": 6,
        "sample_period_s": 1.0,
    }
    base.update(overrides)
    return DetectorSettings(**base)  # type: ignore[arg-type]


def router(max_streams: int = 100, **overrides: object) -> Router:
    model = NumpyStepModel(random_reference_weights(), cell="lstm", window=4)
    parser = PayloadParser("json", tuple(FEATURES), timestamp_field="ts")
    return Router([Pattern("plant/+/pump", "m", settings(**overrides), parser)], {"m": model}, max_streams=max_streams)


def test_topics_route_to_streams_created_once_and_counted_when_unmatched() -> None:
    r = router(max_streams=2)
    first, created = r.route("plant/p1/pump")
    again, created_again = r.route("plant/p1/pump")
    assert first is again and created and not created_again and first is not None and first.id == "p1"
    assert r.route("plant/p2/pump")[1] and r.route("other/topic") == (None, False)
    assert r.route("plant/p3/pump") == (None, False)
    assert r.counters["unrouted"] == 1 and r.counters["streams_refused"] == 1


@pytest.mark.parametrize("overrides", [{}, {"smooth": 3}, {"baseline": 5}])
def test_waves_over_interleaved_streams_equal_each_stream_alone(overrides: dict[str, object]) -> None:
    rng = np.random.default_rng(7)
    streams = {f"p{i}": rng.normal(0, 1, (60, 3)) * (1 + i) for i in range(3)}
    streams["p1"][30:35] += 8  # a fault in one stream only
    streams["p2"][20] = np.nan  # a missing reading in another
    r = router(**overrides)
    scores: dict[str, list[float | None]] = {sid: [] for sid in streams}
    for t in range(60):
        touched = []
        for sid, values in streams.items():
            stream, _ = r.route(f"plant/{sid}/pump")
            assert stream is not None
            payload = json.dumps({"a": values[t, 0], "b": values[t, 1], "c": values[t, 2], "ts": 1000.0 + t})
            parsed, ts = stream.parser.parse(payload.replace("NaN", "null").encode())
            stream.pending.append(Pending(parsed, ts, 0.0))
            touched.append(stream)
        for stream, result in results(run_waves(touched)):
            scores[stream.id].append(result.score)
    for sid, values in streams.items():
        alone = StreamDetector(settings(**overrides), NumpyStepModel(random_reference_weights(), cell="lstm", window=4))
        expected = [alone.process(values[t], 1000.0 + t).score for t in range(60)]
        assert [s is None for s in scores[sid]] == [s is None for s in expected], sid
        np.testing.assert_allclose(
            [s for s in scores[sid] if s is not None], [s for s in expected if s is not None], rtol=1e-5
        )


def test_a_stream_with_several_pending_samples_advances_one_per_wave() -> None:
    r = router()
    stream, _ = r.route("plant/p9/pump")
    assert stream is not None
    for t in range(10):
        stream.pending.append(Pending(np.full(3, float(t)), 1000.0 + t, 0.0))
    got = [result.index for _, result in results(run_waves([stream]))]
    assert got == list(range(10)) and not stream.pending


@pytest.mark.parametrize("bad", [np.full(2, 0.5), np.full(4, 0.5), np.array([0.5, np.nan, 0.5])])
def test_a_sample_of_the_wrong_length_in_a_wave_is_counted_invalid_alone(bad: np.ndarray) -> None:
    """A wave stacks its samples into one array; one sample of the wrong length (a line parser's short
    row) or with a NaN is skipped and counted as invalid, and the other streams of the wave go on."""
    r = router()
    streams = [r.route(f"plant/p{k}/pump")[0] for k in range(3)]
    for t in range(8):
        for k, stream in enumerate(streams):
            assert stream is not None
            values = bad if (k == 1 and t == 7) else np.full(3, 0.1 * t)
            stream.pending.append(Pending(values, 1000.0 + t, 0.0))
    got = {stream.id: result for stream, result in results(run_waves(streams))}  # type: ignore[arg-type]
    assert got["p1"].skipped == "invalid" and got["p1"].score is None
    assert got["p0"].skipped is None and got["p0"].score is not None and got["p2"].score == got["p0"].score
    counters = [s.detector.counters for s in streams]  # type: ignore[union-attr]
    assert [c.invalid for c in counters] == [0, 1, 0] and [c.samples for c in counters] == [8, 8, 8]
