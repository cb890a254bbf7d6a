"""edge-lstm: streaming anomaly detection with an LSTM autoencoder step model on LiteRT."""

from __future__ import annotations

__version__ = "0.1.0"
