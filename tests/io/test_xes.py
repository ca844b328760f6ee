"""Tests for peakend.io.xes: tiny hand-written logs plus the two shared real logs."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from peakend.errors import DataError, SourceError
from peakend.io.xes import STANDARD_COLUMNS, read_xes
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
