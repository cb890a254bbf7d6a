"""Shared fixtures: one small real bundle, trained once per session through the real pipeline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest

from edge_lstm import synthetic

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TRAIN_ROWS = 12_000


def unavailable(what: str, install: str) -> NoReturn:
    """A test dependency is missing: a failure under CI (which installs everything), else a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI ({install})")
    pytest.skip(f"{what} is not installed ({install})")  # local runs only: CI fails above


def tensorflow_or_fail() -> None:
    from edge_lstm_train import tensorflow_available

    if not tensorflow_available():
        unavailable("TensorFlow (the train extra)", "pip install -e '.[train]'")


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


def random_reference_weights(
    n_features: int = 3, units: int = 8, window: int = 4, bottleneck: int = 4, seed: int = 0, cell: str = "lstm"
) -> dict[str, np.ndarray]:
    """Small random weights for the numpy cell: unit tests of the core without training anything."""
    rng = np.random.default_rng(seed)
    gates = 4 if cell == "lstm" else 3
    bias_shape = (gates * units,) if cell == "lstm" else (2, gates * units)
    return {
        "cell_kernel": rng.normal(0, 0.4, (n_features, gates * units)).astype(np.float32),
        "cell_recurrent_kernel": rng.normal(0, 0.3, (units, gates * units)).astype(np.float32),
        "cell_bias": rng.normal(0, 0.1, bias_shape).astype(np.float32),
        "bottleneck_kernel": rng.normal(0, 0.4, (units, bottleneck)).astype(np.float32),
        "bottleneck_bias": np.zeros(bottleneck, np.float32),
        "decoder_kernel": rng.normal(0, 0.4, (bottleneck, window * n_features)).astype(np.float32),
        "decoder_bias": np.zeros(window * n_features, np.float32),
    }
