"""The error policy in one place: domain errors are one line and their exit status; programming errors
are exit 1, with the traceback only under --debug or EDGE_LSTM_DEBUG=1."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import edge_lstm.bundle
from edge_lstm.cli import main
from edge_lstm.errors import (
    BundleError,
    ConfigError,
    CSVFormatError,
    DataError,
    EdgeLSTMError,
    ExitStatus,
    FrameError,
    ModelFileError,
    SettingsError,
    TrainingError,
    Unavailable,
)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (SettingsError, ExitStatus.USAGE),
        (ConfigError, ExitStatus.CONFIG),
        (BundleError, ExitStatus.DATA),
        (DataError, ExitStatus.DATA),
        (CSVFormatError, ExitStatus.DATA),
        (ModelFileError, ExitStatus.DATA),
        (Unavailable, ExitStatus.UNAVAILABLE),
        (TrainingError, ExitStatus.FAILURE),
    ],
)
def test_each_error_kind_is_one_line_and_its_status(
    kind: type[EdgeLSTMError], status: ExitStatus, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fail(_path: object) -> None:
        raise kind("what went wrong, and what to do")

    monkeypatch.setattr(edge_lstm.bundle, "load_bundle", fail)
    result = CliRunner().invoke(main, ["info", str(tmp_path)])
    assert result.exit_code == status
    assert result.output == "Error: what went wrong, and what to do\n"


def test_frame_errors_carry_their_counter_reason() -> None:
    error = FrameError("not_json", "payload is not JSON")
    assert error.reason == "not_json" and error.exit_status == ExitStatus.DATA and isinstance(error, ValueError)


def test_a_programming_error_is_exit_1_with_a_hint_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(_path: object) -> None:
        raise ValueError("an unexpected internal value")  # a builtin ValueError is not a data error

    monkeypatch.setattr(edge_lstm.bundle, "load_bundle", broken)
    monkeypatch.delenv("EDGE_LSTM_DEBUG", raising=False)
    result = CliRunner().invoke(main, ["info", str(tmp_path)])
    assert result.exit_code == ExitStatus.FAILURE
    assert "internal error: ValueError: an unexpected internal value" in result.output
    assert "--debug" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_debug_shows_the_traceback(how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(_path: object) -> None:
        raise TypeError("boom")

    monkeypatch.setattr(edge_lstm.bundle, "load_bundle", broken)
    args = ["info", str(tmp_path)]
    if how == "flag":
        args = ["--debug", *args]
    else:
        monkeypatch.setenv("EDGE_LSTM_DEBUG", "1")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and isinstance(result.exception, TypeError)


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def interrupted(_path: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(edge_lstm.bundle, "load_bundle", interrupted)
    result = CliRunner().invoke(main, ["info", str(tmp_path)])
    assert result.exit_code == ExitStatus.INTERRUPTED


def test_output_into_a_reader_that_went_away_ends_quietly(bundle_dir: Path) -> None:
    """`edge-lstm info B | head -1` must not report an internal error: the reader closes first here."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # nobody will read: the first write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "edge_lstm", "info", str(bundle_dir)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    assert done.returncode == ExitStatus.CLOSED_PIPE and done.stderr == "", done.stderr
