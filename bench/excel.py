"""Excel benchmark: a large sheet streamed into Parquet against read into pandas.

Run from the repository root::

    .venv/bin/python bench/excel.py                # the 1M-event log in one sheet
    .venv/bin/python bench/excel.py --events 100k

It writes the events of a generated log (``bench/data/peakend-<size>``, made by
``bench/engine.py``'s ``prepare`` when missing) as one sheet of an ``.xlsx``
workbook once (times as date cells, scores as numbers, as exports hold them), with
a spec for it, and runs each contender as its own process under ``/usr/bin/time``:

* ``read_excel``: :func:`peakend.io.excel.read_excel`, the sheet as one pandas
  frame of text (what the pandas loader reads);
* ``excel_to_parquet``: :func:`peakend.io.excel.excel_to_parquet`, the sheet
  streamed into a Parquet file of text (what the DuckDB loader reads);
* ``validate_pandas``: ``peakend validate SPEC --json`` with the pandas loader;
* ``validate_duckdb_first`` / ``validate_duckdb_again``: the same with the DuckDB
  loader and an empty cache folder (the conversion included), then again (the
  Parquet file converted before is read).

Output is ``name: value`` lines: seconds and peak memory of each contender, and the
ratios of the streamed path to the in-memory one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine as engine_bench  # noqa: E402  (bench/engine.py: the shared generator)
from xes import compare_main  # noqa: E402

EXCEL_ROWS = 1_048_575
"""Data rows an ``.xlsx`` sheet holds below its header."""

SPEC = """name = "excel_bench"
attributes = ["customer_id"]

[source]
path = "events.xlsx"
timezone = "UTC"

[columns]
journey_id = "journey_id"
customer_id = "customer_id"
ts = "ts"
touchpoint = "touchpoint"
channel = "channel"
initiated_by = "initiated_by"
score = "score"

[scales.score]
low = 1
high = 5
"""


def excel_log(size: str) -> Path:
    """The spec of an ``.xlsx`` copy of the generated ``size`` log, written once."""
    from openpyxl import Workbook

    events = engine_bench.prepare(engine_bench._parse_size(size))
    folder = events.parent / "excel"
    spec = folder / "excel.toml"
    if spec.exists():
        return spec
    folder.mkdir(exist_ok=True)
    columns = "journey_id, customer_id, ts, touchpoint, channel, initiated_by, score"
    query = (
        f"SELECT {columns} FROM read_parquet('{events}') ORDER BY journey_id, seq "
        f"LIMIT {EXCEL_ROWS}"
    )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("events")
    sheet.append(columns.split(", "))
    with duckdb.connect() as db:
        db.execute("SET TimeZone = 'UTC'")
        result = db.execute(query)
        while rows := result.fetchmany(100_000):
            for row in rows:
                ts = row[2].replace(tzinfo=None) if row[2] is not None else None
                sheet.append([*row[:2], ts, *row[3:]])
    book.save(folder / "events.xlsx")
    spec.write_text(SPEC, encoding="utf-8")
    return spec


def main(argv: list[str] | None = None) -> int:
    return compare_main(
        argv, "excel", excel_log, "read_excel({source}, {{}})", "excel_to_parquet({source}, {out})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
