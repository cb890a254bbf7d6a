"""Training settings given as ``KEY=VALUE`` text (``evaluate --protocol corpus --train-option``), so a
variant of the defaults is measured with the same harness as the defaults themselves: a key names a
model setting (``ModelConfig``: ``seed``, ``bottleneck``, ``window``, ...) or a training one
(``TrainOptions``: ``drifting``, ``threshold_method``, ...)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from edge_lstm.cli.train import DECIDED_BY
from edge_lstm.errors import SettingsError
from edge_lstm_train.fit import ModelConfig
from edge_lstm_train.pipeline import TrainOptions

# Settings that are not plain values, or that training fills in itself.
NOT_SETTABLE = ("auto", "count_channels", "debounce", "level_channels", "name")


def settings_from(pairs: Iterable[str], config: ModelConfig, options: TrainOptions) -> tuple[ModelConfig, TrainOptions]:
    """``config`` and ``options`` with each ``KEY=VALUE`` of ``pairs`` applied (a value read as the type of
    the setting's default); ``SettingsError`` naming the pair for an unknown key, a malformed pair or a
    bad value. A setting given here is one training no longer decides from the data."""
    model = {f.name for f in dataclasses.fields(ModelConfig)}
    settable = sorted(model | {f.name for f in dataclasses.fields(TrainOptions) if f.name not in NOT_SETTABLE})
    changes: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise SettingsError(f"train option {pair!r}: expected KEY=VALUE, for example drifting=track")
        if key not in settable:
            raise SettingsError(f"train option {pair!r}: unknown setting {key!r}; known: {', '.join(settable)}")
        changes[key] = _value(pair, text.strip(), getattr(config if key in model else options, key))
    auto = options.auto - {DECIDED_BY[key] for key in changes if key in DECIDED_BY}
    try:
        config = dataclasses.replace(config, **{k: v for k, v in changes.items() if k in model})  # type: ignore[arg-type]
        rest = {k: v for k, v in changes.items() if k not in model}
        return config, dataclasses.replace(options, **rest, auto=auto)  # type: ignore[arg-type]
    except SettingsError as error:
        raise SettingsError(f"train option: {error}") from None


def _value(pair: str, text: str, default: object) -> object:
    """``text`` read as the type of ``default``."""
    if isinstance(default, bool):
        words = {
            "true": True,
            "yes": True,
            "on": True,
            "1": True,
            "false": False,
            "no": False,
            "off": False,
            "0": False,
        }
        if text.lower() not in words:
            raise SettingsError(f"train option {pair!r}: expected true or false")
        return words[text.lower()]
    try:
        return type(default)(text)
    except ValueError:
        kind = {int: "an integer", float: "a number"}.get(type(default), type(default).__name__)
        raise SettingsError(f"train option {pair!r}: expected {kind}") from None
