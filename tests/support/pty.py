"""The socat pty pair of ``edge_lstm.tools.ptys``, with a missing socat reported the tests' way."""

from __future__ import annotations

from pathlib import Path

from edge_lstm.errors import Unavailable
from edge_lstm.tools import ptys
from support import unavailable


class PtyPair(ptys.PtyPair):
    def __init__(self, directory: Path, name: str = "ttyV0") -> None:
        try:
            super().__init__(directory, name)
        except Unavailable:
            unavailable("socat", "apt-get install socat")
