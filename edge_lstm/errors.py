"""Every error edge-lstm means to report, and the exit status each one maps to.

Library code raises these kinds; the command line turns them into one line on stderr and the status
below, in one place (``edge_lstm.cli``). Anything else that escapes is a programming error: exit 1,
with the traceback under ``--debug``. Each kind is also a ``ValueError`` or ``RuntimeError`` so that
callers who catch the builtin kinds keep working.

>>> ConfigError("x").exit_status
<ExitStatus.CONFIG: 78>
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Documented exit statuses (the BSD sysexits where one fits), so systemd and scripts can act on them."""

    OK = 0
    FAILURE = 1  # unexpected failure, or a programming error
    USAGE = 2  # a bad flag or setting value
    DATA = 65  # bad input data, model bundle or model file (EX_DATAERR)
    UNAVAILABLE = 69  # a required extra or tool is not installed (EX_UNAVAILABLE)
    CONFIG = 78  # bad daemon configuration (EX_CONFIG): systemd must not restart-loop on it
    INTERRUPTED = 130  # Ctrl-C
    CLOSED_PIPE = 141  # the reader of the output went away (`| head`): as a shell reports SIGPIPE


class EdgeLSTMError(Exception):
    """Base of every error edge-lstm reports as one line with a documented exit status."""

    exit_status = ExitStatus.FAILURE


class SettingsError(EdgeLSTMError, ValueError):
    """A setting (a flag, a training option, a detector setting) is out of its range."""

    exit_status = ExitStatus.USAGE


class ConfigError(EdgeLSTMError, ValueError):
    """The daemon configuration is invalid; the message names the file, the key and what is wrong."""

    exit_status = ExitStatus.CONFIG


class BundleError(EdgeLSTMError, ValueError):
    """A model bundle is missing, corrupt, tampered with or incompatible."""

    exit_status = ExitStatus.DATA


class DataError(EdgeLSTMError, ValueError):
    """Input data cannot be used: too few rows, mismatched columns, nothing left after cleaning."""

    exit_status = ExitStatus.DATA


class CSVFormatError(DataError):
    """A CSV file does not match the input contract; the message names the file, line and column."""


class FrameError(DataError):
    """One sample frame (an MQTT payload, a serial line) cannot be parsed.

    ``reason`` is a short counter key (``not_utf8``, ``not_json``, ``missing_field``, ...): the daemon
    counts frames by reason and never stops for one.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ModelFileError(EdgeLSTMError, ValueError):
    """A ``.tflite`` file cannot be loaded or does not have the step model's signature."""

    exit_status = ExitStatus.DATA


class Unavailable(EdgeLSTMError, RuntimeError):
    """A required extra (TensorFlow, matplotlib) or tool (mosquitto) is not installed."""

    exit_status = ExitStatus.UNAVAILABLE


class TrainingError(EdgeLSTMError, RuntimeError):
    """Training ran but its result cannot be trusted (e.g. an export that does not match Keras)."""

    exit_status = ExitStatus.FAILURE
