"""The streaming model contract: (x_t, state) -> (reconstruction of the trailing window, state').

Every implementation (LiteRT, the numpy reference, a test double) advances a *batch* of independent
streams per call. State is a plain tuple of float32 arrays owned by the caller: it can be reset,
saved, restored and stacked across streams. Nothing is hidden inside the implementation.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
State = tuple[FloatArray, ...]


class StepModel(Protocol):
    """The streaming model contract: ``(x_t, state) -> (reconstruction of the trailing window, new state)``,
    batched over rows, with the recurrent state as plain arrays the caller owns."""

    n_features: int
    window: int
    state_sizes: tuple[int, ...]

    def step(self, x: FloatArray, state: State) -> tuple[FloatArray, State]:
        """Advance each row of ``x`` (batch, features) by one sample.

        Returns the reconstruction of the trailing window, shape (batch, window, features), oldest
        sample first, and the new state with the same shapes as ``state``.
        """
        ...


def padded_batch(batch: int) -> int:
    """The power of two a batch of ``batch`` rows is padded to (LiteRT has an interpreter per power of two).

    >>> [padded_batch(b) for b in (1, 2, 3, 5, 64, 65)]
    [1, 2, 4, 8, 64, 128]
    """
    return 1 << max(batch - 1, 0).bit_length()


def zero_state(model: StepModel, batch: int = 1) -> State:
    """The start state for ``batch`` streams: zeros of each state tensor's size."""
    return tuple(np.zeros((batch, size), dtype=np.float32) for size in model.state_sizes)


def run_sequence(model: StepModel, xs: FloatArray, state: State | None = None) -> tuple[FloatArray, State]:
    """Feed a (rows, features) sequence one sample at a time with carried state.

    Returns the reconstructions, shape (rows, window, features), and the final state.
    """
    state = zero_state(model) if state is None else state
    out = np.empty((xs.shape[0], model.window, model.n_features), dtype=np.float32)
    for t in range(xs.shape[0]):
        recon, state = model.step(xs[t : t + 1], state)
        out[t] = recon[0]
    return out, state
