"""The ``edge-lstm`` command line: the group, and each command module added to it.

Exit statuses are documented in ``edge_lstm.errors.ExitStatus``: 0 success, 1 unexpected failure,
2 usage error, 65 bad data or bundle, 69 a required extra is not installed, 78 bad configuration,
130 interrupted. Nothing imports this module back: commands live in their own modules.
"""

from __future__ import annotations

from typing import Any

import click

from edge_lstm import __version__
from edge_lstm.cli import daemon, device, evaluate, mqtt_tools, tools, train
from edge_lstm.cli.common import translated_errors


class _Group(click.Group):
    """Applies the error policy once, around whichever command runs."""

    def invoke(self, ctx: click.Context) -> Any:
        with translated_errors():
            return super().invoke(ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="edge-lstm")
@click.option("--debug", is_flag=True, envvar="EDGE_LSTM_DEBUG", help="Show the traceback of an unexpected error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Streaming anomaly detection for sensor data on edge devices.

    Train an LSTM autoencoder on normal data, deploy it as an int8 LiteRT step model, and score a
    stream one sample at a time with its recurrent state carried forward.

    Example: edge-lstm demo
    """
    ctx.meta["edge_lstm.debug"] = debug


for _command in (
    train.train,
    tools.demo,
    device.replay,
    device.info,
    evaluate.evaluate,
    daemon.run,
    daemon.check_config,
    mqtt_tools.alerts,
    mqtt_tools.simulate,
    tools.bench,
    tools.bench_mqtt,
    tools.bench_serial,
    tools.bench_train,
):
    main.add_command(_command)
