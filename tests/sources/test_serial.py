"""The serial reader on real pty pairs (socat): lines in order, a port that comes and goes, by-id names."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.mqtt import wait_for
from support.pty import PtyPair

from edge_lstm.config import SerialSettings
from edge_lstm.sources.queue import Frame, FrameQueue
from edge_lstm.sources.serial_port import SerialReader, serial_topic, stable_path

pytestmark = pytest.mark.slow


def collect(queue: FrameQueue, frames: list[Frame]) -> int:
    frames.extend(queue.take(0.05))
    return len(frames)


@pytest.fixture()
def pty(tmp_path: Path) -> PtyPair:
    pair = PtyPair(tmp_path).start()
    yield pair  # type: ignore[misc]
    if pair.process is not None:
        pair.stop()


def reader_for(port: Path | str, **settings: object) -> tuple[SerialReader, FrameQueue]:
    queue = FrameQueue(100_000)
    reader = SerialReader(SerialSettings(port=str(port), name="board", **settings), queue)  # type: ignore[arg-type]
    reader.start()
    return reader, queue


def test_lines_arrive_whole_and_in_order_however_they_are_written(pty: PtyPair) -> None:
    reader, queue = reader_for(pty.device, dtr=False)
    try:
        wait_for(lambda: reader.status.connected, 10, "the port to open")
        text = b"".join(f"{i},{i + 0.5},{-i}\r\n".encode() for i in range(500))
        for start in range(0, len(text), 37):  # writes that end mid-line
            pty.write(text[start : start + 37])
        frames: list[Frame] = []
        wait_for(lambda: collect(queue, frames) >= 500, 10, "500 lines")
    finally:
        reader.stop()
    assert [f.payload for f in frames] == text.split(b"\r\n")[:-1]
    assert {f.topic for f in frames} == {serial_topic("board")} and not any(f.gap for f in frames)
    assert reader.status.lines == 500 and reader.status.connects == 1


def test_the_rate_is_measured_over_the_first_second(pty: PtyPair) -> None:
    import time

    reader, _ = reader_for(pty.device)
    try:
        wait_for(lambda: reader.status.connected, 10, "the port to open")
        for i in range(130):
            pty.write(f"{i},1,2\n".encode())
            time.sleep(0.01)
        wait_for(lambda: reader.status.rate_hz is not None, 10, "a measured rate")
    finally:
        reader.stop()
    assert 40 < reader.status.rate_hz < 110  # type: ignore[operator]


def test_a_port_missing_at_start_is_retried_then_read(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path)
    reader, queue = reader_for(pair.device)
    try:
        wait_for(lambda: reader.status.open_failures >= 2, 10, "failed opens")
        assert not reader.status.connected and "ttyV0" in (reader.status.last_error or "")
        pair.start()
        wait_for(lambda: reader.status.connected, 15, "the port to open once it exists")
        pair.write(b"1,2,3\n")
        frames: list[Frame] = []
        wait_for(lambda: collect(queue, frames) >= 1, 10, "a line")
        assert frames[0].payload == b"1,2,3" and not frames[0].gap  # the first connection is not a gap
    finally:
        reader.stop()
        pair.stop()


def test_unplugged_and_plugged_back_is_a_gap_then_data_again(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path).start()
    reader, queue = reader_for(pair.device)
    frames: list[Frame] = []
    try:
        wait_for(lambda: reader.status.connected, 10, "the port to open")
        pair.write(b"1,1,1\n2,2,2\n")
        wait_for(lambda: collect(queue, frames) >= 2, 10, "two lines")
        old = Path(pair.device).resolve()
        pair.stop()  # the link and the pty behind it disappear
        wait_for(lambda: reader.status.disconnects >= 1, 10, "the loss to be noticed")
        blocker = PtyPair(tmp_path, "other").start()  # takes the freed pty numbers
        pair.start()  # the device is back under another kernel name; the configured link follows it
        assert Path(pair.device).resolve() != old
        wait_for(lambda: reader.status.connects == 2, 15, "the reconnect")
        pair.write(b"3,3,3\n")
        wait_for(lambda: collect(queue, frames) >= 4, 10, "the gap and the next line")
    finally:
        reader.stop()
        pair.stop()
        blocker.stop()
    assert [(f.payload, f.gap) for f in frames] == [
        (b"1,1,1", False),
        (b"2,2,2", False),
        (b"reconnect", True),
        (b"3,3,3", False),
    ]
    assert reader.status.gaps == 1 and reader.status.connected is False


def test_a_kernel_name_is_reopened_through_its_by_id_link(tmp_path: Path, pty: PtyPair) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    kernel_name = Path(pty.device).resolve()
    (by_id / "usb-Arduino_Uno_8573-if00").symlink_to(kernel_name)
    assert stable_path(str(kernel_name), by_id) == str(by_id / "usb-Arduino_Uno_8573-if00")
    assert stable_path("loop://", by_id) == "loop://"
    assert stable_path(str(tmp_path / "other"), by_id) == str(tmp_path / "other")


def test_a_silence_of_ten_periods_is_a_gap(pty: PtyPair) -> None:
    import time

    reader, queue = reader_for(pty.device, rate_hz=50.0)
    frames: list[Frame] = []
    try:
        wait_for(lambda: reader.status.connected, 10, "the port to open")
        pty.write(b"1,1,1\n")
        time.sleep(0.8)  # 40 periods at 50 Hz, and over the half-second floor
        pty.write(b"2,2,2\n")
        wait_for(lambda: collect(queue, frames) >= 3, 10, "the lines and the gap")
    finally:
        reader.stop()
    assert [f.gap for f in frames] == [False, True, False]
