"""The stream bank: rows that stay put while streams come and go, and waves through it that decide
exactly as each stream would alone, step by step."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge_lstm.bundle import load_bundle
from edge_lstm.core.bank import DetectorBank
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.core.detector import StepResult, StreamDetector
from edge_lstm.core.scoring import Scorer
from edge_lstm.core.snapshot import capture, restore
from edge_lstm.core.sustained import calibrate_level
from edge_lstm.core.thresholds import NO_DEBOUNCE
from edge_lstm.engine.router import Pattern, Pending, Router
from edge_lstm.engine.wave import results, run_waves
from edge_lstm.sources.payload import PayloadParser
from edge_lstm.tools import synthetic


def test_rows_keep_their_place_as_the_bank_grows_and_rows_are_reused(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    bank = DetectorBank(
        bundle.detector_settings(None, ThresholdRule("quantile", 0.999)), bundle.open_model(), capacity=2
    )
    rows = [bank.acquire(f"s{k}") for k in range(5)]
    assert sorted(rows) == list(range(5)) and bank.capacity == 8
    for row in rows:
        bank.rows.state0[row] = row + 1.0
        bank.rows.counters[row] = row
        bank.window.buffer[row] = -row
    more = [bank.acquire(f"t{k}") for k in range(4)]  # past 8 rows: every array doubles, rows stay put
    assert bank.capacity == 16 and not set(more) & set(rows)
    assert all(part.capacity == 16 for part in bank.parts)
    assert all((bank.rows.state0[r] == r + 1.0).all() and (bank.window.buffer[r] == -r).all() for r in rows)
    assert all((bank.rows.counters[r] == r).all() for r in rows)
    bank.release(rows[2])
    again = bank.acquire("u")
    assert again == rows[2] and bank.names[again] == "u"
    assert (bank.rows.state0[again] == 0.0).all() and (bank.window.buffer[again] == 0.0).all()  # a fresh start
    assert (bank.rows.counters[again] == 0).all() and np.isnan(bank.rows.last_time[again])


def _replay_alone(
    settings: object, model: object, sid: str, values: np.ndarray, times: list[float]
) -> tuple[list[StepResult], dict[str, int]]:
    detector = StreamDetector(settings, model, sid)  # type: ignore[arg-type]
    return [detector.process(values[i], times[i]) for i in range(len(values))], detector.counters.as_dict()


VARIANTS: dict[str, tuple[ThresholdRule | None, str, dict[str, Any]]] = {
    "adaptive": (None, "window_mse", {}),
    "quantile": (ThresholdRule("quantile", 0.999), "window_mse", {}),
    "SPOT": (ThresholdRule("spot", 0.001), "window_mse", {}),
    "no debounce": (ThresholdRule("quantile", 0.99), "window_mse", {"debounce": NO_DEBOUNCE}),
    "residual": (None, "residual", {}),
    "mahalanobis": (None, "mahalanobis", {}),
    "baseline and smoothing": (ThresholdRule("quantile", 0.999), "window_mse", {"baseline": 60, "smooth": 3}),
    "tracked level": (None, "window_mse", {"level": (["flow"], 50)}),
    "watched channel": (None, "window_mse", {}),  # a channel outside the model that freezes, leaps, goes missing
    "transition guard": (None, "window_mse", {}),  # alerts right after a switch held back
    "settled threshold": (ThresholdRule("quantile", 0.999), "window_mse", {}),  # lower well past a switch
    "sustained level": (ThresholdRule("quantile", 0.999), "window_mse", {}),  # a raised score level alerts too
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_streams_through_the_bank_decide_exactly_as_each_alone(bundle_dir: Path, variant: str) -> None:
    """Eleven streams (more than the bank's first 8 rows, so it grows mid-run), each with its own faults,
    a missing reading, a duplicate, an out-of-order sample and a gap, arriving unevenly so waves hold 1
    to 11 streams; one stream is restored from a snapshot along the way. Scores, alert states, skips and
    events equal those of each stream replayed alone through its own detector (a bank of one row),
    sample by sample, for each kind of score, threshold rule and input option."""
    rule, score, overrides = VARIANTS[variant]
    bundle = load_bundle(bundle_dir)
    settings = bundle.detector_settings(None, rule, **overrides)
    features = len(bundle.features)
    if score != "window_mse":  # each score, worked out for a whole wave at once, as for one stream
        mix = np.random.default_rng(1).normal(size=(features, features))
        precision = mix @ mix.T + features * np.eye(features) if score == "mahalanobis" else None
        settings = dataclasses.replace(settings, scorer=Scorer(score, precision))
    if variant == "watched channel":
        limits = {"after": [10] * (features + 1), "low": [-1e9] * (features + 1), "high": [1e9] * (features + 1)}
        settings = dataclasses.replace(settings, watched=("spare",), stuck=limits, jump=[0.0] * features + [3.0])
    if variant == "transition guard":  # levels the noise crosses often, a bound some alerts stay under
        bound = 10.0 * float(np.max(bundle.calibration_scores()))
        guard = {"channels": [bundle.features[0]], "low": [-0.3], "high": [0.3], "zone": 4, "bound": bound}
        settings = dataclasses.replace(settings, transitions=guard)
    if variant == "settled threshold":  # switches now and then; a lower level between them
        calm = {"after": 6, "threshold": 0.5 * settings.threshold}
        guard = {"channels": [bundle.features[0]], "low": [-1.0], "high": [1.0], "zone": 4, "bound": 0.0}
        settings = dataclasses.replace(settings, transitions={**guard, "settled": calm})
    if variant == "sustained level":  # short spans and no margin: the level decides some samples
        level = calibrate_level(bundle.calibration_scores(), fast=4, slow=64, margin=0.0)
        settings = dataclasses.replace(settings, sustained=level)
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
        times[250 + k] = times[248 + k]  # out of order
        for i in range(400 + 5 * k, n):
            times[i] += 3_600.0  # a gap: the state resets, warm-up again
        if settings.watched:
            spare = np.cumsum(0.3 * np.random.default_rng(k).normal(size=n))
            spare[300 + 10 * k : 380 + 10 * k] = spare[300 + 10 * k]
            spare[500 + k] += 10.0
            spare[600 + k : 610 + k] = np.nan
            values = np.column_stack([values, spare])
        data[f"s{k}"] = (values, times)
    restore_at = 650
    alone = {sid: _replay_alone(settings, model, sid, v, t) for sid, (v, t) in data.items()}
    expected = {sid: results for sid, (results, _) in alone.items()}
    assert all(any(r.events for r in results) for results in expected.values())  # transitions compared too
    if variant in ("transition guard", "sustained level", "settled threshold"):  # each changed some decision
        feature = "sustained" if variant == "sustained level" else "transitions"
        plain = dataclasses.replace(settings, **{feature: None})
        assert any(_replay_alone(plain, model, sid, *data[sid])[0] != expected[sid] for sid in ("s0", "s1", "s2", "s3"))
    if settings.watched:  # the watched channel's own alerts are among them
        assert any(e.contributions.get("spare") == 1.0 for rs in expected.values() for r in rs for e in r.events)
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
        for stream, result in results(run_waves(touched)):
            got[stream.id].append(result)
        s5 = router.streams[(0, "s5")]
        if len(got["s5"]) == restore_at and not s5.pending:  # a restart of one stream, through its snapshot
            fresh = StreamDetector(settings, model, "s5")
            restore(fresh, capture(s5.detector))
            s5.detector = fresh
    assert router.banks[0].capacity == 16
    for sid in data:
        assert router.streams[(0, sid)].detector.counters.as_dict() == alone[sid][1], sid
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
        got = [result for _, result in results(run_waves(live))]  # type: ignore[arg-type]
        want = alone.process(stream.values[i], float(stream.timestamps[i]))
        assert (got[0].score, got[0].alerting) == (want.score, want.alerting), i
