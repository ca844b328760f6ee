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
from tests.test_loaders import assert_same_data

from peakend.generate import GeneratorConfig, generate
from peakend.load import Dataset, load
from peakend.loading.duck import DuckLoader
from peakend.loading.duck.columns import timestamp_shape
from peakend.spec import read_spec


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
    ``texts`` (touchpoint, channel, initiated_by; over the events and their row number
    ``i``), and a spec that reads it."""
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    con.sql(
        "CREATE VIEW events AS SELECT row_number() OVER () AS i, * "
        f"FROM read_parquet('{out / 'events.parquet'}')"
    )
    text = {c: texts.get(c, c) for c in ("touchpoint", "channel", "initiated_by")}
    columns = f"journey_id, customer_id, {ts} AS ts, {seq} AS seq, "
    columns += ", ".join(f"{expr} AS {c}" for c, expr in text.items())
    columns += f", {score} AS score, text, lang"
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
    for unshaped in ("2024-05-04 09:58:53", "2024-5-4 09:58:53+00", " 2024-05-04T09:58Z", None):
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
