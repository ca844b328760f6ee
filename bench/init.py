"""``peakend init`` on a large survey export: the whole command, against reading the file.

Writes (once, cached under bench/data/) a wide survey export of N rows in the
shape of a real one: a respondent id, a response time, 14 scores on 1-5 with 0 as
"not applicable", a 0-10 recommendation, two segment columns and a free-text
comment. Then times, each as a separate process (wall time and the child's peak
RSS from ``os.wait4``):

* ``init``: ``peakend init FILE --out SPEC`` (it profiles a sample of the top rows);
* ``read``: ``pandas.read_csv(FILE)``, the obvious first step of drafting a spec by
  hand, which reads every row;

and prints both and their ratio. Finally it checks that the drafted spec parses.

Run: python bench/init.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
TOUCHPOINTS = (
    "Booking",
    "Check-in",
    "Boarding",
    "Seat",
    "Leg room",
    "Food",
    "Entertainment",
    "Wifi",
    "Crew",
    "Cleanliness",
    "Baggage",
    "Arrival",
    "App",
    "Support",
)
COMMENTS = (
    "The crew was friendly but boarding took forever.",
    "Great flight, on time and a comfortable seat.",
    "Lost my bag, nobody could tell me where it was.",
    "De stoel was krap en de wifi werkte niet.",
    "Prima vlucht, vriendelijke bemanning.",
)


def write_export(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    mood = rng.normal(0, 1, rows)
    frame = {
        "Respondent ID": np.arange(1, rows + 1),
        "Submitted": pd.Timestamp("2025-01-01")
        + pd.to_timedelta(rng.integers(0, 365 * 86400, rows), unit="s"),
    }
    for name in TOUCHPOINTS:
        score = np.clip(np.rint(3.4 + mood + rng.normal(0, 0.9, rows)), 1, 5).astype(int)
        score[rng.random(rows) < 0.03] = 0  # not applicable
        frame[f"{name} satisfaction"] = score
    frame["Likely to recommend"] = np.clip(np.rint(6.5 + 2 * mood), 0, 10).astype(int)
    frame["Class"] = rng.choice(["Business", "Eco", "Eco Plus"], rows)
    frame["Type of Travel"] = rng.choice(["Business", "Personal"], rows)
    comment = rng.choice(np.array(COMMENTS, dtype=object), rows)
    comment[rng.random(rows) < 0.6] = ""
    frame["Comment"] = comment
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(frame).to_csv(path, index=False)


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed: {child.stderr.read().decode() if child.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    data = HERE / "data" / f"init-{args.rows}" / "survey.csv"
    if not data.exists():
        write_export(data, args.rows)
    spec = data.with_name("survey.toml")
    spec.unlink(missing_ok=True)
    size_mb = data.stat().st_size / 1e6
    peakend = str(Path(sys.executable).with_name("peakend"))
    init_s, init_mb = timed([peakend, "init", str(data), "--out", str(spec)])
    read_s, read_mb = timed(
        [sys.executable, "-c", f"import pandas; pandas.read_csv({str(data)!r})"]
    )
    load = os.getloadavg()[0]
    print(f"file: {data} ({args.rows:,} rows, {size_mb:.0f} MB); load average {load:.1f}")
    print(f"peakend init (whole process): {init_s:6.2f} s, peak {init_mb:6.0f} MB")
    print(f"pandas.read_csv (whole file): {read_s:6.2f} s, peak {read_mb:6.0f} MB")
    print(f"ratio init / read_csv:        {init_s / read_s:6.2f}")
    import tomllib

    drafted = tomllib.loads(spec.read_text(encoding="utf-8"))
    print(
        f"drafted: layout {drafted['layout']}, {len(drafted.get('touchpoints', []))} "
        f"touchpoints, outcomes {sorted(drafted.get('outcomes', {}))}, "
        f"segments {drafted.get('segments', [])}"
    )


if __name__ == "__main__":
    main()
