"""Spark local mode against DuckDB on the same event log: identical results, and the two timings.

Run from the repository root::

    .venv/bin/python bench/spark.py                  # 1M events
    .venv/bin/python bench/spark.py --events 100k
    .venv/bin/python bench/spark.py --format jsonl   # the planted log as JSON lines
    .venv/bin/python bench/spark.py --format sqlite  # … as a SQLite table
    .venv/bin/python bench/spark.py --spec examples/airline_passenger_satisfaction.toml

The log comes from ``peakend generate`` (through ``bench/engine.py``'s ``prepare``,
reused under ``bench/data/``) and is written as CSV with bad rows planted (unparsable
and local timestamps, empty and unknown touchpoints, bad initiators, scores that
are not numbers or lie outside the scale, repeated rows; ``--format jsonl`` writes
the same rows as JSON lines, ``--format sqlite`` as a SQLite table), so the quarantine has
something to compare. ``--spec`` runs a dataset of its own instead (the real wide
airline survey, for one), whose quarantine may be empty. Each backend then runs,
each step as its own process (start-up, the Spark JVM, loading and validation all count):

* ``load``: ``peakend.load(spec, backend=B)``, writing the quarantine and the report;
* ``journeys``: ``peakend journeys SPEC --json --backend B``;
* ``moments``: ``peakend moments SPEC --json --no-segments --backend B`` (seed 0).

The results are compared: the quarantine and the report exactly, the journeys and
moments JSON exactly for counts and text and to 1e-9 for figures (Spark adds
floating-point numbers in another order). Output: ``name: value`` lines, then the
ratio Spark / DuckDB per step. Peak memory is the Python process's (``/usr/bin/time``);
Spark's JVM is a separate process and is not included.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine as engine_bench  # noqa: E402  (bench/engine.py, found through sys.path)
import sources as sources_bench  # noqa: E402  (bench/sources.py: writing a SQLite copy)

BACKENDS = ("duckdb", "spark")
PEAKEND = [sys.executable, "-m", "peakend"]

PLANTED = """
SELECT journey_id, customer_id,
  CASE row_number() OVER () % 997 WHEN 1 THEN 'not a time'
       WHEN 2 THEN strftime(ts, '%Y-%m-%d %H:%M:%S')
       ELSE strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') END AS ts,
  seq,
  CASE row_number() OVER () % 1009 WHEN 4 THEN '' WHEN 5 THEN 'Mystery stop'
       ELSE touchpoint END AS touchpoint,
  channel,
  CASE row_number() OVER () % 1013 WHEN 6 THEN 'robot' ELSE initiated_by END AS initiated_by,
  CASE WHEN score IS NULL THEN NULL
       ELSE CASE row_number() OVER () % 1019 WHEN 7 THEN '17' WHEN 9 THEN 'vier'
            ELSE CAST(score AS VARCHAR) END END AS score,
  text, lang
FROM read_parquet('{events}')
UNION ALL (SELECT journey_id, customer_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ'), seq,
  touchpoint, channel, initiated_by, CAST(score AS VARCHAR), text, lang
  FROM read_parquet('{events}') WHERE ts IS NOT NULL ORDER BY journey_id, seq LIMIT 200)
"""

LOAD = """
import json, sys, peakend
data = peakend.load(sys.argv[1], backend=sys.argv[2])
data.quarantine.to_parquet(sys.argv[3])
report = data.report.to_dict()
report.pop("loader")
open(sys.argv[4], "w").write(json.dumps(report, default=str))
"""


def planted_spec(events: Path, fmt: str = "csv") -> Path:
    """The generator's spec over a CSV (JSON-lines, SQLite) copy of its events with
    bad rows planted."""
    folder = events.parent / ("planted" if fmt == "csv" else f"planted-{fmt}")
    spec = folder / "planted.toml"
    if spec.exists():
        return spec
    folder.mkdir(exist_ok=True)
    query = PLANTED.format(events=events)
    source = f'path = "events.{fmt}"'
    if fmt == "sqlite":
        _to_sqlite(query, folder / "events.sqlite")
        source = 'format = "sqlite"\npath = "events.sqlite"\ntable = "events"'
    else:
        options = "HEADER" if fmt == "csv" else "FORMAT json"
        duckdb.connect().execute(f"COPY ({query}) TO '{folder / f'events.{fmt}'}' ({options})")
    original = next(events.parent.glob("*.toml"))
    text = original.read_text(encoding="utf-8")
    text = text.replace('path = "events.parquet"', source, 1)
    text = text.replace('path = "outcomes.parquet"', 'path = "../outcomes.parquet"', 1)
    spec.write_text(text, encoding="utf-8")
    return spec


def _to_sqlite(query: str, path: Path) -> None:
    """What ``query`` returns as SQLite table ``events``."""
    rows = duckdb.connect().execute(query)
    sources_bench.write_sqlite(path, [d[0] for d in rows.description], rows)


def run(cmd: list[str], stdout: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, ``/usr/bin/time``) of one command as a process."""
    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak"
        full = ["/usr/bin/time", "-f", "%M", "-o", str(peak), *cmd]
        with open(stdout, "w") as out, open(Path(tmp) / "err", "w+") as err:
            started = time.perf_counter()
            code = subprocess.call(full, stdout=out, stderr=err)
            wall = time.perf_counter() - started
            if code != 0:
                err.seek(0)
                sys.stderr.write(err.read()[-4000:])
                raise SystemExit(f"failed: {' '.join(cmd)}")
        return wall, float(peak.read_text().split()[-1]) / 1024


def steps(spec: Path, backend: str, out: Path) -> dict[str, list[str]]:
    load = [sys.executable, "-c", LOAD, str(spec), backend]
    return {
        "load": [*load, str(out / f"quarantine-{backend}.parquet"), str(out / f"report-{backend}")],
        "journeys": [*PEAKEND, "journeys", str(spec), "--json", "--backend", backend],
        "moments": [
            *PEAKEND,
            *("moments", str(spec), "--json", "--no-segments", "--seed", "0"),
            *("--backend", backend),
        ],
    }


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON results differ: exactly, floats to 1e-9 relative."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys differ"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} against {len(b)} items"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, float):
        same = math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
        return [] if same else [f"{path}: {a} against {b}"]
    return [] if a == b else [f"{path}: {a!r} against {b!r}"]


def compare(out: Path, *, planted: bool = True) -> dict[str, list[str]]:
    """Where the two backends' outputs differ (the planted log must quarantine rows)."""
    found: dict[str, list[str]] = {}
    for step in ("journeys", "moments"):
        a = json.loads((out / f"{step}-duckdb.json").read_text())
        b = json.loads((out / f"{step}-spark.json").read_text())
        for result in (a, b):
            (result.get("validation") or {}).pop("loader", None)
        found[step] = differences(a, b)
    first = pd.read_parquet(out / "quarantine-duckdb.parquet")
    second = pd.read_parquet(out / "quarantine-spark.parquet")
    try:
        pd.testing.assert_frame_equal(first, second)
        found["quarantine"] = []
    except AssertionError as exc:
        found["quarantine"] = [str(exc)[:500]]
    reports = [json.loads((out / f"report-{b}").read_text()) for b in BACKENDS]
    found["report"] = differences(*reports)
    if planted:
        found["quarantine_rows"] = [] if len(first) else ["no quarantined rows to compare"]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="1M", help="log size, e.g. 100k, 1M (default 1M)")
    parser.add_argument(
        "--format", default="csv", choices=["csv", "jsonl", "sqlite"], help="the copy's format"
    )
    parser.add_argument(
        "--spec", type=Path, help="a dataset spec to run instead of the planted log"
    )
    args = parser.parse_args(argv)
    if args.spec is not None:
        spec, p = args.spec.resolve(), f"{args.spec.stem}."
    else:
        size = engine_bench._parse_size(args.events)
        spec = planted_spec(engine_bench.prepare(size), args.format)
        label = engine_bench._label(size)
        p = f"{label}.{args.format}." if args.format != "csv" else f"{label}."
    print(f"{p}load_before: {os.getloadavg()[0]:.2f}", flush=True)
    out = Path(tempfile.mkdtemp(prefix="peakend-spark-bench-"))
    times: dict[str, float] = {}
    for backend in BACKENDS:
        for step, cmd in steps(spec, backend, out).items():
            wall, rss = run(cmd, out / f"{step}-{backend}.json")
            times[f"{step}_{backend}"] = wall
            print(f"{p}{step}_{backend}_s: {wall:.3g}")
            print(f"{p}{step}_{backend}_peak_rss_mb: {rss:.0f}", flush=True)
    print(f"{p}load_after: {os.getloadavg()[0]:.2f}")
    quarantined = len(pd.read_parquet(out / "quarantine-duckdb.parquet"))
    print(f"{p}quarantined_rows: {quarantined}")
    for what, found in compare(out, planted=args.spec is None).items():
        print(f"{p}{what}_identical: {not found}")
        for line in found[:5]:
            print(f"#   {line}")
    for step in ("load", "journeys", "moments"):
        print(
            f"{p}{step}_spark_over_duckdb: {times[f'{step}_spark'] / times[f'{step}_duckdb']:.3g}"
        )
    print(f"# outputs in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
