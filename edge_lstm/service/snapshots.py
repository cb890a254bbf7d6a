"""Stream state that survives restarts: every stream's detector written to one file in the state
directory, atomically, and read back at start.

File: a header line (format, version, byte count and SHA-256 of the body) then the body, a JSON
document of streams with their model id and detector state (``core.snapshot``). Written to a
temporary file, flushed and fsynced, renamed over the old one, and the directory fsynced: a power
cut leaves the old snapshot or the new one, never a mix. A torn, corrupt or foreign file is detected
by the header and ignored with a log line, never loaded. Writes are rate-bounded by the caller (an SD
card wears out): at an interval and at shutdown.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from edge_lstm.core.snapshot import SnapshotMismatch, capture, restore
from edge_lstm.engine.router import Router

log = logging.getLogger(__name__)

FORMAT, VERSION = "edge-lstm-snapshot", 3  # 3: the adaptive rule keeps its last alert and its hour
# State added since (an alert's age, the adaptive rule's recent starts) needs no new version: what an
# older snapshot lacks starts fresh (core/snapshot.restore); a new version is for a changed meaning.
FILE_NAME = "streams.snapshot"


def write_snapshot(directory: Path, streams: dict[str, Any]) -> Path:
    """Write ``streams`` (JSON-able) atomically; returns the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"written_at": time.time(), "streams": streams}, separators=(",", ":")).encode()
    header = {"format": FORMAT, "version": VERSION, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    path = directory / FILE_NAME
    temporary = directory / f".{FILE_NAME}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(json.dumps(header).encode() + b"\n" + body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    descriptor = os.open(directory, os.O_RDONLY)  # the rename itself must reach the disk
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return path


def read_snapshot(directory: Path) -> dict[str, Any] | None:
    """The streams of the last snapshot, or None (no snapshot, or one that fails its checks: logged)."""
    path = directory / FILE_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        log.warning("snapshot %s: cannot read it (%s); starting every stream afresh", path, error.strerror)
        return None
    problem = _problem(raw)
    if problem is not None:
        log.warning("snapshot %s: %s; ignored, starting every stream afresh", path, problem)
        return None
    document = json.loads(raw.split(b"\n", 1)[1])
    age = time.time() - float(document.get("written_at", 0))
    log.info("snapshot %s: %d stream(s), written %.0f s ago", path, len(document["streams"]), age)
    return dict(document["streams"])


def _problem(raw: bytes) -> str | None:
    """Why ``raw`` is not a whole, intact snapshot of this version, or None."""
    head, newline, body = raw.partition(b"\n")
    try:
        header = json.loads(head)
    except (ValueError, UnicodeDecodeError):
        return "not a snapshot (no header)"
    if not newline or not isinstance(header, dict) or header.get("format") != FORMAT:
        return "not a snapshot (no header)"
    if header.get("version") != VERSION:
        return f"version {header.get('version')}, this daemon reads version {VERSION}"
    if len(body) != header.get("bytes"):
        return f"torn: {len(body)} of {header.get('bytes')} bytes"
    if hashlib.sha256(body).hexdigest() != header.get("sha256"):
        return "checksum mismatch (corrupt)"
    try:
        document = json.loads(body)
    except ValueError:
        return "body is not JSON"
    if not isinstance(document, dict) or not isinstance(document.get("streams"), dict):
        return "no streams in it"
    return None


def streams_document(router: Router) -> dict[str, Any]:
    """Every live stream of ``router``: its pattern's topic, its id, its model and its detector's state."""
    return {
        f"{s.pattern}:{s.id}": {
            "pattern": router.patterns[s.pattern].topic,
            "id": s.id,
            "model_id": s.detector.settings.model_id,
            "detector": capture(s.detector),
        }
        for s in router.streams.values()
    }


def restore_streams(router: Router, saved: dict[str, Any]) -> int:
    """Streams from a snapshot into ``router``, each only onto the same pattern and the same model
    (anything else is said in the log and that stream starts afresh); returns how many."""
    patterns = {p.topic: i for i, p in enumerate(router.patterns)}
    restored = 0
    for entry in saved.values():
        sid, index = str(entry.get("id")), patterns.get(entry.get("pattern"))
        if index is None:
            log.info("snapshot: stream %s came from %s, no longer configured: dropped", sid, entry.get("pattern"))
            continue
        model_id = router.patterns[index].settings.model_id
        if entry.get("model_id") != model_id:
            log.info(
                "snapshot: stream %s was scored by %s, now %s: it starts afresh", sid, entry.get("model_id"), model_id
            )
            continue
        stream = router.create(index, sid)
        if stream is None:
            continue
        try:
            restore(stream.detector, entry["detector"])
        except (SnapshotMismatch, KeyError, TypeError, ValueError) as error:
            log.warning("snapshot: stream %s does not fit its settings (%s): it starts afresh", sid, error)
            router.remove(index, sid)
            continue
        restored += 1
    return restored
