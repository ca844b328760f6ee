"""Source benchmark: JSON lines, databases and CSV as exported, DuckDB loader against pandas.

Run from the repository root::

    .venv/bin/python bench/sources.py                  # the 1M-event log
    .venv/bin/python bench/sources.py --events 100k --only jsonl,sqlite
    .venv/bin/python bench/sources.py --events 10M --only jsonl --skip pandas,whole_frame
    .venv/bin/python bench/sources.py --only cp1252      # a CSV file Excel on Windows wrote
    .venv/bin/python bench/sources.py --only day_first   # times as 31-12-2024 23:59:00

It writes the events of a generated log (``bench/data/peakend-<size>``, made by
``bench/engine.py``'s ``prepare`` when missing) once as JSON lines, as a table of a
SQLite file and of a DuckDB file, as a CSV file in Windows-1252 (a comment with
``€`` and ``é`` first, so the encoding is found, not declared), as a CSV file with
day-first local times (``timestamp_format = "%d-%m-%Y %H:%M:%S"``, Amsterdam time),
and, when
``PEAKEND_TEST_POSTGRES_URL`` names a server, as a PostgreSQL table; each with a
spec whose outcomes stay the log's
Parquet file. For each source it times, as its own process under
``/usr/bin/time``:

* ``<source>_duckdb``: ``peakend validate SPEC --json`` with the DuckDB loader
  (JSON lines read in place, a database streamed into Parquet a chunk at a time,
  the Windows-1252 file read from a UTF-8 copy);
* ``<source>_pandas``: the same with the pandas loader;
* ``<source>_whole_frame``: the obvious way to read the source into pandas alone,
  before any check: ``pandas.read_json(lines=True)`` of the file,
  ``pandas.read_csv(encoding="cp1252", dtype=str)``, or the driver's ``fetchall``
  into ``DataFrame.from_records`` (how both loaders read databases before the rows
  were streamed).

The Parquet log itself (``parquet_duckdb``) is the reference. Output is
``name: value`` lines: seconds and peak memory of each contender, and the ratios of
the DuckDB loader to the others.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine as engine_bench  # noqa: E402  (bench/engine.py: the shared generator)
import xes as xes_bench  # noqa: E402  (bench/xes.py: timing a process)

SOURCES = ("jsonl", "sqlite", "duckdb", "postgres", "cp1252", "day_first")
COLUMNS = (
    "journey_id, customer_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%g+00:00') AS ts, seq, "
    "touchpoint, channel, initiated_by, score, valence, text, lang"
)
"""The events as a source outside Parquet holds them: times as ISO 8601 text."""


def copies(size: str, wanted: list[str]) -> dict[str, Path]:
    """The spec of each wanted copy of the generated ``size`` log, written once."""
    events = engine_bench.prepare(engine_bench._parse_size(size))
    folder = events.parent / "sources"
    folder.mkdir(exist_ok=True)
    base = (events.parent / "synthetic.toml").read_text(encoding="utf-8")
    base = base.replace('path = "outcomes.parquet"', f'path = "{events.parent}/outcomes.parquet"')
    query = f"SELECT {COLUMNS} FROM read_parquet('{events}')"
    specs = {"parquet": events.parent / "synthetic.toml"}
    for name in wanted:
        spec = folder / f"{name}.toml"
        if name == "postgres" and not os.environ.get("PEAKEND_TEST_POSTGRES_URL"):
            continue
        if not spec.exists() or name == "postgres":
            source = _write_copy(name, folder, query)
            spec.write_text(base.replace('path = "events.parquet"', source, 1), encoding="utf-8")
        specs[name] = spec
    return specs


def _write_copy(name: str, folder: Path, query: str) -> str:
    """Write the events as source ``name``; returns the spec's lines for it."""
    with duckdb.connect() as db:
        db.execute("SET TimeZone = 'UTC'")
        if name == "jsonl":
            db.execute(f"COPY ({query}) TO '{folder}/events.jsonl' (FORMAT json)")
            return f'path = "{folder}/events.jsonl"'
        if name == "cp1252":
            return _to_cp1252(db, folder, query)
        if name == "day_first":
            day_first = query.replace("'%Y-%m-%dT%H:%M:%S.%g+00:00'", "'%d-%m-%Y %H:%M:%S'")
            db.execute(f"COPY ({day_first}) TO '{folder}/events-day-first.csv' (HEADER)")
            return (
                f'path = "{folder}/events-day-first.csv"\n'
                'timestamp_format = "%d-%m-%Y %H:%M:%S"\ntimezone = "Europe/Amsterdam"'
            )
        if name == "duckdb":
            (folder / "events.duckdb").unlink(missing_ok=True)
            db.execute(f"ATTACH '{folder}/events.duckdb' AS out")
            db.execute(f"CREATE TABLE out.events AS {query}")
            return f'format = "duckdb"\npath = "{folder}/events.duckdb"\ntable = "events"'
        rows = db.execute(query)
        names = [d[0] for d in rows.description]
        if name == "sqlite":
            return write_sqlite(folder / "events.sqlite", names, rows)
        return _to_postgres(names, rows)


def _to_cp1252(db: duckdb.DuckDBPyConnection, folder: Path, query: str) -> str:
    """The events as CSV in Windows-1252, the first comment holding ``€`` and ``é``."""
    text = "CASE WHEN row_number() OVER () = 1 THEN 'Prijs €, café' ELSE text END"
    first = f"SELECT * REPLACE ({text} AS text) FROM ({query})"
    utf8, target = folder / "events-utf8.csv", folder / "events-cp1252.csv"
    db.execute(f"COPY ({first}) TO '{utf8}' (HEADER)")
    with utf8.open(encoding="utf-8", newline="") as text, target.open("wb") as out:
        while block := text.read(1 << 24):
            out.write(block.encode("cp1252", errors="replace"))
    utf8.unlink()
    return f'path = "{target}"'


def write_sqlite(path: Path, names: list[str], rows: duckdb.DuckDBPyConnection) -> str:
    """The rows of query result ``rows`` as SQLite table ``events`` in a new file
    ``path`` (through Python's driver: DuckDB's SQLite writer is an extension it
    would download); returns the spec's lines for it."""
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(f"CREATE TABLE events ({', '.join(names)})")
        marks = ", ".join("?" * len(names))
        while chunk := rows.fetchmany(100_000):
            connection.executemany(f"INSERT INTO events VALUES ({marks})", chunk)
    connection.close()
    return f'format = "sqlite"\npath = "{path}"\ntable = "events"'


def _to_postgres(names: list[str], rows: duckdb.DuckDBPyConnection) -> str:
    import psycopg

    url = os.environ["PEAKEND_TEST_POSTGRES_URL"]
    types = ["text"] * len(names)
    types[names.index("seq")] = "bigint"
    types[names.index("score")] = types[names.index("valence")] = "double precision"
    with psycopg.connect(url) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_events")
        columns = ", ".join(f"{n} {t}" for n, t in zip(names, types, strict=True))
        connection.execute(f"CREATE TABLE bench_events ({columns})")
        with connection.cursor().copy("COPY bench_events FROM STDIN") as copy:
            while chunk := rows.fetchmany(100_000):
                for row in chunk:
                    copy.write_row(row)
    return f'format = "postgres"\nurl = "{url}"\ntable = "bench_events"'


def whole_frame(name: str, spec: Path) -> str:
    """Python code reading source ``name`` of ``spec`` whole into pandas, the old way."""
    prelude = f"from peakend.spec import read_spec; s = read_spec({str(spec)!r}).source; "
    if name == "jsonl":
        return prelude + "import pandas as pd; pd.read_json(s.path, lines=True, dtype=False)"
    if name == "cp1252":
        return prelude + "import pandas as pd; pd.read_csv(s.path, encoding='cp1252', dtype=str)"
    if name == "day_first":
        return prelude + "import pandas as pd; pd.read_csv(s.path, dtype=str)"
    if name == "sqlite":
        connect = "import sqlite3; c = sqlite3.connect(s.path)"
    elif name == "duckdb":
        connect = "import duckdb; c = duckdb.connect(str(s.path), read_only=True)"
    else:
        connect = "import psycopg; c = psycopg.connect(s.url)"
    table = "bench_events" if name == "postgres" else "events"
    read = (
        f"; cur = c.execute('SELECT * FROM {table}'); import pandas as pd; "
        "pd.DataFrame.from_records(cur.fetchall(), columns=[d[0] for d in cur.description])"
    )
    return prelude + connect + read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="1M", help="size of the generated log: 100k, 1M")
    parser.add_argument("--only", default=",".join(SOURCES), help="comma-separated sources")
    parser.add_argument(
        "--skip", default="", help="comma-separated contenders to leave out: pandas,whole_frame"
    )
    args = parser.parse_args(argv)
    specs = copies(args.events, [s for s in args.only.split(",") if s])
    results: dict[str, tuple[float, float]] = {}
    for name, spec in specs.items():
        validate = [sys.executable, "-m", "peakend", "validate", str(spec), "--json"]
        contenders = {f"{name}_duckdb": (validate, {"PEAKEND_LOADER": "duckdb"})}
        if name != "parquet":
            contenders[f"{name}_pandas"] = (validate, {"PEAKEND_LOADER": "pandas"})
            code = [sys.executable, "-c", whole_frame(name, spec)]
            contenders[f"{name}_whole_frame"] = (code, {})
        for label, (command, env) in contenders.items():
            if label.removeprefix(f"{name}_") in args.skip.split(","):
                continue
            seconds, megabytes, output = xes_bench.timed(command, env)
            results[label] = seconds, megabytes
            if command is validate:
                report = json.loads(output)
                print(f"{args.events}.{label}_loader: {report['loader']}")
                print(f"{args.events}.{label}_events: {report['events_loaded']}")
            print(f"{args.events}.{label}_s: {seconds:.3g}")
            print(f"{args.events}.{label}_peak_rss_mb: {megabytes:.0f}", flush=True)
        for other in ("pandas", "whole_frame"):
            a, b = results.get(f"{name}_duckdb"), results.get(f"{name}_{other}")
            if a and b:
                print(f"{args.events}.{name}_duckdb_over_{other}_s: {a[0] / b[0]:.3g}")
                print(f"{args.events}.{name}_duckdb_over_{other}_peak: {a[1] / b[1]:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
