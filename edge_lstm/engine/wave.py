"""The batched wave: every stream with a pending sample advances one step, with one model call per model.

A stream's samples depend on each other through the recurrent state, so a wave takes at most one
sample per stream; waves repeat until no stream has a sample left. The results come back as
``Outcome`` values for the caller to log, count and publish: nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edge_lstm.core.detector import StepResult
from edge_lstm.engine.router import Stream


@dataclass(frozen=True)
class Outcome:
    """What one sample did: its result, and whether it caused a gap reset or was out of range."""

    stream: Stream
    result: StepResult
    values: np.ndarray
    timestamp: float | None
    received: float  # monotonic seconds when the frame arrived
    stepped: bool = True  # False: skipped or spent on the stream's baseline, the model never saw it
    gap: bool = False
    out_of_range: bool = False


def run_waves(touched: list[Stream], models: dict[str, Any]) -> list[Outcome]:
    """Advance ``touched`` streams until their pending queues are empty; ``models`` by model key."""
    outcomes: list[Outcome] = []
    while touched:
        groups: dict[str, list[tuple[Stream, np.ndarray, Any]]] = {}
        for stream in touched:
            pending = stream.pending.popleft()
            counters = stream.detector.counters
            gaps, out_of_range = counters.gaps, counters.out_of_range
            admitted = stream.detector.admit(pending.values, pending.timestamp)
            if isinstance(admitted, StepResult):
                outcomes.append(Outcome(stream, admitted, pending.values, pending.timestamp, pending.received, False))
                continue
            flags = (counters.gaps != gaps, counters.out_of_range != out_of_range)
            groups.setdefault(stream.model_key, []).append((stream, admitted, (pending, flags)))
        for key, group in groups.items():
            for stream, result, (pending, (gap, out)) in _advance(models[key], group):
                outcomes.append(
                    Outcome(stream, result, pending.values, pending.timestamp, pending.received, True, gap, out)
                )
        touched = [s for s in touched if s.pending]
    return outcomes


def _advance(model: Any, group: list[tuple[Stream, np.ndarray, Any]]) -> list[tuple[Stream, StepResult, Any]]:
    """One model call for the group: stack inputs and states, step, hand each stream its slice back."""
    if len(group) == 1:
        stream, x, extra = group[0]
        recon, stream.detector.state = model.step(x[None, :], stream.detector.state)
        return [(stream, stream.detector.complete(recon[0]), extra)]
    x = np.stack([g[1] for g in group])
    n_state = len(group[0][0].detector.state)
    state = tuple(np.concatenate([g[0].detector.state[k] for g in group]) for k in range(n_state))
    recon, new_state = model.step(x, state)
    done = []
    for i, (stream, _, extra) in enumerate(group):
        stream.detector.state = tuple(s[i : i + 1] for s in new_state)
        done.append((stream, stream.detector.complete(recon[i]), extra))
    return done
