"""Recorded sensor data in CSV files, for training, replay and evaluation.

Contract: a header row; one optional timestamp column (ISO 8601 date-time or seconds since the epoch);
numeric sensor columns. The separator is sniffed from the header (``,`` ``;`` or tab) unless given.
Label columns (``anomaly``, ``changepoint``) are kept apart from the sensors. Empty cells and the
other spellings of a missing reading (``core.samples.NAN_TOKENS``) become NaN, and the caller's
policy decides what NaN means; ``true``/``on`` and ``false``/``off`` are 1 and 0, as on every source
(``core.samples.STATE_TOKENS``); anything else non-numeric is an error that names the file, line,
column and value. A file written newest first (many exports are) is read in time order, and says so.
Text is UTF-8 (a byte-order mark allowed); UTF-16 with its mark and Windows-1252 (what spreadsheet
exports on Windows write, a header's "°C") are read too, with a note; a binary file is refused.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import nan
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_lstm.core.samples import parse_timestamp, word_reading
from edge_lstm.errors import CSVFormatError

TIMESTAMP_NAMES = ("datetime", "timestamp", "time", "ts", "date")
LABEL_NAMES = ("anomaly", "changepoint", "label")
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")


@dataclass
class Recording:
    """One CSV file read into memory: sensor values (NaN where missing), timestamps and label columns."""

    path: Path
    features: list[str]
    values: npt.NDArray[np.float64]  # (rows, features), NaN where a cell was empty
    timestamps: npt.NDArray[np.float64] | None  # seconds since the epoch, or None
    labels: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what reading it changed, for the user

    def __len__(self) -> int:
        return int(self.values.shape[0])


def sniff_separator(header: str, sep: str | None) -> str:
    """The field separator: ``sep`` if given (``tab`` or ``\\t`` for a tab), else the most frequent of
    ``;`` ``,`` and tab in the header line."""
    if sep is not None:
        return "\t" if sep in ("\\t", "tab") else sep
    counts = {candidate: header.count(candidate) for candidate in (";", ",", "\t")}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > 0 else ","


# Python's codec name -> what a user calls it.
ENCODING_NAMES = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252"}


def text_encoding(path: Path) -> tuple[str, str | None]:
    """The encoding to read ``path`` with, judged from its first megabyte, and a note unless it is UTF-8."""
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        return "utf-16", f"{path}: read as UTF-16 text"
    if b"\0" in head:
        raise CSVFormatError(f"{path}: not a text file (it contains NUL bytes); expected a CSV")
    try:
        # Incremental, so a character cut at the megabyte's end is not taken for a bad byte.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as error:
        return "cp1252", f"{path}: not UTF-8 (byte {error.start}); read as Windows-1252"
    return "utf-8-sig", None


def _resolve_timestamp(header: list[str], timestamp: str | None, path: Path) -> int | None:
    if timestamp == "none":
        return None
    if timestamp is None:
        lowered = [name.lower() for name in header]
        for candidate in TIMESTAMP_NAMES:
            if candidate in lowered:
                return lowered.index(candidate)
        return None
    if timestamp not in header:
        raise CSVFormatError(
            f"{path}: timestamp column {timestamp!r} not found; available columns: {', '.join(header)}"
        )
    return header.index(timestamp)


def layout(
    path: Path, header: list[str], timestamp: str | None, columns: Sequence[str] | None, exclude: Sequence[str]
) -> tuple[int | None, dict[str, int], list[int]]:
    """Where the timestamp, the label columns and the sensor columns are in ``header``."""
    time_index = _resolve_timestamp(header, timestamp, path)
    label_indices = {name: i for i, name in enumerate(header) if name.lower() in LABEL_NAMES and i != time_index}
    if columns:
        missing = [name for name in columns if name not in header]
        if missing:
            raise CSVFormatError(f"{path}: column {missing[0]!r} not found; available columns: {', '.join(header)}")
        feature_indices = [header.index(name) for name in columns]
    else:
        # A column with no name (often the empty one a separator at the end of each line makes) is no
        # sensor a bundle could ask for by name: it is not read, and read_csv says so.
        unnamed = {i for i, name in enumerate(header) if not name}
        skip = set(label_indices.values()) | unnamed | {header.index(n) for n in exclude if n in header}
        if time_index is not None:
            skip.add(time_index)
        feature_indices = [i for i in range(len(header)) if i not in skip]
    if not feature_indices:
        raise CSVFormatError(f"{path}: no sensor columns left; columns are: {', '.join(header)}")
    # A bundle finds its sensors by name (in a file, in a JSON payload), so each must have its own.
    for i in feature_indices:
        if header.count(header[i]) > 1:
            where = " and ".join(str(j + 1) for j, name in enumerate(header) if name == header[i])
            raise CSVFormatError(f"{path}: the header names columns {where} both {header[i]!r}; rename one")
    return time_index, label_indices, feature_indices


def read_csv(
    path: str | Path,
    *,
    sep: str | None = None,
    timestamp: str | None = None,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    optional: Sequence[str] = (),
) -> Recording:
    """Read one CSV file.

    ``timestamp``: a column name, ``"none"`` for no timestamps, or None to pick a column called
    datetime/timestamp/time/ts/date if there is one. ``columns``: the sensor columns, in order
    (default: every column that is not the timestamp, a label or in ``exclude``). ``optional``:
    sensor columns read after those when the file has them, NaN when it does not (a bundle's
    watched channels).
    """
    path = Path(path)
    if not path.is_file():
        raise CSVFormatError(f"{path}: no such file")
    encoding, note = text_encoding(path)
    try:
        recording = _read(path, encoding, sep, timestamp, columns, exclude, optional)
    except UnicodeDecodeError:
        name = ENCODING_NAMES[encoding]
        raise CSVFormatError(f"{path}: not {name} text past its first megabyte; save it as UTF-8") from None
    if note is not None:
        recording.notes.append(note)
    return _oldest_first(recording)


def _read(
    path: Path,
    encoding: str,
    sep: str | None,
    timestamp: str | None,
    columns: Sequence[str] | None,
    exclude: Sequence[str],
    optional: Sequence[str],
) -> Recording:
    with path.open(newline="", encoding=encoding) as handle:
        first, comments = handle.readline(), 0
        while first.startswith("#"):  # an exporter's comment lines ("# exported from ...") before the header
            first, comments = handle.readline(), comments + 1
        if not first.strip():
            raise CSVFormatError(f"{path}: the file is empty; expected a header row")
        delimiter = sniff_separator(first, sep)
        handle.seek(0)
        for _ in range(comments):
            handle.readline()
        rows = csv.reader(handle, delimiter=delimiter)
        header = [name.strip() for name in next(rows)]
        time_index, label_indices, feature_indices = layout(path, header, timestamp, columns, exclude)
        notes = [f"{path}: header column {i + 1} has no name; not read" for i, n in enumerate(header) if not n]
        if comments:
            notes.append(
                f"{path}: {comments} comment line{'s' if comments > 1 else ''} (#) before the header; not read"
            )
        features = [header[i] for i in feature_indices] + list(optional)
        indices = feature_indices + [header.index(name) if name in header else None for name in optional]
        value_rows: list[list[float]] = []
        times: list[float] = []
        labels: dict[str, list[float]] = {name: [] for name in label_indices}
        repeats: list[int] = []  # the header again: two exports joined into one file
        for line_number, row in enumerate(rows, start=2 + comments):
            if not row or all(not cell.strip() for cell in row):
                continue
            if [cell.strip() for cell in row] == header:
                repeats.append(line_number)
                continue
            if len(row) != len(header):
                raise CSVFormatError(f"{path}:{line_number}: expected {len(header)} fields, found {len(row)}")
            value_rows.append(
                [nan if i is None else _number(row[i], path, line_number, header[i], columns) for i in indices]
            )
            if time_index is not None:
                cell = row[time_index]
                try:
                    times.append(parse_timestamp(cell))
                except ValueError:
                    raise CSVFormatError(
                        f"{path}:{line_number}: cannot parse timestamp {cell!r} in column "
                        f"{header[time_index]!r} (expected ISO 8601 or seconds since the epoch)"
                    ) from None
            for name, i in label_indices.items():
                mark = _number(row[i], path, line_number, name, (name,))
                # -1 for an anomaly (scikit-learn's way) would otherwise read as normal, silently
                if mark < 0 or (np.isfinite(mark) and mark != np.floor(mark)):
                    raise CSVFormatError(
                        f"{path}:{line_number}: label column {name!r} has {row[i].strip()!r}; mark each anomalous row "
                        "with 1 (or a positive fault number) and each normal row with 0"
                    )
                labels[name].append(mark)
    if repeats:
        where = ", ".join(map(str, repeats[:3])) + (", ..." if len(repeats) > 3 else "")
        notes.append(f"{path}: the header repeats on line{'s' if len(repeats) > 1 else ''} {where}; not read as data")
    if not value_rows:
        raise CSVFormatError(f"{path}: no data rows after the header")
    return Recording(
        path=path,
        features=features,
        values=np.asarray(value_rows, dtype=np.float64),
        timestamps=np.asarray(times, dtype=np.float64) if time_index is not None else None,
        labels={name: np.asarray(v, dtype=np.float64) for name, v in labels.items()},
        notes=notes,
    )


def _oldest_first(recording: Recording) -> Recording:
    """A file whose timestamps only ever go back (newest first), turned round; any other order is kept."""
    times = recording.timestamps
    if times is None or len(times) < 2:
        return recording
    steps = np.diff(times)
    if not (steps < 0).any() or (steps > 0).any():
        return recording
    turned = slice(None, None, -1)
    return dataclasses.replace(
        recording,
        values=np.ascontiguousarray(recording.values[turned]),
        timestamps=np.ascontiguousarray(times[turned]),
        labels={name: np.ascontiguousarray(v[turned]) for name, v in recording.labels.items()},
        notes=[*recording.notes, f"{recording.path}: rows are newest first; read oldest first"],
    )


def _number(cell: str, path: Path, line_number: int, column: str, chosen: Sequence[str] | None) -> float:
    text = cell.strip()
    try:
        return float(text)
    except ValueError:
        word = word_reading(text)
        if word is not None:
            return word
    plain = text.replace(",", "")
    if _THOUSANDS.fullmatch(text) and _DECIMAL_COMMA.fullmatch(text):
        point = text.replace(",", ".")
        fix = f"a comma is not read, as a decimal comma or as a thousands separator: write {plain} or {point}"
    elif _THOUSANDS.fullmatch(text):
        fix = f"thousands separators are not read: write the number without them ({plain}, not {text})"
    elif _DECIMAL_COMMA.fullmatch(text):
        fix = "decimal commas are not read: write the number with a point (1.5, not 1,5)"
    elif chosen:
        fix = "every chosen column must hold numbers"
    elif _is_timestamp(text):  # a time column under a name not in TIMESTAMP_NAMES ("Zeit", "Fecha")
        fix = f"if it is the time of each row, name it with --timestamp {column!r}"
    else:  # the column was taken because nothing named the sensors
        fix = f"if it is not a sensor, leave it out with --exclude {column!r}"
    raise CSVFormatError(f"{path}:{line_number}: column {column!r} has non-numeric value {cell!r}; {fix}")


def _is_timestamp(text: str) -> bool:
    try:
        parse_timestamp(text)
    except ValueError:
        return False
    return True
