"""A real mosquitto broker per test, for the daemon's end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.mqtt import Broker


@pytest.fixture()
def broker(tmp_path: Path) -> Broker:
    instance = Broker(tmp_path)
    instance.start()
    yield instance  # type: ignore[misc]
    instance.stop()
