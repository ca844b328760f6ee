"""A CSV source read with types first, and from text when that read fails.

The DuckDB loader reads the number columns of a CSV file as numbers, and times
that all have the first one's shape without a regular expression; a value that
read cannot take (a word for a score, a time without an offset) sends the whole
load down the text path. Either way the dataset must be the one the pandas loader
gives, and the one the text path alone gives: every test loads each file three
ways and compares them, and checks which path was taken (so a fast path that is
never taken, or never left, fails).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.test_loaders import assert_same_data

from peakend.generate import GeneratorConfig, generate
from peakend.load import Dataset, load
from peakend.loading.duck import DuckLoader
from peakend.loading.duck.columns import local_shape, text_time_sql, timestamp_shape
from peakend.loading.duck.source import _cell
from peakend.loading.duck.sql import _strip, _text
from peakend.spec import read_spec
from peakend.validate import _OFFSET, SQL_TIME


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 generated journeys (about 19,000 events)."""
    out = tmp_path_factory.mktemp("typed")
    generate(out, GeneratorConfig(n_journeys=2_000, seed=5))
    return out


def planted(
    out: Path, name: str, ts: str = "ts", score: str = "score", seq: str = "seq", **texts: str
) -> Path:
    """The generated events as CSV with the expressions ``ts``, ``score``, ``seq`` and
    ``texts`` (journey_id, customer_id, touchpoint, channel, initiated_by, text, lang;
    over the events and their row number ``i``), and a spec that reads it."""
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    con.sql(
        "CREATE VIEW events AS SELECT row_number() OVER () AS i, * "
        f"FROM read_parquet('{out / 'events.parquet'}')"
    )
    text = {c: texts.get(c, c) for c in ("journey_id", "customer_id", "touchpoint", "channel")}
    text |= {"initiated_by": texts.get("initiated_by", "initiated_by")}
    columns = f"{text.pop('journey_id')} AS journey_id, {text.pop('customer_id')} AS customer_id, "
    columns += f"{ts} AS ts, {seq} AS seq, "
    columns += ", ".join(f"{expr} AS {c}" for c, expr in text.items())
    columns += f", {score} AS score, {texts.get('text', 'text')} AS text, "
    columns += f"{texts.get('lang', 'lang')} AS lang"
    con.sql(f"COPY (SELECT {columns} FROM events ORDER BY i) TO '{out / name}.csv' (HEADER)")
    con.close()
    text = (out / "synthetic.toml").read_text(encoding="utf-8")
    text = text.replace('path = "events.parquet"', f'path = "{name}.csv"', 1)
    spec = out / f"{name}.toml"
    spec.write_text(text, encoding="utf-8")
    return spec


def three_ways(spec_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[bool, list[Dataset]]:
    """Whether the typed read was kept, and the dataset loaded with it, by the text
    path alone and by pandas."""
    spec = read_spec(spec_path)
    loader = DuckLoader(spec)
    typed = loader.run()
    monkeypatch.setattr(DuckLoader, "typed_csv", False)
    text_only = DuckLoader(spec)
    from_text = text_only.run()
    assert not text_only._typed_read
    monkeypatch.setenv("PEAKEND_LOADER", "pandas")
    return loader._typed_read, [typed, from_text, load(spec)]


def assert_same(datasets: list[Dataset]) -> None:
    first, *others = datasets
    for other in others:
        assert_same_data(first, other)


def test_a_clean_csv_is_read_with_types(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    typed, datasets = three_ways(planted(generated, "clean"), monkeypatch)
    assert typed
    assert datasets[0].report.events_loaded > 15_000
    assert_same(datasets)


#: Values the typed read takes, checked afterwards as from text.
KEPT = {
    "nan_score": {"score": "CASE WHEN i % 101 = 3 THEN 'nan' ELSE CAST(score AS VARCHAR) END"},
    "out_of_scale": {"score": "CASE WHEN i % 101 = 3 THEN '17' ELSE CAST(score AS VARCHAR) END"},
    "padded_score": {
        "score": "CASE WHEN i % 7 = 3 THEN '  ' || score ELSE CAST(score AS VARCHAR) END"
    },
    "missing_seq": {"seq": "CASE WHEN i % 97 = 5 THEN NULL ELSE seq END"},
    "missing_time": {"ts": "CASE WHEN i % 89 = 4 THEN NULL ELSE ts END"},
    "offset_time": {"ts": "strftime(ts, '%Y-%m-%dT%H:%M:%S') || '+02:00'"},
    "naive_first_time": {
        "ts": "CASE WHEN i = 1 THEN strftime(ts, '%Y-%m-%d %H:%M:%S') ELSE CAST(ts AS VARCHAR) END"
    },
}

#: Values the typed read raises on: the text path words their problems.
FALLEN_BACK = {
    "word_score": {"score": "CASE WHEN i % 101 = 3 THEN 'vier' ELSE CAST(score AS VARCHAR) END"},
    "word_seq": {"seq": "CASE WHEN i = 9000 THEN 'x' ELSE CAST(seq AS VARCHAR) END"},
    "naive_time": {
        "ts": "CASE WHEN i % 89 = 4 THEN strftime(ts, '%Y-%m-%d %H:%M:%S') "
        "ELSE CAST(ts AS VARCHAR) END"
    },
    "other_offset": {
        "ts": "CASE WHEN i = 9000 THEN strftime(ts, '%Y-%m-%d %H:%M:%S') || '+02:00' "
        "ELSE CAST(ts AS VARCHAR) END"
    },
    "no_such_day": {
        "ts": "CASE WHEN i = 9000 THEN '2024-02-30 10:00:00+00' ELSE CAST(ts AS VARCHAR) END"
    },
    "unreadable_time": {"ts": "CASE WHEN i % 89 = 4 THEN 'soon' ELSE CAST(ts AS VARCHAR) END"},
}


@pytest.mark.parametrize("name", sorted(KEPT))
def test_values_the_typed_read_takes_are_checked_as_from_text(
    generated: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    typed, datasets = three_ways(planted(generated, name, **KEPT[name]), monkeypatch)
    assert typed
    assert_same(datasets)


@pytest.mark.parametrize("name", sorted(FALLEN_BACK))
def test_values_the_typed_read_cannot_take_fall_back_to_the_text_path(
    generated: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    typed, datasets = three_ways(planted(generated, name, **FALLEN_BACK[name]), monkeypatch)
    assert not typed
    if name != "other_offset":  # (a time with another offset is a good one)
        assert datasets[0].report.problems  # each planted value is reported
    assert_same(datasets)


def test_a_score_with_not_applicable_words_is_read_as_text(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    score = "CASE WHEN i % 101 = 3 THEN 'N/A' ELSE CAST(score AS VARCHAR) END"
    spec = planted(generated, "na_words", score=score)
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("[scales.score]", '[scales.score]\nnot_applicable = ["N/A"]', 1))
    typed, datasets = three_ways(spec, monkeypatch)
    assert typed  # the times and the sequence still are
    assert {"not_applicable"} <= {str(p.reason) for p in datasets[0].report.problems}
    assert_same(datasets)


def test_the_shape_of_a_time() -> None:
    assert timestamp_shape("2024-05-04 09:58:53+00") == (
        "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]+[0-9][0-9]"
    )
    assert timestamp_shape("2024-05-04T09:58:53.25Z") is not None
    local = timestamp_shape("2024-05-04 09:58:53")  # a local time, read in the spec's zone
    assert local is not None and local_shape(local)
    assert not local_shape(str(timestamp_shape("2024-05-04 09:58:53-02:00")))
    for unshaped in ("2024-5-4 09:58:53+00", " 2024-05-04T09:58Z", "2024-05-04 09:58", None):
        assert timestamp_shape(unshaped) is None


def test_a_lopsided_reversed_scale_gives_the_same_valences(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One scale whose neutral point is not its middle, reversed, with a number for
    not applicable: the valence formula's general branch, its bounds as constants."""
    score = "CASE WHEN i % 53 = 3 THEN '9' WHEN i % 53 = 4 THEN '0' ELSE CAST(score AS VARCHAR) END"
    spec = planted(generated, "lopsided", score=score)
    scale = "[scales.score]\nneutral = 2\nreversed = true\nnot_applicable = [9]"
    spec.write_text(spec.read_text(encoding="utf-8").replace("[scales.score]", scale, 1))
    typed, datasets = three_ways(spec, monkeypatch)
    assert typed
    reasons = {str(p.reason) for p in datasets[0].report.problems}
    assert {"not_applicable", "score_out_of_scale"} <= reasons
    valences = datasets[0].events.column("valence").to_pylist()
    assert min(v for v in valences if v is not None) == -1.0  # a 5, reversed
    assert_same(datasets)


def test_padded_touchpoints_channels_and_initiators_are_stripped_as_from_text(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # These columns are read as they are and checked by their distinct values; a
    # value that needs stripping builds the table again with every value stripped.
    spec = planted(
        generated,
        "padded_text",
        touchpoint="CASE WHEN i % 53 = 3 THEN touchpoint || ' ' ELSE touchpoint END",
        channel="CASE WHEN i % 61 = 5 THEN channel || chr(160) "
        "WHEN i % 67 = 6 THEN '   ' ELSE channel END",
        initiated_by="CASE WHEN i % 71 = 7 THEN chr(9) || initiated_by ELSE initiated_by END",
    )
    typed, datasets = three_ways(spec, monkeypatch)
    assert typed
    touchpoints = set(datasets[0].events["touchpoint"].to_pylist())
    assert touchpoints and all(t == t.strip() for t in touchpoints)
    assert_same(datasets)


#: Padded, blank and empty identifiers and texts: the typed read takes them as the
#: reader gives them, and the events' query strips them as the text path does.
PADDED_IDS = {
    "journey_id": "CASE WHEN i % 53 = 3 THEN '  ' || journey_id WHEN i % 59 = 4 THEN "
    "chr(9) || journey_id || ' ' WHEN i = 9000 THEN '   ' WHEN i = 9001 THEN '' "
    "ELSE journey_id END",
    "customer_id": "CASE WHEN i % 61 = 5 THEN ' ' || customer_id || chr(160) WHEN i % 67 = 6 "
    "THEN chr(12288) || customer_id WHEN i = 9002 THEN ' ' ELSE customer_id END",
    "text": "CASE WHEN i % 71 = 7 THEN '  very ' || 'slow ' WHEN i % 73 = 8 THEN ' ' "
    "WHEN i % 79 = 9 THEN '' ELSE text END",
}


def test_padded_identifiers_and_texts_are_stripped_as_from_text(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed, datasets = three_ways(planted(generated, "padded_ids", **PADDED_IDS), monkeypatch)
    assert typed
    reasons = {str(p.reason) for p in datasets[0].report.problems}
    assert "missing_value" in reasons  # the blank journey ids
    texts = {t for t in datasets[0].events["text"].to_pylist() if t is not None}
    assert "very slow" in texts and "" not in texts
    assert_same(datasets)


def test_stripped_columns_are_read_as_the_reader_gives_them(generated: Path) -> None:
    """The typed view skips the pandas reader's cell cleaning only for the columns the
    events' query strips: the few-valued ones, read as they are, keep it."""
    loader = DuckLoader(read_spec(planted(generated, "view_cells")))
    loader.run()
    assert loader._typed_read
    assert loader._stripped_columns(set()) == {
        "journey_id",
        "customer_id",
        "touchpoint",
        "channel",
        "initiated_by",
        "text",
        "lang",
    }
    assert loader._stripped_columns({"touchpoint", "text"}) == {
        "journey_id",
        "customer_id",
        "channel",
        "initiated_by",
        "lang",
    }
    name = loader._typed_cells({"seq"}, {"journey_id"})
    views = "SELECT sql FROM duckdb_views() WHERE view_name = ?"
    view = loader.db.execute(views, [name]).fetchall()[0][0]
    assert "ltrim(customer_id" in view and "ltrim(journey_id" not in view


#: Times DuckDB's casts read and the pandas reader does not: a tab for the first digit
#: of the hour or of the year (read as times with an offset by the cast and by its
#: ``strptime``, though a digit is not one), a zone name (dropped by the cast to a
#: local time), ``infinity``, a three-digit year.
NOT_PLAIN_TIMES = {
    "tab_for_an_hour_digit": "'2024-05-04 ' || chr(9) || '9:58:53+00'",
    "tab_for_a_year_digit": "chr(9) || '024-05-04 09:58:53+00'",
    "zone_name": "strftime(ts, '%Y-%m-%d %H:%M:%S') || ' Europe/Amsterdam'",
    "infinity": "'infinity'",
    "three_digit_year": "'024-05-04 09:58:53'",
}


@pytest.mark.parametrize("name", sorted(NOT_PLAIN_TIMES))
def test_times_only_duckdb_reads_are_unreadable_as_for_pandas(
    generated: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The shape's digit classes refuse these times (a check of the separators and the
    length alone would not), and the text path leaves every time that is not a plain
    date, time and offset to the pandas reader, which cannot read them either: the
    same load all three ways."""
    ts = f"CASE WHEN i = 9000 THEN {NOT_PLAIN_TIMES[name]} ELSE CAST(ts AS VARCHAR) END"
    typed, datasets = three_ways(planted(generated, name, ts=ts), monkeypatch)
    assert not typed
    assert_same(datasets)
    assert datasets[0].quarantine["reason"].tolist() == ["bad_timestamp"]


def test_times_with_a_utc_zone_name_are_exact_instants(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BigQuery writes ``2024-05-04 09:58:53 UTC``: the zone is the offset +00:00, not
    a local time in the declared zone, in both loaders (``GMT`` too, any case)."""
    ts = (
        "strftime(ts, '%Y-%m-%d %H:%M:%S') || "
        "CASE WHEN i % 3 = 0 THEN ' UTC' WHEN i % 3 = 1 THEN ' gmt' ELSE 'UTC' END"
    )
    _, datasets = three_ways(planted(generated, "utc_named", ts=ts), monkeypatch)
    assert_same(datasets)
    clean = load(read_spec(planted(generated, "utc_clean")))
    assert datasets[0].events.column("ts").equals(clean.events.column("ts"))
    assert not datasets[0].report.problems


def test_a_time_only_the_pandas_reader_reads_sends_the_load_to_pandas(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A time DuckDB's cast reads although a digit is not one (a point for the last
    digit of the seconds, ``09:58:5.+00``): the shape's digit classes refuse it (a
    check of the separators and the length alone would not, see also NOT_PLAIN_TIMES),
    and the text path leaves it to the pandas reader, which reads it: the load falls
    back to the pandas loader. Beside it a date without a time, whose mix with such
    an offset once crashed that reader."""
    ts = (
        "CASE WHEN i = 9000 THEN '2024-05-04 09:58:5.+00' "
        "WHEN i = 9001 THEN '2024-05-04' ELSE CAST(ts AS VARCHAR) END"
    )
    spec = planted(generated, "pandas_only_time", ts=ts)
    monkeypatch.setenv("PEAKEND_LOADER", "duckdb")
    fallen = load(spec)
    assert fallen.report.loader.startswith("pandas (")
    monkeypatch.setenv("PEAKEND_LOADER", "pandas")
    assert_same_data(fallen, load(spec))


def test_stripping_gives_the_same_value_with_or_without_the_cell_cleaning() -> None:
    values = ["", " ", "   ", "\t", " a", "  a b ", "\ta", "a\t", "\xa0a", " \u3000a ", "a", None]
    con = duckdb.connect()
    con.execute("CREATE TABLE v AS SELECT unnest(?) AS x", [values])
    rows = con.sql(f"SELECT x, {_text(_cell('x'))}, {_text('x')} FROM v").fetchall()
    assert len(rows) == len(values)
    for value, cleaned_first, stripped in rows:
        assert cleaned_first == stripped, repr(value)
        assert stripped == ((value or "").strip() or None), repr(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(SQL_TIME, fullmatch=True), min_size=1, max_size=50))
def test_the_sql_offset_test_agrees_with_the_pandas_loaders_in_plain_times(
    times: list[str],
) -> None:
    """In a time the SQL reads itself, its string tests for an offset say what the
    pandas loader's regular expression says."""
    con = duckdb.connect()
    padded = [f" {t}\t" if i % 2 else t for i, t in enumerate(times)]
    con.execute("CREATE TABLE t AS SELECT unnest(?) AS x", [padded])
    plain, offset, _ = text_time_sql("x", _strip("x"))
    found = con.execute(f"SELECT {plain}, {offset} FROM t").fetchall()
    assert [p for p, _ in found] == [True] * len(times)
    assert [o for _, o in found] == [bool(_OFFSET.search(t)) for t in times]
