"""The stream bank: the recurrent state of every stream of one model, one array per state tensor, one
row per stream, advanced in one model call per wave.

A stream keeps its row for life: rows are handed out and given back without moving any other row,
and when none is free every array doubles (rows keep their numbers). A wave gathers its streams' rows
into preallocated arrays padded with zero rows to a power of two (the batch sizes the LiteRT model has
interpreters for), makes one model call and scatters the new state back: no per-wave stacking of
states.

The detector still owns its state as far as anyone else can tell: ``detector.state`` is a tuple of
views of its row, so a snapshot reads it and a lone detector (replay, tests) steps it as before. When
something gave a detector state of its own (a reset, a restore, a carry-over, a step alone, or the bank
grew under the views), its ``state`` is no longer its row's views; the next wave copies that state into
the row and hands the views back.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge_lstm.core.detector import StreamDetector
from edge_lstm.core.stepmodel import State, StepModel, padded_batch

FloatArray = npt.NDArray[np.float32]


class StateBank:
    """Rows of recurrent state for the streams of one ``model``; ``capacity`` rows to start with."""

    def __init__(self, model: StepModel, capacity: int = 8) -> None:
        self.model = model
        self._free: list[int] = []
        self.states: list[FloatArray] = []
        self._views: list[State] = []
        self._resize(padded_batch(max(capacity, 1)))

    @property
    def capacity(self) -> int:
        """How many rows the arrays hold now (a power of two)."""
        return len(self._views)

    def acquire(self) -> int:
        """A free row, zeroed (the start state); the arrays double when none is free."""
        if not self._free:
            self._resize(2 * self.capacity)
        row = self._free.pop()
        for state in self.states:
            state[row] = 0.0
        return row

    def release(self, row: int) -> None:
        """Give ``row`` back; its stream is gone."""
        self._free.append(row)

    def views(self, row: int) -> State:
        """``row``'s state as (1, size) views of the bank's arrays, valid until the bank grows."""
        return self._views[row]

    def advance(self, rows: list[int], detectors: list[StreamDetector], inputs: list[FloatArray]) -> FloatArray:
        """One model call for the streams in ``rows`` (each row's detector and model input alongside):
        their states step in the bank; returns the reconstructions, one row per stream."""
        for row, detector in zip(rows, detectors, strict=True):
            views = self._views[row]
            if detector.state is not views:
                for kept, own in zip(views, detector.state, strict=True):
                    kept[...] = own
                detector.state = views
        n = len(rows)
        size = padded_batch(n)
        index = np.fromiter(rows, dtype=np.intp, count=n)
        x = self._x[:size]
        np.stack(inputs, out=x[:n])
        x[n:] = 0.0  # padding rows: an idle stream, as the model pads
        gathered = []
        for state, buffer in zip(self.states, self._gathered, strict=True):
            np.take(state, index, axis=0, out=buffer[:n], mode="clip")
            buffer[n:size] = 0.0
            gathered.append(buffer[:size])
        reconstruction, stepped = self.model.step(x, tuple(gathered))
        for state, new in zip(self.states, stepped, strict=True):
            state[index] = new[:n]
        return reconstruction[:n]

    def _resize(self, capacity: int) -> None:
        """Arrays of ``capacity`` rows holding the old rows where they were; new rows are free."""
        old = self.capacity
        states = [np.zeros((capacity, size), dtype=np.float32) for size in self.model.state_sizes]
        for new, kept in zip(states, self.states, strict=False):
            new[:old] = kept
        self.states = states
        self._views = [tuple(s[row : row + 1] for s in states) for row in range(capacity)]
        self._free.extend(range(capacity - 1, old - 1, -1))  # lowest first: pop() takes from the end
        self._x = np.zeros((capacity, self.model.n_features), dtype=np.float32)
        self._gathered = [np.zeros_like(s) for s in states]
