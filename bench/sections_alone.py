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
results' ``to_dict()`` to compare two versions. On a shared machine compare the
CPU seconds, versions alternated in separate processes.
"""

from __future__ import annotations

import argparse
import json
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


if __name__ == "__main__":
    main(sys.argv[1:])
