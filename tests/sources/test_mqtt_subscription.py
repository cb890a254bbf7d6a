"""The broker's answer to the daemon's subscription is logged: a refusal (an ACL, a bad filter) must not
leave the daemon idle without a word. Mosquitto grants every v3.1.1 subscription it can parse, so the
refusal is driven with paho's own reason codes (the real broker path is covered by the service tests,
which wait for the confirmation line)."""

from __future__ import annotations

import logging

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edge_lstm.sources.mqtt import MQTTSource


def test_the_brokers_answer_to_the_subscription_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    source = MQTTSource(["sensors/#", "plant/+/pump"], qos=1, capacity=10)
    granted = ReasonCode(PacketTypes.SUBACK, identifier=1)
    refused = ReasonCode(PacketTypes.SUBACK, identifier=0x87)  # not authorized
    source._on_subscribe(None, None, 1, [granted, granted], None)
    assert "broker confirmed the subscription (2 topic filter(s))" in caplog.text
    caplog.clear()
    source._on_subscribe(None, None, 2, [granted, refused], None)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "broker refused 1 of 2 subscription(s): Not authorized"
