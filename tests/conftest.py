"""Shared fixtures: one small real bundle, trained once per session through the real pipeline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import tensorflow_or_fail

from edge_lstm.tools import synthetic

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TRAIN_ROWS = 12_000


@pytest.fixture(scope="session")
def normal_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "normal.csv"
    synthetic.write_csv(str(path), synthetic.normal_stream(TRAIN_ROWS, seed=0))
    return path


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory, normal_csv: Path) -> Path:
    """A real bundle: Keras fit, three TFLite exports verified through LiteRT, calibrated threshold."""
    tensorflow_or_fail()
    from edge_lstm.sources.csv_file import read_csv
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions, train_bundle

    out = tmp_path_factory.mktemp("bundles") / "synthetic"
    train_bundle(
        [read_csv(normal_csv)],
        out,
        ModelConfig(epochs=30, stride=32),
        TrainOptions(name="test"),
        log=lambda _m: None,
        progress=False,
    )
    return out


@pytest.fixture()
def bundle_copy(tmp_path: Path, bundle_dir: Path) -> Path:
    """A private copy of the session bundle that a test may damage."""
    import shutil

    target = tmp_path / "bundle"
    shutil.copytree(bundle_dir, target)
    return target
