"""The report's memory section alone: CPU seconds of ``remembered_experience`` as run there.

Run from the repository root, one version per process, alternated::

    PYTHONPATH=src python bench/memory_section.py bench/data/peakend-10M/synthetic.toml
    PYTHONPATH=../base/src python bench/memory_section.py bench/data/peakend-10M/synthetic.toml

As in ``peakend analyze``, the journey features come from the journey summary (computed
before the timing) and BLAS runs on one thread; the events are read into memory and
their timed share counted before the timing too (in the report the moments section,
which runs beside the memory section, asks for both first; ``--share`` counts the
timed share in the section instead). Prints the section's CPU
seconds (user + system), minor page faults and wall seconds, the process's peak memory,
and with ``--json FILE`` writes the section's result (``MemoryResult.to_dict``) to compare
two versions number for number; ``--profile FILE`` writes a ``cProfile`` of the section.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import time

from threadpoolctl import threadpool_limits


def _usage() -> tuple[float, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--json", help="write the section's result here")
    parser.add_argument("--profile", help="write a cProfile of the section here")
    parser.add_argument(
        "--share",
        action="store_true",
        help="count the events' timed share in the section (as when it asks first)",
    )
    args = parser.parse_args()

    import peakend
    from peakend.models.memory import remembered_experience
    from peakend.models.memory.verdict import timed_share
    from peakend.summary import summarize_journeys

    dataset = peakend.load(args.spec)
    summary = summarize_journeys(dataset)
    events = dataset.events  # read into memory before the timing, as the report has them
    if not args.share:
        timed_share(events)
    profile = cProfile.Profile() if args.profile else None
    with threadpool_limits(limits=1, user_api="blas"):
        user0, system0, faults0 = _usage()
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        result = remembered_experience(dataset, features=summary.journeys)
        if profile is not None:
            profile.disable()
        wall = time.perf_counter() - started
        user, system, faults = _usage()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"memory section  cpu_s: {user - user0 + system - system0:6.2f} "
        f"({user - user0:.2f} + {system - system0:.2f})  minor_faults_m: "
        f"{(faults - faults0) / 1e6:5.2f}  wall_s: {wall:6.1f}  peak_gb: {peak:5.2f}  "
        f"journeys: {result.n_journeys}",
        flush=True,
    )
    if profile is not None:
        profile.dump_stats(args.profile)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result.to_dict(), f, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
