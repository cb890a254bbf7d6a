"""The replay plot: readings the detector refuses are gaps, not a scale that flattens the others."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from edge_lstm.engine.replay import ReplayResult
from edge_lstm.sources.csv_file import Recording


def test_absurd_and_missing_readings_are_left_out_of_the_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    from edge_lstm.tools import plot

    values = np.sin(np.arange(300) / 10.0)[:, None] * np.array([[1.0, 2.0]])
    values[100, 0], values[150, 0], values[:, 1] = 1e308, np.inf, np.nan  # channel b never read
    scores = np.where(np.arange(300) < 20, np.nan, 0.1)
    result = ReplayResult(scores, np.arange(300) >= 250, threshold=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, no all-NaN mean
        path = plot.plot_replay(tmp_path / "p.png", Recording(tmp_path / "x.csv", ["a", "b"], values, None), result)
    image = imread(path)
    assert image.shape[0] > 500 and image.std() > 0.05
