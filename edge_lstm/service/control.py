"""Runtime control over MQTT, off by default: one command topic, answered on a response topic.

MQTT 3.1.1 does not tell a subscriber who published a message, so who may command the daemon is the
broker's decision: an ACL that lets only the operator's user write the command topic (README). With
``token_file`` every command must also carry that token, a second lock for brokers shared with
devices that cannot be trusted.

Commands, one JSON object each, with an optional ``id`` that the response repeats:

* ``{"command": "status"}``: models, and each stream's alert state and threshold;
* ``{"command": "set_threshold", "stream": ID, "rule": "quantile:0.999"}`` (a ``ThresholdRule``:
  ``adaptive:Z``, ``quantile:Q``, ``max:M``, ``spot:Q``) or ``"threshold": 0.5``: the stream keeps its
  state and gets the new threshold until the next restart or reload (make it permanent in the config);
* ``{"command": "reset", "stream": ID}``: the stream forgets its past and warms up again;
* ``{"command": "snapshot"}``: write the state snapshot now.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from edge_lstm.config import ControlSettings
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.core.detector import StreamDetector
from edge_lstm.engine.router import Stream
from edge_lstm.errors import EdgeLSTMError

if TYPE_CHECKING:
    from edge_lstm.service.worker import Daemon

log = logging.getLogger(__name__)


class CommandError(Exception):
    """A command that cannot be carried out; the message is the response's ``error``."""


class Control:
    """Carries out commands on the worker thread (which owns every stream) and says what happened."""

    def __init__(self, daemon: Daemon, settings: ControlSettings) -> None:
        self.daemon = daemon
        self.settings = settings

    def handle(self, payload: bytes) -> dict[str, Any]:
        """The response to one command payload; never raises."""
        request: Any = None
        try:
            request = json.loads(payload)
            if not isinstance(request, dict):
                raise CommandError("a command is a JSON object")
            self._authorized(request)
            result = self._run(request)
            response = {"ok": True, **result}
        except (ValueError, UnicodeDecodeError):
            response = {"ok": False, "error": "not JSON"}
        except (CommandError, EdgeLSTMError) as error:
            response = {"ok": False, "error": str(error)}
        if isinstance(request, dict) and "id" in request:
            response["id"] = request["id"]
        what = request.get("command") if isinstance(request, dict) else None
        self.daemon.counters["control_commands" if response["ok"] else "control_refused"] += 1
        log.info("control: %s -> %s", what, "ok" if response["ok"] else response["error"])
        return response

    def _authorized(self, request: dict[str, Any]) -> None:
        if self.settings.token is None:
            return
        given = request.get("token")
        if not isinstance(given, str) or not hmac.compare_digest(given, self.settings.token):
            raise CommandError("not authorized: a missing or wrong token")

    def _run(self, request: dict[str, Any]) -> dict[str, Any]:
        command = request.get("command")
        if command == "status":
            return self._status()
        if command == "snapshot":
            if self.daemon.config.state_directory is None:
                raise CommandError("no [state] directory is configured")
            self.daemon.snapshot()
            return {"snapshot": str(self.daemon.config.state_directory)}
        if command == "reset":
            stream = self._stream(request)
            stream.detector.reset()
            return {"stream": stream.id}
        if command == "set_threshold":
            return self._set_threshold(self._stream(request), request)
        raise CommandError(f"unknown command {command!r}; known: status, set_threshold, reset, snapshot")

    def _stream(self, request: dict[str, Any]) -> Stream:
        wanted = request.get("stream")
        for stream in self.daemon.streams.values():
            if stream.id == wanted:
                return stream
        raise CommandError(f"no live stream {wanted!r}")

    def _set_threshold(self, stream: Stream, request: dict[str, Any]) -> dict[str, Any]:
        threshold, rule = request.get("threshold"), request.get("rule")
        if (threshold is None) == (rule is None):
            raise CommandError("give either threshold (a number) or rule (e.g. 'quantile:0.999')")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)):
            raise CommandError(f"threshold must be a number, got {threshold!r}")
        parsed = ThresholdRule.parse(str(rule)) if rule is not None else None
        bundle = self.daemon.bundles[stream.model_key]
        settings = bundle.detector_settings(None if threshold is None else float(threshold), parsed)
        detector = StreamDetector(settings, stream.detector.model, stream.id)
        detector.carry_over(stream.detector)
        stream.detector = detector
        return {"stream": stream.id, "threshold": detector.threshold}

    def _status(self) -> dict[str, Any]:
        return {
            "models": self.daemon.models_in_use(),
            "streams": {
                s.id: {
                    "alerting": s.detector.alerting,
                    "threshold": s.detector.threshold,
                    "samples": s.detector.counters.samples,
                }
                for s in self.daemon.streams.values()
            },
        }
