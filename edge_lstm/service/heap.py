"""The garbage collector and a long-running daemon.

What startup builds (modules, bundles, interpreters, config) lives as long as the process. Left in
the collector's oldest generation, every full pass walks all of it: about 10 ms here, a stall every
queued sample waits through (measured with ``edge-lstm bench-mqtt`` at 10,000 samples/s, two full
passes per 5 s run). Frozen (``gc.freeze``), it is skipped, and a full pass takes about 1 ms.
"""

from __future__ import annotations

import gc


def freeze() -> None:
    """Collect what is garbage now, then freeze the rest out of later full passes."""
    gc.collect()
    gc.freeze()


def thaw() -> None:
    """Before objects that were frozen may become garbage (a reload drops the old config's): the
    collector sees them again."""
    gc.unfreeze()
