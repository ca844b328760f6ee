"""XES benchmark: a large event log streamed into Parquet against read into pandas.

Run from the repository root::

    .venv/bin/python bench/xes.py                # the 1M-event log (about 110k journeys)
    .venv/bin/python bench/xes.py --events 100k
    .venv/bin/python bench/xes.py --events 10M --skip read_xes,validate_pandas

It writes the events of a generated log (``bench/data/peakend-<size>``, made by
``bench/engine.py``'s ``prepare`` when missing) as an XES file once, with a spec for
it, and runs each contender as its own process under ``/usr/bin/time``:

* ``read_xes``: :func:`peakend.io.xes.read_xes`, the whole log as one pandas frame
  (what the pandas loader reads);
* ``xes_to_parquet``: :func:`peakend.io.xes.xes_to_parquet`, the log streamed into a
  Parquet file a chunk of events at a time (what the DuckDB loader reads);
* ``validate_pandas``: ``peakend validate SPEC --json`` with the pandas loader;
* ``validate_duckdb_first`` / ``validate_duckdb_again``: the same with the DuckDB
  loader and an empty cache folder (the conversion included), then again (the
  Parquet file converted before is read).

Output is ``name: value`` lines: seconds and peak memory of each contender, and the
ratios of the streamed path to the in-memory one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine as engine_bench  # noqa: E402  (bench/engine.py: the shared generator)

SPEC = """name = "xes_bench"
attributes = ["case:customer"]

[source]
path = "events.xes"

[columns]
customer_id = "case:customer"
channel = "channel"
initiated_by = "initiated_by"
score = "score"

[scales.score]
low = 1
high = 5
"""


def xes_log(size: str) -> Path:
    """The spec of an XES copy of the generated ``size`` log, written once."""
    events = engine_bench.prepare(engine_bench._parse_size(size))
    folder = events.parent / "xes"
    spec = folder / "xes.toml"
    if spec.exists():
        return spec
    folder.mkdir(exist_ok=True)
    query = (
        "SELECT journey_id, customer_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%g+00:00'), touchpoint, "
        f"channel, initiated_by, score FROM read_parquet('{events}') "
        "ORDER BY journey_id, seq"
    )
    with duckdb.connect() as db, (folder / "events.xes").open("w", encoding="utf-8") as out:
        db.execute("SET TimeZone = 'UTC'")
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n')
        _write_traces(db.execute(query), out)
        out.write("</log>\n")
    spec.write_text(SPEC, encoding="utf-8")
    return spec


def _write_traces(result: duckdb.DuckDBPyConnection, out: TextIO) -> None:
    """One ``<trace>`` per journey of the ordered event rows, batch by batch."""
    current = None
    while rows := result.fetchmany(100_000):
        for journey, customer, ts, touchpoint, channel, initiator, score in rows:
            if journey != current:
                if current is not None:
                    out.write("</trace>\n")
                out.write(
                    f'<trace><string key="concept:name" value="{journey}"/>'
                    f'<string key="customer" value="{customer}"/>\n'
                )
                current = journey
            extra = "" if score is None else f'<float key="score" value="{score}"/>'
            out.write(
                f'<event><string key="concept:name" value="{touchpoint}"/>'
                f'<date key="time:timestamp" value="{ts}"/>'
                f'<string key="channel" value="{channel}"/>'
                f'<string key="initiated_by" value="{initiator}"/>{extra}</event>\n'
            )
    if current is not None:
        out.write("</trace>\n")


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak memory (MB) and output of ``command`` under ``/usr/bin/time``."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, kilobytes = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kilobytes) / 1024, done.stdout


def run_contenders(
    size: str, spec: Path, cache: Path, readers: dict[str, str], skip: list[str]
) -> None:
    """Time the two readers (Python snippets: the whole source into pandas, then
    streamed into Parquet) and ``peakend validate`` with each loader, and print the
    figures and the ratios of the streamed path to the in-memory one."""
    (read, read_code), (stream, stream_code) = readers.items()
    python = [sys.executable, "-c"]
    validate = [sys.executable, "-m", "peakend", "validate", str(spec), "--json"]
    duckdb_env = {"PEAKEND_LOADER": "duckdb", "PEAKEND_CACHE": str(cache / "cache")}
    contenders = {
        read: ([*python, read_code], {}),
        stream: ([*python, stream_code], {}),
        "validate_pandas": (validate, {"PEAKEND_LOADER": "pandas"}),
        "validate_duckdb_first": (validate, duckdb_env),
        "validate_duckdb_again": (validate, duckdb_env),
    }
    results: dict[str, tuple[float, float]] = {}
    for name, (command, env) in contenders.items():
        if name in skip:
            continue
        seconds, megabytes, output = timed(command, env)
        results[name] = seconds, megabytes
        if name.startswith("validate"):
            loader = json.loads(output)["loader"]
            print(f"{size}.{name}_loader: {loader}")
        print(f"{size}.{name}_s: {seconds:.3g}")
        print(f"{size}.{name}_peak_rss_mb: {megabytes:.0f}", flush=True)
    ratios = {
        f"{stream}_over_{read}": (stream, read),
        "validate_duckdb_first_over_pandas": ("validate_duckdb_first", "validate_pandas"),
        "validate_duckdb_again_over_pandas": ("validate_duckdb_again", "validate_pandas"),
    }
    for label, (a, b) in ratios.items():
        if a not in results or b not in results:
            continue
        print(f"{size}.{label}_s: {results[a][0] / results[b][0]:.3g}")
        print(f"{size}.{label}_peak: {results[a][1] / results[b][1]:.3g}")


def compare_main(
    argv: list[str] | None, fmt: str, make_spec: Callable[[str], Path], read: str, stream: str
) -> int:
    """The command line of a benchmark of a source ``fmt`` DuckDB cannot read: the
    spec ``make_spec(size)`` writes, the calls (of ``peakend.io.<fmt>``, with
    ``{source}`` and ``{out}`` for the source and the Parquet file) that read it into
    pandas and stream it into Parquet (:func:`run_contenders`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="1M", help="size of the generated log: 100k, 1M")
    parser.add_argument("--skip", default="", help="comma-separated contenders to leave out")
    args = parser.parse_args(argv)
    spec = make_spec(args.events)
    path = spec.parent / tomllib.loads(spec.read_text(encoding="utf-8"))["source"]["path"]
    print(f"{args.events}.{path.suffix[1:]}_mb: {path.stat().st_size / 1e6:.0f}")
    cache = Path(tempfile.mkdtemp(prefix=f"peakend-{fmt}-bench-"))
    names = {
        "source": f"SourceSpec(format={fmt!r}, path=Path({str(path)!r}))",
        "out": f"Path({str(cache / 'events.parquet')!r})",
    }
    prelude = "from pathlib import Path; from peakend.spec import SourceSpec"
    readers = {}
    for call in (read, stream):
        function = call.split("(")[0]
        imported = f"from peakend.io.{fmt} import {function}"
        readers[function] = f"{prelude}; {imported}; {call.format(**names)}"
    try:
        run_contenders(args.events, spec, cache, readers, args.skip.split(","))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    return compare_main(
        argv, "xes", xes_log, "read_xes({source})", "xes_to_parquet({source}, {out})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
