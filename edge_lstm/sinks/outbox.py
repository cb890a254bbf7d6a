"""Alerts that are not yet acknowledged by the broker: bounded, in memory and on disk.

Every alert enters the outbox before it is handed to the MQTT client and leaves it when the broker
acknowledges it (QoS 1 PUBACK). While the broker is unreachable alerts accumulate here; after a
reconnect they are sent in order. The disk copy is an append-only JSON-lines journal, compacted
when it grows, so alerts also survive a daemon restart.

Drop policy when full: the *newest* alert is refused and counted (``dropped``), so the start of an
incident, which is the most useful part, is never pushed out by its own later events.

Two threads share an outbox: the worker adds alerts while paho's network thread acknowledges them. One
lock makes each change to the pending set and its journal record (append or compaction) a single step,
so the journal always replays to exactly the pending set. The outbox never calls out while holding it.

The journal is a convenience, the alerts are not: when it cannot be written (disk full, read-only
filesystem, no permission) the outbox carries on in memory only. Each failed write is counted
(``journal_errors``), the first is logged at once with the path and the OS error and later ones at
most every few minutes, and every ``journal_retry_s`` the whole journal is rewritten from memory, which
brings it back up to date as soon as the disk allows.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from contextlib import suppress
from pathlib import Path
from time import monotonic
from typing import Any

from edge_lstm.core.logpolicy import RateLimitedLog

log = logging.getLogger(__name__)


class Outbox:
    """Alerts not yet acknowledged by the broker: bounded (the newest is refused when full, counted),
    optionally journalled to disk so they survive a restart."""

    def __init__(self, capacity: int, path: str | Path | None = None, journal_retry_s: float = 30.0) -> None:
        self.capacity = capacity
        self.path = Path(path) if path else None
        self.dropped = 0
        self.journal_errors = 0  # failed journal writes (or reads at start): alerts kept in memory meanwhile
        self._pending: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._next_id = 0
        self._journal_lines = 0
        self._compact_after = 4 * capacity + 100  # journal lines; a compaction rewrites only what is pending
        self._retry_s = journal_retry_s
        self._stale_since: float | None = None  # the journal lags behind memory since this monotonic time
        self._retry_at = 0.0
        self._unreadable = False  # a journal that could not be read is never overwritten
        self._complain = RateLimitedLog(log, every_s=300.0)  # used under the lock only: one caller at a time
        self._lock = threading.Lock()
        if self.path is not None:
            with self._lock:
                self._load()

    @property
    def memory_only(self) -> bool:
        """Whether a journal is configured but does not hold the pending alerts (it cannot be written)."""
        return self.path is not None and (self._stale_since is not None or self._unreadable)

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, topic: str, payload: str) -> int | None:
        """Keep an alert until acknowledged. Returns its id, or None if the outbox is full."""
        with self._lock:
            if len(self._pending) >= self.capacity:
                self.dropped += 1
                return None
            key = self._next_id
            self._next_id += 1
            self._pending[key] = {"topic": topic, "payload": payload}
            self._journal({"add": key, "topic": topic, "payload": payload})
            return key

    def acknowledge(self, key: int) -> None:
        """The broker has alert ``key``: forget it."""
        with self._lock:
            if self._pending.pop(key, None) is not None:
                self._journal({"ack": key})

    def items(self) -> list[tuple[int, str, str]]:
        """``(key, topic, payload)`` of every alert still waiting, oldest first."""
        with self._lock:
            return [(k, v["topic"], v["payload"]) for k, v in self._pending.items()]

    # -- the journal (called with the lock held) -----------------------------------------------------
    def _journal(self, record: dict[str, Any]) -> None:
        """Record a change already made to ``_pending``: appended, or folded into a compaction."""
        if self.path is None or self._unreadable:
            return
        if self._stale_since is not None:
            if monotonic() >= self._retry_at:
                self._rewrite()  # an append after a failed write could follow a torn line
            return
        if self._journal_lines >= self._compact_after:
            self._rewrite()  # the rewrite already reflects ``record``
            return
        try:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._journal_lines += 1
        except OSError as error:
            self._failed("append to", error)

    def _rewrite(self) -> None:
        """Compact the journal to the pending set; on an OS error carry on in memory only."""
        try:
            self._compact()
        except OSError as error:
            self._failed("rewrite", error)
            return
        if self._stale_since is not None:
            log.warning(
                "outbox journal %s written again after %.0f s in memory only (%d pending alert(s))",
                self.path,
                monotonic() - self._stale_since,
                len(self._pending),
            )
            self._stale_since = None

    def _failed(self, action: str, error: OSError) -> None:
        self.journal_errors += 1
        now = monotonic()
        if self._stale_since is None:
            self._stale_since = now
        self._retry_at = now + self._retry_s
        self._complain.error(
            "journal",
            "cannot %s the outbox journal %s (%s): alerts are kept in memory only, retrying every %g s",
            action,
            self.path,
            error,
            self._retry_s,
        )

    def _compact(self) -> None:
        if self.path is None:
            return
        temporary = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("w", encoding="utf-8") as handle:
                for key, value in self._pending.items():
                    handle.write(json.dumps({"add": key, **value}, separators=(",", ":")) + "\n")
            os.replace(temporary, self.path)
        except OSError:
            with suppress(OSError):  # a half-written copy only takes space from the next attempt
                temporary.unlink(missing_ok=True)
            raise
        self._journal_lines = len(self._pending)

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""  # a first start: the rewrite below creates the journal (and says so if it cannot)
        except OSError as error:
            # Not even readable: keep away from it, so the alerts it may hold are there for a later start.
            self._unreadable = True
            self.journal_errors += 1
            log.error("cannot read the outbox journal %s (%s): alerts are kept in memory only", self.path, error)
            return
        self._replay(text)
        self._rewrite()
        if self._pending:
            log.info("outbox: %d unacknowledged alert(s) from before the restart will be sent", len(self._pending))

    def _replay(self, text: str) -> None:
        bad = 0
        for line in text.splitlines():
            try:
                record = json.loads(line)
                if "add" in record:
                    self._pending[int(record["add"])] = {"topic": record["topic"], "payload": record["payload"]}
                elif "ack" in record:
                    self._pending.pop(int(record["ack"]), None)
            except (ValueError, KeyError, TypeError):
                bad += 1  # a line torn by a power cut: the rest of the journal still counts
        if bad:
            log.warning("outbox journal %s: %d unreadable line(s) skipped", self.path, bad)
        while len(self._pending) > self.capacity:
            self._pending.popitem(last=True)
            self.dropped += 1
        self._next_id = max(self._pending, default=-1) + 1
