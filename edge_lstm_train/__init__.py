"""Training toolkit (TensorFlow/Keras): data, model, fit, export, verify, calibrate.

Installed as ``edge_lstm_train`` by the ``train`` extra. The device package never imports it.
"""

from __future__ import annotations

import os
import sys

from edge_lstm.runtime.quiet import native_output_captured

# TensorFlow's C++ start-up and graph notes are noise on a command line; Python errors still surface.
# Set here, before any submodule imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

INSTALL_HINT = "pip install 'edge-lstm[train]'  (TensorFlow 2.21; about 1.6 GB)"


def tensorflow_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        return False


def import_tensorflow_quietly() -> None:
    """Import TensorFlow once with its start-up notes (oneDNN, CPU features, absl) held back."""
    if "tensorflow" in sys.modules:
        return
    with native_output_captured():
        import tensorflow  # noqa: F401
