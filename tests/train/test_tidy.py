"""Training rows as the device will meet them: sorted in time, each timestamp once, absurd readings
missing, labelled rows out; each change said."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_lstm.sources.csv_file import Recording
from edge_lstm_train.tidy import tidy, without_labelled


def recording(values: list[list[float]], times: list[float] | None, **labels: list[float]) -> Recording:
    return Recording(
        Path("data.csv"),
        ["a", "b"],
        np.array(values, dtype=np.float64),
        None if times is None else np.array(times, dtype=np.float64),
        {k: np.array(v, dtype=np.float64) for k, v in labels.items()},
    )


def test_rows_are_sorted_by_time_and_a_repeated_timestamp_keeps_its_first_row() -> None:
    rec = recording([[1, 10], [3, 30], [2, 20], [22, 220], [4, 40]], [1, 3, 2, 2, 4], anomaly=[0, 0, 1, 0, 0])
    [out], notes = tidy([rec])
    assert out.timestamps is not None and out.timestamps.tolist() == [1, 2, 3, 4]
    assert out.values.tolist() == [[1, 10], [2, 20], [3, 30], [4, 40]]
    assert out.labels["anomaly"].tolist() == [0, 1, 0, 0]
    assert notes == [
        "data.csv: 2 rows out of time order; sorted by timestamp",
        "data.csv: 1 rows repeat the timestamp of the row before; the first of each is kept"
        " (the device skips the others)",
    ]


def test_readings_the_device_would_refuse_become_missing_and_ordered_data_is_left_alone() -> None:
    rec = recording([[1, 1e300], [2, -1e30], [3, 1e29]], [1, 2, 3])
    [out], notes = tidy([rec])
    assert np.isnan(out.values[:2, 1]).all() and out.values[2].tolist() == [3, 1e29]
    assert notes == ["data.csv: 2 readings beyond ±1e+30 read as missing (the device skips such samples)"]
    clean = recording([[1, 2], [3, 4]], None)
    assert tidy([clean]) == ([clean], [])


def test_rows_a_label_marks_are_left_out_of_training() -> None:
    out = without_labelled(recording([[1, 2], [3, 4], [5, 6]], [1, 2, 3], anomaly=[0, 1, 0]))
    assert np.isnan(out.values[1]).all() and out.values[[0, 2]].tolist() == [[1, 2], [5, 6]]
    assert out.notes == ["data.csv: anomaly: labels, not sensors; the 1 rows they mark are left out"]
    assert tidy([out])[1] == out.notes  # said where every other change to the rows is said
    quiet = without_labelled(recording([[1, 2]], None, label=[0]))
    assert quiet.notes == ["data.csv: label: labels, not sensors (no row is marked)"]
