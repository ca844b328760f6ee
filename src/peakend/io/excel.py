"""Read a sheet of an Excel workbook (.xlsx, .xlsm, .xls, .ods) with python-calamine.

calamine is a Rust reader: no Excel, no Java, no network, and several times
faster than openpyxl on large sheets. Cells become text exactly as a CSV export
of the sheet would hold them (whole numbers without ``.0``, dates and times in
ISO 8601), so that validation treats Excel and CSV files alike and names the
row and column of a value it cannot read.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from peakend.errors import DataError, SourceError
from peakend.io.header import header_from_rows
from peakend.io.sniff import existing_file, read_file_bytes
from peakend.spec import SourceSpec

EXCEL_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
_CHUNK_ROWS = 50_000
"""Rows :func:`excel_to_parquet` holds as Python objects at a time."""
_PARQUET_FORMAT = 1
"""Version of :func:`excel_to_parquet`'s output; a cached file of another is converted again."""


def read_excel(
    source: SourceSpec, labels: dict[str, str], *, max_rows: int | None = None
) -> pd.DataFrame:
    """Read the sheet ``source.sheet`` (a name, or 1 for the first sheet; default the first).

    ``skip_rows`` and ``header_rows`` work as for CSV; the labels of extra header
    rows are added to ``labels``.

    Raises
    ------
    SourceError
        The file is not a workbook, or the sheet does not exist (the message lists
        the sheets there are).
    DataError
        The sheet is empty, or has a header but no rows.
    """
    sheet = _Sheet(source, max_rows=max_rows)
    names = sheet.header(labels)
    body = [_pad(row, len(names)) for row in sheet.rows]
    frame = pd.DataFrame(body, columns=names, dtype="string")
    if frame.empty:
        raise sheet.no_rows()
    return frame


def excel_to_parquet(source: SourceSpec, target: Path, *, chunk_rows: int = _CHUNK_ROWS) -> int:
    """Write the sheet's rows to ``target`` as Parquet; return how many.

    The same rows and columns as :func:`read_excel` (every cell the text it gives),
    written ``chunk_rows`` rows at a time, so that a sheet of a million rows is never
    a million rows of Python objects. Raises as :func:`read_excel` does.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    sheet = _Sheet(source)
    names = sheet.header({})
    schema = pa.schema([(name, pa.string()) for name in names])
    written = 0
    with pq.ParquetWriter(target, schema) as writer:
        while chunk := list(itertools.islice(sheet.rows, chunk_rows)):
            columns = zip(*(_pad(row, len(names)) for row in chunk), strict=True)
            writer.write_table(pa.table(dict(zip(names, columns, strict=True)), schema=schema))
            written += len(chunk)
    if not written:
        raise sheet.no_rows()
    return written


def cached_parquet(source: SourceSpec) -> Path:
    """The sheet as a Parquet file (:func:`excel_to_parquet`), converted once.

    The file lives in peakend's cache folder (:func:`~peakend.io.converted.converted_copy`),
    one per workbook, sheet and header rows, and is converted again when the
    workbook's size or modification time changes.
    """
    from peakend.io.converted import converted_copy

    assert source.path is not None
    options = [source.sheet, source.skip_rows, source.header_rows]
    convert = partial(excel_to_parquet, source)
    path = existing_file(source.path)
    return converted_copy("excel", path, options, _PARQUET_FORMAT, convert)


class _Sheet:
    """One sheet of a workbook read row by row: its header rows, then its data rows
    as text (rows without a value left out, as a CSV export leaves them)."""

    def __init__(self, source: SourceSpec, *, max_rows: int | None = None) -> None:
        from python_calamine import CalamineError, CalamineWorkbook

        assert source.path is not None
        self.source = source
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(read_file_bytes(source.path)))
        except (CalamineError, ValueError, OSError) as exc:
            raise SourceError(
                f"{source.label} is not a readable Excel workbook ({exc}); export it again "
                "from Excel, or set `format` in [source] to what the file really is"
            ) from exc
        self.sheet_names: list[str] = list(book.sheet_names)
        self.name = _sheet_name(source, self.sheet_names)
        # (calamine gives the rows above the first value too, as empty rows)
        rows: Iterator[list[Any]]
        rows = itertools.dropwhile(_empty, book.get_sheet_by_name(self.name).iter_rows())
        first = source.skip_rows + source.header_rows
        if max_rows is not None:
            rows = itertools.islice(rows, first + max_rows)
        texts = (list(map(_text, row)) for row in rows)
        #: The rows not read yet: after :meth:`header`, the data rows.
        self.rows: Iterator[list[str | None]] = (row for row in texts if row.count(None) < len(row))

    def header(self, labels: dict[str, str]) -> list[str]:
        """The column names from the header rows (read here), their labels added to ``labels``."""
        source = self.source
        above = list(itertools.islice(self.rows, source.skip_rows + source.header_rows))
        if len(above) <= source.skip_rows:
            raise DataError(
                f"{source.label}: sheet {self.name!r} is empty; the workbook's sheets are "
                f'{self._listed()}: set sheet = "NAME" in [source]'
            )
        header = [[cell or "" for cell in row] for row in above[source.skip_rows :]]
        names, found = header_from_rows(header)
        labels.update(found)
        return names

    def no_rows(self) -> DataError:
        """The error for a sheet with a header and no data rows."""
        return DataError(
            f"{self.source.label}: sheet {self.name!r} has a header but no rows; the workbook's "
            f"sheets are {self._listed()}: pick the one with the data with "
            'sheet = "NAME" in [source]'
        )

    def _listed(self) -> str:
        return ", ".join(repr(s) for s in self.sheet_names)


def _sheet_name(source: SourceSpec, sheet_names: list[str]) -> str:
    listed = ", ".join(repr(s) for s in sheet_names)
    sheet = source.sheet
    if sheet is None:
        return sheet_names[0]
    if isinstance(sheet, int):
        if 1 <= sheet <= len(sheet_names):
            return sheet_names[sheet - 1]
        raise SourceError(
            f"{source.label} has {len(sheet_names)} sheet(s) ({listed}); sheet = {sheet} does "
            "not exist (sheet = 1 is the first). Fix `sheet` in [source]"
        )
    if sheet in sheet_names:
        return sheet
    raise SourceError(
        f"{source.label} has no sheet {sheet!r}; its sheets are {listed}. Fix `sheet` in [source]"
    )


def _empty(row: Sequence[Any]) -> bool:
    return all(value is None or value == "" for value in row)


def _pad(row: list[str | None], width: int) -> list[str | None]:
    if len(row) == width:  # (as calamine gives every row)
        return row
    cells = row[:width]
    return cells + [None] * (width - len(cells))


def _text(value: Any) -> str | None:
    """A cell as the text a CSV export would hold (None for an empty cell)."""
    # Text and numbers first, by their exact type: most cells are one of them, and a
    # sheet of a million rows has millions of cells.
    kind = type(value)
    if kind is str:
        return value.strip() or None  # type: ignore[no-any-return]
    if kind is float:
        return str(int(value)) if value.is_integer() else str(value)
    return _other_text(value)


def _other_text(value: Any) -> str | None:
    """:func:`_text` of a cell that is neither text nor a decimal number."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value).strip() or None
