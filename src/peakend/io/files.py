"""Readers for tabular files: CSV (any delimiter, decimal comma, any encoding), Parquet.

Text formats are read with every column as text, so that validation can say
exactly which value in which row could not be parsed instead of a reader
guessing a type and silently turning bad values into missing ones. Compression
(gzip, a zip holding one file) is recognised by its magic bytes, whatever the
file is called; a binary file given as text is refused with the format to set;
encoding and delimiter are detected unless the spec declares them
(:mod:`peakend.io.sniff`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from peakend.errors import DataError, SourceError
from peakend.io.header import header_from_rows
from peakend.io.sniff import read_file_bytes, refuse_binary, sniff_delimiter, sniff_encoding
from peakend.spec import SourceSpec


@dataclass
class BadRows:
    """What reading found besides the table.

    ``reasons``: rows that could not be decoded, by 1-based data row number, with
    the reason. ``notes``: what was detected or assumed (encoding, delimiter).
    ``labels``: question texts of extra header rows, by column name.
    """

    reasons: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


def read_bytes(path: Path) -> bytes:
    """Return the content of ``path``, unpacked when it is gzip or a one-file zip."""
    return read_file_bytes(path)


def decode_text(data: bytes, source: SourceSpec, bad: BadRows) -> str:
    """Decode ``data`` with the declared encoding (detected when the spec gives none).

    When bytes are invalid, the lines that hold them are recorded in ``bad``
    (as data rows: line 2 of a CSV file is row 1, line 1 of JSON lines row 1) and
    decoded with replacement characters, so those rows can be quarantined rather than
    the whole file refused.
    """
    encoding = source.encoding
    if encoding is None:
        encoding, note = sniff_encoding(data)
        if note:
            bad.notes.append(note)
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except LookupError as exc:
        raise SourceError(
            f"{source.label}: unknown encoding {encoding!r}; use e.g. 'utf-8', "
            "'cp1252' or 'latin-1'"
        ) from exc
    except UnicodeDecodeError:
        pass
    # (JSON lines have no header: every line is a row)
    first_data_line = 1 if source.format == "jsonl" else 1 + source.skip_rows + source.header_rows
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode(encoding)
        except UnicodeDecodeError as exc:
            bad.reasons[number - first_data_line + 1] = (
                f"bytes {line[exc.start : exc.end]!r} are not valid {encoding}; "
                'declare the file\'s real encoding in [source] (e.g. encoding = "cp1252")'
            )
    return data.decode(encoding, errors="replace").removeprefix("\ufeff")


def read_text(source: SourceSpec, bad: BadRows, *, max_lines: int | None = None) -> str:
    """The text of a text-format source: unpacked, checked to be text, decoded.

    ``max_lines`` keeps only the first lines (a sample: values that span lines
    may make it a few rows shorter).
    """
    assert source.path is not None
    if max_lines is None:
        data = read_bytes(source.path)
    else:
        data = _head(source.path, max_lines)
    refuse_binary(data, source.label, source.format)
    return decode_text(data, source, bad)


def _head(path: Path, lines: int) -> bytes:
    """The first ``lines`` lines of the unpacked file, reading no more than needed."""
    limit = 4_000_000
    while True:
        data = read_file_bytes(path, limit=limit)
        if len(data) < limit or data.count(b"\n") >= lines:
            return _head_lines(data, lines)
        limit *= 4


def _head_lines(data: bytes, n: int) -> bytes:
    end = -1
    for _ in range(n):
        end = data.find(b"\n", end + 1)
        if end < 0:
            return data
    return data[: end + 1]


def read_csv(source: SourceSpec, bad: BadRows, *, max_rows: int | None = None) -> pd.DataFrame:
    """Read a delimited text file with every column as text.

    ``skip_rows`` lines are dropped, then ``header_rows`` rows form the header
    (:mod:`peakend.io.header`); ``max_rows`` reads only the first data rows.
    """
    sample = None if max_rows is None else source.skip_rows + source.header_rows + max_rows + 1
    text = read_text(source, bad, max_lines=sample)
    if not text.strip():
        raise DataError(
            f"{source.label} is empty: it has no header and no rows; export the data again"
        )
    text = skip_lines(text, source.skip_rows)
    delimiter = source.delimiter
    if delimiter is None:
        delimiter, note = sniff_delimiter(text)
        if note:
            bad.notes.append(note)
    header, body = split_header(text, delimiter, source)
    names, labels = header_from_rows(header)
    bad.labels.update(labels)
    if len(names) == 1 and delimiter != ";" and ";" in names[0]:
        raise SourceError(
            f"{source.label}: the header has one column ({names[0]!r}) that contains ';'; "
            'the file is semicolon-separated: set delimiter = ";" in [source]'
        )
    try:
        frame = _parse_body(body, delimiter, names, source, max_rows)
    except SourceError:
        if sample is None:
            raise
        # The sample may end inside a quoted value that spans lines: read it all.
        return read_csv(source, BadRows(), max_rows=None).head(max_rows or 0)
    return _require_rows(frame, source)


def skip_lines(text: str, n: int) -> str:
    """``text`` without its first ``n`` lines (lines, not records: a quoted line
    break in them ends one)."""
    if n <= 0:
        return text
    lines = text.split("\n", n)
    return lines[n] if len(lines) > n else ""


def split_header(text: str, delimiter: str, source: SourceSpec) -> tuple[list[list[str]], str]:
    """The header records (quoted newlines allowed) and the text after them."""
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, delimiter=delimiter, skipinitialspace=True)
    header: list[list[str]] = []
    try:
        for _ in range(source.header_rows):
            row = next(reader, None)
            if row is None:
                break
            header.append(row)
    except csv.Error as exc:
        raise SourceError(
            f"{source.label}: the header cannot be read as delimited text ({exc}); check "
            "`delimiter` and quoting, or `skip_rows` in [source]"
        ) from exc
    return header, text[stream.tell() :]


def _parse_body(
    body: str, delimiter: str, names: list[str], source: SourceSpec, max_rows: int | None
) -> pd.DataFrame:
    if not body.strip():
        return pd.DataFrame({name: pd.Series(dtype="string") for name in names})
    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            skip_blank_lines=True,
            nrows=max_rows,
        )
    except pd.errors.ParserError as exc:
        raise SourceError(_parser_message(str(exc), source, len(names), delimiter)) from exc
    if frame.shape[1] > len(names):
        raise SourceError(
            f"{source.label}: data rows have {frame.shape[1]} fields but the header has "
            f"{len(names)}; a value probably holds the delimiter {delimiter!r} without quotes. "
            "Quote such values in the export, or fix `delimiter` / `header_rows` in [source]"
        )
    frame.columns = pd.Index(names[: frame.shape[1]])
    for name in names[frame.shape[1] :]:
        frame[name] = pd.NA
    return frame


def _parser_message(detail: str, source: SourceSpec, width: int, delimiter: str) -> str:
    """Say which row breaks and what to change (pandas counts lines after the header)."""
    offset = source.skip_rows + source.header_rows
    words = detail.split()
    line = None
    if "line" in words:
        after = words[words.index("line") + 1].rstrip(",")
        line = int(after) if after.isdigit() else None
    where = f"row {line} (line {line + offset} of the file)" if line is not None else "a row"
    return (
        f"{source.label}: {where} does not split into the header's {width} field(s) with "
        f"delimiter {delimiter!r} ({detail.strip()}). Quote values that hold the delimiter, "
        "or fix `delimiter` / `header_rows` in [source]"
    )


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
    return _require_rows(typed_frame(table), source)


def text_frame(table: pa.Table) -> pd.DataFrame:
    """``table`` as a frame whose text columns hold Python strings, missing as NaN,
    as the pandas CSV reader gives them (other columns keep their types)."""
    frame: pd.DataFrame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            frame[name] = frame[name].astype(object).where(frame[name].notna(), np.nan)
    return frame


def typed_frame(table: pa.Table) -> pd.DataFrame:
    """``table`` as a frame with its own column types, whole numbers kept whole.

    pandas turns a column of whole numbers with a missing value into floats, which
    would make journey 5 the text ``"5.0"``; such a column becomes Python integers
    (missing as NaN) instead. Both loaders read typed sources through here.
    """
    frame: pd.DataFrame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type) and column.null_count:
            values = column.to_pylist()
            frame[name] = pd.Series(
                [np.nan if v is None else v for v in values], index=frame.index, dtype=object
            )
    return frame


def _require_rows(frame: pd.DataFrame, source: SourceSpec) -> pd.DataFrame:
    if frame.empty:
        raise DataError(f"{source.label} has a header but no rows; nothing to load")
    return frame
