"""DuckDB connections are out of core by default: a memory limit and a spill folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from peakend.engine import connect
from peakend.errors import ConfigError
from peakend.resources import MEMORY_VAR, TEMP_VAR, memory_limit, physical_memory, resources


def _setting(con: object, name: str) -> str:
    return str(con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0])  # type: ignore[attr-defined]


def _mib(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"MiB": 1, "GiB": 1024, "TiB": 1024**2}[unit]


def test_default_limit_is_fifteen_percent_of_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_VAR, raising=False)
    total = physical_memory()
    assert total is not None and total > 0
    con = connect()
    assert _mib(_setting(con, "memory_limit")) == pytest.approx(0.15 * total / 2**20, rel=0.02)


def test_environment_overrides_limit_and_spill_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MEMORY_VAR, "300MB")
    monkeypatch.setenv(TEMP_VAR, str(tmp_path))
    con = connect()
    assert _mib(_setting(con, "memory_limit")) == pytest.approx(300 * 1e6 / 2**20, rel=0.02)
    assert Path(_setting(con, "temp_directory")).parent == tmp_path


def test_share_of_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_VAR, "25%")
    total = physical_memory()
    assert total is not None
    assert memory_limit() == f"{int(total * 0.25 // 2**20)}MiB"


def test_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(MEMORY_VAR, "300MB")
    con = connect(memory_limit="200MB", temp_directory=tmp_path / "spill")
    assert _mib(_setting(con, "memory_limit")) == pytest.approx(200 * 1e6 / 2**20, rel=0.02)
    assert Path(_setting(con, "temp_directory")).parent == tmp_path / "spill"


def test_each_connection_spills_to_its_own_folder() -> None:
    assert resources().temp_directory != resources().temp_directory


@pytest.mark.parametrize("value", ["lots", "6 gigabytes", "0%", "150%", "-1GB"])
def test_bad_limit_says_how_to_write_it(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(MEMORY_VAR, value)
    with pytest.raises(ConfigError, match=r"PEAKEND_MEMORY_LIMIT=.*6GB"):
        connect()


def test_spill_folder_that_is_a_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(TEMP_VAR, str(blocker))
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        connect()


def test_query_larger_than_the_limit_completes_by_spilling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A sort of ~200 MB under a 64 MB limit finishes (it spills) and is correct."""
    monkeypatch.setenv(MEMORY_VAR, "64MB")
    monkeypatch.setenv(TEMP_VAR, str(tmp_path))
    con = connect(threads=1)
    sql = (
        "SELECT count(*), sum(rn * 0 + 1) FROM (SELECT row_number() OVER (ORDER BY h) AS rn "
        "FROM (SELECT hash(i) AS h, repeat('x', 20) AS pad FROM range(3000000) t(i)))"
    )
    assert con.raw_sql(sql).fetchone() == (3_000_000, 3_000_000)


def test_journey_tables_gives_back_a_third_of_the_limit_while_features_arrive() -> None:
    """The features' Arrow table arrives beside DuckDB's buffers: meanwhile DuckDB keeps
    two thirds of its limit, and the limit is restored afterwards."""
    import pyarrow as pa

    from peakend.engine import events_table
    from peakend.engine.tables import _smaller_duckdb_limit

    con = connect(memory_limit="3GiB")
    table = events_table(con, pa.table({"x": [1]}), name="one_row")
    with _smaller_duckdb_limit(table, 2 / 3):
        assert _mib(_setting(con, "memory_limit")) == pytest.approx(2048, rel=0.03)
    assert _setting(con, "memory_limit") == "3.0 GiB"
