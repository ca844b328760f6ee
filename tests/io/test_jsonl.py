"""JSON lines read as text by DuckDB's reader, for both loaders."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from peakend.errors import SourceError
from peakend.io import read_source
from peakend.io.jsonl import jsonl_keys
from peakend.spec import SourceSpec

LINES = (
    '{"id": 5, "step": " a ", "stars": 4.5, "ok": true}\n'
    "\n"
    '{"id": "A7", "step": "b", "stars": "4,5", "extra": {"x": 1}}\n'
    '{"id": null, "step": "", "stars": 1e3, "ok": false}\n'
)


def source(tmp_path: Path, text: str) -> SourceSpec:
    path = tmp_path / "e.jsonl"
    path.write_text(text, encoding="utf-8")
    return SourceSpec(path=path, format="jsonl")


def test_every_value_is_read_as_the_file_writes_it(tmp_path: Path) -> None:
    frame, _ = read_source(source(tmp_path, LINES))
    assert list(frame.columns) == ["id", "step", "stars", "ok", "extra"]
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    assert rows[0] == {"id": "5", "step": " a ", "stars": "4.5", "ok": "true", "extra": None}
    assert rows[1]["id"] == "A7" and rows[1]["stars"] == "4,5"
    assert rows[1]["extra"] == '{"x":1}'
    assert rows[2]["id"] is None and rows[2]["step"] == ""
    assert len(frame) == 3  # the blank line is no row


def test_keys_first_seen_past_the_readers_sample_are_columns_in_order(tmp_path: Path) -> None:
    late = '{"z": 3, "a": 4, "c": 1}\n{"d": 1}\n{"y": 2, "a": 1}\n'
    spec = source(tmp_path, '{"a": 1, "b": 2}\n' * 30_000 + late)
    first_seen = list(pd.read_json(spec.path, lines=True).columns)  # by line, then place
    assert first_seen == ["a", "b", "z", "c", "d", "y"]
    assert jsonl_keys(duckdb.connect(), f"'{spec.path}'") == first_seen
    frame, _ = read_source(spec)
    assert list(frame.columns) == first_seen
    assert frame.iloc[-3].tolist()[2] == "3"


def test_max_rows_reads_the_first_rows(tmp_path: Path) -> None:
    frame, _ = read_source(source(tmp_path, LINES), max_rows=1)
    assert frame["id"].tolist() == ["5"]


@pytest.mark.parametrize(
    ("text", "row"),
    [('{"a": 1}\n\n{"a": \n', 2), ('{"a": 1}\n[1, 2]\n', 2), ('{"a": 1}\n5\n', 2)],
)
def test_a_line_that_is_not_an_object_is_named_by_row(tmp_path: Path, text: str, row: int) -> None:
    with pytest.raises(SourceError, match=rf"e\.jsonl: row {row} is not a JSON object"):
        read_source(source(tmp_path, text))
