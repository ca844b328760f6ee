"""Loading benchmark: `peakend journeys SPEC --json` with the DuckDB and the pandas loader.

Run from the repository root::

    .venv/bin/python bench/loading.py --journeys 100000            # about 1M events
    .venv/bin/python bench/loading.py --journeys 1070000 --skip-pandas-csv

It generates (or reuses) a synthetic dataset under ``bench/data/`` (``peakend
generate`` writes Parquet), writes a CSV copy of the events with DuckDB, and runs
the whole command a user runs, once per source format and loader, each as its own
process under ``/usr/bin/time -v``: wall time and peak memory belong to that run.
It also times DuckDB's own ``read_csv`` of the CSV (the floor for CSV sources) and
prints the pandas/DuckDB ratio per format. Output is ``name: value`` lines.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def dataset(journeys: int) -> Path:
    """A generated dataset with a CSV copy of its events and a spec for each."""
    out = DATA / f"loading-{journeys}"
    if not (out / "synthetic.toml").exists():
        subprocess.run(
            ["peakend", "generate", "--out", str(out), "--journeys", str(journeys), "--seed", "1"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    csv = out / "events.csv"
    if not csv.exists():
        import duckdb

        con = duckdb.connect()
        con.sql(
            f"COPY (SELECT * FROM read_parquet('{out / 'events.parquet'}')) TO '{csv}' (HEADER)"
        )
        con.close()
    text = (out / "synthetic.toml").read_text(encoding="utf-8")
    csv_spec = out / "csv.toml"
    csv_spec.write_text(text.replace('"events.parquet"', '"events.csv"', 1), encoding="utf-8")
    return out


def timed(command: list[str], loader: str) -> tuple[float, float]:
    """Wall seconds and peak memory (GB) of ``command`` under ``/usr/bin/time -v``."""
    env = {**os.environ, "PEAKEND_LOADER": loader}
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert wall and rss, done.stderr[-2000:]
    hours, minutes, seconds = wall.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return total, int(rss.group(1)) / 1e6


def check_loader(spec: Path) -> None:
    """Stop when the DuckDB loader would fall back to pandas on ``spec``."""
    env = {**os.environ, "PEAKEND_LOADER": "duckdb"}
    command = ["peakend", "validate", str(spec), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if '"loader": "duckdb"' not in done.stdout:
        sys.exit(f"the DuckDB loader does not take {spec}: {done.stdout[-800:]}")


def csv_floor(csv: Path) -> float:
    """Seconds DuckDB needs to read the CSV into a table (every column as text)."""
    import duckdb

    con = duckdb.connect()
    start = time.perf_counter()
    con.sql(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}', all_varchar = true)")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=100_000)
    parser.add_argument("--skip-pandas-csv", action="store_true", help="the slowest run")
    args = parser.parse_args()
    out = dataset(args.journeys)
    print(f"load_average: {os.getloadavg()[0]:.2f}")
    print(f"csv.duckdb_read_csv_s: {csv_floor(out / 'events.csv'):.1f}")
    for fmt, spec in (("parquet", "synthetic.toml"), ("csv", "csv.toml")):
        seconds: dict[str, float] = {}
        check_loader(out / spec)
        for loader in ("duckdb", "pandas"):
            if loader == "pandas" and fmt == "csv" and args.skip_pandas_csv:
                continue
            command = ["peakend", "journeys", str(out / spec), "--json"]
            wall, peak = timed(command, loader)
            seconds[loader] = wall
            print(f"{fmt}.{loader}_s: {wall:.1f}")
            print(f"{fmt}.{loader}_peak_gb: {peak:.2f}")
        if len(seconds) == 2:
            print(f"{fmt}.pandas_over_duckdb: {seconds['pandas'] / seconds['duckdb']:.1f}")
    print(f"load_average_after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
