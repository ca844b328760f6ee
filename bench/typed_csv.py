"""Loading a CSV source with the typed read against the text path alone.

Run from the repository root (after ``bench/pipeline.py`` wrote the CSV copy;
with ``PYTHONPATH=src`` in a checkout that is not the installed one)::

    .venv/bin/python bench/typed_csv.py                # 10M events, two pairs
    .venv/bin/python bench/typed_csv.py --events 1M --pairs 3

Each load (``peakend.load`` through the DuckDB loader, nothing else) runs as its
own process, the typed read on and forced off alternated, so both see the same
load average. Printed: wall and CPU seconds and peak memory of each run, which
path each took, and the ratio of the typed read's CPU seconds to the text path's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine as engine_bench  # noqa: E402  (bench/engine.py, found through sys.path)

CHILD = """
import resource, sys, time
from peakend.loading.duck import DuckLoader
from peakend.spec import read_spec
DuckLoader.typed_csv = sys.argv[2] == "on"
start = time.perf_counter()
loader = DuckLoader(read_spec(sys.argv[1]))
loader.run()
use = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - start, use.ru_utime + use.ru_stime, use.ru_maxrss / 1024,
      loader._typed_read)
"""


def load_once(spec: Path, typed: bool) -> tuple[float, float, float, bool]:
    """Wall seconds, CPU seconds, peak MB and whether the typed read was kept."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(spec), "on" if typed else "off"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), out[3] == "True"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="10M", help="1M, 10M (the pipeline's CSV copy)")
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args(argv)
    label = engine_bench._label(engine_bench._parse_size(args.events))
    spec = engine_bench.DATA / f"peakend-{label}" / "csv" / "synthetic.toml"
    if not spec.exists():
        raise SystemExit(f"{spec} is missing: run bench/pipeline.py --events {args.events} first")
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for pair in range(1, args.pairs + 1):
        for typed in (True, False):
            load = os.getloadavg()[0]
            wall, seconds, peak, kept = load_once(spec, typed)
            cpu[typed].append(seconds)
            name = "typed" if typed else "text"
            print(f"{label}.{name}_{pair}_s: {wall:.3g}  cpu_s: {seconds:.3g}  peak_mb: {peak:.0f}")
            print(f"{label}.{name}_{pair}_typed_read_kept: {kept}  load_before: {load:.2f}")
    ratio = sum(cpu[True]) / sum(cpu[False])
    print(f"{label}.typed_over_text_cpu: {ratio:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
