"""Tests for peakend.io.xes: tiny hand-written logs plus the two shared real logs."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import peakend.io.xes as xes_module
from peakend.errors import DataError, SourceError
from peakend.io.xes import STANDARD_COLUMNS, cached_parquet, read_xes, xes_to_parquet
from peakend.spec import SourceSpec

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

TINY_XES = """<?xml version="1.0" encoding="UTF-8" ?>
<!-- a comment before the log -->
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <global scope="event">
    <string key="concept:name" value="UNKNOWN"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <string key="concept:name" value="the whole log"/>
  <float key="meta:stats" value="1.5"><float key="nested" value="2.5"/></float>
  <trace>
    <string key="concept:name" value="j1"/>
    <string key="channel" value="web"/>
    <event>
      <string key="concept:name" value="Order"/>
      <date key="time:timestamp" value="2011-10-01T00:38:44.546+02:00"/>
      <string key="lifecycle:transition" value="complete"/>
      <string key="org:resource" value="112"/>
      <int key="score" value="4"/>
    </event>
    <!-- a comment between events -->
    <event>
      <string key="concept:name" value="Deliver"/>
      <date key="time:timestamp" value="2011-10-02T09:00:00.000+02:00"/>
      <string key="lifecycle:transition" value="START"/>
      <list key="items"><string key="item" value="a"/></list>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="j2"/>
    <string key="segment" value="gold"/>
    <event>
      <string key="concept:name" value="Complain"/>
      <date key="time:timestamp" value="2011-10-03T10:00:00Z"/>
      <string key="lifecycle:transition" value="COMPLETE"/>
      <boolean key="urgent" value="true"/>
    </event>
  </trace>
</log>
"""


def _write(tmp_path: Path, text: str, name: str = "log.xes", *, compress: bool = False) -> Path:
    path = tmp_path / name
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_reads_one_row_per_event_with_pm4py_column_names(tmp_path: Path) -> None:
    frame = read_xes(SourceSpec(format="xes", path=_write(tmp_path, TINY_XES)))
    assert list(frame.columns) == [
        *STANDARD_COLUMNS,
        "score",
        "urgent",
        "case:channel",
        "case:segment",
    ]
    assert frame["case:concept:name"].tolist() == ["j1", "j1", "j2"]
    assert frame["concept:name"].tolist() == ["Order", "Deliver", "Complain"]
    assert frame["case:channel"].tolist()[:2] == ["web", "web"]
    assert frame["case:segment"].tolist()[2] == "gold"


def test_keeps_values_as_written(tmp_path: Path) -> None:
    frame = read_xes(SourceSpec(format="xes", path=_write(tmp_path, TINY_XES)))
    first = frame.iloc[0]
    assert first["time:timestamp"] == "2011-10-01T00:38:44.546+02:00"
    assert first["org:resource"] == "112"
    assert first["score"] == "4"
    assert frame.iloc[2]["time:timestamp"] == "2011-10-03T10:00:00Z"
    assert frame.iloc[2]["urgent"] == "true"
    assert frame["org:resource"].isna().tolist() == [False, True, True]


def test_ignores_log_level_attributes_globals_and_nested_values(tmp_path: Path) -> None:
    frame = read_xes(SourceSpec(format="xes", path=_write(tmp_path, TINY_XES)))
    assert "UNKNOWN" not in frame.to_numpy()
    assert "the whole log" not in frame.to_numpy()
    assert not {"meta:stats", "nested", "items", "item", "case:meta:stats"} & set(frame.columns)


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    plain = read_xes(SourceSpec(format="xes", path=_write(tmp_path, TINY_XES)))
    for name in ("log.xes.gz", "log.xes"):
        target = tmp_path / "gz"
        target.mkdir(exist_ok=True)
        path = _write(target, TINY_XES, name, compress=True)
        zipped = read_xes(SourceSpec(format="xes", path=path))
        assert zipped.equals(plain)


def test_reads_a_log_without_namespace(tmp_path: Path) -> None:
    text = TINY_XES.replace(' xmlns="http://www.xes-standard.org/"', "")
    plain = read_xes(SourceSpec(format="xes", path=_write(tmp_path, TINY_XES, "a.xes")))
    bare = read_xes(SourceSpec(format="xes", path=_write(tmp_path, text, "b.xes")))
    assert bare.equals(plain)


def test_reads_a_prefixed_namespace(tmp_path: Path) -> None:
    text = (
        TINY_XES.replace(
            'xmlns="http://www.xes-standard.org/"', 'xmlns:x="http://www.xes-standard.org/"'
        )
        .replace("<", "<x:")
        .replace("<x:/", "</x:")
        .replace("<x:?xml", "<?xml")
        .replace("<x:!--", "<!--")
    )
    plain = read_xes(SourceSpec(format="xes", path=_write(tmp_path, TINY_XES, "a.xes")))
    prefixed = read_xes(SourceSpec(format="xes", path=_write(tmp_path, text, "b.xes")))
    assert prefixed.equals(plain)


@pytest.mark.parametrize("keep", [("complete",), ("COMPLETE",), ("Complete", "nothing")])
def test_lifecycle_filter_is_case_insensitive(tmp_path: Path, keep: tuple[str, ...]) -> None:
    frame = read_xes(SourceSpec(format="xes", path=_write(tmp_path, TINY_XES), lifecycle=keep))
    assert frame["concept:name"].tolist() == ["Order", "Complain"]
    assert frame.index.tolist() == [0, 1]


def test_lifecycle_filter_that_keeps_nothing_says_what_exists(tmp_path: Path) -> None:
    source = SourceSpec(format="xes", path=_write(tmp_path, TINY_XES), lifecycle=("schedule",))
    with pytest.raises(DataError, match=r"START.*lifecycle"):
        read_xes(source)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "log.xes"
    with pytest.raises(SourceError, match="nowhere/log.xes"):
        read_xes(SourceSpec(format="xes", path=path))


def test_malformed_xml_gives_line_number(tmp_path: Path) -> None:
    broken = TINY_XES.replace("</event>\n    <!--", "</evnt>\n    <!--", 1)
    line = broken.splitlines().index("    </evnt>") + 1
    path = _write(tmp_path, broken)
    with pytest.raises(SourceError, match=rf"line {line}: the file is not valid XES/XML"):
        read_xes(SourceSpec(format="xes", path=path))


def test_malformed_gzip_content_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "log.xes.gz"
    path.write_bytes(gzip.compress(TINY_XES.encode())[:200])
    with pytest.raises(SourceError, match="log.xes.gz"):
        read_xes(SourceSpec(format="xes", path=path))


@pytest.mark.parametrize(
    "text",
    [
        '<log xmlns="http://www.xes-standard.org/"/>',
        '<log xmlns="http://www.xes-standard.org/"><trace>'
        '<string key="concept:name" value="j1"/></trace></log>',
        "",
    ],
    ids=["no-traces", "no-events", "zero-bytes"],
)
def test_empty_log_is_a_data_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(DataError, match="the file is empty"):
        read_xes(SourceSpec(format="xes", path=_write(tmp_path, text)))


def test_other_xml_is_not_an_xes_log(tmp_path: Path) -> None:
    path = _write(tmp_path, "<html><body><trace/></body></html>")
    with pytest.raises(SourceError, match="not an XES log.*<html>"):
        read_xes(SourceSpec(format="xes", path=path))


def _shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data directory {SHARED_DATA} is absent")
    return path


def test_real_log_bpic2012() -> None:
    path = _shared("bpic2012_loan_application/bpic2012.xes.gz")
    frame = read_xes(SourceSpec(format="xes", path=path))
    assert len(frame) == 262_200
    assert frame["case:concept:name"].nunique() == 13_087
    assert frame["concept:name"].nunique() == 24
    assert list(frame.columns) == [*STANDARD_COLUMNS, "case:REG_DATE", "case:AMOUNT_REQ"]
    assert int(frame["org:resource"].isna().sum()) == 18_010
    assert frame.loc[0, "time:timestamp"] == "2011-10-01T00:38:44.546+02:00"
    assert set(frame["lifecycle:transition"]) == {"SCHEDULE", "START", "COMPLETE"}


def test_real_log_bpic2012_complete_only() -> None:
    path = _shared("bpic2012_loan_application/bpic2012.xes.gz")
    frame = read_xes(SourceSpec(format="xes", path=path, lifecycle=("complete",)))
    assert set(frame["lifecycle:transition"]) == {"COMPLETE"}
    assert 0 < len(frame) < 262_200


def test_real_log_receipt() -> None:
    path = _shared("receipt_wabo_permit/receipt.xes.gz")
    frame = read_xes(SourceSpec(format="xes", path=path))
    assert len(frame) == 8_577
    assert frame["case:concept:name"].nunique() == 1_434
    assert frame["concept:name"].nunique() == 27
    per_case = frame.drop_duplicates("case:concept:name")["case:channel"].value_counts()
    assert per_case.to_dict() == {
        "Internet": 1_250,
        "Desk": 109,
        "Post": 53,
        "e-mail": 21,
        "Intern": 1,
    }
    assert {"org:group", "concept:instance", "case:department"} <= set(frame.columns)


def test_a_sample_stops_after_the_trace_that_fills_it(tmp_path: Path) -> None:
    source = SourceSpec(format="xes", path=_write(tmp_path, TINY_XES))
    assert read_xes(source, max_rows=1)["case:concept:name"].tolist() == ["j1", "j1"]
    assert len(read_xes(source, max_rows=100)) == 3


def _as_parquet(source: SourceSpec, target: Path, chunk_events: int) -> pd.DataFrame:
    """The log streamed into ``target`` in chunks of ``chunk_events``, read back as text."""
    xes_to_parquet(source, target, chunk_events=chunk_events)
    return pq.read_table(target).to_pandas().astype(object).where(lambda f: f.notna(), None)


def _as_read(source: SourceSpec) -> pd.DataFrame:
    return read_xes(source).astype(object).where(lambda f: f.notna(), None)


@pytest.mark.parametrize("chunk_events", [1, 2, 100])
@pytest.mark.parametrize("keep", [(), ("complete",)])
def test_a_log_streamed_into_parquet_has_the_rows_and_columns_read_xes_gives(
    tmp_path: Path, chunk_events: int, keep: tuple[str, ...]
) -> None:
    """Chunk by chunk, with attributes first met in a later chunk (``segment``,
    ``urgent``) and the lifecycle filter dropping whole chunks; the part files go."""
    source = SourceSpec(format="xes", path=_write(tmp_path, TINY_XES), lifecycle=keep)
    target = tmp_path / "log.parquet"
    streamed = _as_parquet(source, target, chunk_events)
    expected = _as_read(source)
    assert list(streamed.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(streamed, expected)
    assert {f.name for f in tmp_path.iterdir()} == {"log.xes", "log.parquet"}


def test_the_real_log_streamed_into_parquet_equals_read_xes(tmp_path: Path) -> None:
    source = SourceSpec(format="xes", path=_shared("receipt_wabo_permit/receipt.xes.gz"))
    streamed = _as_parquet(source, tmp_path / "receipt.parquet", 1_000)
    pd.testing.assert_frame_equal(streamed, _as_read(source))


@pytest.mark.parametrize(
    ("text", "keep", "error", "match"),
    [
        ('<log xmlns="http://www.xes-standard.org/"/>', (), DataError, "the file is empty"),
        ("", (), DataError, "the file is empty"),
        (TINY_XES, ("schedule",), DataError, r"START.*lifecycle"),
        ("<html><body><trace/></body></html>", (), SourceError, "not an XES log"),
        (TINY_XES.replace("</trace>", "</trac>", 1), (), SourceError, "not valid XES/XML"),
    ],
    ids=["no-traces", "zero-bytes", "lifecycle", "not-xes", "malformed"],
)
def test_streaming_a_bad_log_raises_as_read_xes_does_and_leaves_nothing(
    tmp_path: Path, text: str, keep: tuple[str, ...], error: type[Exception], match: str
) -> None:
    source = SourceSpec(format="xes", path=_write(tmp_path, text), lifecycle=keep)
    with pytest.raises(error, match=match):
        read_xes(source)
    with pytest.raises(error, match=match):
        xes_to_parquet(source, tmp_path / "log.parquet")
    assert [f.name for f in tmp_path.iterdir()] == ["log.xes"]


def test_the_parquet_of_a_log_is_converted_once_and_again_when_the_log_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKEND_CACHE", str(tmp_path / "cache"))
    converted: list[Path] = []
    convert = xes_module.xes_to_parquet

    def counting(source: SourceSpec, target: Path) -> int:
        converted.append(target)
        return convert(source, target)

    monkeypatch.setattr(xes_module, "xes_to_parquet", counting)
    path = _write(tmp_path, TINY_XES)
    source = SourceSpec(format="xes", path=path)
    first = cached_parquet(source)
    assert cached_parquet(source) == first and len(converted) == 1
    assert pq.read_table(first).num_rows == 3
    complete = cached_parquet(SourceSpec(format="xes", path=path, lifecycle=("complete",)))
    assert complete != first and pq.read_table(complete).num_rows == 2
    _write(tmp_path, TINY_XES.replace("j2", "journey2"))
    again = cached_parquet(source)
    assert again == first and len(converted) == 3
    assert "journey2" in pq.read_table(again).column("case:concept:name").to_pylist()
