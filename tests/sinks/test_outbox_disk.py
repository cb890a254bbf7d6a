"""A journal that cannot be written (disk full, read-only filesystem, no permission) must never stop
alerts: the outbox keeps them in memory, counts each failed write, logs the first at once (with the
path and the OS error) and then rate-limited, and rewrites the whole journal once it can again."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest
from support.disk import fill, read_only, small_tmpfs

import edge_lstm.sinks.outbox as outbox_module
from edge_lstm.sinks.outbox import Outbox

BIG = "x" * 3000  # a few of these fill more tmpfs pages than a full disk has left


def journal_errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "outbox journal" in r.getMessage()]


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the outbox's clock forward: the journal is retried only every ``journal_retry_s``."""
    now = outbox_module.monotonic()
    monkeypatch.setattr(outbox_module, "monotonic", lambda: now + seconds)


def test_a_failing_compaction_keeps_alerts_in_memory_and_counts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.jsonl"
    box = Outbox(capacity=5, path=path)
    kept = box.add("t", "kept")

    def no_space(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outbox_module.os, "replace", no_space)
    for i in range(300):  # the first compaction (at 120 journal lines) fails; later records wait
        box.acknowledge(box.add("t", str(i)))  # type: ignore[arg-type]
    assert box.journal_errors == 1 and box.memory_only  # the next attempt waits journal_retry_s
    assert box.items() == [(kept, "t", "kept")]
    later(monkeypatch, 31)
    box.add("t", "retried")  # still no space: counted again, not logged again (rate-limited)
    assert box.journal_errors == 2 and box.memory_only
    [message] = journal_errors_logged(caplog)
    assert str(path) in message and "No space left on device" in message
    monkeypatch.undo()
    later(monkeypatch, 62)
    box.add("t", "after")  # the disk has room again: the journal is rewritten from memory
    assert not box.memory_only and box.journal_errors == 2
    assert Outbox(capacity=5, path=path).items() == box.items()


def test_a_full_disk_at_compaction_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with small_tmpfs(tmp_path / "disk", size_kb=64) as disk:
        path = disk / "outbox.jsonl"
        box = Outbox(capacity=5, path=path)
        for _ in range(3):
            box.add("t", BIG)  # pending: a compaction must write them again
        for i in range(58):
            box.acknowledge(box.add("t", str(i)))  # type: ignore[arg-type]
        box.add("t", "small")  # 3 + 116 + 1 = 120 journal lines: the next record compacts
        filler = fill(disk)
        box.add("t", "on a full disk")  # the rewrite of the big ones: the kernel says ENOSPC
        assert box.journal_errors == 1 and box.memory_only and len(box) == 5
        assert not (disk / "outbox.tmp").exists()  # a failed rewrite does not hold on to space
        box.acknowledge(box.items()[0][0])
        filler.unlink()
        later(monkeypatch, 31)
        box.add("t", "room again")
        assert not box.memory_only
        assert Outbox(capacity=5, path=path).items() == box.items()


def test_a_journal_on_a_read_only_filesystem(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with small_tmpfs(tmp_path / "disk", size_kb=64) as disk:
        path = disk / "outbox.jsonl"
        left = Outbox(capacity=5, path=path)
        left.add("t", "from the last run")
        before = path.read_text()
        read_only(disk)
        box = Outbox(capacity=5, path=path)  # loading compacts: the kernel says EROFS
        assert [payload for _, _, payload in box.items()] == ["from the last run"]
        assert box.journal_errors == 1 and box.memory_only
        key = box.add("t", "new")
        box.acknowledge(box.items()[0][0])
        assert [k for k, _, _ in box.items()] == [key]
        assert path.read_text() == before  # nothing written, nothing lost from the last run
        [message] = journal_errors_logged(caplog)
        assert str(path) in message and "Read-only file system" in message


def test_a_journal_that_cannot_be_read_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "outbox.jsonl"
    path.mkdir()  # anything that read_text refuses: rewriting it could destroy alerts of an earlier run
    box = Outbox(capacity=5, path=path)
    assert box.journal_errors == 1 and box.memory_only
    key = box.add("t", "kept in memory")
    assert box.items() == [(key, "t", "kept in memory")] and path.is_dir()
    [message] = journal_errors_logged(caplog)
    assert str(path) in message and "Is a directory" in message
