"""The moments step's simulated draws and sandwich intervals: reused buffers against fresh arrays.

Run from the repository root::

    python bench/moments_fits.py bench/data/peakend-10M/synthetic.toml [--draws 40]

Builds the moment design of the spec's first outcome and, in this process, times
(CPU seconds, user + system, and minor page faults from ``getrusage``, BLAS on one
thread as in the report) two pairs, each alternated twice:

* the Rademacher draws of the simulated cross-validation: each draw's sums per
  pooled row written into buffers reused from draw to draw (what the moments step
  does) against the same draws taken as fresh per-journey arrays
  (``_row_sums(world, *_copies(...))``, what it did); both from the same seed, and
  every sum is checked to be equal;
* the band model's sandwich intervals from the fit's band matrix (what the moments
  step does) against building the matrix again; the half-widths are checked equal.

Each line prints both figures and their ratio (fresh / reused).
"""

from __future__ import annotations

import argparse
import resource
import sys
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits


def _usage() -> tuple[float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_minflt


def _timed(run: Callable[[], object]) -> tuple[float, int, object]:
    cpu, faults = _usage()
    out = run()
    cpu1, faults1 = _usage()
    return cpu1 - cpu, faults1 - faults, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="the dataset spec")
    parser.add_argument("--draws", type=int, default=40, help="simulated draws per timing")
    args = parser.parse_args(argv)

    import peakend
    from peakend.models.moments import holdout
    from peakend.models.moments.design import build_design
    from peakend.models.moments.fit import full_fit
    from peakend.models.moments.robust import band_intervals

    data = peakend.load(args.spec)
    design = build_design(data, data.outcome_names[0])
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(all="ignore"):
        whole = full_fit(design)
        world = holdout._world(design, holdout.fold_of_rows(design, holdout.FOLDS, 0), whole)
        assert world is not None
        pooled = "none" if world.pooled is None else f"{world.pooled.x.shape[0]:,}"
        print(f"{design.n:,} journeys, pooled rows: {pooled}, {args.draws} draws per timing")

        def fresh() -> list[tuple[np.ndarray, ...]]:
            rng = np.random.default_rng(1)
            return [
                holdout._row_sums(world, *holdout._copies(world, rng, "rademacher"))
                for _ in range(args.draws)
            ]

        def reused() -> list[tuple[np.ndarray, ...]]:
            rng, buffers = np.random.default_rng(1), holdout._DrawBuffers.of(world)
            return [holdout._rademacher_sums(world, rng, buffers) for _ in range(args.draws)]

        def rebuilt() -> object:
            return band_intervals(design, 0.95)

        def shared() -> object:
            return band_intervals(design, 0.95, whole.matrix)

        for name, old, new in (("draws", fresh, reused), ("intervals", rebuilt, shared)):
            for _ in range(2):
                cpu_old, faults_old, a = _timed(old)
                cpu_new, faults_new, b = _timed(new)
                _check(a, b)
                print(
                    f"{name:10s} fresh: {cpu_old:6.2f} CPU s, {faults_old / 1e3:7.1f} k faults"
                    f" | reused: {cpu_new:6.2f} CPU s, {faults_new / 1e3:7.1f} k faults"
                    f" | ratio {cpu_old / max(cpu_new, 1e-9):4.2f}",
                    flush=True,
                )


def _check(a: object, b: object) -> None:
    """The two ways give the same figures, to the last digit."""
    if isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b, strict=True):
            for u, v in zip(x, y, strict=True):
                np.testing.assert_array_equal(u, v)
        return
    np.testing.assert_array_equal(a.half_width, b.half_width)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(a.zero_p, b.zero_p)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(sys.argv[1:])
