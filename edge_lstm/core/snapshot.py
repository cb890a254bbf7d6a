"""A detector's whole state as plain JSON-able data, and back: what a restart needs to carry on exactly.

``capture`` walks an object's attributes: numbers, strings, arrays (dtype and shape kept, values
exact: a float32 widened to a float64 and back is the same number), deques (with their bound),
lists and tuples, and nested state objects, recursively. Settings and the model are not state: they come from the bundle
and the config, and a snapshot is only restored against the same model. ``restore`` writes the data
back into a freshly built object of the same shape; anything that does not fit raises
``SnapshotMismatch`` and the caller starts that stream afresh.

>>> from collections import deque
>>> class Box:
...     def __init__(self):
...         self.settings = "not state"
...         self.recent = deque([1.0, 2.0], maxlen=3)
...         self.level = np.zeros(2, dtype=np.float32)
>>> a, b = Box(), Box()
>>> a.level[:] = 0.1
>>> restore(b, capture(a))
>>> bool((b.level == a.level).all()), list(b.recent), b.recent.maxlen
(True, [1.0, 2.0], 3)
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

# References to configuration, not state: rebuilt from the bundle and the config at start.
# An object whose state lives elsewhere names it with ``snapshot_fields()`` and takes it back with
# ``restore_fields(fields)``.
NOT_STATE = frozenset({"settings", "_settings", "model", "stream", "scorer"})


class SnapshotMismatch(ValueError):
    """A snapshot does not fit the object it is restored into (another model or settings)."""


def capture(obj: Any) -> dict[str, Any]:
    """The state of ``obj`` as JSON-able data."""
    return {name: _encode(value) for name, value in _fields(obj).items()}


def restore(obj: Any, data: dict[str, Any]) -> None:
    """Write ``data`` (from ``capture``) back into ``obj``; ``SnapshotMismatch`` if it does not fit. State
    the snapshot lacks (added by a later version, written before an upgrade) keeps its fresh value, so an
    upgrade carries the rest on; state the object does not have is a mismatch."""
    current = _fields(obj)
    unknown = sorted(set(data) - set(current))
    if unknown:
        raise SnapshotMismatch(f"{type(obj).__name__}: fields {unknown} are not its state")
    where = type(obj).__name__
    if hasattr(obj, "restore_fields"):  # state kept elsewhere (a stream's row of a bank): handed back whole
        obj.restore_fields(
            {
                name: _decode(data[name], now, f"{where}.{name}") if name in data else now
                for name, now in current.items()
            }
        )
        return
    for name, value in data.items():
        # object.__setattr__: a frozen dataclass (SPOT's fitted tail) is state too, restored in place.
        object.__setattr__(obj, name, _decode(value, getattr(obj, name), f"{where}.{name}"))


def _fields(obj: Any) -> dict[str, Any]:
    """An object's state attributes, whether it keeps them in ``__dict__`` or in ``__slots__``, or what
    it names as its state (``snapshot_fields``)."""
    if hasattr(obj, "snapshot_fields"):
        return obj.snapshot_fields()  # type: ignore[no-any-return]
    if hasattr(obj, "__dict__"):
        names = list(vars(obj))
    else:
        names = [n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ()) if hasattr(obj, n)]
    return {n: getattr(obj, n) for n in names if n not in NOT_STATE}


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.ndarray):
        return {"array": value.dtype.str, "shape": list(value.shape), "values": value.ravel().tolist()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, deque):
        return {"deque": [_encode(v) for v in value], "maxlen": value.maxlen}
    if isinstance(value, list | tuple):
        return {"list" if isinstance(value, list) else "tuple": [_encode(v) for v in value]}
    if hasattr(value, "__dict__") or hasattr(type(value), "__slots__"):
        return {"object": capture(value)}
    raise TypeError(f"cannot snapshot a {type(value).__name__}")


def _decode(data: Any, current: Any, where: str) -> Any:
    if not isinstance(data, dict):
        return data
    if "array" in data:
        array = np.asarray(data["values"], dtype=np.dtype(data["array"])).reshape(data["shape"])
        if isinstance(current, np.ndarray) and current.shape != array.shape:
            raise SnapshotMismatch(f"{where}: shape {array.shape}, expected {current.shape}")
        return array
    if "deque" in data:
        return deque([_decode(v, None, where) for v in data["deque"]], maxlen=data["maxlen"])
    if "list" in data or "tuple" in data:
        items = data["list"] if "list" in data else data["tuple"]
        olds = (
            list(current) if isinstance(current, list | tuple) and len(current) == len(items) else [None] * len(items)
        )
        decoded = [_decode(v, old, where) for v, old in zip(items, olds, strict=True)]
        return decoded if "list" in data else tuple(decoded)
    if "object" in data:
        if current is None:
            raise SnapshotMismatch(f"{where}: the snapshot has state the settings do not")
        restore(current, data["object"])
        return current
    raise SnapshotMismatch(f"{where}: unknown encoding {sorted(data)}")
