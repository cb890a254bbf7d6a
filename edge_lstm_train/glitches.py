"""Glitches in the normal data: a few readings that leap away from their neighbours and come back.

Training takes its normal data as normal throughout, so one bad reading in it (a dropped digit, a
sensor's reset, a spike in a log's count) becomes part of what normal running does. The leap watch's
limit becomes twice that glitch's step, the same-time-yesterday watch's bound grows with it, and the
scale, the model and the adaptive rule's reference all make room for it. Later faults of that size go
unseen. On the generator's 600-of-4,000 draw, one glitch in each series' training rows (``--glitch``)
cut the faults caught from 55 of 75 to 38 (docs/detection.md, "A glitch in the training data").

So training looks for glitches first. For each channel (a count read through its root, as the model
will read it), each reading's distance from the median of the ``2 * HALF + 1`` readings around it is
measured. A running median ignores up to ``HALF`` readings that stand apart (Tukey, "Exploratory Data
Analysis", 1977), so a short excursion stands out against it while a step or a slow swing does not.
That distance is judged against the channel's own large distances: the k-th largest of them, with k a
hundredth of the readings but at least ``LEAST_RANK``, so that the glitches themselves cannot set it.

A run of at most ``MAX_ROWS`` readings further out than ``FACTOR`` times that is a glitch. A channel with
more than ``MAX_GLITCHES`` of them does this as part of its normal running (a motor's inrush at each
start, a count's bursts) and keeps them all; so does a switch between two states (a pump started for a
moment). The rows of a glitch are dropped, and the data is cut there, as a row with a missing reading
is (``data.py``). ``--keep-glitches`` keeps them.

>>> values = np.sin(np.arange(300) / 8.0)[:, None]
>>> values[100:102] += 5.0  # two bad readings
>>> find_glitches(values)
[[100, 102]]
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from edge_lstm.core.counts import is_count, root
from edge_lstm.core.transitions import two_states
from edge_lstm.evaluation.metrics import runs
from edge_lstm.sources.csv_file import Recording

if TYPE_CHECKING:  # the plan imports this step; typing it needs no import at run time
    from edge_lstm_train.inspection import Plan

HALF = 5  # readings either side of each in its running median
FACTOR = 4.0  # times the channel's own large distance from that median
MAX_ROWS = 5  # a longer excursion is a state of the machine, not a glitch
MAX_GLITCHES = 2  # more on one channel: its normal running does this
LEAST_RANK = MAX_GLITCHES * MAX_ROWS + 1  # the large distance ranks below every reading glitches can hold


def _distances(column: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each finite reading's distance from the running median around it (NaN where missing)."""
    out = np.full(len(column), np.nan)
    at = np.flatnonzero(np.isfinite(column))
    if len(at) < LEAST_RANK:
        return out
    values = column[at]
    padded = np.pad(values, HALF, mode="edge")
    out[at] = np.abs(values - np.median(sliding_window_view(padded, 2 * HALF + 1), axis=1))
    return out


def find_glitches(values: npt.NDArray[np.float64]) -> list[list[int]]:
    """Per channel of ``values`` (rows by channels, NaN where missing), the glitches as flat
    ``[start, end, start, end, ...]`` row indices (end exclusive); empty where there is none."""
    found: list[list[int]] = []
    for column in np.asarray(values, dtype=np.float64).T:
        distance = _distances(column)
        finite = distance[np.isfinite(distance)]
        rank = max(LEAST_RANK, len(finite) // 100)
        if len(finite) <= rank:
            found.append([])
            continue
        large = float(np.partition(finite, len(finite) - rank)[len(finite) - rank])
        if not large > 0.0:  # a channel that rarely moves: any change of it is the model's to judge
            found.append([])
            continue
        far = np.nan_to_num(distance, nan=0.0) > FACTOR * large
        short = [(a, b) for a, b in runs(far) if b - a <= MAX_ROWS]
        found.append([i for run in short for i in run] if len(short) <= MAX_GLITCHES else [])
    return found


def leave_out_glitches(p: Plan) -> None:
    """Training's plan step (``inspection.plan``): the readings of each glitch become missing, with one
    note per channel and the rows counted in the report, unless ``options.glitches`` is off."""
    if not p.options.glitches:
        return
    features = p.recordings[0].features
    pooled = np.concatenate([r.values for r in p.recordings])
    counts = np.array([is_count(pooled[:, j]) for j in range(len(features))])
    # A switch's short run (a pump started for a moment) is the machine's, not a bad reading: its
    # watches (core/transitions.py) learn from every run of the normal data.
    complete = pooled[np.isfinite(pooled).all(axis=1)]
    switches: set[int] = set()
    if len(complete):
        standardized = (complete - complete.mean(axis=0)) / np.maximum(complete.std(axis=0), 1e-12)
        switches = {s.channel for s in two_states(standardized)}
    left_out: dict[str, int] = {}
    cleaned = []
    for recording in p.recordings:
        found = find_glitches(root(recording.values, counts) if counts.any() else recording.values)
        found = [[] if j in switches else flat for j, flat in enumerate(found)]
        values = recording.values.copy() if any(found) else recording.values
        for name, flat, column in zip(features, found, values.T, strict=True):
            spans = list(zip(flat[::2], flat[1::2], strict=True))
            for start, end in spans:
                column[start:end] = np.nan
                left_out[name] = left_out.get(name, 0) + end - start
            if spans:
                where = ", ".join(_where(recording, start, end) for start, end in spans)
                p.notes.append(
                    f"channel {name}: left out as a glitch: {where} of {recording.path.name}, further from their "
                    f"neighbours than {FACTOR:g} times the channel's own large deviations (--keep-glitches keeps them)"
                )
        cleaned.append(dataclasses.replace(recording, values=values) if values is not recording.values else recording)
    p.recordings = cleaned
    p.report["glitches"] = left_out


def _where(recording: Recording, start: int, end: int) -> str:
    """Rows ``start`` to ``end`` (exclusive) as a person finds them: by time where the file has one."""
    count = "1 reading" if end - start == 1 else f"{end - start} readings"
    if recording.timestamps is None:
        return f"{count} from row {start}"
    moment = datetime.fromtimestamp(float(recording.timestamps[start]), tz=UTC)
    return f"{count} from {moment:%Y-%m-%d %H:%M:%S} UTC"
