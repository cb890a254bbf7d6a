"""State kept as rows of arrays: one row per stream, so a wave advances every stream in one numpy call.

A class that keeps per-stream state this way declares its arrays once, in ``_allocate``: each one's
shape after the row axis, its dtype, and the value a fresh row starts from (zero when not named). The
base class grows the arrays, starts rows afresh, and moves a row's state in and out (snapshots, a
stream moving between banks) without knowing what the arrays mean.

Methods that advance state take ``rows``: an index array of distinct rows (a wave) or a slice (one
stream: basic indexing is a view, several times cheaper than a gather for one row).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.intp] | slice


def row_slice(row: int) -> slice:
    """One stream's row as a slice."""
    return slice(row, row + 1)


class RowArrays:
    """Base for per-stream state held as arrays with one row per stream (see the module's doc)."""

    names: tuple[str, ...]  # the arrays, each an attribute of that name
    _fresh: dict[str, Any]

    def _allocate(
        self, capacity: int, shapes: Mapping[str, tuple[tuple[int, ...], Any]], fresh: dict[str, Any] | None = None
    ) -> None:
        """The arrays: ``shapes`` gives each one's shape after the row axis and its dtype, ``fresh`` the
        value a fresh row of it starts from (zero when not named)."""
        self.names, self._fresh = tuple(shapes), fresh or {}
        for name, (tail, dtype) in shapes.items():
            setattr(self, name, np.full((capacity, *tail), self._fresh.get(name, 0), dtype=dtype))

    @property
    def capacity(self) -> int:
        """How many rows the arrays hold."""
        return len(getattr(self, self.names[0]))

    def grow(self, capacity: int) -> None:
        """Arrays of ``capacity`` rows, the old rows kept where they were and the new ones fresh."""
        for name in self.names:
            old = getattr(self, name)
            new = np.full((capacity, *old.shape[1:]), self._fresh.get(name, 0), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def clear(self, rows: Rows) -> None:
        """``rows`` start afresh."""
        for name in self.names:
            getattr(self, name)[rows] = self._fresh.get(name, 0)

    def take(self, row: int) -> dict[str, npt.NDArray[Any]]:
        """A copy of ``row``'s state, by array name."""
        return {name: getattr(self, name)[row].copy() for name in self.names}

    def put(self, row: int, state: dict[str, npt.NDArray[Any]]) -> None:
        """Write ``state`` (from ``take``, of the same shape) into ``row``."""
        for name in self.names:
            getattr(self, name)[row] = state[name]


class ChannelWatch(RowArrays):
    """A watch over each channel's readings (stuck, leaping, short cycling): ``push_rows`` takes a sample per row
    and says which rows have a channel flagged, ``flagged`` which channels."""

    def push_rows(self, rows: Rows, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        raise NotImplementedError

    def flagged(self, rows: Rows) -> npt.NDArray[np.bool_]:
        raise NotImplementedError

    def push(self, row: list[float]) -> bool:
        """``push_rows`` for the one stream of a watch of capacity 1."""
        return bool(self.push_rows(slice(0, 1), np.array([row], dtype=np.float64))[0])

    @property
    def marked(self) -> list[bool]:
        """Which channels of row 0 are flagged."""
        return self.flagged(slice(0, 1))[0].tolist()  # type: ignore[no-any-return]


def any_of(flags: npt.NDArray[np.bool_]) -> bool:
    """Whether any flag of a 1-D bool array is set: ``flags.any()``, but read directly for one stream
    (a wave of one is the common case on a device with one sensor) and otherwise from the bytes: a
    bool is one byte, 0 or 1, and ``any()`` costs ten times an element read and three times this."""
    return bool(flags[0]) if len(flags) == 1 else b"\x01" in flags.tobytes()


def all_of(flags: npt.NDArray[np.bool_]) -> bool:
    """Whether every flag of a 1-D bool array is set (see ``any_of``; an empty array has all set)."""
    return bool(flags[0]) if len(flags) == 1 else b"\x00" not in flags.tobytes()
