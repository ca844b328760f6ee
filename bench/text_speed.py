"""Comments per second and memory of each text backend.

Run from the repository root::

    python bench/text_speed.py [--comments 10000] [--backends lexicon,embedding]

Comments of realistic length are made from the CX sentence set: each is one to three
sentences of one language (mean about 16 words, like survey comments), with a
customer number appended to half of them so that not every comment repeats. Each
backend runs in its own process (``/usr/bin/time``-style peak memory from
``resource.getrusage``), after a warm-up that loads its model; the figure is for the
whole :func:`peakend.text.score_comments` call, repeated texts included (they are
scored once, as in real use). The time for one million comments is extrapolated.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

CX = Path("data/cx_sentences/cx_sentences.tsv")


def make_comments(n: int, seed: int = 0) -> list[str]:
    """``n`` comments of one to three CX sentences each, half made unique."""
    rows = [
        line.rstrip("\n").split("\t")
        for line in CX.read_text(encoding="utf-8").splitlines()[2:]
        if line and not line.startswith("#")
    ]
    by_lang = {lang: [r[6] for r in rows if r[1] == lang] for lang in ("nl", "en")}
    rng = random.Random(seed)
    comments = []
    for i in range(n):
        lang = rng.choice(("nl", "en"))
        text = " ".join(rng.sample(by_lang[lang], rng.choice((1, 1, 2, 2, 3))))
        if i % 2:
            text += f" Klantnummer {100000 + i}." if lang == "nl" else f" Customer {100000 + i}."
        comments.append(text)
    return comments


def run_one(backend: str, n: int) -> dict[str, float]:
    """Time one backend in this process (called in a fresh subprocess)."""
    from peakend.text import get_scorer, score_comments

    comments = make_comments(n)
    started = time.perf_counter()
    scorer = get_scorer(backend)  # type: ignore[arg-type]
    score_comments(["Warm-up. Opwarmen."], scorer=scorer)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    cpu = time.process_time()
    result = score_comments(comments, scorer=scorer)
    seconds = time.perf_counter() - started
    assert len(result.comments) == n
    return {
        "comments": n,
        "distinct": len(set(comments)),
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
    parser.add_argument("--backends", default="lexicon,embedding")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_one(args.worker, args.comments)))
        return 0
    for backend in args.backends.split(","):
        done = subprocess.run(
            [sys.executable, __file__, "--worker", backend, "--comments", str(args.comments)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        million_h = 1_000_000 / figures["per_second"] / 3600
        print(f"{backend}_comments: {figures['comments']:.0f}")
        print(f"{backend}_distinct_comments: {figures['distinct']:.0f}")
        print(f"{backend}_mean_words: {figures['mean_words']:.1f}")
        print(f"{backend}_model_load_s: {figures['load_s']:.2f}")
        print(f"{backend}_seconds: {figures['seconds']:.2f}")
        print(f"{backend}_cpu_seconds: {figures['cpu_seconds']:.2f}")
        print(f"{backend}_comments_per_s: {figures['per_second']:.0f}")
        print(f"{backend}_peak_rss_mb: {figures['peak_rss_mb']:.0f}")
        print(f"{backend}_one_million_hours: {million_h:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
