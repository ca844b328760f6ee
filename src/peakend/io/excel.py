"""Read a sheet of an Excel workbook (.xlsx, .xlsm, .xls, .ods) with python-calamine.

calamine is a Rust reader: no Excel, no Java, no network, and several times
faster than openpyxl on large sheets. Cells become text exactly as a CSV export
of the sheet would hold them (whole numbers without ``.0``, dates and times in
ISO 8601), so that validation treats Excel and CSV files alike and names the
row and column of a value it cannot read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from peakend.errors import DataError, SourceError
from peakend.io.header import header_from_rows
from peakend.io.sniff import read_file_bytes
from peakend.spec import SourceSpec

EXCEL_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")


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
        The sheet is empty.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    assert source.path is not None
    data = read_file_bytes(source.path)
    try:
        import io

        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError) as exc:
        raise SourceError(
            f"{source.label} is not a readable Excel workbook ({exc}); export it again "
            "from Excel, or set `format` in [source] to what the file really is"
        ) from exc
    sheet_names: list[str] = list(book.sheet_names)
    name = _sheet_name(source, sheet_names)
    rows = book.get_sheet_by_name(name).to_python(skip_empty_area=True)
    first = source.skip_rows + source.header_rows
    limit = None if max_rows is None else first + max_rows
    text_rows = [[_text(v) for v in row] for row in rows[:limit]]
    text_rows = [row for row in text_rows if any(cell is not None for cell in row)]
    if len(text_rows) <= source.skip_rows:
        raise DataError(
            f"{source.label}: sheet {name!r} is empty; the workbook's sheets are "
            f'{", ".join(repr(s) for s in sheet_names)}: set sheet = "NAME" in [source]'
        )
    header = [[c or "" for c in row] for row in text_rows[source.skip_rows : first]]
    names, found = header_from_rows(header)
    labels.update(found)
    body = [_pad(row, len(names)) for row in text_rows[first:]]
    frame = pd.DataFrame(body, columns=names, dtype="string")
    if frame.empty:
        raise DataError(
            f"{source.label}: sheet {name!r} has a header but no rows; the workbook's sheets "
            f"are {', '.join(repr(s) for s in sheet_names)}: pick the one with the data with "
            'sheet = "NAME" in [source]'
        )
    return frame


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


def _pad(row: Sequence[str | None], width: int) -> list[str | None]:
    cells = list(row[:width])
    return cells + [None] * (width - len(cells))


def _text(value: Any) -> str | None:
    """A cell as the text a CSV export would hold (None for an empty cell)."""
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
