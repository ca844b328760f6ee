"""Whole-command benchmark: what a user waits for, side by side with the engine alone.

Run from the repository root::

    .venv/bin/python bench/pipeline.py                   # 10M events
    .venv/bin/python bench/pipeline.py --events 1M
    .venv/bin/python bench/pipeline.py --events 1M --skip csv

Every contender runs as its own process; wall time and peak memory are that
process's (``os.wait4``: wall clock and ``ru_maxrss``), so start-up, imports,
loading and validation all count:

* ``help``: ``peakend --help`` (start-up alone);
* ``floor``: DuckDB scanning the columns the engine reads (``bench/engine.py``);
* ``engine``: the journey engine alone on the Parquet log (``bench/engine.py``);
* ``journeys_parquet``: ``peakend journeys SPEC --json`` on the generated Parquet files;
* ``read_csv``: DuckDB's own ``read_csv`` of the same events written as CSV;
* ``engine_csv``: the journey engine alone on that CSV, read by DuckDB's reader in
  place (a view: no validation, no outcomes);
* ``engine_csv_table``: the same engine on a table DuckDB's reader fills once from that
  CSV (types detected, no validation, no outcomes): cheaper than the view, which the
  engine's queries parse again. The faster of the two is the least a command starting
  from the CSV could cost;
* ``journeys_csv``: ``peakend journeys SPEC --json`` on that CSV;
* ``cache_write``: ``peakend validate SPEC --cache DIR`` (validates and writes the cache);
* ``journeys_cache``: ``peakend journeys SPEC --cache DIR --json`` (reads the cache);
* ``analyze``: ``peakend analyze SPEC --out DIR --no-images --no-pdf`` (every analysis,
  HTML and results.json).

``--only analyze`` runs that contender alone; with ``PYTHONPATH`` set to another
checkout's ``src`` the same command measures that version.

At 100M events (``--events 100M --only engine,journeys_parquet``) DuckDB spills to
disk: every command gets ``--spill-dir`` (default ``bench/data/spill``) as its
``PEAKEND_TEMP_DIR`` and, with ``--memory-limit``, that ``PEAKEND_MEMORY_LIMIT``;
the largest size the spill folder reached during each command is printed
(``*_spill_peak_mb``). ``*_cpu_over_wall`` is the cores a command kept busy on
average: below what it reaches alone, the rest of its wall time was spent waiting
for a core that other work held.

The log comes from ``peakend generate`` through ``bench/engine.py``'s
``prepare`` (reused under ``bench/data/``). Output is ``name: value`` lines
prefixed by the size, then the ratios the targets are stated in.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine as engine_bench  # noqa: E402  (bench/engine.py, found through sys.path)

CONTENDERS = (
    "help",
    "floor",
    "engine",
    "journeys_parquet",
    "read_csv",
    "engine_csv",
    "engine_csv_table",
    "journeys_csv",
    "cache_write",
    "journeys_cache",
    "analyze",
)
GROUPS = {
    "csv": ("read_csv", "engine_csv", "engine_csv_table", "journeys_csv"),
    "cache": ("cache_write", "journeys_cache"),
}
PEAKEND = [sys.executable, "-m", "peakend"]


def run(cmd: list[str], spill: Path | None = None) -> tuple[float, float, float, float]:
    """Wall seconds, peak RSS (MB), CPU seconds (user + system) and the largest size
    (MB) of the folder ``spill`` of one command run as a child process (CPU time says
    more than wall time on a shared machine).

    The peak comes from ``/usr/bin/time -f %M`` when it exists: a child forked from
    this (large) process would otherwise report this process's memory as its own
    ``ru_maxrss``. Without it, ``os.wait4``'s ``ru_maxrss`` is an upper bound. The
    spill folder is measured every half second while the command runs.
    """
    timer = Path("/usr/bin/time").exists()
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        full = ["/usr/bin/time", "-f", "%M %U %S", "-o", str(peak_file), *cmd] if timer else cmd
        with open(Path(tmp) / "out", "w") as out, open(Path(tmp) / "err", "w+") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(full, stdout=out, stderr=err)
            watch = SpillWatch(spill)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            spill_mb = watch.stop()
            if os.waitstatus_to_exitcode(status) != 0:
                err.seek(0)
                sys.stderr.write(err.read()[-4000:])
                raise SystemExit(f"failed: {' '.join(cmd)}")
        if timer:
            kib, user, system = (float(v) for v in peak_file.read_text().split()[-3:])
        else:
            kib, user, system = usage.ru_maxrss, usage.ru_utime, usage.ru_stime
    return wall, kib / 1024, user + system, spill_mb  # peak in KiB on Linux


class SpillWatch:
    """The largest total size of the files under a folder, sampled on a thread."""

    def __init__(self, folder: Path | None, every_s: float = 0.5) -> None:
        self.folder, self.every_s, self.peak = folder, every_s, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while self.folder is not None and not self._done.wait(self.every_s):
            self.peak = max(self.peak, _folder_bytes(self.folder))

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._done.set()
        self._thread.join()
        return self.peak / 2**20


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_blocks * 512
            except OSError:  # a spill file removed while we looked
                continue
    return total


def csv_copy(spec: Path) -> Path:
    """The same dataset with events and outcomes as CSV files and a spec that reads them."""
    folder = spec.parent / "csv"
    target = folder / spec.name
    if target.exists():
        return target
    import duckdb

    folder.mkdir(exist_ok=True)
    con = duckdb.connect()
    for name in ("events", "outcomes"):
        source, dest = spec.parent / f"{name}.parquet", folder / f"{name}.csv"
        con.execute(f"COPY (SELECT * FROM read_parquet('{source}')) TO '{dest}' (HEADER)")
    text = re.sub(r'path = "(events|outcomes)\.parquet"', r'path = "\1.csv"', spec.read_text())
    target.write_text(text, encoding="utf-8")
    return target


def floor_csv_code(path: Path) -> str:
    """DuckDB reading and decoding every column of the CSV (``any_value`` of each)."""
    columns = ", ".join(f"any_value({c})" for c in engine_bench.USED_COLUMNS)
    return (
        "import duckdb; duckdb.connect().execute("
        f"\"SELECT count(*), {columns} FROM read_csv('{path}')\").fetchall()"
    )


def engine_on_csv(path: Path, *, table: bool = False) -> None:
    """The journey engine's results (:func:`peakend.engine.journey_tables`) from a CSV
    of canonical events, read by DuckDB's reader with the types it detects: in place
    (a view), or, with ``table``, into a table first (in the file's order, with the
    64 MiB buffers the loader reads with)."""
    from peakend.engine import connect, journey_tables

    con = connect()
    if table:
        reader = f"read_csv('{path}', buffer_size = {64 << 20})"
        con.con.execute(f"CREATE TABLE events AS SELECT * FROM {reader}")
    else:
        con.con.execute(f"CREATE VIEW events AS SELECT * FROM read_csv('{path}')")
    journey_tables(con.table("events"))


def commands(spec: Path, csv_spec: Path | None, cache: Path) -> dict[str, list[str]]:
    events = spec.parent / "events.parquet"
    bench_engine = [sys.executable, str(HERE / "engine.py"), "--events", str(events)]
    found = {
        "help": [*PEAKEND, "--help"],
        "floor": [*bench_engine, "--run", "floor"],
        "engine": [*bench_engine, "--run", "engine"],
        "journeys_parquet": [*PEAKEND, "journeys", str(spec), "--json"],
        "cache_write": [
            *PEAKEND,
            *("validate", str(spec), "--cache", str(cache), "--json"),
            *("--quarantine", str(cache.parent / "quarantine.csv")),
        ],
        "journeys_cache": [*PEAKEND, "journeys", str(spec), "--cache", str(cache), "--json"],
        "analyze": [
            *PEAKEND,
            *("analyze", str(spec), "--out", str(cache.parent / "report")),
            *("--no-images", "--no-pdf"),
        ],
    }
    if csv_spec is not None:
        events_csv = csv_spec.parent / "events.csv"
        found["read_csv"] = [sys.executable, "-c", floor_csv_code(events_csv)]
        found["engine_csv"] = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--engine-csv",
            str(events_csv),
        ]
        found["engine_csv_table"] = [*found["engine_csv"], "--table"]
        found["journeys_csv"] = [*PEAKEND, "journeys", str(csv_spec), "--json"]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="10M", help="log size, e.g. 1M, 10M (default 10M)")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per contender")
    parser.add_argument("--skip", default="", help="contenders or groups (csv, cache) to omit")
    parser.add_argument("--only", default="", help="run only these contenders or groups")
    parser.add_argument(
        "--memory-limit", default=None, help="PEAKEND_MEMORY_LIMIT for every command (e.g. 4GB)"
    )
    parser.add_argument(
        "--spill-dir",
        type=Path,
        default=engine_bench.DATA / "spill",
        help="PEAKEND_TEMP_DIR for every command; its peak size is reported",
    )
    parser.add_argument("--engine-csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--table", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine_csv:
        engine_on_csv(args.engine_csv, table=args.table)
        return 0
    args.spill_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PEAKEND_TEMP_DIR"] = str(args.spill_dir.resolve())
    if args.memory_limit:
        os.environ["PEAKEND_MEMORY_LIMIT"] = args.memory_limit
    skip = {c for s in args.skip.split(",") if s for c in GROUPS.get(s, (s,))}
    only = {c for s in args.only.split(",") if s for c in GROUPS.get(s, (s,))}
    skip |= set(CONTENDERS) - only if only else set()
    events = engine_bench.prepare(engine_bench._parse_size(args.events))
    spec = next(events.parent.glob("*.toml"))
    label = engine_bench._label(engine_bench._parse_size(args.events))
    p = f"{label}."
    print(f"{p}events: {pq.ParquetFile(events).metadata.num_rows}")
    print(f"{p}load_before: {os.getloadavg()[0]:.2f}", flush=True)
    limit = os.environ.get("PEAKEND_MEMORY_LIMIT") or "default"
    print(f"{p}memory_limit: {limit}", flush=True)
    csv_spec = None if set(GROUPS["csv"]) <= skip else csv_copy(spec)
    cache = events.parent / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    results: dict[str, tuple[float, float, float]] = {}
    for name, cmd in commands(spec, csv_spec, cache).items():
        if name in skip:
            continue
        repeat = 1 if name == "cache_write" else args.repeat
        runs = [run(cmd, args.spill_dir) for _ in range(repeat)]
        wall, rss, cpu, spill = min(runs)
        results[name] = (wall, rss, cpu)
        print(f"{p}{name}_s: {wall:.3g}")
        print(f"{p}{name}_cpu_s: {cpu:.3g}")
        print(f"{p}{name}_peak_rss_mb: {rss:.0f}")
        print(f"{p}{name}_spill_peak_mb: {spill:.0f}", flush=True)
        # cores kept busy on average: about 1.6-1.9 for DuckDB on a quiet 2-core machine
        print(f"{p}{name}_cpu_over_wall: {cpu / wall:.2f}", flush=True)
    print(f"{p}load_after: {os.getloadavg()[0]:.2f}")
    _ratios(p, results)
    return 0


def _ratios(p: str, results: dict[str, tuple[float, float, float]]) -> None:
    def wall(name: str) -> float | None:
        return results[name][0] if name in results else None

    pairs = [
        ("journeys_parquet_over_engine", "journeys_parquet", "engine"),
        ("journeys_parquet_over_floor", "journeys_parquet", "floor"),
        ("journeys_csv_over_read_csv", "journeys_csv", "read_csv"),
        ("journeys_csv_over_engine_csv", "journeys_csv", "engine_csv"),
        ("journeys_csv_over_engine_csv_table", "journeys_csv", "engine_csv_table"),
        ("journeys_cache_over_engine", "journeys_cache", "engine"),
        ("journeys_cache_over_parquet", "journeys_cache", "journeys_parquet"),
    ]
    for label, a, b in pairs:
        x, y = wall(a), wall(b)
        if x is not None and y is not None:
            print(f"{p}{label}: {x / y:.3g}")
    if "journeys_parquet" in results and "engine" in results:
        ratio = results["journeys_parquet"][2] / results["engine"][2]
        print(f"{p}journeys_parquet_over_engine_cpu: {ratio:.3g}")
    for name in ("journeys_csv", "engine_csv", "engine_csv_table"):
        x, y = wall(name), wall("read_csv")
        if x is not None and y is not None:
            print(f"{p}{name}_minus_read_csv_s: {x - y:.3g}")


if __name__ == "__main__":
    raise SystemExit(main())
