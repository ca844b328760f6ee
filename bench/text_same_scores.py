"""Do two checkouts score comments identically on the lexicon backend?

Run from the repository root::

    python bench/text_same_scores.py --baseline DIR [--data ../shared/data]

``DIR`` is another checkout (e.g. ``git worktree add --detach DIR main``). Both score
the same comments, each in its own process: the 10,000 comments of
``bench/text_speed.py``, GoEmotions (all splits), XED (English and Dutch), the CX
sentences, the BPIC 2016 complaint topics (Dutch and English) and a few shapes
(line breaks, repeats, empty, emoji, closing formulas, text over the length cut). Each
set is scored with the language detected and forced to Dutch and to English, and
through ``LexiconScorer.score`` directly. Every field of every comment and sentence
(score, label, ending, emotions, pillars, effort signals, ``to_dict``) is compared
exactly, with types and key order; the script prints the number of comments compared
and of those that differ, and exits with 1 when any does.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DATA = Path("../shared/data")
CX = Path("data/cx_sentences/cx_sentences.tsv")


def comment_sets(data: Path) -> dict[str, list[str]]:
    """The comments both checkouts score, by set."""
    sys.path.insert(0, str(Path(__file__).parent))
    from peakend.text.corpora import read_cx, read_goemotions, read_xed
    from text_speed import make_comments

    bench = make_comments(10_000, data)
    splits = ("train", "dev", "test")
    sets = {
        "bench": bench,
        "goemotions": [e.text for s in splits for e in read_goemotions(data / "goemotions", s)],
        "xed": [
            e.text for lang in ("en", "nl") for e in read_xed(data / "xed_emotion_nl_en", lang)
        ],
        "cx": [e.text for e in read_cx(CX)],
    }
    complaints = data / "bpic2016_complaints" / "BPI2016_Complaints.csv"
    if complaints.exists():
        with complaints.open(encoding="latin-1", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter=";"))
        sets["complaints"] = [r[c] for r in rows for c in ("ComplaintTopic", "ComplaintTopic_EN")]
    odd = ["", " ", "Bedankt.", "Thanks!", "Prima", "😡😡", "123", "x" * 12_000]
    odd += [bench[5] + " Met vriendelijke groet.", bench[6] + " Thanks."]
    lines = [a + "\n" + b for a, b in zip(bench[:2000], bench[2000:4000], strict=True)]
    sets["shapes"] = lines + odd + bench[:50]  # bench[:50]: repeats
    return sets


def fields(comment: Any) -> tuple[Any, ...]:
    """Everything a comment score holds, sentences included."""
    return (
        comment.text, comment.lang, comment.valence, comment.valence_class, comment.emotion,
        comment.emotions, comment.pillars, [(s.kind, s.text, s.amount) for s in comment.effort],
        comment.truncated, comment.end_class, comment.end_valence, comment.ends_negative,
        comment.peak_valence, comment.to_dict(),
        [
            (s.text, s.lang, s.valence, s.valence_class, s.emotion, s.emotions, s.pillars,
             [(e.kind, e.text, e.amount) for e in s.effort], s.to_dict())
            for s in comment.sentences
        ],
    )  # fmt: skip


def score_all(data: Path, out: Path) -> None:
    """Score every set with the peakend on ``sys.path`` and pickle the fields to ``out``."""
    from peakend.text import score_comments
    from peakend.text.scoring import LexiconScorer

    scored: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for name, texts in comment_sets(data).items():
        for lang in ("auto", "nl", "en"):
            result = score_comments(texts, backend="lexicon", lang=lang)  # type: ignore[arg-type]
            scored[name, lang] = [fields(c) for c in result.comments]
        scored[name, "direct"] = [fields(c) for c in LexiconScorer().score(texts[:3000])]
    out.write_bytes(pickle.dumps(scored))


def same(a: Any, b: Any) -> bool:
    """Exactly equal, with the same types and key order (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def main() -> int:
    parser = argparse.ArgumentParser(description="Compare two checkouts' lexicon scores.")
    parser.add_argument("--baseline", type=Path, help="the other checkout (required)")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared datasets")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        score_all(args.data, args.worker)
        return 0
    if args.baseline is None:
        parser.error("give the other checkout: --baseline DIR")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        this = Path(__file__).resolve().parents[1] / "src"
        for who, source in (("baseline", args.baseline / "src"), ("this", this)):
            runs[who] = Path(tmp) / f"{who}.pickle"
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
            command = [
                sys.executable,
                __file__,
                "--worker",
                str(runs[who]),
                "--data",
                str(args.data),
            ]
            subprocess.run(command, check=True, env=env)
        old = pickle.loads(runs["baseline"].read_bytes())
        new = pickle.loads(runs["this"].read_bytes())
    compared = differ = 0
    for key in old:
        for a, b in zip(old[key], new[key], strict=True):
            compared += 1
            if not same(a, b):
                differ += 1
                if differ <= 3:
                    print(f"differs ({key[0]}, {key[1]}): {a[0][:80]!r}")
    print(f"comments_compared: {compared}")
    print(f"comments_differing: {differ}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
