"""Hidden-moments benchmark: accuracy on planted truth, and speed at 10M events.

Run from the repository root::

    .venv/bin/python bench/hidden.py                     # accuracy (5 seeds) + 10M speed
    .venv/bin/python bench/hidden.py --skip speed        # accuracy only
    .venv/bin/python bench/hidden.py --seeds 10 --journeys 20000
    .venv/bin/python bench/hidden.py --skip accuracy,speed --replicates 200   # targets

**Accuracy.** For each seed, 20,000 synthetic journeys are generated with every
hidden-moment effect planted (three windows with an effect on ``overall``, two
proactive contacts given to a segment-dependent share of customers, contact
verbatims). :func:`peakend.find_hidden_moments` runs with its defaults and is
scored against ``truth.json``: share of planted windows found (same anchor,
overlapping days), false windows per anchor tested, and whether the 95 %
intervals of the proactive-contact effects (contacts deflected, effect on
``overall``) cover the planted values. The same number of seeds without any
planted window (``null.*``) counts false windows when nothing is there.

**Speed.** About 10M events (1.04M journeys, same planted design) are generated
once and cached in ``bench/data/hidden-10M`` (git-ignored). Timed in this
process: loading and validating the dataset (:func:`peakend.load`), the full
analysis on the loaded dataset (curves for all anchors, windows, words,
outcome gaps, proactive effects, suggestions), and the contact-rate curves with
window detection alone on the Parquet file read in place.

**Targets** (``--skip accuracy,speed`` to run them alone; ``--replicates``,
default 200, ``--journeys`` default 20,000). Each scenario generates its
replicates with the nuisance options of :mod:`peakend.generate` switched on and
runs :func:`peakend.find_hidden_moments`:

* no hidden moment with a flat rate, closing journeys, contact frailty + repeat
  contacts, several journeys per customer, tenure drift, and all at once
  (office hours too): the share of anchors with a reported window;
* hourly mode (horizon 168 hours) on an office-hours rhythm, no window: the same;
* a planted window of +0.1 contacts/day for 2 days after ``subscription_started``
  with every nuisance on: the share found, and the share of reported excess
  intervals covering the planted excess of the reported window (exact, with
  the repeats that fall inside it);
* the proactive-contact effect (inverse probability weighting) on simulated
  journeys with good and with poor overlap: coverage / share refused, over 1,000
  replicates (``--proactive-replicates``; it needs no event log).

Output: one ``name: value`` line per figure, then the targets table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import peakend
from peakend import engine
from peakend.generate import (
    DEFAULT_PROACTIVE,
    DEFAULT_WINDOWS,
    GeneratorConfig,
    HiddenWindow,
    generate,
)
from peakend.models.hidden.analysis import HiddenMomentsResult, find_hidden_moments
from peakend.models.hidden.curves import contact_curves, contact_rule
from peakend.models.hidden.effects import proactive_effect

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
EVENTS_PER_JOURNEY = 9.6


def planted_config(n_journeys: int, seed: int) -> GeneratorConfig:
    """Every hidden-moment effect switched on (the same design as the tests)."""
    windows = tuple(dataclasses.replace(w, overall_effect=-0.3) for w in DEFAULT_WINDOWS)
    return dataclasses.replace(
        GeneratorConfig(),
        n_journeys=n_journeys,
        seed=seed,
        hidden_windows=windows,
        proactive=DEFAULT_PROACTIVE,
        contact_texts=True,
    )


def show(name: str, value: float | int | str) -> None:
    """Print one ``name: value`` line at once."""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    print(f"{name}: {text}", flush=True)


# ------------------------------------------------------------------ accuracy
def score(result: HiddenMomentsResult, truth: dict[str, Any]) -> dict[str, float]:
    """Windows found, false windows and interval coverage against the planted truth."""
    found = [(m.moment.anchor, m.moment.first_offset, m.moment.last_offset) for m in result.moments]
    planted = [(w["anchor"], w["first_day"], w["last_day"]) for w in truth["hidden_windows"]]

    def hit(f: tuple[str, int, int], p: tuple[str, int, int]) -> bool:
        return f[0] == p[0] and f[1] <= p[2] and p[1] <= f[2]

    recovered = sum(any(hit(f, p) for f in found) for p in planted)
    false = sum(not any(hit(f, p) for p in planted) for f in found)
    covered_contacts = covered_overall = effects = 0
    for p in truth["proactive"]:
        report = next((m for m in result.moments if m.moment.anchor == p["anchor"]), None)
        effect = next(
            (
                e
                for e in (report.proactive_effects if report else ())
                if e.touchpoint == p["touchpoint"]
            ),
            None,
        )
        effects += 1
        if effect is None:
            continue
        c, o = effect.contacts_per_1000, effect.outcomes["overall"]
        covered_contacts += c.low <= -p["contacts_deflected_per_1000_treated"] <= c.high
        covered_overall += o.low <= p["effect_on_overall"] <= o.high
    return {
        "planted": len(planted),
        "recovered": recovered,
        "false": false,
        "anchors": len(result.anchor_journeys),
        "effects": effects,
        "covered_contacts": covered_contacts,
        "covered_overall": covered_overall,
    }


def accuracy(seeds: int, journeys: int) -> None:
    totals: dict[str, float] = {}
    seconds = []
    for seed in range(1, seeds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            ds = generate(tmp, planted_config(journeys, seed))
            truth = json.loads(ds.truth_path.read_text(encoding="utf-8"))
            data = peakend.load(ds.spec_path)
            start = time.perf_counter()
            result = find_hidden_moments(data)
            seconds.append(time.perf_counter() - start)
        for key, value in score(result, truth).items():
            totals[key] = totals.get(key, 0) + value
    show("accuracy.seeds", seeds)
    show("accuracy.journeys_per_seed", journeys)
    show("accuracy.windows_planted", int(totals["planted"]))
    show("accuracy.windows_recovered_share", totals["recovered"] / totals["planted"])
    show("accuracy.false_windows", int(totals["false"]))
    show("accuracy.anchors_tested", int(totals["anchors"]))
    show("accuracy.false_windows_per_20_anchors", 20 * totals["false"] / totals["anchors"])
    show("accuracy.effects_planted", int(totals["effects"]))
    show("accuracy.contacts_effect_covered_share", totals["covered_contacts"] / totals["effects"])
    show("accuracy.overall_effect_covered_share", totals["covered_overall"] / totals["effects"])
    show("accuracy.analysis_s_median", sorted(seconds)[len(seconds) // 2])


def null_runs(seeds: int, journeys: int) -> None:
    """Journeys with no planted window: every window found is a false one."""
    false = anchors = 0
    for seed in range(101, 101 + seeds):
        config = dataclasses.replace(
            planted_config(journeys, seed), hidden_windows=(), proactive=()
        )
        with tempfile.TemporaryDirectory() as tmp:
            data = peakend.load(generate(tmp, config).spec_path)
            result = find_hidden_moments(data)
        false += len(result.moments)
        anchors += len(result.anchor_journeys)
    show("null.seeds", seeds)
    show("null.false_windows", false)
    show("null.anchors_tested", anchors)


# ------------------------------------------------------------------ targets
NUISANCES: dict[str, dict[str, Any]] = {
    "flat rate": {},
    "closing journeys": {"close_after_days": 20.0},
    "frailty + repeat contacts": {"contact_frailty_sd": 1.0, "repeat_contact_share": 0.4},
    "several journeys per customer": {"journeys_per_customer": 3.0, "contact_frailty_sd": 1.0},
    "tenure drift": {"tenure_drift": -0.7},
}
ALL_NUISANCES: dict[str, Any] = {
    k: v for options in NUISANCES.values() for k, v in options.items()
} | {"office_hours": 0.9}
PLANTED = HiddenWindow(
    "planted", "subscription_started", 4, 5, 0.2, (("call_center", 0.6), ("chat", 0.4))
)


def scenario_config(
    options: dict[str, Any], journeys: int, seed: int, planted: bool
) -> GeneratorConfig:
    """The generator with ``options`` on; one planted window or none."""
    return dataclasses.replace(
        GeneratorConfig(),
        n_journeys=journeys,
        seed=seed,
        hidden_windows=(PLANTED,) if planted else (),
        **options,
    )


def run_scenario(
    options: dict[str, Any], journeys: int, seed: int, *, planted: bool = False, unit: str = "day",
    horizon: int = 14,
) -> tuple[GeneratorConfig, HiddenMomentsResult]:  # fmt: skip
    """Generate one replicate and find its hidden moments."""
    config = scenario_config(options, journeys, seed, planted)
    with tempfile.TemporaryDirectory() as tmp:
        data = peakend.load(generate(tmp, config).spec_path)
        return config, find_hidden_moments(data, unit=unit, horizon=horizon)


def planted_excess(config: GeneratorConfig, first: int, last: int) -> float:
    """Expected extra contacts per journey that the planted window puts in days first..last.

    Extra contacts fall uniformly in the planted days; each has a repeat with
    ``repeat_contact_share`` after an exponential delay, counted when it lands
    inside the reported days too. Frailty has mean 1.
    """
    w = PLANTED
    u = np.linspace(w.first_day, w.last_day + 1, 20_001)[:-1] + 0.5 / 20_000
    inside = (u >= first) & (u < last + 1)
    mean_delay = config.repeat_delay_hours / 24
    # P(first <= u + D < last + 1), D exponential
    lo, hi = np.maximum(first - u, 0.0), np.maximum(last + 1 - u, 0.0)
    repeat = np.exp(-lo / mean_delay) - np.exp(-hi / mean_delay)
    return float(w.excess_rate * np.mean(inside + config.repeat_contact_share * repeat))


def null_share(options: dict[str, Any], replicates: int, journeys: int, **kw: Any) -> float:
    """Share of anchors with a reported window when nothing is planted."""
    with_window = anchors = 0
    for seed in range(replicates):
        _, result = run_scenario(options, journeys, 1_000 + seed, **kw)
        with_window += len({m.moment.anchor for m in result.moments})
        anchors += len(result.anchor_journeys)
    return with_window / max(anchors, 1)


def planted_scores(replicates: int, journeys: int) -> tuple[float, float, int]:
    """Share of replicates finding the planted window, and coverage of its excess interval."""
    found = covered = 0
    for seed in range(replicates):
        config, result = run_scenario(ALL_NUISANCES, journeys, 2_000 + seed, planted=True)
        hits = [
            m.moment
            for m in result.moments
            if m.moment.anchor == PLANTED.anchor
            and m.moment.first_offset <= PLANTED.last_day
            and PLANTED.first_day <= m.moment.last_offset
        ]
        if not hits:
            continue
        found += 1
        m = hits[0]
        truth = 1000 * planted_excess(config, m.first_offset, m.last_offset)
        covered += m.excess_per_1000.low <= truth <= m.excess_per_1000.high
    return found / replicates, covered / max(found, 1), found


def proactive_scores(overlap: str, replicates: int, n: int = 4_000) -> tuple[float, float]:
    """Coverage of the effect on a score (true +0.3) and the share refused, by overlap."""
    rng = np.random.default_rng(7 if overlap == "good" else 8)
    covered = refused = 0
    for _ in range(replicates):
        x = rng.normal(size=(n, 2))
        logit = -1.0 + 0.5 * x[:, 0] + 0.3 * x[:, 1] if overlap == "good" else -3.0 + 3.5 * x[:, 0]
        treated = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
        score = 5.0 + 0.8 * x[:, 0] + 0.4 * x[:, 1] + 0.3 * treated + rng.normal(size=n)
        contacts = rng.poisson(0.4 * np.exp(0.3 * x[:, 0]) * (1.0 - 0.5 * treated)).astype(float)
        effect = proactive_effect(
            "call", treated, contacts, {"score": score}, x, ["x1", "x2"], columns=["x1", "x2"]
        )
        if effect.overlap is not None and effect.overlap.refused:
            refused += 1
            continue
        iv = effect.outcomes["score"]
        covered += iv.low <= 0.3 <= iv.high
    given = replicates - refused
    return covered / max(given, 1), refused / replicates


def targets(replicates: int, journeys: int, proactive_replicates: int = 1_000) -> None:
    """Every scenario of the targets table, printed as it finishes, then the table.

    The proactive effect is a cheap simulation (no event log), so it runs
    ``proactive_replicates`` times: at 200 replicates a coverage figure has a
    standard error of 1.5 points, as wide as half the 93–97 % target band.

    The planted window and the proactive effect run first, then the nulls with
    every nuisance at once, hourly office hours, and each nuisance alone.
    """
    rows = []
    good, _ = proactive_scores("good", proactive_replicates)
    _, poor = proactive_scores("poor", proactive_replicates)
    show("targets.proactive.good_overlap_coverage", good)
    show("targets.proactive.poor_overlap_refused", poor)
    found, coverage, n_found = planted_scores(replicates, journeys)
    show("targets.planted.found", found)
    show("targets.planted.coverage", coverage)
    show("targets.planted.n_found", n_found)
    rows.append(("planted +0.1/day for 2 days, all nuisances: found", f"{100 * found:.1f} %",
                 ">= 90 %"))  # fmt: skip
    rows.append((f"  its excess interval covers the planted excess ({n_found} found)",
                 f"{100 * coverage:.1f} %", "93-97 %"))  # fmt: skip
    rows.append((f"proactive effect, good overlap: coverage ({proactive_replicates} replicates)",
                 f"{100 * good:.1f} %", "93-97 %"))  # fmt: skip
    rows.append(("proactive effect, poor overlap: refused", f"{100 * poor:.1f} %", "refused"))
    for name, options in [("all at once", ALL_NUISANCES), *NUISANCES.items()]:
        start = time.perf_counter()
        share = null_share(options, replicates, journeys)
        show(f"targets.null.{name}.anchors_with_window", share)
        show(f"targets.null.{name}.seconds", time.perf_counter() - start)
        rows.append((f"no hidden moment: {name}", f"{100 * share:.1f} %", "<= 5 %"))
        if name == "all at once":
            share = null_share({"office_hours": 0.9}, replicates, journeys, unit="hour",
                               horizon=168)  # fmt: skip
            show("targets.hourly_office.anchors_with_window", share)
            rows.append(("hourly, office-hours rhythm, no window", f"{100 * share:.1f} %",
                         "<= 5 %"))  # fmt: skip
    print(f"\ntargets ({journeys:,} journeys, {replicates} replicates per scenario)")
    print("| scenario | measured | target |\n|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")


# ------------------------------------------------------------------ speed
def speed(events: int) -> None:
    journeys = int(events / EVENTS_PER_JOURNEY)
    folder = DATA / f"hidden-{events // 1_000_000}M"
    spec = folder / "synthetic.toml"
    if not spec.exists():
        start = time.perf_counter()
        generate(folder, dataclasses.replace(planted_config(journeys, 1), chunk_journeys=200_000))
        show("speed.generate_s", time.perf_counter() - start)
    start = time.perf_counter()
    data = peakend.load(spec)
    show("speed.load_s", time.perf_counter() - start)
    show("speed.events", data.events.num_rows)
    show("speed.journeys", data.report.journeys)

    start = time.perf_counter()
    result = find_hidden_moments(data)
    show("speed.full_analysis_s", time.perf_counter() - start)
    show("speed.anchors", len(result.anchor_journeys))
    show("speed.hidden_moments", len(result.moments))
    catalogue = data.touchpoints
    del data, result

    start = time.perf_counter()
    con = engine.connect()
    table = engine.events_table(con, folder / "events.parquet")
    curves = contact_curves(table, contact_rule(catalogue))
    show("speed.curves_and_windows_parquet_s", time.perf_counter() - start)
    show("speed.curves_and_windows_parquet_moments", len(curves.moments))
    show("speed.peak_rss_gb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--journeys", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument(
        "--proactive-replicates",
        type=int,
        default=1_000,
        help="replicates of the (cheap) proactive-effect simulation",
    )
    parser.add_argument("--skip", default="", help="comma-separated: accuracy, targets, speed")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    if "accuracy" not in skip:
        accuracy(args.seeds, args.journeys)
        null_runs(args.seeds, args.journeys)
    if "targets" not in skip:
        targets(args.replicates, args.journeys, args.proactive_replicates)
    if "speed" not in skip:
        speed(args.events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
