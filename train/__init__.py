"""Training toolkit (TensorFlow/Keras): data, model, fit, export, verify, calibrate.

Installed as ``edge_lstm_train`` by the ``train`` extra. The device package never imports it.
"""

from __future__ import annotations

INSTALL_HINT = "pip install 'edge-lstm[train]'  (TensorFlow 2.21; about 1.6 GB)"


def tensorflow_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        return False
