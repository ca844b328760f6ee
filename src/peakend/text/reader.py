"""Read comments from a file: plain text (one per line), CSV/TSV (a text column) or stdin."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from peakend.errors import MissingColumnError, SourceError


def read_comments(
    path: Path | str, *, text_col: str = "text", encoding: str = "utf-8"
) -> list[str]:
    """The comments in ``path``.

    ``.csv``/``.tsv`` files (delimiter sniffed among ``, ; tab |``) give the column
    ``text_col``; any other file gives one comment per non-empty line; ``-`` reads
    standard input. A file that does not decode with ``encoding`` raises
    :class:`~peakend.errors.SourceError` naming the byte and how to fix it.
    """
    raw = sys.stdin.buffer.read() if str(path) == "-" else _read_bytes(Path(path))
    name = str(path)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name} is not valid {encoding}: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
            f"cannot be decoded; pass the file's real encoding (e.g. --encoding latin-1 "
            f"or cp1252) or convert it to UTF-8"
        ) from None
    except LookupError:
        raise SourceError(
            f"unknown encoding {encoding!r}; use e.g. utf-8, latin-1, cp1252"
        ) from None
    text = text.removeprefix("\ufeff")
    if name.lower().removesuffix(".gz").removesuffix(".zip").endswith((".csv", ".tsv", ".csv.txt")):
        return _column(text, text_col, name)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped or unzipped when compressed; a binary file is refused."""
    from peakend.io.sniff import read_file_bytes, refuse_binary

    try:
        data = read_file_bytes(path)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    refuse_binary(data, str(path), "comments")
    return data


def _column(text: str, text_col: str, name: str) -> list[str]:
    sample = text[:20_000]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if name.lower().endswith(".tsv") else csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    if reader.fieldnames is None or text_col not in reader.fieldnames:
        found = ", ".join(reader.fieldnames or []) or "none"
        raise MissingColumnError(
            f"{name} has no column {text_col!r} (columns: {found}); pass --text-col NAME",
            column=text_col,
            source=name,
        )
    return [row[text_col] or "" for row in reader]
