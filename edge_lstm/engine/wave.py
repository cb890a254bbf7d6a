"""The batched wave: every stream with a pending sample advances one step, with one model call per model.

A stream's samples depend on each other through the recurrent state, so a wave takes at most one
sample per stream; waves repeat until no stream has a sample left. The streams of a wave are grouped
by the ``DetectorBank`` that holds their state (one per stream pattern): each bank admits its samples
in numpy over its rows, the banks that share a model step in one call, and each bank decides over its
rows (``core/bank.py``). The results come back as ``Wave`` values, arrays over the wave's samples, for
the caller to log, count and publish: nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from edge_lstm.core.bank import DetectorBank
from edge_lstm.core.detector import StepResult, result_of
from edge_lstm.core.rows import Rows, row_slice
from edge_lstm.core.stream_rows import Admitted, Decided
from edge_lstm.engine.router import Pending, Stream


class Wave(NamedTuple):
    """One bank's part of a wave: its streams, the sample each took, and what those samples did."""

    streams: list[Stream]
    samples: list[Pending]
    decided: Decided


def run_waves(touched: list[Stream]) -> list[Wave]:
    """Advance ``touched`` streams until their pending queues are empty."""
    waves: list[Wave] = []
    while touched:
        groups: dict[int, tuple[DetectorBank, list[Stream], list[Pending]]] = {}
        for stream in touched:
            bank = stream.detector.bank
            group = groups.get(id(bank))
            if group is None:
                group = groups[id(bank)] = (bank, [], [])
            group[1].append(stream)
            group[2].append(stream.pending.popleft())
        admitted = [
            (bank, streams, samples, _admit(bank, streams, samples)) for bank, streams, samples in groups.values()
        ]
        reconstructions = _step(admitted)
        for (bank, streams, samples, entry), recon in zip(admitted, reconstructions, strict=True):
            waves.append(Wave(streams, samples, bank.complete(entry, recon)))
        touched = [s for s in touched if s.pending]
    return waves


def results(waves: list[Wave]) -> Iterator[tuple[Stream, StepResult]]:
    """Each sample of ``waves`` as its stream and a ``StepResult`` (for tests and tools; the daemon
    reads the arrays)."""
    for wave in waves:
        for k, stream in enumerate(wave.streams):
            yield stream, result_of(wave.decided, k)


def _admit(bank: DetectorBank, streams: list[Stream], samples: list[Pending]) -> Admitted:
    n, features = len(samples), len(bank.settings.channels)
    # One stream: its row as a slice, so every array access is a view (much cheaper than a gather).
    rows: Rows = row_slice(streams[0].detector.row) if n == 1 else np.array([s.detector.row for s in streams])
    try:
        values = np.array([p.values for p in samples], dtype=np.float64)
    except ValueError:  # rows of different lengths
        values = np.empty(0)
    if values.shape != (n, features):  # a sample of the wrong length is invalid, like a NaN reading
        values = np.array(
            [p.values if np.shape(p.values) == (features,) else np.full(features, np.nan) for p in samples]
        )
    times = np.array([np.nan if p.timestamp is None else p.timestamp for p in samples], dtype=np.float64)
    return bank.admit(rows, values, times)


def _step(admitted: list[tuple[DetectorBank, list[Stream], list[Pending], Admitted]]) -> list[np.ndarray]:
    """One model call per model for every admitted sample; the reconstructions of each bank's samples."""
    out: list[np.ndarray] = [np.empty(0)] * len(admitted)
    by_model: dict[int, list[int]] = {}
    for k, (bank, _, _, entry) in enumerate(admitted):
        if len(entry.live):
            by_model.setdefault(id(bank.model), []).append(k)
        else:
            out[k] = np.empty((0, bank.settings.window, len(bank.settings.features)), dtype=np.float32)
    for group in by_model.values():
        if len(group) == 1:  # the common case: one pattern per model
            bank, entry = admitted[group[0]][0], admitted[group[0]][3]
            out[group[0]] = bank.step(entry.live_rows, entry.x)
            continue
        banks = [admitted[k][0] for k in group]
        entries = [admitted[k][3] for k in group]
        gathered = [[state[e.live_rows] for state in b.rows.states()] for b, e in zip(banks, entries, strict=True)]
        x = np.concatenate([e.x for e in entries])
        state = tuple(np.concatenate(parts) for parts in zip(*gathered, strict=True))
        recon, stepped = banks[0].model.step(x, state)
        start = 0
        for k, bank, entry in zip(group, banks, entries, strict=True):
            end = start + len(entry.live)
            out[k] = recon[start:end]
            for kept, new in zip(bank.rows.states(), stepped, strict=True):
                kept[entry.live_rows] = new[start:end]
            start = end
    return out
