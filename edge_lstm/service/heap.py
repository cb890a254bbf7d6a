"""The garbage collector and a long-running daemon.

What startup builds (modules, bundles, interpreters, config) lives as long as the process. Left in
the collector's oldest generation, every full pass walks all of it, a stall every queued sample waits
through: about 4 ms over a daemon with 256 streams here, next to nothing once frozen (``gc.freeze``);
``edge-lstm bench`` measures both (``gc_full_pass_ms``). At 10,000 samples/s the collector made about
two full passes per 5 s ``bench-mqtt`` run.
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
