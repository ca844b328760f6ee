"""The DuckDB loader's outcome table and count pass: journey ids read as they are
when they match a journey, text attributes from Parquet dictionaries read as they
are, binary outcomes of integer columns compared as integers, initiators checked
by their distinct values. Each gives the pandas loader's dataset, and the same
values as the old forms of its SQL."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tests.test_loaders import assert_counts_are_filters, assert_same

from peakend.generate import GeneratorConfig, generate
from peakend.load import Dataset, load
from peakend.loading.duck import DuckLoader
from peakend.loading.duck.outcomes import _integer_binary, _integers
from peakend.spec import read_spec

INTEGERS = [None, -10, -1, 0, 1, 2, 10, 100, 127]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 generated journeys (about 19,000 events)."""
    out = tmp_path_factory.mktemp("outcomes")
    generate(out, GeneratorConfig(n_journeys=2_000, seed=7))
    return out


def test_integers_are_the_values_that_are_an_integers_text() -> None:
    values = ["1", "-3", "0", "01", "+1", " 1", "1 ", "1.0", "yes", "", "-0", "1_0"]
    assert _integers(values) == ["1", "-3", "0"]


@pytest.mark.parametrize("kind", ["TINYINT", "INTEGER", "BIGINT", "UINTEGER"])
@pytest.mark.parametrize(
    ("positive", "negative"),
    [
        (["1"], []),
        (["1"], ["0"]),
        (["yes", "1", "10"], ["no", "0", "-1"]),
        (["01", "+1", " 1", "1.0"], ["0"]),
        (["1"], ["none"]),
        (["yes"], []),
    ],
)
def test_integer_binary_outcomes_are_the_text_comparisons(
    kind: str, positive: list[str], negative: list[str]
) -> None:
    """Value and flag of every integer are those of comparing its text with the lists
    (the binary outcome's SQL before, for an integer column)."""
    db = duckdb.connect()
    db.execute(f"CREATE TABLE t (v {kind})")
    unsigned = kind.startswith("U")
    rows = [(v,) for v in INTEGERS if not (unsigned and v is not None and v < 0)]
    db.executemany("INSERT INTO t VALUES (?)", rows)
    text = "CAST(v AS VARCHAR)"
    ones = "(" + ", ".join(f"'{v}'" for v in positive) + ")"
    zeros = "(" + ", ".join(f"'{v}'" for v in negative) + ")"
    zero = f"{text} IN {zeros}" if negative else f"{text} IS NOT NULL"
    old = f"(CASE WHEN {text} IN {ones} THEN 1.0 WHEN {zero} THEN 0.0 END)"
    old_bad = f"({text} IS NOT NULL AND {old} IS NULL)"
    value, bad = _integer_binary("v", positive, negative)
    found = db.sql(f"SELECT v, {old}, {value}, {old_bad}, {bad} FROM t").fetchall()
    assert [(r[0], r[1], r[3]) for r in found] == [(r[0], r[2], r[4]) for r in found]
    assert (bad == "FALSE") == (not negative)


def both(spec: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Dataset, Dataset, int]:
    """The dataset loaded by pandas and by DuckDB, and how many times DuckDB built
    its table of outcome rows."""
    built: list[int] = []
    per_row = DuckLoader._per_row

    def counted(self: DuckLoader, *args: object, **kwargs: object) -> None:
        built.append(1)
        per_row(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DuckLoader, "_per_row", counted)
    monkeypatch.setenv("PEAKEND_LOADER", "pandas")
    by_pandas = load(read_spec(spec))
    monkeypatch.setenv("PEAKEND_LOADER", "duckdb")
    by_duckdb = load(read_spec(spec))
    return by_pandas, by_duckdb, len(built)


def outcome_spec(generated: Path, name: str, query: str, fmt: str = "parquet") -> Path:
    """A spec of the generated data whose outcomes are ``query`` over ``outcomes``."""
    path = generated / f"{name}.{fmt}"
    db = duckdb.connect()
    db.sql(f"CREATE VIEW outcomes AS SELECT * FROM '{generated / 'outcomes.parquet'}'")
    options = "FORMAT parquet" if fmt == "parquet" else "HEADER"
    db.sql(f"COPY ({query}) TO '{path}' ({options})")
    text = (generated / "synthetic.toml").read_text(encoding="utf-8")
    assert 'path = "outcomes.parquet"' in text
    spec = generated / f"{name}.toml"
    spec.write_text(text.replace('path = "outcomes.parquet"', f'path = "{path.name}"'), "utf-8")
    return spec


def test_clean_outcome_ids_and_attributes_are_read_as_they_are(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = outcome_spec(generated, "clean", "SELECT * FROM outcomes")
    by_pandas, by_duckdb, built = both(spec, monkeypatch)
    assert built == 1
    assert_same(by_pandas, by_duckdb)
    loader = DuckLoader(read_spec(spec))
    loader._read(loader.spec.outcome_source, "outsrc")  # type: ignore[arg-type]
    loader.types = {str(c): str(t) for c, t, *_ in loader.db.sql("DESCRIBE outsrc").fetchall()}
    source = loader.spec.outcome_source
    assert source is not None
    clean = loader._clean_attributes(source, "outsrc", ["segment", "channel_preference"])
    assert clean == {"segment", "channel_preference"}


PADDED_IDS = """CASE row_number() OVER () % 89 WHEN 3 THEN ' ' || journey_id
  WHEN 5 THEN journey_id || '\u00a0' WHEN 6 THEN '' WHEN 7 THEN NULL ELSE journey_id END"""
PADDED = """
SELECT {ids} AS journey_id, * EXCLUDE (journey_id, segment),
  CASE row_number() OVER () % 97 WHEN 2 THEN segment || ' ' ELSE segment END AS segment
FROM outcomes
"""


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("padded", [True, False])
def test_padded_and_blank_outcome_ids_load_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, padded: bool
) -> None:
    """Ids that stripping changes match no journey as they are: the outcome rows are
    read again with stripped ids (and only then). A padded attribute is stripped."""
    query = PADDED.format(ids=PADDED_IDS if padded else "journey_id")
    spec = outcome_spec(generated, f"padded_{fmt}_{padded}", query, fmt)
    by_pandas, by_duckdb, built = both(spec, monkeypatch)
    assert built == (2 if padded else 1)
    segments = set(by_duckdb.outcomes.column("segment").drop_null().to_pylist())
    assert segments and all(s == s.strip() for s in segments)
    assert_same(by_pandas, by_duckdb)


def test_bad_values_of_an_integer_binary_outcome_load_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two = "CASE WHEN row_number() OVER () % 53 = 1 THEN 2 ELSE churned END"
    query = f"SELECT * REPLACE ({two} AS churned) FROM outcomes"
    spec = outcome_spec(generated, "churned_2", query)
    text = spec.read_text(encoding="utf-8")
    old = '[outcomes.churned]\ncolumn = "churned"\nkind = "binary"\npositive = ["1"]'
    assert old in text
    spec.write_text(text.replace(old, old + '\nnegative = ["0"]'), encoding="utf-8")
    by_pandas, by_duckdb, _ = both(spec, monkeypatch)
    bad = [p for p in by_duckdb.report.problems if p.reason == "bad_outcome"]
    assert [p.column for p in bad] == ["churned"] and bad[0].count > 10
    assert_same(by_pandas, by_duckdb)


@pytest.mark.parametrize("robots", [False, True])
def test_initiators_are_checked_by_their_distinct_values(
    generated: Path, monkeypatch: pytest.MonkeyPatch, robots: bool
) -> None:
    """Initiators read from Parquet dictionaries are counted as allowed from their
    distinct values; with one not allowed, the count pass counts them event by event.
    The counts are a filter's, and the dataset the pandas loader's."""
    from peakend.loading.duck.checks import EventChecks

    counted: list[tuple[bool, dict[str, int]]] = []
    count_checks = EventChecks._count_checks

    def checked(self: EventChecks) -> None:
        count_checks(self)
        assert_counts_are_filters(self)
        counted.append((self._initiators_allowed(), self._counts))

    monkeypatch.setattr(EventChecks, "_count_checks", checked)
    initiator = "CASE WHEN row_number() OVER () % 1019 = 9 THEN 'robot' ELSE initiated_by END"
    path = generated / f"robots_{robots}.parquet"
    db = duckdb.connect()
    query = f"SELECT * REPLACE ({initiator if robots else 'initiated_by'} AS initiated_by)"
    db.sql(f"COPY ({query} FROM '{generated / 'events.parquet'}') TO '{path}' (FORMAT parquet)")
    text = (generated / "synthetic.toml").read_text(encoding="utf-8")
    spec = generated / f"robots_{robots}.toml"
    spec.write_text(text.replace('"events.parquet"', f'"{path.name}"'), encoding="utf-8")
    by_pandas, by_duckdb, _ = both(spec, monkeypatch)
    assert [allowed for allowed, _ in counted] == [not robots]
    bad = [p for p in by_duckdb.report.problems if p.reason == "bad_value"]
    assert [p.column for p in bad] == (["initiated_by"] if robots else [])
    assert_same(by_pandas, by_duckdb)
