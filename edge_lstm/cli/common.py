"""What the command modules share: options, the training-extra check, and error translation.

Error policy, in one place (``translated_errors``, applied once by the group to every command): an
``EdgeLSTMError`` becomes one line on stderr and its documented exit status (``edge_lstm.errors``);
Ctrl-C exits 130; output piped into a reader that stops early (``| head``) ends quietly with 141, as a
shell reports a process ended by SIGPIPE; anything else is a programming error, reported as one line and exit 1, or with
its traceback under ``--debug`` / ``EDGE_LSTM_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from edge_lstm.errors import EdgeLSTMError, ExitStatus, Unavailable

TRAIN_HINT = "pip install 'edge-lstm[train]'  (TensorFlow 2.21; about 1.6 GB)"
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class CLIError(click.ClickException):
    """A one-line error with its exit status."""

    def __init__(self, message: str, exit_code: int = ExitStatus.FAILURE) -> None:
        super().__init__(message)
        self.exit_code = int(exit_code)  # type: ignore[misc]  # click reads it per instance


def debug_enabled() -> bool:
    """``--debug`` on the command line or ``EDGE_LSTM_DEBUG=1`` in the environment."""
    context = click.get_current_context(silent=True)
    flag = bool(context and context.find_root().meta.get("edge_lstm.debug"))
    return flag or os.environ.get("EDGE_LSTM_DEBUG", "") not in ("", "0")


@contextmanager
def translated_errors() -> Iterator[None]:
    """Library errors -> one line on stderr and a documented exit status."""
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except EdgeLSTMError as error:
        raise CLIError(str(error), error.exit_status) from None
    except KeyboardInterrupt:
        raise CLIError("interrupted", ExitStatus.INTERRUPTED) from None
    except BrokenPipeError:
        # Nothing is wrong and no one is reading: later writes (the interpreter's last flush) go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise click.exceptions.Exit(ExitStatus.CLOSED_PIPE) from None
    except Exception as error:
        if debug_enabled():
            raise
        raise CLIError(
            f"internal error: {type(error).__name__}: {error} "
            "(run with --debug or EDGE_LSTM_DEBUG=1 for the traceback, and please report it)",
            ExitStatus.FAILURE,
        ) from None


def require_training_extra() -> None:
    """Exit 69 with the install command when TensorFlow (the ``train`` extra) is not installed."""
    from edge_lstm_train import tensorflow_available

    if not tensorflow_available():
        raise Unavailable(f"training needs TensorFlow, which is not installed. Install it with: {TRAIN_HINT}")


def split_names(value: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None or empty -> None."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _stack(options: list[Decorator]) -> Decorator:
    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


def model_option(required: bool = True) -> Decorator:
    """``--model DIR``: the bundle directory, passed as ``model_dir``."""
    return click.option(
        "--model", "model_dir", required=required, type=click.Path(path_type=Path), help="Model bundle directory."
    )


def variant_option(what: str = "Run") -> Decorator:
    """``--variant float|dynamic|int8``: a stored quantization variant instead of the deployed model."""
    return click.option(
        "--variant",
        type=click.Choice(["float", "dynamic", "int8"]),
        default=None,
        help=f"{what} a stored quantization variant instead of the deployed model.",
    )


def batch_option(where: str) -> Decorator:
    """``--batch N``: samples of a stream per MQTT message, as firmware that buffers readings sends them."""
    return click.option(
        "--batch",
        type=click.IntRange(1, 10_000),
        default=1,
        show_default=True,
        help=f"Samples of a stream per MQTT message{where} (a JSON array of samples, or CSV lines).",
    )


def results_option(default: str) -> Decorator:
    """``--results FILE``: where a benchmark writes its figures (JSON)."""
    return click.option(
        "--results",
        "--json",
        "results",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path(default),
        show_default=True,
        help="JSON file the figures are written to.",
    )


csv_options = _stack(
    [
        click.option("--sep", default=None, help="Field separator (default: sniffed from the header; 'tab' for tabs)."),
        click.option(
            "--timestamp",
            "timestamp_col",
            default=None,
            metavar="COLUMN",
            help="Timestamp column (default: datetime/timestamp/time/ts/date if present; 'none' for none).",
        ),
    ]
)

mqtt_options = _stack(
    [
        click.option("--host", default=None, help="Broker host (default localhost, or EDGE_LSTM_MQTT_HOST)."),
        click.option("--port", type=int, default=None, help="Broker port (default 1883, or EDGE_LSTM_MQTT_PORT)."),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Take the broker settings from this daemon config.",
        ),
    ]
)


def load_daemon_config(path: Path, **overrides: Any) -> Any:
    """The validated daemon config; flags given as ``overrides`` (None = not given)."""
    from edge_lstm.config import load_config

    return load_config(path, {k: v for k, v in overrides.items() if v is not None})


def mqtt_settings(config_path: Path | None, host: str | None, port: int | None) -> Any:
    """Broker settings for the operator tools: flag > EDGE_LSTM_* environment > config file > default."""
    from edge_lstm.config import mqtt_settings_from

    return mqtt_settings_from(config_path, {"host": host, "port": port})
