"""A CSV file read as a stream: rows in file order, one ``Sample`` each, without loading the file.

Unlike ``read_csv`` (training and evaluation, where a bad cell is an error that names its line), a
stream counts a bad row by reason and goes on, as the daemon does with a bad MQTT payload: a row with
the wrong number of fields (``wrong_length``), a cell that is not a number (``not_a_number``) or a bad
timestamp (``bad_timestamp``). Missing readings become NaN and are the detector's to skip.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from edge_lstm.core.samples import parse_number, timestamp_of
from edge_lstm.errors import CSVFormatError, FrameError
from edge_lstm.sources.base import Sample
from edge_lstm.sources.csv_file import layout, sniff_separator, text_encoding


class CSVSource:
    """Rows of ``path`` as ``Sample`` items, ``batch`` at a time; ``features`` names the columns read.

    Header problems (no file, a missing column) raise ``CSVFormatError`` at once; bad rows are counted
    in ``counters`` (``rows``, ``bad_frames`` and ``bad_frame.<reason>``) and skipped.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        columns: Sequence[str] | None = None,
        sep: str | None = None,
        timestamp: str | None = None,
        batch: int = 500,
    ) -> None:
        self.path = Path(path)
        self.batch = batch
        self.counters: Counter[str] = Counter()
        if not self.path.is_file():
            raise CSVFormatError(f"{self.path}: no such file")
        # The encoding read_csv would pick, so a header names the channels a bundle was trained on.
        encoding, _ = text_encoding(self.path)
        self._handle: TextIO | None = self.path.open(newline="", encoding=encoding, errors="replace")
        first = self._handle.readline()
        if not first.strip():
            self.close()
            raise CSVFormatError(f"{self.path}: the file is empty; expected a header row")
        self._handle.seek(0)
        self._rows: Iterator[list[str]] = csv.reader(self._handle, delimiter=sniff_separator(first, sep))
        self.header = [name.strip() for name in next(self._rows)]
        self._time, _, self._columns = layout(self.path, self.header, timestamp, columns, ())
        self.features = [self.header[i] for i in self._columns]

    def take(self, timeout: float = 0.0) -> list[Sample]:
        """The next rows (at most ``batch``); an empty list at the end of the file or after ``close``."""
        samples: list[Sample] = []
        if self._handle is None:
            return samples
        for row in self._rows:
            if not row or all(not cell.strip() for cell in row):
                continue
            self.counters["rows"] += 1
            try:
                samples.append(self._sample(row))
            except FrameError as error:
                self.counters["bad_frames"] += 1
                self.counters[f"bad_frame.{error.reason}"] += 1
                continue
            if len(samples) >= self.batch:
                return samples
        self.close()
        return samples

    def _sample(self, row: list[str]) -> Sample:
        if len(row) != len(self.header):
            raise FrameError("wrong_length", f"expected {len(self.header)} fields, found {len(row)}")
        values = np.array([parse_number(row[i], self.header[i]) for i in self._columns])
        return Sample(values, None if self._time is None else timestamp_of(row[self._time]))

    def __iter__(self) -> Iterator[Sample]:
        while batch := self.take():
            yield from batch

    def close(self) -> None:
        """Close the file; idempotent."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
