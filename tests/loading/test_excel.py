"""Excel sources on the DuckDB loader: the sheet is streamed into a Parquet file of
text once (kept in the cache folder) and checked there; every test compares the
dataset with the pandas loader's, which reads the sheet whole."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from tests.test_loaders import BAD_ROWS, assert_same, both, generated, planted_spec, to_csv

from peakend.errors import DataError, SourceError
from peakend.io import excel
from peakend.io.excel import excel_to_parquet, read_excel
from peakend.load import load
from peakend.spec import SourceSpec, read_spec

__all__ = ["generated"]  # (the fixture, shared with tests.test_loaders)

PLANTED_ROWS = 4_000
"""Rows of the planted log written to the workbook (openpyxl writes about 50,000
cells a second), with the 25 repeated events at its end."""


def _cell(column: str, value: object) -> object:
    """A cell as Excel exporters write it: whole numbers and plain times typed."""
    if pd.isna(value):  # type: ignore[call-overload]
        return None
    text = str(value)
    if column == "seq" or (column == "score" and text.isdigit()):
        return int(text)
    if column == "ts" and len(text) == 19 and text[4] == "-":
        return dt.datetime.fromisoformat(text)  # a naive time, as Excel holds one
    return text


def planted_workbook(generated: Path, name: str = "bad.xlsx") -> Path:
    """The planted bad rows of :data:`tests.test_loaders.BAD_ROWS` as a sheet after
    two lines of title, with an empty row among them and typed cells."""
    from openpyxl import Workbook

    rows = pd.read_csv(to_csv(generated, BAD_ROWS, "bad_for_excel.csv"), dtype=str)
    rows = pd.concat([rows.head(PLANTED_ROWS), rows.tail(25)])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Export"
    sheet.append(["Journey export"])
    sheet.append(["made for the tests", None, "of the Excel path"])
    sheet.append(list(rows.columns))
    for number, record in enumerate(rows.itertuples(index=False), start=1):
        sheet.append([_cell(c, v) for c, v in zip(rows.columns, record, strict=True)])
        if number == 100:
            sheet.append([])
    path = generated / name
    book.save(path)
    return path


@pytest.fixture(scope="module")
def planted_spec_path(generated: Path) -> Path:
    planted_workbook(generated)
    extra = 'decimal = ","\ntimezone = "Europe/Amsterdam"\nskip_rows = 2\nformat = "excel"'
    return planted_spec(generated, "bad.xlsx", "bad_excel.toml", extra)


def test_a_planted_sheet_gives_the_same_problems_and_quarantine_both_ways(
    planted_spec_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKEND_CACHE", str(tmp_path))
    by_pandas, by_duckdb = both(planted_spec_path, monkeypatch)
    reasons = {str(p.reason) for p in by_duckdb.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "score_out_of_scale"} <= reasons
    assert by_duckdb.report.events_loaded > 3_900
    assert_same(by_pandas, by_duckdb)
    assert len(list((tmp_path / "excel").glob("*/events.parquet"))) == 1


def test_the_sheet_is_converted_once_and_again_when_it_changes(
    planted_spec_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKEND_CACHE", str(tmp_path))
    converted: list[Path] = []

    def counting(source: SourceSpec, target: Path) -> int:
        converted.append(target)
        return excel_to_parquet(source, target)

    monkeypatch.setattr(excel, "excel_to_parquet", counting)
    source = read_spec(planted_spec_path).source
    first = excel.cached_parquet(source)
    assert excel.cached_parquet(source) == first and len(converted) == 1
    other_sheet = excel.cached_parquet(SourceSpec(format="excel", path=source.path, sheet=1))
    assert other_sheet != first and len(converted) == 2
    assert source.path is not None
    source.path.touch()
    assert excel.cached_parquet(source) == first and len(converted) == 3


def test_the_parquet_copy_holds_the_rows_read_excel_gives(planted_spec_path: Path) -> None:
    source = read_spec(planted_spec_path).source
    target = planted_spec_path.parent / "chunks.parquet"
    written = excel_to_parquet(source, target, chunk_rows=999)
    whole = read_excel(source, {})
    assert written == len(whole) == PLANTED_ROWS + 25
    copied = pq.read_table(target).to_pandas().astype("string")
    pd.testing.assert_frame_equal(copied, whole)


def test_a_sheet_with_values_away_from_the_corner_reads_as_a_csv_export(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["C3"], sheet["D3"], sheet["C4"], sheet["E6"] = "journey_id", "score", "J1", 7.5
    path = tmp_path / "corner.xlsx"
    book.save(path)
    source = SourceSpec(format="excel", path=path)
    frame = read_excel(source, {})
    assert list(frame.columns) == ["journey_id", "score", "column_3"]
    assert frame.to_dict(orient="list") == {
        "journey_id": ["J1", None],
        "score": [None, None],
        "column_3": [None, "7.5"],
    }
    excel_to_parquet(source, tmp_path / "corner.parquet")
    copied = pq.read_table(tmp_path / "corner.parquet").to_pandas().astype("string")
    pd.testing.assert_frame_equal(copied, frame)


def test_an_empty_sheet_and_a_missing_workbook_are_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl import Workbook

    monkeypatch.setenv("PEAKEND_CACHE", str(tmp_path / "cache"))
    book = Workbook()
    assert book.active is not None
    book.active.append(["journey_id", "touchpoint"])
    path = tmp_path / "header_only.xlsx"
    book.save(path)
    with pytest.raises(DataError, match="has a header but no rows"):
        excel.cached_parquet(SourceSpec(format="excel", path=path))
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # nothing left
    with pytest.raises(SourceError, match="does not exist; check `path`"):
        excel.cached_parquet(SourceSpec(format="excel", path=tmp_path / "gone.xlsx"))


def test_an_excel_source_without_a_writable_cache_folder_loads_in_pandas(
    planted_spec_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("PEAKEND_CACHE", str(blocker))
    data = load(read_spec(planted_spec_path))
    assert data.report.loader.startswith("pandas (no cache folder to write the Excel sheet")
    assert data.report.events_loaded > 3_900
