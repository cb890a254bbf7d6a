"""The outbox is shared by two threads: the worker adds alerts while paho's network thread acknowledges
them. Every mutation, journal append and compaction must be one step, or the journal stops matching
what is pending (and compaction can iterate a dict the other thread is changing)."""

from __future__ import annotations

import queue
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_lstm.sinks.outbox import Outbox


@pytest.fixture()
def busy_switching() -> Iterator[None]:
    """Switch threads as often as the interpreter allows, so interleavings that are rare at the default
    interval happen in every run."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def hammer(box: Outbox, adders: int, per_adder: int, ackers: int) -> list[BaseException]:
    """``adders`` threads add alerts and hand their keys to ``ackers`` threads, which acknowledge all
    but every 499th (those stay pending). An adder retries while the outbox is full. Returns what any
    thread raised."""
    keys: queue.Queue[int | None] = queue.Queue()
    errors: list[BaseException] = []
    failed = threading.Event()  # one thread's error ends the run instead of leaving the rest waiting

    def fail(error: BaseException) -> None:
        errors.append(error)
        failed.set()

    def add(worker: int) -> None:
        try:
            for i in range(per_adder):
                key = None
                while key is None and not failed.is_set():
                    key = box.add(f"edge-lstm/s{worker}/alert", f'{{"worker": {worker}, "n": {i}}}')
                if key is None:
                    return
                if key % 499:
                    keys.put(key)
        except BaseException as error:
            fail(error)

    def acknowledge() -> None:
        try:
            while (key := keys.get()) is not None and not failed.is_set():
                box.acknowledge(key)
        except BaseException as error:
            fail(error)

    adding = [threading.Thread(target=add, args=(w,)) for w in range(adders)]
    acking = [threading.Thread(target=acknowledge) for _ in range(ackers)]
    for thread in adding + acking:
        thread.start()
    for thread in adding:
        thread.join(60)
    for _ in acking:
        keys.put(None)
    for thread in acking:
        thread.join(60)
    return errors


@pytest.mark.usefixtures("busy_switching")
def test_concurrent_adds_acks_and_compactions_keep_the_journal_exact(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    # A small capacity compacts every 4 x 60 + 100 journal lines: hundreds of compactions below.
    box = Outbox(capacity=60, path=path)
    errors = hammer(box, adders=3, per_adder=3_000, ackers=2)
    assert errors == []
    pending = box.items()
    assert [key for key, _, _ in pending] == list(range(0, 9_000, 499))
    assert Outbox(capacity=60, path=path).items() == pending


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.just("add"), st.integers(0, 3), st.just("reopen")), max_size=400))
def test_any_sequence_of_adds_acks_and_restarts_replays_to_the_pending_set(operations: list[object]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "outbox.jsonl"
        box = Outbox(capacity=3, path=path)  # compacts every 112 journal lines: often, in long sequences
        for operation in operations:
            if operation == "add":
                box.add("t", "x")
            elif operation == "reopen":
                box = Outbox(capacity=3, path=path)
            elif isinstance(operation, int) and operation < len(box):
                box.acknowledge(box.items()[operation][0])
            # Replay a copy: opening the journal itself would compact it and hide what was appended.
            if path.exists():  # written on the first add
                shutil.copyfile(path, Path(directory) / "copy.jsonl")
            assert Outbox(capacity=3, path=Path(directory) / "copy.jsonl").items() == box.items()
