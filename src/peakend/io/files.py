"""Readers for tabular files: CSV (any delimiter, decimal comma, any encoding), Parquet, JSON lines.

Text formats are read with every column as text, so that validation can say
exactly which value in which row could not be parsed instead of a reader
guessing a type and silently turning bad values into missing ones. Gzip is
recognised by its magic bytes, whatever the file is called.
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from peakend.errors import DataError, SourceError
from peakend.spec import SourceSpec

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class BadRows:
    """Rows that could not be decoded, by 1-based data row number, with the reason."""

    reasons: dict[int, str] = field(default_factory=dict)


def read_bytes(path: Path) -> bytes:
    """Return the content of ``path``, un-gzipped when it is gzip."""
    if not path.is_file():
        raise SourceError(f"{path} does not exist; check `path` in the [source] table of the spec")
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{path} looks gzipped but cannot be decompressed: {exc}") from exc
    return data


def decode_text(data: bytes, source: SourceSpec, bad: BadRows) -> str:
    """Decode ``data`` with the declared encoding.

    When bytes are invalid, the lines that hold them are recorded in ``bad``
    (as data rows: line 2 is row 1) and decoded with replacement characters, so
    those rows can be quarantined rather than the whole file refused.
    """
    try:
        return data.decode(source.encoding)
    except LookupError as exc:
        raise SourceError(
            f"{source.label}: unknown encoding {source.encoding!r}; use e.g. 'utf-8', "
            "'cp1252' or 'latin-1'"
        ) from exc
    except UnicodeDecodeError:
        pass
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode(source.encoding)
        except UnicodeDecodeError as exc:
            bad.reasons[number - 1] = (
                f"bytes {line[exc.start : exc.end]!r} are not valid {source.encoding}; "
                'declare the file\'s real encoding in [source] (e.g. encoding = "cp1252")'
            )
    return data.decode(source.encoding, errors="replace")


def read_csv(source: SourceSpec, bad: BadRows) -> pd.DataFrame:
    """Read a delimited text file with every column as text."""
    assert source.path is not None
    text = decode_text(read_bytes(source.path), source, bad)
    if not text.strip():
        raise DataError(f"{source.label} is empty: it has no header and no rows")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=source.delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
        )
    except pd.errors.ParserError as exc:
        raise SourceError(
            f"{source.label} cannot be parsed as delimited text ({exc}); check `delimiter` "
            "and quoting"
        ) from exc
    if len(frame.columns) == 1 and source.delimiter not in (";", "\t") and ";" in frame.columns[0]:
        raise SourceError(
            f"{source.label}: the header has one column ({frame.columns[0]!r}) that contains ';'; "
            'the file is probably semicolon-separated: set delimiter = ";" in [source]'
        )
    return _require_rows(frame, source)


def read_jsonl(source: SourceSpec, bad: BadRows) -> pd.DataFrame:
    """Read JSON lines (one object per line); a broken line is reported by row."""
    assert source.path is not None
    text = decode_text(read_bytes(source.path), source, bad)
    if not text.strip():
        raise DataError(f"{source.label} is empty: it has no rows")
    try:
        frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
    except ValueError as exc:
        row = _first_bad_json_line(text)
        raise SourceError(
            f"{source.label}: row {row} is not a JSON object ({exc}); every line must be one "
            "JSON object"
        ) from exc
    return _require_rows(frame, source)


def _first_bad_json_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except json.JSONDecodeError:
            return number
    return 0


def read_parquet(source: SourceSpec) -> pd.DataFrame:
    """Read a Parquet file with its own column types."""
    assert source.path is not None
    if not source.path.is_file():
        raise SourceError(
            f"{source.path} does not exist; check `path` in the [source] table of the spec"
        )
    try:
        table = pq.read_table(source.path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for corrupt files
        raise SourceError(f"{source.label} is not a readable Parquet file: {exc}") from exc
    return _require_rows(table.to_pandas(), source)


def _require_rows(frame: pd.DataFrame, source: SourceSpec) -> pd.DataFrame:
    if frame.empty:
        raise DataError(f"{source.label} has a header but no rows; nothing to load")
    return frame
