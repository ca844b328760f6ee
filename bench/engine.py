"""Engine benchmark: peakend's journey engine against vectorised pandas, pm4py and a scan floor.

Run from the repository root::

    .venv/bin/python bench/engine.py                    # 1M and 10M events
    .venv/bin/python bench/engine.py --sizes 100M       # the spill test (slow)
    .venv/bin/python bench/engine.py --repeat 3 --skip pm4py

The script generates (or reuses) synthetic event logs under ``bench/data/`` and
runs every contender as a separate process, so that wall time and peak memory
(the child's own ``ru_maxrss``) belong to that contender alone:

* ``engine``: :func:`peakend.engine.journey_features`, :func:`~peakend.engine.touchpoint_stats`
  and :func:`~peakend.engine.directly_follows` on DuckDB, each fetched to Arrow;
* ``pandas``: the same features in vectorised pandas (``bench/pandas_reference.py``);
* ``pm4py``: :func:`pm4py.discover_dfg` on the same log (the graph part only);
* ``floor``: DuckDB scanning the columns the engine reads and summing one.

On the smallest size it also checks that the engine, pandas and pm4py agree and
exits with status 1 when they do not. Output is ``name: value`` lines, prefixed
by the size (``10M.engine_s: 2.9``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SIZES = {"1M": 1_000_000, "10M": 10_000_000, "100M": 100_000_000}
USED_COLUMNS = [
    "journey_id",
    "customer_id",
    "ts",
    "seq",
    "touchpoint",
    "initiated_by",
    "score",
    "valence",
]
"""The event columns the engine's three results read."""
EVENTS_PER_JOURNEY = 10
CONTENDERS = ("engine", "engine_dfg", "pandas", "pm4py", "floor")
PARTS = {
    "engine": ("order", "flows", "features", "touchpoints"),
    "pm4py": ("format", "counts", "medians"),
}
"""The timed steps each contender reports besides its total."""


# ------------------------------------------------------------------ data


def _parse_size(text: str) -> int:
    text = text.strip().upper()
    if text in SIZES:
        return SIZES[text]
    mult = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * mult)


def _label(n_events: int) -> str:
    for label, n in SIZES.items():
        if n == n_events:
            return label
    return f"{n_events / 1e6:g}M" if n_events >= 1_000_000 else f"{n_events / 1e3:g}K"


def _project_generator():  # noqa: ANN202 - returns the generator module or None
    """The project's synthetic generator when it exists and works, else ``None``."""
    try:
        from peakend import generate as gen

        with tempfile.TemporaryDirectory() as tmp:
            ds = gen.generate(tmp, gen.GeneratorConfig(n_journeys=50, seed=1))
            if not Path(ds.events_path).exists():
                return None
    except Exception:  # noqa: BLE001 - any failure means: use the fallback writer
        return None
    return gen


def prepare(n_events: int, *, seed: int = 7) -> Path:
    """Path of a cached event log of about ``n_events`` events, generating it if needed."""
    gen = _project_generator()
    source = "peakend" if gen is not None else "fallback"
    out = DATA / f"{source}-{_label(n_events)}"
    path = out / "events.parquet"
    if path.exists():
        return path
    started = time.perf_counter()
    n_journeys = max(1, n_events // EVENTS_PER_JOURNEY)
    if gen is not None:
        with tempfile.TemporaryDirectory() as probe:
            ds = gen.generate(probe, gen.GeneratorConfig(n_journeys=5_000, seed=seed))
            n_journeys = max(1, round(n_events * 5_000 / ds.n_events))
        tmp = out.with_name(out.name + ".partial")
        gen.generate(tmp, gen.GeneratorConfig(n_journeys=n_journeys, seed=seed))
        tmp.rename(out)
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_events(path.with_suffix(".partial"), n_journeys, seed=seed)
        path.with_suffix(".partial").rename(path)
    print(
        f"# generated {path} ({source}) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return path


_TOUCHPOINTS = np.array(
    [
        "website_visit",
        "quote",
        "sign_up",
        "welcome_mail",
        "installation",
        "first_invoice",
        "app_login",
        "price_change",
        "outage",
        "support_call",
        "chat",
        "complaint",
        "renewal",
        "cancellation_request",
    ]
)
_CHANNELS = np.array(["web", "email", "phone", "chat", "app", "shop"])
_TP_CUSTOMER = np.array([1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 1], dtype=bool)


def write_events(
    path: Path, n_journeys: int, *, seed: int = 7, chunk_journeys: int = 200_000
) -> int:
    """Fallback writer: a synthetic log in EVENT_SCHEMA, streamed chunk by chunk.

    About ten events per journey (1-19), touchpoints drift along a journey design,
    ~10 % of consecutive events share their timestamp (whole seconds), ~60 % of
    events carry a 1-5 score, 2 % of journeys have no timestamps. Rows of each
    chunk are shuffled, so the engine has to sort; ``seq`` is the source order.
    """
    from peakend.schema import EVENT_SCHEMA

    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
    n_tp = len(_TOUCHPOINTS)
    tp_names = pa.array(_TOUCHPOINTS)
    ch_names = pa.array(_CHANNELS)
    ib_names = pa.array(["company", "customer"])
    seq0 = 0
    written = 0
    with pq.ParquetWriter(path, EVENT_SCHEMA, compression="zstd") as writer:
        for j0 in range(0, n_journeys, chunk_journeys):
            nj = min(chunk_journeys, n_journeys - j0)
            lengths = rng.integers(1, 2 * EVENTS_PER_JOURNEY, size=nj)
            n = int(lengths.sum())
            journey = np.repeat(np.arange(j0, j0 + nj, dtype=np.int64), lengths)
            offsets = np.cumsum(lengths) - lengths
            pos = np.arange(n, dtype=np.int64) - np.repeat(offsets, lengths)
            # touchpoint: a stage that drifts forward along the journey, with noise
            stage = (pos * n_tp) // (2 * EVENTS_PER_JOURNEY) + rng.integers(-2, 3, size=n)
            tp = np.clip(stage, 0, n_tp - 1)
            gaps = rng.exponential(36_000.0, size=n).astype(np.int64) + 1
            gaps[rng.random(n) < 0.10] = 0  # timestamp ties
            gaps[offsets] = 0
            j_start = start + rng.integers(0, 365 * 86_400, size=nj)
            ts = np.repeat(j_start, lengths) + (
                np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[offsets], lengths)
            )
            no_time = np.repeat(rng.random(nj) < 0.02, lengths)
            scored = rng.random(n) < 0.6
            mood = np.repeat(rng.normal(0, 0.8, size=nj), lengths)
            score = np.clip(np.rint(3.4 + mood + rng.normal(0, 1.0, size=n)), 1, 5)
            customer = _TP_CUSTOMER[tp] ^ (rng.random(n) < 0.1)
            order = rng.permutation(n)
            jid = pc.utf8_lpad(pc.cast(pa.array(journey[order]), pa.string()), 9, "0")
            table = pa.table(
                {
                    "journey_id": pc.binary_join_element_wise("J", jid, ""),
                    "customer_id": pc.binary_join_element_wise(
                        "C",
                        pc.utf8_lpad(pc.cast(pa.array(journey[order] // 2), pa.string()), 9, "0"),
                        "",
                    ),
                    "ts": pa.array(
                        (ts * 1_000_000)[order], pa.timestamp("us", tz="UTC"), mask=no_time[order]
                    ),
                    "seq": pa.array(seq0 + np.arange(n, dtype=np.int64)[order]),
                    "touchpoint": tp_names.take(pa.array(tp[order])),
                    "channel": ch_names.take(pa.array(rng.integers(0, len(_CHANNELS), size=n))),
                    "initiated_by": ib_names.take(pa.array(customer[order].astype(np.int8))),
                    "score": pa.array(score[order], pa.float64(), mask=~scored[order]),
                    "valence": pa.array(
                        ((score - 3.0) / 2.0)[order], pa.float64(), mask=~scored[order]
                    ),
                    "text": pa.nulls(n, pa.string()),
                    "lang": pa.nulls(n, pa.string()),
                },
                schema=EVENT_SCHEMA,
            )
            writer.write_table(table, row_group_size=1_000_000)
            seq0 += n
            written += n
    return written


# ------------------------------------------------------------------ contenders (child side)


def _dump(out_dir: str | None, tables: dict[str, pa.Table]) -> None:
    if out_dir:
        for name, table in tables.items():
            pq.write_table(table, Path(out_dir) / f"{name}.parquet")


def _engine_connection(args: argparse.Namespace):  # noqa: ANN202 - an Ibis DuckDB backend
    from peakend.engine import connect

    temp = None
    if args.memory_limit:
        temp = Path(tempfile.mkdtemp(prefix="peakend-spill-", dir=DATA))
    return connect(memory_limit=args.memory_limit, temp_directory=temp)


def run_engine(path: str, args: argparse.Namespace) -> dict[str, float]:
    """All three results with :func:`peakend.engine.journey_tables` (one sort)."""
    from peakend.engine import events_table, journey_tables

    started = time.perf_counter()
    con = _engine_connection(args)
    events = events_table(con, path)
    marks: list[tuple[str, float]] = []
    tables = journey_tables(events, on_step=lambda name: marks.append((name, time.perf_counter())))
    total = time.perf_counter() - started
    parts = {f"{a}_s": t_b - t_a for (a, t_a), (_b, t_b) in itertools.pairwise(marks)}
    _dump(
        args.dump,
        {"features": tables.features, "touchpoints": tables.touchpoints, "dfg": tables.flows},
    )
    return {"s": total, **parts, "journeys": tables.features.num_rows}


def run_engine_dfg(path: str, args: argparse.Namespace) -> dict[str, float]:
    """The graph alone, sort included: :func:`peakend.engine.directly_follows`."""
    from peakend.engine import directly_follows, events_table

    started = time.perf_counter()
    con = _engine_connection(args)
    flows = directly_follows(events_table(con, path)).to_pyarrow()
    _dump(args.dump, {"dfg": flows})
    return {"s": time.perf_counter() - started, "pairs": flows.num_rows}


def run_pandas(path: str, args: argparse.Namespace) -> dict[str, float]:
    sys.path.insert(0, str(HERE))
    import pandas_reference as ref

    started = time.perf_counter()
    results = ref.all_results(path)
    total = time.perf_counter() - started
    if args.dump:
        _dump(
            args.dump,
            {k: pa.Table.from_pandas(v, preserve_index=False) for k, v in results.items()},
        )
    return {"s": total, "journeys": len(results["features"])}


def run_pm4py(path: str, args: argparse.Namespace) -> dict[str, float]:
    """pm4py's directly-follows graph with what ``directly_follows`` returns: counts and
    median times, from a pandas frame of the log."""
    import pandas as pd
    import pm4py

    # Not timed: reading, and putting events in (ts, seq) order so that pm4py's
    # stable sort by (case, timestamp) keeps the engine's order of ties.
    df = pd.read_parquet(path, columns=["journey_id", "ts", "seq", "touchpoint"])
    df = df.sort_values(["journey_id", "ts", "seq"], na_position="last", kind="stable")
    df["ts"] = df["ts"].fillna(pd.Timestamp("2262-01-01", tz="UTC"))
    df = df.reset_index(drop=True)
    keys = {"case_id_key": "case:concept:name", "timestamp_key": "time:timestamp"}
    started = time.perf_counter()
    log = pm4py.format_dataframe(
        df, case_id="journey_id", activity_key="touchpoint", timestamp_key="ts"
    )
    formatted = time.perf_counter()
    counts, _start, _end = pm4py.discover_dfg(log, activity_key="concept:name", **keys)
    counted = time.perf_counter()
    medians, _start, _end = pm4py.discover_performance_dfg(
        log, activity_key="concept:name", perf_aggregation_key="median", **keys
    )
    done = time.perf_counter()
    if args.dump:
        pairs = sorted(counts)
        table = pa.table(
            {
                "source": [p[0] for p in pairs],
                "target": [p[1] for p in pairs],
                "count": pa.array([counts[p] for p in pairs], pa.int64()),
                "median_s": pa.array([float(medians[p]) for p in pairs], pa.float64()),
            }
        )
        _dump(args.dump, {"dfg": table})
    return {
        "s": done - started,
        "format_s": formatted - started,
        "counts_s": counted - formatted,
        "medians_s": done - counted,
        "pairs": len(counts),
    }


def run_floor(path: str, args: argparse.Namespace) -> dict[str, float]:
    import duckdb

    con = duckdb.connect()
    # any_value, not count: DuckDB answers count(column) from the Parquet metadata
    # for a column without nulls and never reads it (19 of the 163 MB at 10M events).
    # any_value reads and decodes every page of every column (EXPLAIN ANALYZE: all
    # 163 MB) with the least work per value: cheaper than min or count(*) FILTER.
    reads = ", ".join(f"any_value({c})" for c in USED_COLUMNS if c != "valence")
    started = time.perf_counter()
    con.execute(f"SELECT sum(valence), {reads} FROM read_parquet(?)", [path]).fetchall()
    return {"s": time.perf_counter() - started}


RUNNERS = {
    "engine": run_engine,
    "engine_dfg": run_engine_dfg,
    "pandas": run_pandas,
    "pm4py": run_pm4py,
    "floor": run_floor,
}


# ------------------------------------------------------------------ parent side


def measure(
    contender: str, path: Path, *, memory_limit: str | None = None, dump: Path | None = None
) -> dict[str, float]:
    """Run one contender in a fresh process; its figures plus wall time and peak RSS."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--run", contender, "--events", str(path)]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    if dump:
        cmd += ["--dump", str(dump)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.stderr.write(err.read())
            raise SystemExit(f"{contender} failed with status {proc.returncode}")
        result = json.loads(out.read().strip().splitlines()[-1])
    # ru_maxrss is in KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    return {**result, "process_s": wall, "cpu_s": cpu, "peak_rss_mb": usage.ru_maxrss / 1024}


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _read(path: Path) -> pa.Table:
    return pq.read_table(path)


def check_agreement(path: Path, skip: set[str]) -> dict[str, bool]:
    """Run engine, pandas (and pm4py) once more, dumping results, and compare them."""
    import pandas as pd

    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        dirs = {c: Path(tmp) / c for c in ("engine", "engine_dfg", "pandas", "pm4py")}
        for c, d in dirs.items():
            if c == "pm4py" and "pm4py" in skip:
                continue
            d.mkdir()
            measure(c, path, dump=d)
        feats = [
            _read(dirs[c] / "features.parquet")
            .to_pandas()
            .sort_values("journey_id")
            .reset_index(drop=True)
            for c in ("engine", "pandas")
        ]
        features_ok = _frames_agree(*feats)
        tps = [_read(dirs[c] / "touchpoints.parquet").to_pandas() for c in ("engine", "pandas")]
        touchpoints_ok = _frames_agree(
            *(t.sort_values("touchpoint").reset_index(drop=True) for t in tps)
        )
        keys = ["source", "target"]
        dfgs = {
            c: _read(d / "dfg.parquet").to_pandas().sort_values(keys).reset_index(drop=True)
            for c, d in dirs.items()
            if (d / "dfg.parquet").exists()
        }
        dfg_ok = _frames_agree(dfgs["engine"], dfgs["pandas"])
        result = {"agree_features": features_ok, "agree_touchpoints": touchpoints_ok}
        dfg_ok = dfg_ok and _frames_agree(dfgs["engine_dfg"], dfgs["pandas"])
        if "pm4py" in dfgs:
            cols = keys + ["count", "median_s"]
            dfg_ok = dfg_ok and _frames_agree(dfgs["pm4py"][cols], dfgs["engine"][cols])
        result["agree_dfg"] = dfg_ok
        del pd
    return result


def _frames_agree(a, b, rtol: float = 1e-9, atol: float = 1e-9) -> bool:  # noqa: ANN001
    """Same columns and rows; floats within tolerance, everything else exactly (nulls equal)."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for col in a.columns:
        x, y = a[col], b[col]
        if x.dtype.kind in "fiu" and y.dtype.kind in "fiu":
            if not np.allclose(
                x.to_numpy("float64"), y.to_numpy("float64"), rtol=rtol, atol=atol, equal_nan=True
            ):
                return False
        elif not ((x == y) | (x.isna() & y.isna())).all():
            return False
    return True


def bench_size(label: str, args: argparse.Namespace, skip: set[str]) -> bool:
    n = _parse_size(label)
    path = prepare(n)
    n_events = pq.ParquetFile(path).metadata.num_rows
    memory_limit = args.memory_limit or ("4GB" if n >= 50_000_000 else None)
    p = f"{label}."
    print(f"{p}events: {n_events}", flush=True)
    print(f"{p}file_mb: {path.stat().st_size / 2**20:.0f}", flush=True)
    results: dict[str, dict[str, float]] = {}
    for contender in CONTENDERS:
        if contender in skip:
            continue
        limit = memory_limit if contender.startswith("engine") else None
        runs = [measure(contender, path, memory_limit=limit) for _ in range(args.repeat)]
        r = results[contender] = _median(runs)
        name = {"pm4py": "pm4py_dfg"}.get(contender, contender)
        print(f"{p}{name}_s: {r['s']:.3g}", flush=True)
        for part in PARTS.get(contender, ()):
            print(f"{p}{contender}_{part}_s: {r[part + '_s']:.3g}")
        if contender == "engine":
            print(f"{p}journeys: {int(r['journeys'])}")
        print(f"{p}{contender}_process_s: {r['process_s']:.3g}")
        print(f"{p}{contender}_cpu_s: {r['cpu_s']:.3g}")
        print(f"{p}{contender}_peak_rss_mb: {r['peak_rss_mb']:.0f}", flush=True)
    if memory_limit:
        print(f"{p}engine_memory_limit: {memory_limit}")
    eng = results.get("engine")
    if eng:
        if "pandas" in results:
            print(f"{p}speedup_vs_pandas: {results['pandas']['s'] / eng['s']:.3g}")
        if "pm4py" in results:
            print(f"{p}speedup_vs_pm4py: {results['pm4py']['s'] / eng['s']:.3g}")
    if "pm4py" in results and "engine_dfg" in results:
        graph = results["engine_dfg"]["s"]
        print(f"{p}speedup_dfg_vs_pm4py: {results['pm4py']['s'] / graph:.3g}")
        if "floor" in results:
            print(f"{p}engine_over_floor: {eng['s'] / results['floor']['s']:.3g}")
    ok = True
    if args.check_size == label and "engine" not in skip and "pandas" not in skip:
        for key, good in check_agreement(path, skip).items():
            print(f"{p}{key}: {'yes' if good else 'no'}", flush=True)
            ok = ok and good
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated, e.g. 1M,10M,100M")
    parser.add_argument("--repeat", type=int, default=1, help="median of N fresh processes")
    parser.add_argument("--skip", default="", help="comma-separated contenders to leave out")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit for the engine")
    parser.add_argument("--check-size", default=None, help="size to check agreement on")
    parser.add_argument("--run", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--events", help=argparse.SUPPRESS)
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        result = RUNNERS[args.run](args.events, args)
        print(json.dumps(result))
        return 0
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if unknown := skip - set(CONTENDERS):
        parser.error(f"unknown contender(s) in --skip: {', '.join(sorted(unknown))}")
    args.check_size = args.check_size or min(sizes, key=_parse_size)
    DATA.mkdir(parents=True, exist_ok=True)
    ok = True
    for label in sizes:
        ok = bench_size(label, args, skip) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
