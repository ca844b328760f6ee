"""Where ``peakend analyze`` spends its time: CPU seconds, page faults and peak memory per step.

Run from the repository root::

    python bench/analyze_steps.py bench/data/peakend-10M/synthetic.toml
    PYTHONPATH=../other/src python bench/analyze_steps.py SPEC     # another version

It runs what ``peakend analyze SPEC --no-pdf --no-images`` runs, in this process,
and at every progress step prints the wall and CPU seconds (user + system), the
minor page faults and the peak memory since the step before (``getrusage``), then
the whole process. On a shared machine the CPU seconds are the figures to compare;
sections built on the second thread (the memory section beside the moments) are
counted in the step they run beside, and so is the focus plan's ranking of the
moments' actions, done right after the moments section while the moments' inputs
are in memory (the ``focus`` step then adds the other analyses' actions). Compare
two versions by running this script with each one's ``PYTHONPATH`` in turn,
alternated, in the same minutes.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path


def _usage() -> tuple[float, float, int, float]:
    """User and system CPU seconds, minor page faults and peak memory (GB) so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt, r.ru_maxrss / 1024**2


class Steps:
    """A progress callback that prints each finished step's figures."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.last = (self.started, *_usage()[:3])
        self.name: str | None = None

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        user, system, faults, peak = _usage()
        if self.name is not None:
            then, user0, system0, faults0 = self.last
            print(
                f"{self.name:12s} wall_s: {now - then:7.1f}  "
                f"cpu_s: {user - user0 + system - system0:6.1f} "
                f"({user - user0:.1f} + {system - system0:.1f})  "
                f"minor_faults_m: {(faults - faults0) / 1e6:5.2f}  peak_gb: {peak:5.2f}",
                flush=True,
            )
        self.last = (now, user, system, faults)
        self.name = name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="the dataset spec to analyse")
    parser.add_argument("--out", help="report folder (default: a temporary one)")
    args = parser.parse_args(argv)

    from peakend.report.build import analyze  # the version on PYTHONPATH

    steps = Steps()
    with tempfile.TemporaryDirectory() as tmp:
        analyze(args.spec, Path(args.out or tmp), pdf=False, image_formats=(), progress=steps)
        steps("end")
    user, system, faults, peak = _usage()
    print(
        f"{'process':12s} wall_s: {time.perf_counter() - steps.started:7.1f}  "
        f"cpu_s: {user + system:6.1f} ({user:.1f} + {system:.1f})  "
        f"minor_faults_m: {faults / 1e6:5.2f}  peak_gb: {peak:5.2f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
