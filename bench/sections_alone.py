"""CPU seconds of the hidden moments, service recovery and churn, each built alone.

Run from the repository root::

    python bench/sections_alone.py bench/data/peakend-10M/synthetic.toml --json OUT.json
    PYTHONPATH=../other/src python bench/sections_alone.py SPEC   # another version

The dataset is loaded once (:func:`peakend.load`), then each section's analysis
(:func:`peakend.models.hidden.find_hidden_moments`,
:func:`peakend.models.recovery.service_recovery`,
:func:`peakend.models.churn.churn_drivers`) runs one after the other in this
process, and its wall and CPU seconds (user + system), minor page faults and the
peak memory so far (``getrusage``) are printed. ``--json`` writes the three
results' ``to_dict()`` to compare two versions; ``--compare OTHER.json`` (another
version's ``--json``) prints how many figures differ and the largest relative
difference, whatever the order of the keys. On a shared machine compare the
CPU seconds, versions alternated in separate processes::

    PYTHONPATH=../base/src python bench/sections_alone.py SPEC --only hidden --json base.json
    python bench/sections_alone.py SPEC --only hidden --compare base.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any


def _usage() -> tuple[float, float, int, float]:
    """User and system CPU seconds, minor page faults and peak memory (GB) so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt, r.ru_maxrss / 1024**2


def _timed(name: str, run: Callable[[], Any]) -> Any:
    """Run ``run()`` and print its wall and CPU seconds, page faults and the peak so far."""
    wall0, (user0, system0, faults0, _) = time.perf_counter(), _usage()
    result = run()
    wall, (user, system, faults, peak) = time.perf_counter(), _usage()
    print(
        f"{name:10s} wall_s: {wall - wall0:6.1f}  cpu_s: {user - user0 + system - system0:6.1f} "
        f"({user - user0:.1f} + {system - system0:.1f})  "
        f"minor_faults_m: {(faults - faults0) / 1e6:5.2f}  peak_gb: {peak:5.2f}",
        flush=True,
    )
    return result


def _loaded(data: Any) -> Any:
    """``data`` with its events read into memory, as the steps before these sections leave it."""
    assert data.events.num_rows > 0
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="the dataset spec")
    parser.add_argument("--json", help="write the three results here")
    parser.add_argument("--only", default="hidden,recovery,churn", help="sections to build")
    parser.add_argument("--compare", help="another version's --json: figures that differ")
    args = parser.parse_args(argv)

    import peakend  # the version on PYTHONPATH
    from peakend.models.churn import churn_drivers
    from peakend.models.hidden import find_hidden_moments
    from peakend.models.recovery import service_recovery

    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    # the events read as in ``peakend analyze``, where earlier steps have read them
    data = _timed("load", lambda: _loaded(peakend.load(args.spec)))
    runs = {"hidden": find_hidden_moments, "recovery": service_recovery, "churn": churn_drivers}
    results = {}
    total = 0.0
    for name in args.only.split(","):
        before = sum(_usage()[:2])
        results[name] = _timed(name, lambda f=runs[name]: f(data)).to_dict()
        total += sum(_usage()[:2]) - before
    print(f"sections   cpu_s: {total:6.1f}  load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True, default=str)
    if args.compare:
        with open(args.compare) as f:
            other = json.load(f)
        mine = json.loads(json.dumps(results, default=str))
        differ, largest = _differences(other, {k: mine[k] for k in mine if k in other})
        print(f"against {args.compare}: {differ} figures differ, largest relative {largest:.3g}")


def _differences(a: Any, b: Any) -> tuple[int, float]:
    """Figures of ``a`` and ``b`` (JSON) that differ, and the largest relative difference.

    Dictionaries are compared key by key (their order aside); a number differs
    when it is not equal (two NaN are equal); anything else that differs counts
    as one figure with a relative difference of infinity.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        parts = [_differences(a.get(k), b.get(k)) for k in a.keys() | b.keys()]
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        parts = [_differences(x, y) for x, y in zip(a, b, strict=True)]
    elif isinstance(a, float | int) and isinstance(b, float | int):
        if a == b or (math.isnan(a) and math.isnan(b)):
            return 0, 0.0
        return 1, abs(a - b) / max(abs(a), abs(b))
    else:
        return (0, 0.0) if a == b else (1, math.inf)
    return sum(n for n, _ in parts), max((r for _, r in parts), default=0.0)


if __name__ == "__main__":
    main(sys.argv[1:])
