"""Progress on stderr for long commands: a bar on a terminal; in a log (systemd, CI, a pipe, ``nohup``),
where a bar never draws, one line at most every ``LOG_EVERY_S`` seconds and one at the end, so a
fifteen-minute run shows that it is alive and how far it got."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click

LOG_EVERY_S = 10.0


class LineProgress:
    """The log's stand-in for click's bar: the same ``update`` and iteration."""

    def __init__(self, label: str, length: int, iterable: Iterable[Any] | None = None, show_item: bool = False):
        self.label, self.length, self.show_item = label.strip(), length, show_item
        self._iterable = iterable
        self.done = 0
        self._started = self._last = time.monotonic()

    def update(self, n_steps: int = 1, current_item: object = None) -> None:
        """``n_steps`` more done; a line when ``LOG_EVERY_S`` have passed since the last, or at the end."""
        self.done += n_steps
        now = time.monotonic()
        if now - self._last < LOG_EVERY_S and self.done < self.length:
            return
        self._last = now
        item = f" {current_item}" if self.show_item and current_item is not None else ""
        elapsed = now - self._started
        print(f"{self.label}: {self.done}/{self.length}{item}, {elapsed:.0f} s", file=sys.stderr, flush=True)

    def __iter__(self) -> Iterator[Any]:
        for item in self._iterable or ():
            yield item
            self.update(1, item)


@contextmanager
def progress(
    label: str, length: int | None = None, iterable: Iterable[Any] | None = None, show_item: bool = False
) -> Iterator[Any]:
    """A progress bar on a terminal, ``LineProgress`` elsewhere; ``length`` or a sized ``iterable``."""
    if sys.stderr.isatty():
        shown = (lambda item: None if item is None else str(item)) if show_item else None
        with click.progressbar(iterable, length=length, label=label, file=sys.stderr, item_show_func=shown) as bar:
            yield bar
        return
    items = list(iterable) if iterable is not None else None
    total = length if length is not None else len(items or ())
    yield LineProgress(label, total, items, show_item)
