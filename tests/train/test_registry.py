"""The real labelled series river ships (from PyPI) are written as labelled CSV files the corpus
protocol reads: a change where most annotators marked one, on the row they marked; the water flow's
described segments on their rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import unavailable

from edge_lstm.sources.csv_file import read_csv


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The registry folder, written once for the module: file stem -> path."""
    try:
        import river  # noqa: F401
    except ImportError:
        unavailable("river (the dev extra)", "pip install -e '.[dev]'")
    from edge_lstm_train.registry import write_registry_series

    return {p.stem: p for p in write_registry_series(tmp_path_factory.mktemp("registry"))}


def test_the_change_points_most_annotators_agree_on_become_one_row_labels(written: dict[str, Path]) -> None:
    from edge_lstm_train.registry import consensus

    assert set(written) == {"occupancy", "run-log", "airline-passengers", "bitcoin", "water-flow"}
    occupancy = read_csv(written["occupancy"])
    assert occupancy.features == ["V1", "V2", "V3", "V4"] and len(occupancy) == 509
    assert occupancy.timestamps is not None and occupancy.timestamps[1] > occupancy.timestamps[0]
    # 3 of 5 annotators marked 52-53 and 142-143, all 5 marked 234-238 and 415-417; the rest are one or two.
    assert occupancy.labels["anomaly"].nonzero()[0].tolist() == [53, 142, 236, 416]
    assert not read_csv(written["airline-passengers"]).labels["anomaly"].any()  # 296, 299, 302: too far apart
    assert consensus({"a": [100], "b": [104], "c": [200]}) == [100]  # 2 of 3 within 5 rows
    assert consensus({"a": [100], "b": [106], "c": []}) == []  # 6 rows apart: no majority


def test_the_water_flow_segments_its_description_names_are_labelled(written: dict[str, Path]) -> None:
    water = read_csv(written["water-flow"])
    assert water.features == ["Water flow [l/s]"] and len(water) == 1268
    marked = water.labels["anomaly"] > 0
    starts = np.flatnonzero(marked & ~np.r_[False, marked[:-1]]).tolist()
    # three low-value moments (maintenance or losses), and between the second and third the small peak
    assert starts == [94, 212, 329, 872] and int(marked.sum()) == 45
    flow = water.values[:, 0]
    assert flow[329] > 108 and ((flow[marked] < 95) | (flow[marked] > 108)).all()
    assert ((flow[~marked] >= 95) & (flow[~marked] <= 108)).all()
