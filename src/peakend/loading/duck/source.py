"""Reading the source: a Parquet file as a numbered view over it, a CSV file
with the delimiter, encoding and header rows the pandas reader would use, JSON
lines as the text :func:`peakend.io.jsonl.jsonl_scan` gives both loaders (a file
in another encoding, as a CSV file, from a UTF-8 copy), an XES log as the
Parquet file it is streamed into once (:func:`peakend.io.xes.cached_parquet`), a
database table or query as the Parquet file its rows are streamed into for this
load (:func:`peakend.io.database.stage_database`). The view over the events'
source has the columns the spec derives too (:mod:`~peakend.loading.duck.derived`).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from peakend.errors import SourceError
from peakend.io.database import DATABASE_FORMATS, stage_database
from peakend.io.files import skip_lines, split_header
from peakend.io.header import header_from_rows
from peakend.io.sniff import not_utf8_note, read_file_bytes, sniff_delimiter, sniff_encoding
from peakend.io.transcode import utf8_copy
from peakend.loading.duck.base import CONVERTED, TEXT_FORMATS, DuckBase, Unsupported, _csv_frame
from peakend.loading.duck.derived import (
    ROW_ID_SQL,
    as_pandas_text,
    joined_sql,
    row_free,
    with_columns,
)
from peakend.loading.duck.sql import _INTEGER, _lit, _q
from peakend.resources import spill_root
from peakend.spec import ROW_ID, SourceSpec
from peakend.validate import ROW, Problem, Reason, Severity

_HEAD_BYTES = 1_000_000
_CSV_BUFFER = 64 * 1024 * 1024
"""Bytes DuckDB's CSV reader takes from a large file at a time (``buffer_size``).

The table of events of a CSV file is stored in the file's order, which DuckDB keeps
by the reader's batches of rows. With the reader's default buffers that order was
costly: at 10M events the table of events took about 10 CPU seconds against 7.4 with
64 MiB buffers, and the bare columns 5.2-7.7 in order against 3.8 in any order. With
64 MiB buffers the order costs nothing measurable (docs/scale.md)."""
_CSV_SMALLEST_BUFFER = 8 * 1024 * 1024
"""The least ``buffer_size`` (:func:`_csv_buffer`)."""
_CSV_BUFFERS = 4
"""Buffers a smaller file is read in (:func:`_csv_buffer`)."""
_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1"}
_ENCODINGS |= {"iso-8859-1": "latin-1", "utf-8-sig": "utf-8"}
"""Encodings DuckDB's CSV reader reads itself, by their DuckDB names (it skips a
UTF-8 byte-order mark). A file in another is read from a UTF-8 copy
(:meth:`SourceReading._utf8_copy`)."""
_DETECTED = ("cp1252", "latin-1")
"""What a file found not to be UTF-8 is read as: the first in which every byte is
valid (as :func:`~peakend.io.sniff.sniff_encoding` decides for the whole file)."""


class SourceReading(DuckBase):
    """Reads a source into a view or table numbered by data row."""

    _staging: tempfile.TemporaryDirectory[str] | None = None
    """The folder of the Parquet copies of database sources (:meth:`_staging_folder`)."""

    _csv_read = ""
    """The path (as SQL) and ``read_csv`` options of a CSV source of the events."""

    _first_record: list[str] | None = None
    """The first data row of a CSV source as the pandas reader splits it
    (:meth:`_csv_dialect`), to check that DuckDB's reader starts there."""

    def _read(self, source: SourceSpec, name: str) -> None:
        """Load ``source`` into view ``name`` with a 1-based ``__row__``; the events'
        source (``raw``) with the columns the spec derives, last (:meth:`_derive`)."""
        path = self._located(source, name)
        if source.format in ("parquet", *CONVERTED, *DATABASE_FORMATS):
            # No copy: a view numbered by the file's own row numbers; queries read
            # the columns they need from the file.
            described = self.db.sql(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
            names = [str(c) for c, *_ in described]
            if ROW in names or "file_row_number" in names:
                raise Unsupported(f"a column named {ROW} or file_row_number")
            self._parquet_view(name, path, names, self._derive(name, described))
        else:
            described = self._text_view(source, name, path)
        if not self.db.sql(f"SELECT 1 FROM {name} LIMIT 1").fetchall():
            raise Unsupported("no data rows")
        if name == "raw":
            self._source_types(source, described)

    def _source_types(self, source: SourceSpec, described: list[Any]) -> None:
        """Keep the types of the events' source (its columns' names and DuckDB types
        ``described``, then the derived columns, text) and how its rows become a
        pandas frame as the pandas loader would give them."""
        types = {str(c): str(t) for c, t, *_ in described}
        self.types = {ROW: "BIGINT", **types, **dict.fromkeys(self._derived, "VARCHAR")}
        if source.format in TEXT_FORMATS:
            self.to_frame = _csv_frame
        if self._derived:
            self.to_frame = as_pandas_text(self.to_frame, list(self._derived))

    def _located(self, source: SourceSpec, name: str) -> str:
        """Where the source ``name`` is read from, as SQL: its file, or the Parquet
        file a database's rows or an XES log are streamed into."""
        staged = self._parquet_copy(source, name)
        if staged is not None:
            return _lit(str(staged))
        assert source.path is not None
        return _lit(str(source.path))

    def _parquet_copy(self, source: SourceSpec, name: str) -> Path | None:
        """The Parquet file on this machine that the rows of source ``name`` are
        streamed into, when it is a database, an XES log or an Excel sheet (None for
        a file read as it is)."""
        if source.format in DATABASE_FORMATS:
            # Streamed into a Parquet file a chunk at a time, then read as one.
            return stage_database(source, self._staging_folder(name))
        if source.format == "xes":
            from peakend.io.xes import cached_parquet
        elif source.format == "excel":
            from peakend.io.excel import cached_parquet  # type: ignore[no-redef]
        else:
            return None
        # Streamed into a Parquet file of text columns once, then read as one.
        try:
            return cached_parquet(source)
        except OSError as exc:  # (the source's own errors are SourceErrors)
            what = "XES log" if source.format == "xes" else "Excel sheet"
            why = f"no cache folder to write the {what}'s Parquet copy to ({exc})"
            raise Unsupported(why) from exc

    def _text_view(self, source: SourceSpec, name: str, path: str) -> list[tuple[str, str]]:
        """Views ``name_cells`` and ``name`` (numbered) over a CSV or JSON-lines file;
        returns the names and types of the file's columns."""
        # Every statement of a text source keeps the file's order
        # (:attr:`_file_order`), the JSON keys' first appearance too.
        self._file_order = True
        self.db.execute("SET preserve_insertion_order = true")
        if source.format == "jsonl":
            scan = self._jsonl_scan(source, path, name == "raw")
        else:
            scan = self._csv_scan(source, path, name == "raw")
        described = self.db.sql(f"DESCRIBE SELECT * FROM {scan}").fetchall()
        names = [str(c) for c, *_ in described]
        if ROW in names:
            raise Unsupported(f"a column named {ROW}")
        if source.format == "csv" and names != self.header:
            raise Unsupported("column names DuckDB reads differently")
        derived = self._derive(name, described)
        # pandas reads CSV with skipinitialspace: spaces after the delimiter go.
        # (Only values that begin with one are trimmed: ``ltrim`` with a character
        # list on every cell cost twice DuckDB's whole read of the file.) JSON
        # values are read as they are.
        trim = source.format == "csv"
        cells = ", ".join(f"{_cell(_q(c)) if trim else _q(c)} AS {_q(c)}" for c in names)
        # No copy either: a view over the file, numbered in the file's order. The
        # table of events is parsed from it in one pass; the raw text is read
        # again only for the few rows a check reports (copying every cell as text
        # first cost more than DuckDB's whole read of the file).
        # The joined touchpoint is a column of the unnumbered view, read in parallel;
        # the row number as journey id one of the numbered view only.
        cells_query = with_columns(f"SELECT {cells} FROM {scan}", row_free(derived))
        self.db.sql(f"CREATE VIEW {name}_cells AS {cells_query}")
        numbered = f"SELECT row_number() OVER () AS {ROW}, * FROM {name}_cells"
        numbered = with_columns(numbered, {c: s for c, s in derived.items() if c == ROW_ID})
        self.db.sql(f"CREATE VIEW {name} AS {numbered}")
        return [(str(c), str(t)) for c, t, *_ in described]

    def _derive(self, name: str, described: list[Any]) -> dict[str, str]:
        """The columns the spec derives from the events' source (``name`` ``raw``,
        whose columns and types are ``described``), kept in :attr:`_derived`, in the
        order :func:`~peakend.derive.add_derived_columns` adds them; none for another
        source, and no joined touchpoint when a part is missing (the check of the
        columns names it, as the pandas loader's does).

        What SQL would not give as the pandas loader does is left to it: a derived
        column named as a column of the source (pandas replaces it in place), a part
        that is not text or whole numbers (pandas writes other types its own way).
        """
        if name != "raw":
            return {}
        types = {str(c): str(t) for c, t, *_ in described}
        derived: dict[str, str] = {}
        if self.columns.get("journey_id") == ROW_ID:
            derived[ROW_ID] = ROW_ID_SQL
        parts = self.spec.touchpoint_parts
        if parts and all(p in types for p in parts):
            odd = [p for p in parts if types[p] != "VARCHAR" and types[p] not in _INTEGER]
            if odd:
                raise Unsupported(f"joined touchpoint part {odd[0]!r} of type {types[odd[0]]}")
            derived[self.columns["touchpoint"]] = joined_sql(parts)
        taken = [c for c in derived if c in types]
        if taken:
            raise Unsupported(f"a column named {taken[0]!r}, which the spec derives")
        self._derived = derived
        return derived

    def _staging_folder(self, name: str) -> Path:
        """A folder of this load's own for the Parquet copy of source ``name``,
        removed with the connection (:meth:`~peakend.loading.duck.DuckLoader.run`)."""
        if self._staging is None:
            root = spill_root()  # ($PEAKEND_TEMP_DIR: where large temporary files go)
            root.mkdir(parents=True, exist_ok=True)
            self._staging = tempfile.TemporaryDirectory(prefix="peakend-staged-", dir=root)
        folder = Path(self._staging.name) / name
        folder.mkdir()
        return folder

    def _parquet_view(
        self, name: str, path: str, names: list[str], derived: dict[str, str]
    ) -> None:
        """View ``name`` over a Parquet file, numbered by its rows, with the columns
        ``derived`` (name: SQL) last."""
        numbered = (
            f"SELECT file_row_number + 1 AS {ROW}, {', '.join(_q(c) for c in names)} "
            f"FROM read_parquet({path}, file_row_number = true)"
        )
        self.db.sql(f"CREATE OR REPLACE VIEW {name} AS {with_columns(numbered, derived)}")

    def _csv_scan(self, source: SourceSpec, path: str, main: bool) -> str:
        """``read_csv`` with the delimiter and encoding the pandas reader would use,
        every column as text, named as the pandas reader names them from the header
        rows; a file in an encoding DuckDB's reader lacks (or found not to be UTF-8)
        is read from a UTF-8 copy."""
        assert source.path is not None
        head, compression = _opening(source)
        decided = _csv_encoding(source, head)
        file = source.path
        if decided[0].lower() not in _ENCODINGS or _detected(source, decided[0]):
            file, decided = self._utf8_copy(source, decided, main)
            head, compression = read_file_bytes(file, limit=_HEAD_BYTES), "none"
            path = _lit(str(file))
        duck_encoding, delimiter = self._csv_dialect(source, head, main, decided)
        names = ", ".join(_lit(n) for n in self.header)
        # The header rows are skipped with the lines before them (DuckDB counts rows
        # as records: a quoted line break does not end one) and the columns named.
        options = (
            f"skip = {source.skip_rows + source.header_rows}, header = false, "
            f"names = [{names}], delim = {_lit(delimiter)}, "
            f"quote = '\"', escape = '\"', encoding = {_lit(duck_encoding)}, "
            f"compression = {_lit(compression)}, "
            "null_padding = false, strict_mode = true, "
            f"buffer_size = {_csv_buffer(file.stat().st_size)}"
        )
        if main:
            self._csv_read = f"{path}, {options}"
        scan = f"read_csv({path}, all_varchar = true, {options})"
        if source.skip_rows or source.header_rows != 1:
            rows = self.db.sql(f"SELECT * FROM {scan} LIMIT 1").fetchall()
            self._check_first_row(rows[0] if rows else None, "DuckDB")
        return scan

    def _check_first_row(self, first: Sequence[Any] | None, reader: str) -> None:
        """That ``first``, the first row ``reader`` gives after skipping lines and
        header rows (None: no row), is the pandas reader's first data row
        (:attr:`_first_record`): the lines skipped are lines for the pandas reader
        and records for DuckDB's and Spark's, which differ when a quoted value
        there breaks a line."""
        found = [str(c or "").strip() for c in first] if first is not None else None
        wanted = self._first_record
        if wanted is not None:
            wanted = [c.strip() for c in wanted] + [""] * (len(self.header) - len(wanted))
        if found is None or found != wanted:
            raise Unsupported(f"header rows {reader} reads differently")

    def _jsonl_scan(self, source: SourceSpec, path: str, main: bool) -> str:
        """``read_json`` of a JSON-lines source, every key a text column.

        DuckDB's reader takes UTF-8: a file declared or found to be in another
        encoding is read from a UTF-8 copy, as a CSV file is (:meth:`_utf8_copy`). A
        zip archive is left to the pandas loader, and so is a byte that is not UTF-8
        further on in a file whose first megabyte is (it stops the reader).
        """
        from peakend.io.jsonl import jsonl_keys, jsonl_scan

        head, compression = _opening(source)
        if not head.strip():
            raise Unsupported("empty file")
        decided = _csv_encoding(source, head)
        if _ENCODINGS.get(decided[0].lower()) != "utf-8":
            file, (_, note) = self._utf8_copy(source, decided, main)
            path, compression = _lit(str(file)), "none"
            if note and main:
                self._format_note(note)
        names = jsonl_keys(self.db, path, compression=compression)
        return jsonl_scan(path, names, compression=compression)

    def _typed_cells(self, numbers: set[str], stripped: set[str]) -> str:
        """View ``raw_typed`` of the CSV source, as ``raw_cells`` but with the columns
        ``numbers`` read as DOUBLE by DuckDB's reader, and the columns ``stripped`` as
        the reader gives them; returns its name.

        The reader parses numbers as ``TRY_CAST`` does, and raises on the first
        value it cannot read (when the view is created or read): the caller then
        parses every column from text instead. The columns ``stripped`` are those the
        caller strips of whitespace at both ends and reads blank as missing, which
        gives the same value with or without :func:`_cell` before it (that pass over
        ten million identifiers cost about 0.3 CPU seconds).
        """
        names = [c for c in self.types if c != ROW and c not in self._derived]
        types = ", ".join(
            f"{_lit(c)}: {_lit('DOUBLE' if c in numbers else 'VARCHAR')}" for c in names
        )
        as_read = numbers | stripped
        cells = ", ".join(_q(c) if c in as_read else f"{_cell(_q(c))} AS {_q(c)}" for c in names)
        scan = f"read_csv({self._csv_read}, types = {{{types}}})"
        typed = with_columns(f"SELECT {cells} FROM {scan}", row_free(self._derived))
        self.db.sql(f"CREATE OR REPLACE VIEW raw_typed AS {typed}")
        return "raw_typed"

    def _utf8_copy(
        self, source: SourceSpec, decided: tuple[str, str | None], main: bool
    ) -> tuple[Path, tuple[str, str | None]]:
        """A UTF-8 copy of a text source in an encoding DuckDB's reader lacks (for this
        load only, :meth:`_staging_folder`), and its encoding and note as read.

        A file found not to be UTF-8 is read as Windows-1252, else Latin-1, as the
        pandas loader decides for the whole file (from the one its first bytes
        allow). Bytes not valid in a declared encoding are left to the pandas
        loader, which sets their rows aside.
        """
        assert source.path is not None
        encoding, note = decided
        detected = _detected(source, encoding)
        tries = _DETECTED[_DETECTED.index(encoding) :] if detected else (encoding,)
        folder = self._staging_folder("raw_utf8" if main else "outsrc_utf8")
        target = folder / f"source.{source.format}"
        try:
            used = utf8_copy(source.path, tries, target)
        except UnicodeDecodeError as exc:
            raise Unsupported(f"bytes that are not valid {encoding}") from exc
        except LookupError as exc:
            raise Unsupported(f"encoding {encoding}") from exc
        return target, ("utf-8", not_utf8_note(used) if detected else note)

    def _csv_dialect(
        self,
        source: SourceSpec,
        head: bytes,
        main: bool,
        decided: tuple[str, str | None] | None = None,
    ) -> tuple[str, str]:
        """The encoding (as DuckDB and Spark name it) and delimiter of a CSV source
        whose content begins with ``head``.

        ``decided``: the encoding to read it in, and the note that it was detected
        (default: :func:`_csv_encoding`). Reads the column names into ``self.header``
        and the first data row into :attr:`_first_record` after ``skip_rows`` lines
        and ``header_rows`` rows, as the pandas reader does
        (:func:`~peakend.io.files.split_header`), and notes a detected encoding and
        delimiter once (``main``), in the pandas loader's order. What only the
        pandas reader can do raises :class:`Unsupported`.
        """
        encoding, encoding_note = decided or _csv_encoding(source, head)
        if encoding.lower() not in _ENCODINGS:
            raise Unsupported(f"encoding {encoding}")
        if encoding_note and main:
            self._format_note(encoding_note)
        text = head.decode(encoding, errors="replace").removeprefix("\ufeff")
        if not text.strip():
            raise Unsupported("empty file")
        text = skip_lines(text, source.skip_rows)
        delimiter = source.delimiter
        note = None
        if delimiter is None:
            delimiter, note = sniff_delimiter(text)
        self.header, self._first_record = _header_and_first_row(text, delimiter, source)
        if len(self.header) < 2:
            raise Unsupported("one column: set `delimiter` in [source]")
        if note and main:
            self._format_note(note)
        return _ENCODINGS[encoding.lower()], delimiter

    def _format_note(self, note: str) -> None:
        """Say what was found out about the source's format (encoding, delimiter)."""
        self._add(Problem(Reason.FORMAT_DETECTED, Severity.INFO, self.label, None, 1, fix=note))


def _header_and_first_row(
    text: str, delimiter: str, source: SourceSpec
) -> tuple[list[str], list[str] | None]:
    """The column names of CSV text whose ``skip_rows`` lines are skipped, as the
    pandas reader names them from the header rows (:func:`header_from_rows`), and
    the first data row after them (None when none is in ``text``)."""
    try:
        rows, body = split_header(text, delimiter, source)
        names, _ = header_from_rows(rows)
        records = csv.reader(io.StringIO(body), delimiter=delimiter, skipinitialspace=True)
        first = next((r for r in records if r), None)
    except (SourceError, csv.Error) as exc:  # (the pandas loader says what is wrong)
        raise Unsupported(f"a header that cannot be read ({exc})") from exc
    return names, first


def _csv_encoding(source: SourceSpec, head: bytes) -> tuple[str, str | None]:
    """The encoding a CSV source is declared in, or the one found from its first bytes
    ``head`` and the note saying so (:func:`~peakend.io.sniff.sniff_encoding`)."""
    if source.encoding is not None:
        return source.encoding, None
    return sniff_encoding(_whole_characters(head))


def _detected(source: SourceSpec, encoding: str) -> bool:
    """Whether ``encoding`` is what a source without a declared encoding was found to
    be, not being UTF-8 (read from a UTF-8 copy: DuckDB's Latin-1 refuses the bytes
    that make a file Latin-1 rather than Windows-1252)."""
    return source.encoding is None and encoding in _DETECTED


def _whole_characters(head: bytes) -> bytes:
    """``head`` without a UTF-8 character that the cut at its end split."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end == len(head) and exc.reason == "unexpected end of data":
            return head[: exc.start]
    return head


def _utf8_lines(source: SourceSpec) -> str:
    """The compression of a JSON-lines source that Spark's reader takes: UTF-8
    (declared or found), not empty, not zipped (the DuckDB loader reads a file in
    another encoding from a UTF-8 copy, :meth:`SourceReading._jsonl_scan`)."""
    head, compression = _opening(source)
    encoding = source.encoding
    if encoding is None:
        encoding, note = sniff_encoding(head)
        if note:
            raise Unsupported("encoding to detect: set `encoding` in [source]")
    if _ENCODINGS.get(encoding.lower()) != "utf-8":
        raise Unsupported(f"JSON lines in {encoding}")
    if not head.strip():
        raise Unsupported("empty file")
    return compression


def _opening(source: SourceSpec) -> tuple[bytes, str]:
    """The first bytes of a text source's content and its compression for DuckDB's
    readers (``gzip`` or ``none``); a zip archive is left to the pandas loader."""
    assert source.path is not None
    head = read_file_bytes(source.path, limit=_HEAD_BYTES)
    with source.path.open("rb") as file:
        raw_head = file.read(2)  # (not the whole file, which may be gigabytes)
    if raw_head == b"PK":
        raise Unsupported("zip archive")
    return head, "gzip" if raw_head == b"\x1f\x8b" else "none"


def _csv_buffer(size: int) -> int:
    """``buffer_size`` for a CSV file of ``size`` bytes: a quarter of the file, at
    least :data:`_CSV_SMALLEST_BUFFER` and at most :data:`_CSV_BUFFER`.

    DuckDB's reader gives each thread a buffer at a time, so a file within one
    buffer is read by one thread. With 64 MiB buffers the 44 MB file of outcomes of
    10M events took 0.50 s to read against 0.22 s in parallel; its table of outcome
    values took 0.77-0.79 s against 0.57-0.60 s in quarters, and the load of 1M
    events from an 84 MB file 1.59-1.61 s against 1.40-1.41 s (the file's order is
    kept either way). Eighths were faster still for those outcomes (0.43-0.48 s) but
    slower for that table of events (0.86-0.89 s against 0.68-0.72 s).
    """
    return min(_CSV_BUFFER, max(_CSV_SMALLEST_BUFFER, size // _CSV_BUFFERS))


def _cell(column: str) -> str:
    """A CSV cell as the pandas reader gives it: spaces after the delimiter dropped,
    empty as missing."""
    trimmed = f"CASE WHEN starts_with({column}, ' ') THEN ltrim({column}, ' ') ELSE {column} END"
    return f"nullif({trimmed}, '')"
