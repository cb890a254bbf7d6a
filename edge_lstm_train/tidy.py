"""Training rows as the device will meet them: in time order, each timestamp once, absurd readings
missing, and the rows the user labelled anomalous left out.

The runtime skips a sample whose timestamp is not after the last one and a reading at or beyond
``MAX_READING`` (``core/samples.py``). Training on such rows would teach the model a stream the device
never scores (or, for a 1e300, train on NaN), so they are handled here first, each with one line that
says what was done and to how many rows.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edge_lstm.core.samples import MAX_READING
from edge_lstm.sources.csv_file import Recording


def tidy(recordings: list[Recording]) -> tuple[list[Recording], list[str]]:
    """``recordings`` ready to train on, and a note for each change."""
    out, notes = [], []
    for recording in recordings:
        notes += recording.notes
        recording = _absurd_as_missing(recording, notes)
        recording = _in_time_order(recording, notes)
        out.append(recording)
    return out, notes


def without_labelled(recording: Recording) -> Recording:
    """Rows a label column marks (a value above 0) become missing, so training drops them and cuts the
    data there: the user has said they are not normal. Said in the recording's notes."""
    if not recording.labels:
        return recording
    marked = np.zeros(len(recording), dtype=bool)
    for column in recording.labels.values():
        marked |= column > 0
    names = ", ".join(recording.labels)
    if not marked.any():
        note = f"{recording.path}: {names}: labels, not sensors (no row is marked)"
        return dataclasses.replace(recording, notes=[*recording.notes, note])
    values = recording.values.copy()
    values[marked] = np.nan
    note = f"{recording.path}: {names}: labels, not sensors; the {int(marked.sum())} rows they mark are left out"
    return dataclasses.replace(recording, values=values, notes=[*recording.notes, note])


def _absurd_as_missing(recording: Recording, notes: list[str]) -> Recording:
    values = recording.values
    absurd = np.isfinite(values) & ~(np.abs(values) < MAX_READING)
    if not absurd.any():
        return recording
    values = values.copy()
    values[absurd] = np.nan
    notes.append(
        f"{recording.path}: {int(absurd.sum())} readings beyond ±{MAX_READING:g} read as missing "
        "(the device skips such samples)"
    )
    return dataclasses.replace(recording, values=values)


def _in_time_order(recording: Recording, notes: list[str]) -> Recording:
    times = recording.timestamps
    if times is None or len(times) < 2:
        return recording
    keep = np.arange(len(times))
    if (np.diff(times) < 0).any():
        keep = np.argsort(times, kind="stable")
        late = int((times[1:] < np.maximum.accumulate(times)[:-1]).sum())  # earlier than a row before them
        notes.append(f"{recording.path}: {late} rows out of time order; sorted by timestamp")
    repeated = np.zeros(len(times), dtype=bool)
    repeated[1:] = np.diff(times[keep]) == 0
    if repeated.any():
        keep = keep[~repeated]
        notes.append(
            f"{recording.path}: {int(repeated.sum())} rows repeat the timestamp of the row before; the first "
            "of each is kept (the device skips the others)"
        )
    if len(keep) == len(times) and (keep == np.arange(len(times))).all():
        return recording
    return dataclasses.replace(
        recording,
        values=recording.values[keep],
        timestamps=times[keep],
        labels={name: column[keep] for name, column in recording.labels.items()},
    )
