"""Hidden-moments benchmark: accuracy on planted truth, and speed at 10M events.

Run from the repository root::

    .venv/bin/python bench/hidden.py                     # accuracy (5 seeds) + 10M speed
    .venv/bin/python bench/hidden.py --skip speed        # accuracy only
    .venv/bin/python bench/hidden.py --seeds 10 --journeys 20000

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

Output: one ``name: value`` line per figure.
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

import peakend
from peakend import engine
from peakend.generate import DEFAULT_PROACTIVE, DEFAULT_WINDOWS, GeneratorConfig, generate
from peakend.models.hidden.analysis import HiddenMomentsResult, find_hidden_moments
from peakend.models.hidden.curves import contact_curves, contact_rule

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
    parser.add_argument("--skip", default="", help="comma-separated: accuracy, speed")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    if "accuracy" not in skip:
        accuracy(args.seeds, args.journeys)
        null_runs(args.seeds, args.journeys)
    if "speed" not in skip:
        speed(args.events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
