"""The stream bank: rows that stay put while streams come and go, and waves through it that decide
exactly as each stream would alone, step by step."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from support import random_reference_weights

from edge_lstm.bundle import load_bundle
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.core.detector import StepResult, StreamDetector
from edge_lstm.core.scoring import Scorer
from edge_lstm.core.snapshot import capture, restore
from edge_lstm.engine.bank import StateBank
from edge_lstm.engine.router import Pattern, Pending, Router
from edge_lstm.engine.wave import run_waves
from edge_lstm.runtime.reference import NumpyStepModel
from edge_lstm.sources.payload import PayloadParser
from edge_lstm.tools import synthetic


def test_rows_keep_their_place_as_the_bank_grows_and_rows_are_reused() -> None:
    model = NumpyStepModel(random_reference_weights(), cell="lstm", window=4)
    bank = StateBank(model, capacity=2)
    rows = [bank.acquire() for _ in range(5)]
    assert sorted(rows) == list(range(5)) and bank.capacity == 8
    for row in rows:
        for state in bank.states:
            state[row] = row + 1.0
    more = [bank.acquire() for _ in range(4)]  # past 8 rows: the arrays double, rows stay where they were
    assert bank.capacity == 16 and not set(more) & set(rows)
    assert all((state[row] == row + 1.0).all() for row in rows for state in bank.states)
    bank.release(rows[2])
    again = bank.acquire()
    assert again == rows[2] and all((state[again] == 0.0).all() for state in bank.states)  # a fresh start
    assert all(view.base is not None and view.shape[0] == 1 for view in bank.views(again))


def _replay_alone(
    settings: object, model: object, sid: str, values: np.ndarray, times: list[float]
) -> list[StepResult]:
    detector = StreamDetector(settings, model, sid)  # type: ignore[arg-type]
    return [detector.process(values[i], times[i]) for i in range(len(values))]


@pytest.mark.parametrize(
    ("rule", "score"),
    [(None, "window_mse"), (ThresholdRule("quantile", 0.999), "window_mse"), (None, "residual"), (None, "mahalanobis")],
    ids=["adaptive", "quantile", "residual", "mahalanobis"],
)
def test_streams_through_the_bank_decide_exactly_as_each_alone(
    bundle_dir: Path, rule: ThresholdRule | None, score: str
) -> None:
    """Eleven streams (more than the bank's first 8 rows, so it grows mid-run), each with its own faults,
    a missing reading, a duplicate and a gap, arriving unevenly so waves hold 1 to 11 streams; one stream
    is restored from a snapshot along the way. Scores (worked out for the whole wave at once, for each
    kind of score), alert states, skips and events equal those of each stream replayed alone through its
    own detector, sample by sample."""
    bundle = load_bundle(bundle_dir)
    settings = bundle.detector_settings(None, rule)
    if score != "window_mse":  # each score, worked out for a whole wave at once, as for one stream
        features = len(bundle.features)
        mix = np.random.default_rng(1).normal(size=(features, features))
        precision = mix @ mix.T + features * np.eye(features) if score == "mahalanobis" else None
        settings = dataclasses.replace(settings, scorer=Scorer(score, precision))
    model = bundle.open_model()
    parser = PayloadParser("json", tuple(bundle.features))
    router = Router([Pattern("p/+", "m", settings, parser)], {"m": model})
    rng = np.random.default_rng(3)
    n, count = 900, 11
    data = {}
    for k in range(count):
        stream = synthetic.faulty_stream(n, seed=10 + k)
        values, times = stream.values.copy(), [float(t) for t in stream.timestamps]
        values[100 + 7 * k, k % values.shape[1]] = np.nan
        times[200 + k] = times[199 + k]  # a duplicate timestamp
        for i in range(400 + 5 * k, n):
            times[i] += 3_600.0  # a gap: the state resets, warm-up again
        data[f"s{k}"] = (values, times)
    restore_at = 650
    expected = {sid: _replay_alone(settings, model, sid, v, t) for sid, (v, t) in data.items()}
    assert all(any(r.events for r in results) for results in expected.values())  # transitions compared too
    got: dict[str, list[StepResult]] = {sid: [] for sid in data}
    sent = dict.fromkeys(data, 0)
    while any(sent[sid] < n for sid in data):
        touched = []
        for k, sid in enumerate(data):
            if sent[sid] >= n or (k >= 8 and sent["s0"] < 300):  # three streams join late
                continue
            stream, _ = router.route(f"p/{sid}")
            assert stream is not None
            for _ in range(int(rng.integers(0, 3))):  # 0, 1 or 2 samples per round
                if sent[sid] < n:
                    values, times = data[sid]
                    stream.pending.append(Pending(values[sent[sid]], times[sent[sid]], 0.0))
                    sent[sid] += 1
            if stream.pending:
                touched.append(stream)
        for outcome in run_waves(touched, router.banks):
            got[outcome.stream.id].append(outcome.result)
        s5 = router.streams[(0, "s5")]
        if len(got["s5"]) == restore_at and not s5.pending:  # a restart of one stream, through its snapshot
            fresh = StreamDetector(settings, model, "s5")
            restore(fresh, capture(s5.detector))
            s5.detector = fresh
    assert router.banks["m"].capacity == 16
    for sid in data:
        assert len(got[sid]) == n
        for i, (a, b) in enumerate(zip(got[sid], expected[sid], strict=True)):
            assert (a.score, a.alerting, a.skipped, a.events) == (b.score, b.alerting, b.skipped, b.events), (sid, i)


def test_a_reset_stream_starts_afresh_in_its_row(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    settings, model = bundle.detector_settings(), bundle.open_model()
    router = Router([Pattern("p/+", "m", settings, PayloadParser("json", tuple(bundle.features)))], {"m": model})
    stream = synthetic.normal_stream(300, seed=5)
    alone = StreamDetector(settings, model, "a")
    live = [router.route(f"p/{sid}")[0] for sid in ("a", "b")]
    for i in range(300):
        if i == 150:
            live[0].detector.reset()  # type: ignore[union-attr]
            alone.reset()
        for s in live:
            s.pending.append(Pending(stream.values[i], float(stream.timestamps[i]), 0.0))  # type: ignore[union-attr]
        outcomes = run_waves(live, router.banks)  # type: ignore[arg-type]
        want = alone.process(stream.values[i], float(stream.timestamps[i]))
        assert (outcomes[0].result.score, outcomes[0].result.alerting) == (want.score, want.alerting), i
