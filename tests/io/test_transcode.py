"""``utf8_copy``: a text file in another encoding copied to UTF-8 a block at a time."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from peakend.io import transcode
from peakend.io.transcode import utf8_copy

TEXT = "id,text\nJ1,Prijs \u20ac 12 \u2013 \u2018prima\u2019\r\nJ2,caf\u00e9\n"


def test_a_windows_1252_file_becomes_the_same_text_in_utf8(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(TEXT.encode("cp1252"))
    assert utf8_copy(tmp_path / "a.csv", ("cp1252",), tmp_path / "b.csv") == "cp1252"
    assert (tmp_path / "b.csv").read_bytes() == TEXT.encode("utf-8")  # line ends kept


def test_blocks_that_split_a_character_and_a_byte_order_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transcode, "BLOCK_BYTES", 3)  # splits UTF-16's two-byte units
    (tmp_path / "a.csv").write_bytes(TEXT.encode("utf-16"))  # with its byte-order mark
    assert utf8_copy(tmp_path / "a.csv", ("utf-16",), tmp_path / "b.csv") == "utf-16"
    assert (tmp_path / "b.csv").read_bytes() == TEXT.encode("utf-8")


def test_a_gzip_file_is_unpacked(tmp_path: Path) -> None:
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(TEXT.encode("cp1252")))
    utf8_copy(tmp_path / "a.csv.gz", ("cp1252",), tmp_path / "b.csv")
    assert (tmp_path / "b.csv").read_bytes() == TEXT.encode("utf-8")


def test_the_first_encoding_that_reads_every_byte_is_used(tmp_path: Path) -> None:
    data = TEXT.encode("cp1252") + b"J3,\x81\n"  # undefined in Windows-1252
    (tmp_path / "a.csv").write_bytes(data)
    used = utf8_copy(tmp_path / "a.csv", ("cp1252", "latin-1"), tmp_path / "b.csv")
    assert used == "latin-1"
    assert (tmp_path / "b.csv").read_bytes() == data.decode("latin-1").encode("utf-8")


def test_no_encoding_that_fits_raises_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"id\nJ\x81\n")
    with pytest.raises(UnicodeDecodeError):
        utf8_copy(tmp_path / "a.csv", ("cp1252", "utf-8"), tmp_path / "b.csv")
    assert not (tmp_path / "b.csv").exists()
    with pytest.raises(LookupError):
        utf8_copy(tmp_path / "a.csv", ("klingon",), tmp_path / "b.csv")
