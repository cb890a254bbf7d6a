"""The batched wave: every stream with a pending sample advances one step, with one model call per model.

A stream's samples depend on each other through the recurrent state, so a wave takes at most one
sample per stream; waves repeat until no stream has a sample left. The states live in each model's
``StateBank``: a wave of several streams gathers their rows, steps them in one call and scatters the
new state back, then scores every stream whose window is ready in one pass over the stacked windows
(equal, bit for bit, to each stream scoring its own). The results come back as ``Outcome`` values for
the caller to log, count and publish: nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np

from edge_lstm.core.detector import StepResult
from edge_lstm.core.scoring import scores_of
from edge_lstm.engine.bank import StateBank
from edge_lstm.engine.router import Pending, Stream


class Outcome(NamedTuple):
    """What one sample did: its result, and whether it caused a gap reset or was out of range."""

    stream: Stream
    result: StepResult
    values: np.ndarray
    timestamp: float | None
    received: float  # monotonic seconds when the frame arrived
    stepped: bool = True  # False: skipped or spent on the stream's baseline, the model never saw it
    gap: bool = False
    out_of_range: bool = False


# A stream admitted to a wave: its model input, its sample, and whether admitting it reset the state
# after a gap or clipped an out-of-range reading.
_Admitted = tuple[Stream, np.ndarray, Pending, bool, bool]


def run_waves(touched: list[Stream], banks: Mapping[str, StateBank]) -> list[Outcome]:
    """Advance ``touched`` streams until their pending queues are empty; ``banks`` by model key."""
    outcomes: list[Outcome] = []
    record = outcomes.append
    while touched:
        groups: dict[str, list[_Admitted]] = {}
        for stream in touched:
            pending = stream.pending.popleft()
            counters = stream.detector.counters
            gaps, out_of_range = counters.gaps, counters.out_of_range
            admitted = stream.detector.admit(pending.values, pending.timestamp)
            if isinstance(admitted, StepResult):
                record(Outcome(stream, admitted, pending.values, pending.timestamp, pending.received, False))
                continue
            entry = (stream, admitted, pending, counters.gaps != gaps, counters.out_of_range != out_of_range)
            group = groups.get(stream.model_key)
            if group is None:
                groups[stream.model_key] = [entry]
            else:
                group.append(entry)
        for key, group in groups.items():
            _advance(banks[key], group, record)
        touched = [s for s in touched if s.pending]
    return outcomes


def _advance(bank: StateBank, group: list[_Admitted], record: Callable[[Outcome], None]) -> None:
    """One model call for the group, then each stream's score and decision."""
    if len(group) == 1:
        # A lone stream steps its own state: cheaper than a gather and a scatter of one row. Its
        # ``state`` is then its own arrays, which the bank copies into its row at its next batched wave.
        stream, x, pending, gap, out = group[0]
        detector = stream.detector
        reconstruction, detector.state = bank.model.step(x[None, :], detector.state)
        result = detector.complete(reconstruction[0])
        record(Outcome(stream, result, pending.values, pending.timestamp, pending.received, True, gap, out))
        return
    streams = [entry[0] for entry in group]
    detectors = [s.detector for s in streams]
    reconstructions = bank.advance([s.row for s in streams], detectors, [entry[1] for entry in group])
    # Every scored stream's errors and score in one pass over the stacked windows, not one per stream.
    ready = [(k, window) for k, d in enumerate(detectors) if (window := d.scored_window) is not None]
    errors: list[np.ndarray | None] = [None] * len(group)
    scores = [0.0] * len(group)
    scorer = detectors[0].settings.scorer
    if ready and all(d.settings.scorer is scorer for d in detectors):
        scored = [k for k, _ in ready]
        terms = scorer.sensor_terms(reconstructions[scored], np.stack([window for _, window in ready]))
        for k, row, score in zip(scored, terms, scores_of(terms), strict=True):
            errors[k], scores[k] = row, score
    for k, (stream, _, pending, gap, out) in enumerate(group):
        result = detectors[k].complete(reconstructions[k], errors[k], scores[k])
        record(Outcome(stream, result, pending.values, pending.timestamp, pending.received, True, gap, out))
