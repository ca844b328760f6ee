"""Calibration and speed of ``peakend recovery`` and ``peakend churn`` against a planted truth.

Run from the repository root::

    python bench/recovery_churn.py                         # 200 replicates, 1M customers
    python bench/recovery_churn.py --replicates 40 --skip-speed
    python bench/recovery_churn.py --speed-journeys 100000 --skip-calibration

Calibration (20,000 journeys per replicate, generator seeds 1..R):

* recovery: the recovered − never failed and not recovered − never failed effects
  on ``overall`` against the planted total effects, computed once on a large run
  (``--truth-journeys``) because an interval is about the population effect;
  coverage of the 95 % intervals;
* null: ``recovered_effect`` raised until the planted total effect of a recovered
  failure is 0 (the boundary of the paradox); share of replicates that say
  "paradox holds" (nominal 2.5 %, target <= 5 %);
* churn (``churn_time_varying``): coverage of the planted log-hazards (per negative
  moment, negative end, unsolicited contact, recovered and unrecovered failure),
  out-of-sample concordance, avoidable churn against the planted figure.

Speed: ``--speed-journeys`` customers (one journey each, about ten events each) are
generated once under ``bench/data/``; churn and recovery run from the Parquet
files read in place by DuckDB (one engine query each), timed as a whole; a
second, profiled churn run gives the seconds per step (``--skip-split`` leaves it
out); ``--before-src`` times the same churn run with an earlier checkout's code
(``git archive <commit> src | tar -x -C /tmp/before``, then ``--before-src
/tmp/before/src``) and prints the before/after ratio and the largest coefficient
difference; and the Cox fit is compared with lifelines' ``CoxTimeVaryingFitter``
on the same rows of a subsample (``--lifelines-customers``), as a ratio. Output
is ``name: value`` lines.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from peakend.engine import connect, events_table, outcomes_table
from peakend.generate import GeneratorConfig, generate
from peakend.models import churn as churn_models
from peakend.models import recovery as recovery_models
from peakend.models.recovery.effects import PARADOX
from peakend.spec import read_spec

PLANTED = {
    "negative_moments": "per_negative_moment",
    "negative_end": "negative_end",
    "contacts": "per_unsolicited_contact",
    "recovered_failures": "recovered_failure",
    "unrecovered_failures": "unrecovered_failure",
}


def _recovery(directory: Path, spec_name: str = "synthetic") -> recovery_models.RecoveryResult:
    spec = read_spec(directory / f"{spec_name}.toml")
    con = connect(threads=2)
    events = events_table(con, directory / "events.parquet")
    frame = pq.read_table(directory / "outcomes.parquet").to_pandas()
    return recovery_models.from_events(events, frame, spec, outcomes=["overall"])


def _churn(directory: Path) -> churn_models.ChurnResult:
    spec = read_spec(directory / "synthetic.toml")
    con = connect(threads=2)
    events = events_table(con, directory / "events.parquet")
    outcomes = outcomes_table(con, directory / "outcomes.parquet")
    return churn_models.from_events(events, outcomes, spec)


def _truth(cfg: GeneratorConfig, n: int, work: Path) -> dict[str, float]:
    ds = generate(work / "truth", replace(cfg, n_journeys=n, seed=10_000))
    realised = json.loads(ds.truth_path.read_text())["realised"]
    return {k: float(v) for k, v in realised["recovery_total_effect"].items()}


def calibrate_recovery(reps: int, n: int, truth_n: int, work: Path) -> None:
    cfg = GeneratorConfig(n_journeys=n)
    truth = _truth(cfg, truth_n, work)
    # the boundary null: a recovered failure leaves overall where it was on average
    null_cfg = replace(cfg, recovered_effect=cfg.recovered_effect - truth["recovered"])
    null_truth = _truth(null_cfg, truth_n, work)
    print(f"recovery.planted_total_recovered: {truth['recovered']:.4f}")
    print(f"recovery.planted_total_unrecovered: {truth['unrecovered']:.4f}")
    print(f"recovery.null_planted_total_recovered: {null_truth['recovered']:.4f}")
    cover = {"recovered": 0, "unrecovered": 0}
    paradox = 0
    for seed in range(1, reps + 1):
        ds = generate(work / "rep", replace(cfg, seed=seed))
        c = _recovery(ds.directory).outcomes[0].all_failures
        assert c is not None
        for key, e in (("recovered", c.recovered_vs_none), ("unrecovered", c.unrecovered_vs_none)):
            cover[key] += int(e.low <= truth[key] <= e.high)
        ds = generate(work / "rep", replace(null_cfg, seed=seed))
        paradox += int(_recovery(ds.directory).outcomes[0].verdict == PARADOX)
    print(f"recovery.replicates: {reps}")
    for key, hits in cover.items():
        print(f"recovery.coverage_{key}: {hits / reps:.3f}")
    print(f"recovery.null_paradox_rate: {paradox / reps:.3f}")


def calibrate_churn(reps: int, n: int, work: Path) -> None:
    cfg = GeneratorConfig(n_journeys=n, churn_time_varying=True)
    hits = dict.fromkeys(PLANTED, 0)
    ratios, concordances = [], []
    for seed in range(1, reps + 1):
        ds = generate(work / "churn", replace(cfg, seed=seed))
        truth = json.loads(ds.truth_path.read_text())
        result = _churn(ds.directory)
        for d in result.drivers:
            if d.covariate in PLANTED:
                planted = truth["churn"]["log_hazard"][PLANTED[d.covariate]]
                lo, hi = d.log_hr - 1.959964 * d.se, d.log_hr + 1.959964 * d.se
                hits[d.covariate] += int(lo <= planted <= hi)
        assert result.avoidable is not None
        ratios.append(result.avoidable.total.value / truth["realised"]["avoidable_churn"])
        if result.concordance is not None:
            concordances.append(result.concordance)
        covered = " ".join(f"{k}={v}" for k, v in hits.items())
        print(f"churn.after_{seed}: {covered} avoidable_ratio={ratios[-1]:.4f}", flush=True)
    print(f"churn.replicates: {reps}")
    for name, h in hits.items():
        print(f"churn.coverage_{name}: {h / reps:.3f}")
    r = np.asarray(ratios)
    print(f"churn.avoidable_over_planted_mean: {r.mean():.4f}")
    print(f"churn.avoidable_within_10pct_share: {np.mean(np.abs(r - 1) <= 0.10):.3f}")
    print(f"churn.concordance_mean: {np.mean(concordances):.4f}")


STEPS = {
    "customer_times": "customer_table",
    "history_rows": "fetch_rows",
    "cox_fits": "fit_cox",
    "concordance": "concordance",
    "avoidable_causes": "_event_causes",
    "kaplan_meier": "by_group",
}
"""Steps of the churn analysis timed in the split: label and function name."""

_BEFORE = """
import sys, time
from pathlib import Path
from peakend.engine import connect, events_table, outcomes_table
from peakend.models import churn
from peakend.spec import read_spec
d = Path(sys.argv[1])
spec = read_spec(d / "synthetic.toml")
con = connect(threads=2)
t, cpu = time.perf_counter(), time.process_time()
result = churn.from_events(
    events_table(con, d / "events.parquet"), outcomes_table(con, d / "outcomes.parquet"), spec
)
print("before.seconds", time.perf_counter() - t, time.process_time() - cpu)
print("before.coef", " ".join(f"{x.covariate}={x.log_hr!r}" for x in result.drivers))
"""


def _split(directory: Path) -> None:
    """CPU seconds per step (all threads), from a second, profiled run.

    CPU rather than wall seconds: on a shared machine the wall time of a step
    depends on what else runs; its CPU time much less so.
    """
    import cProfile
    import pstats

    profile = cProfile.Profile(time.process_time)
    profile.enable()
    _churn(directory)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for label, function in STEPS.items():
        seconds = sum(v[3] for k, v in stats.items() if k[2] == function and "peakend" in k[0])
        print(f"speed.split.{label}_cpu_s: {seconds:.2f}")


def _before(
    directory: Path, src: Path, result: churn_models.ChurnResult, after_s: float, after_cpu: float
) -> None:
    """The same churn run with another checkout's code (``--before-src``), in a subprocess."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(src)}
    run = subprocess.run(
        [sys.executable, "-c", _BEFORE, str(directory)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    # other output (a progress bar) may share stdout: read the marked lines only
    lines = {ln.split()[0]: ln.split()[1:] for ln in run.stdout.splitlines() if ln.strip()}
    wall, cpu = (float(v) for v in lines["before.seconds"])
    before = dict(item.rsplit("=", 1) for item in lines["before.coef"])
    gap = max(abs(float(before[d.covariate]) - d.log_hr) for d in result.drivers)
    print(f"speed.churn_before_s: {wall:.2f}")
    print(f"speed.churn_before_cpu_s: {cpu:.2f}")
    print(f"speed.churn_before_over_after: {wall / after_s:.2f}")
    print(f"speed.churn_before_over_after_cpu: {cpu / after_cpu:.2f}")
    print(f"speed.churn_before_max_coef_difference: {gap:.2e}")


def speed(
    n: int, lifelines_customers: int, data_dir: Path, before_src: Path | None, split: bool
) -> None:
    directory = data_dir / f"recovery_churn_{n}"
    cfg = GeneratorConfig(n_journeys=n, churn_time_varying=True, seed=7)
    if not (directory / "truth.json").exists():
        generate(directory, cfg)
    events = pq.ParquetFile(directory / "events.parquet").metadata.num_rows
    print(f"speed.customers: {n}")
    print(f"speed.events: {events}")
    t, cpu = time.perf_counter(), time.process_time()
    result = _churn(directory)
    churn_s, churn_cpu = time.perf_counter() - t, time.process_time() - cpu
    t, cpu = time.perf_counter(), time.process_time()
    _recovery(directory)
    recovery_s, recovery_cpu = time.perf_counter() - t, time.process_time() - cpu
    # CPU seconds (all threads) next to wall seconds: on a shared machine the wall
    # time includes waiting for a core
    print(f"speed.churn_s: {churn_s:.2f}")
    print(f"speed.churn_cpu_s: {churn_cpu:.2f}")
    print(f"speed.churn_rows: {result.rows}")
    print(f"speed.recovery_s: {recovery_s:.2f}")
    print(f"speed.recovery_cpu_s: {recovery_cpu:.2f}")
    print(f"speed.load_average_1min: {os.getloadavg()[0]:.1f}")
    if split:
        _split(directory)
    if before_src is not None:
        _before(directory, before_src, result, churn_s, churn_cpu)
        print(f"speed.load_average_1min: {os.getloadavg()[0]:.1f}")
    _versus_lifelines(directory, lifelines_customers)


def _versus_lifelines(directory: Path, customers: int) -> None:
    """Our Cox fit and lifelines' CoxTimeVaryingFitter on the same rows of a subsample."""
    import pandas as pd
    from lifelines import CoxTimeVaryingFitter

    from peakend.models.churn.data import customer_table, fetch_rows, history_rows
    from peakend.stats.cox import fit_cox

    spec = read_spec(directory / "synthetic.toml")
    assert spec.churn is not None
    con = connect(threads=2)
    events = events_table(con, directory / "events.parquet")
    keep = [f"C{i:08d}" for i in range(customers)]
    events = events.filter(events.customer_id.isin(keep))
    outcomes = outcomes_table(con, directory / "outcomes.parquet")
    times = churn_models.analysis._customer_times(events, outcomes, spec.churn)
    numbered, ids, per_customer = customer_table(times)
    expr = history_rows(
        events,
        numbered.select("customer_id", "_code", "churned", "time", "_origin"),
        spec.churn,
        spec.recovery,
        list(spec.churn.contact_touchpoints or ()),
    )
    rows = fetch_rows(expr, ids, None, per_customer)
    t = time.perf_counter()
    ours = fit_cox(rows.start, rows.stop, rows.event, rows.x, rows.names)
    ours_s = time.perf_counter() - t
    frame = pd.DataFrame(rows.x, columns=list(rows.names))
    frame = frame.assign(id=rows.customer, start=rows.start, stop=rows.stop, e=rows.event)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CoxTimeVaryingFitter().fit(
            frame, id_col="id", start_col="start", stop_col="stop", event_col="e"
        )
    ref_s = time.perf_counter() - t
    gap = float(np.max(np.abs(ref.params_[list(rows.names)].to_numpy() - ours.coef)))
    print(f"speed.lifelines_customers: {customers}")
    print(f"speed.lifelines_rows: {rows.start.size}")
    print(f"speed.cox_ours_s: {ours_s:.3f}")
    print(f"speed.cox_lifelines_s: {ref_s:.3f}")
    print(f"speed.cox_lifelines_over_ours: {ref_s / ours_s:.1f}")
    print(f"speed.cox_max_coef_difference: {gap:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--churn-replicates", type=int, default=None)
    parser.add_argument("--journeys", type=int, default=20_000)
    parser.add_argument("--truth-journeys", type=int, default=1_000_000)
    parser.add_argument("--speed-journeys", type=int, default=1_000_000)
    parser.add_argument("--lifelines-customers", type=int, default=5_000)
    parser.add_argument("--skip-calibration", action="store_true")
    parser.add_argument("--skip-churn", action="store_true")
    parser.add_argument("--skip-recovery", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-split", action="store_true")
    parser.add_argument(
        "--before-src",
        type=Path,
        default=None,
        help="src folder of an earlier checkout: time its churn on the same data for a ratio",
    )
    args = parser.parse_args()
    data_dir = Path(__file__).parent / "data"
    data_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_calibration:
            if not args.skip_recovery:
                calibrate_recovery(args.replicates, args.journeys, args.truth_journeys, work)
            if not args.skip_churn:
                calibrate_churn(args.churn_replicates or args.replicates, args.journeys, work)
        if not args.skip_speed:
            speed(
                args.speed_journeys,
                args.lifelines_customers,
                data_dir,
                args.before_src,
                not args.skip_split,
            )


if __name__ == "__main__":
    main()
