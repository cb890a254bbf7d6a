"""The alert outbox: bounded, acknowledged, and kept on disk across a restart."""

from __future__ import annotations

from pathlib import Path

from edge_lstm.sinks.outbox import Outbox


def test_full_outbox_refuses_the_newest_and_counts_it() -> None:
    box = Outbox(capacity=3)
    keys = [box.add("t", f"a{i}") for i in range(5)]
    assert keys[3:] == [None, None] and box.dropped == 2
    assert [payload for _, _, payload in box.items()] == ["a0", "a1", "a2"]
    box.acknowledge(keys[0])  # type: ignore[arg-type]
    assert len(box) == 2 and box.add("t", "a5") is not None


def test_unacknowledged_alerts_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.jsonl"
    box = Outbox(capacity=10, path=path)
    keys = [box.add("edge-lstm/s1/alert", f'{{"n": {i}}}') for i in range(4)]
    box.acknowledge(keys[1])  # type: ignore[arg-type]
    reopened = Outbox(capacity=10, path=path)
    assert [payload for _, _, payload in reopened.items()] == ['{"n": 0}', '{"n": 2}', '{"n": 3}']
    new_key = reopened.add("edge-lstm/s1/alert", '{"n": 4}')
    assert new_key is not None and new_key not in {k for k, _, _ in reopened.items()} - {new_key}


def test_a_torn_journal_line_loses_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    box = Outbox(capacity=10, path=path)
    box.add("t", "first")
    box.add("t", "second")
    with path.open("a") as handle:
        handle.write('{"add": 9, "topic": "t", "pay')  # power cut mid-write
    assert [payload for _, _, payload in Outbox(capacity=10, path=path).items()] == ["first", "second"]


def test_the_journal_is_compacted_as_it_grows(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    box = Outbox(capacity=5, path=path)
    for i in range(200):
        key = box.add("t", str(i))
        box.acknowledge(key)  # type: ignore[arg-type]
    assert len(path.read_text().splitlines()) <= 4 * 5 + 101
    assert len(Outbox(capacity=5, path=path)) == 0
