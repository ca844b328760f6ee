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

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine as engine_bench  # noqa: E402  (bench/engine.py: the shared generator)
from xes import run_contenders  # noqa: E402

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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="1M", help="size of the generated log: 100k, 1M")
    parser.add_argument("--skip", default="", help="comma-separated contenders to leave out")
    args = parser.parse_args(argv)
    spec = excel_log(args.events)
    book = spec.parent / "events.xlsx"
    print(f"{args.events}.xlsx_mb: {book.stat().st_size / 1e6:.0f}")
    source = f"SourceSpec(format='excel', path=Path({str(book)!r}))"
    prelude = "from pathlib import Path; from peakend.spec import SourceSpec; "
    cache = Path(tempfile.mkdtemp(prefix="peakend-excel-bench-"))
    out = cache / "events.parquet"
    read = f"from peakend.io.excel import read_excel; read_excel({source}, {{}})"
    stream = (
        "from peakend.io.excel import excel_to_parquet; "
        f"excel_to_parquet({source}, Path({str(out)!r}))"
    )
    try:
        run_contenders(
            args.events,
            spec,
            cache,
            {"read_excel": prelude + read, "excel_to_parquet": prelude + stream},
            args.skip.split(","),
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
