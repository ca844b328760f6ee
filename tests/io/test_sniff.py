"""Readers that look at the bytes: compression, binary files, encoding, delimiter, header rows."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest

from peakend.errors import SourceError
from peakend.io import read_source
from peakend.io.header import header_from_rows
from peakend.io.sniff import read_file_bytes, refuse_binary, sniff_delimiter, sniff_encoding
from peakend.spec import SourceSpec

TEXT = "id;naam;cijfer\n1;José;4\n2;Zoë;5\n"


def csv_source(path: Path, **options: object) -> SourceSpec:
    return SourceSpec(format="csv", path=path, **options)  # type: ignore[arg-type]


def test_gzip_and_one_file_zip_are_unpacked_whatever_the_name(tmp_path: Path) -> None:
    gz = tmp_path / "data.csv"  # gzip without .gz in the name
    gz.write_bytes(gzip.compress(TEXT.encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export/data.csv", TEXT)
    zipped = tmp_path / "data.zip"
    zipped.write_bytes(buffer.getvalue())
    assert read_file_bytes(gz) == read_file_bytes(zipped) == TEXT.encode()


def test_encoding_is_detected_and_said_unless_declared(tmp_path: Path) -> None:
    assert sniff_encoding(TEXT.encode("utf-8")) == ("utf-8", None)
    assert sniff_encoding(b"\xef\xbb\xbf" + TEXT.encode())[0] == "utf-8-sig"
    encoding, note = sniff_encoding(TEXT.encode("cp1252"))
    assert encoding == "cp1252" and note is not None and "encoding" in note
    path = tmp_path / "nl.csv"
    path.write_bytes(TEXT.encode("cp1252"))
    frame, found = read_source(csv_source(path))
    assert frame["naam"].tolist() == ["José", "Zoë"]
    assert any("cp1252" in n for n in found.notes) and any(";" in n for n in found.notes)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_found_from_the_header_even_with_quoted_delimiters(delimiter: str) -> None:
    text = f'id{delimiter}comment{delimiter}score\n1{delimiter}"a, b; c"{delimiter}4\n'
    assert sniff_delimiter(text)[0] == delimiter


def test_semicolons_win_over_decimal_commas() -> None:
    assert sniff_delimiter("a;b;c\n1;2,5;3\n4;5,5;6\n")[0] == ";"


def test_a_single_column_file_stays_one_column() -> None:
    assert sniff_delimiter("comment\nhello, world\nall good\n") == (",", None)


def test_binary_files_are_refused_with_the_format_to_set() -> None:
    with pytest.raises(SourceError, match='set format = "parquet"'):
        refuse_binary(b"PAR1\x00\x00rest", "x.csv", "csv")
    with pytest.raises(SourceError, match='format = "sqlite"'):
        refuse_binary(b"SQLite format 3\x00...", "x.csv", "csv")
    refuse_binary("utf-16 text".encode("utf-16"), "x.csv", "csv")  # has NULs but is text


def test_header_rows_name_columns_and_keep_question_texts() -> None:
    names, labels = header_from_rows(
        [
            ["Respondent ID", "How was check-in?", "", "Score", "Score"],
            ["", "Response", "Open-Ended Response", "", ""],
        ]
    )
    assert names == [
        "Respondent ID",
        "How was check-in?",
        "How was check-in? | Open-Ended Response",
        "Score",
        "Score (2)",
    ]
    assert labels == {
        "How was check-in?": "Response",
        "How was check-in? | Open-Ended Response": "Open-Ended Response",
    }


def test_qualtrics_rows_are_read_as_header_not_as_answers(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        '\ufeffResponseId,Q1\nResponse ID,"How was it,\nreally?"\n'
        '"{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}"\nR_1,4\nR_2,5\n',
        encoding="utf-8",
    )
    frame, found = read_source(csv_source(path, header_rows=3))
    assert list(frame.columns) == ["ResponseId", "Q1"]
    assert frame["Q1"].tolist() == ["4", "5"]
    assert found.labels["Q1"] == "How was it,\nreally?"


def test_excel_cells_read_as_csv_text(tmp_path: Path) -> None:
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "when", "score", "ok"])
    sheet.append([1001, datetime(2025, 3, 1, 14, 5), 4.0, True])
    sheet.append([1002, datetime(2025, 3, 2, 9, 0), 4.5, None])
    path = tmp_path / "a.xlsx"
    book.save(path)
    frame, _ = read_source(SourceSpec(format="excel", path=path, sheet=1))
    assert frame.to_dict("list") == {
        "id": ["1001", "1002"],
        "when": ["2025-03-01 14:05:00", "2025-03-02 09:00:00"],
        "score": ["4", "4.5"],
        "ok": ["true", None],
    }


def test_max_rows_reads_only_the_top(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(1000)), encoding="utf-8")
    frame, _ = read_source(csv_source(path), max_rows=10)
    assert len(frame) == 10


def test_comments_for_emotions_are_read_from_gzip_and_binary_is_refused(tmp_path: Path) -> None:
    from peakend.text.reader import read_comments

    path = tmp_path / "reviews.csv.gz"
    path.write_bytes(gzip.compress(b"id,text\n1,Great service\n2,Te laat geleverd\n"))
    assert read_comments(path) == ["Great service", "Te laat geleverd"]
    binary = tmp_path / "reviews.txt"
    binary.write_bytes(b"PAR1\x00\x01\x02")
    with pytest.raises(SourceError, match="not a text file but a Parquet file"):
        read_comments(binary)
