"""A new finding during an alert: an alert that has run on its score alone for a while, when a reading
then freezes, leaps or short-cycles, ends there and a new alert starts that names those channels.

Why: an alert can last a long time (a drift that persists, a level that stays raised), and while it
lasts a second fault on another sensor would send nothing: the stream is already in alert. A stuck or
leaping reading is evidence of another kind than the score, so it is worth a new alert. More of the
same score is not (a drift that keeps growing would start alert after alert), and neither is a mark
in an alert's first samples: that is the same onset seen by two watches.

Measured on the generated corpus and the long start/stop recordings (docs/detection.md,
"A new finding during an alert"): the faults a lasting alert had swallowed get an alert of their own.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import Rows

FINDING_AFTER = 50  # scored samples an alert must have lasted, with no marked reading, to be a new finding

BoolArray = npt.NDArray[np.bool_]


def new_findings(
    rows: Rows, was: BoolArray, now: BoolArray, marked: BoolArray, age: npt.NDArray[np.int64], named: BoolArray
) -> BoolArray:
    """Per scored sample of a wave: whether it ends the alert in progress and starts a new one.

    ``was`` and ``now`` are the alert states before and after the sample, ``marked`` whether a reading
    is stuck, leaping or short-cycling now. ``age`` (scored samples the alert in progress has lasted)
    and ``named`` (it has had a marked reading) are the streams' rows, advanced here."""
    lasting, seen = age[rows], named[rows]
    restart = was & now & marked & ~seen & (lasting >= FINDING_AFTER)
    fresh = now & (~was | restart)
    age[rows] = np.where(now, np.where(fresh, 1, lasting + 1), 0)
    named[rows] = now & (marked | (seen & ~fresh))
    return restart  # type: ignore[no-any-return]
