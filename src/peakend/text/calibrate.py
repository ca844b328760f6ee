"""Fit the calibrated label and end rules shipped in ``peakend/text/heads/calibration.json``.

Run from the repository root (the datasets are read from ``../shared/data``)::

    python -m peakend.text.calibrate [--data ../shared/data]

What it does, reproducibly:

1. Takes the **validation rows** of :mod:`peakend.text.validation`: the training rows
   of GoEmotions (its whole train split), XED English and Dutch and the CX sentence
   set, each labelled by heads (label head and valence head) trained without its fold,
   read as peakend reads text (sentences, default engine). The held-out test rows are
   not used for fitting.
2. The gold class is the annotated valence, or the one the annotated emotion implies
   (surprise has none and is left out).
3. Fits, per backend and language, the **label rule** (offsets on the label head's
   log-probabilities, or two cut-offs on the lexicon valence) by a grid search that
   maximises, summed over the sets of that language, macro-F1 minus the gap between
   the predicted and the annotated share of negatives. Each set weighs the same
   whatever its size, the customer-service set (CX) ``SERVICE_WEIGHT`` times as much:
   service language is what peakend reads.
4. Fits the **end rule** (two cut-offs on the ending's valence) so that the
   predicted shares of negative and positive endings match the annotated ones, the
   service set weighted ``w`` times each other set. ``w`` is chosen per backend and
   language among ``END_SERVICE_WEIGHTS`` on the validation rows: the rule fitted on
   two folds (all sets, service weighted ``w``) is judged by its share gaps on the
   third fold's *service* rows, summed over the folds (ties: the smaller weight).
   Social posts and film lines end as they began; service endings are what the rule
   reads, and the other sets keep a rule fitted on 120 service rows from over-fitting.
5. Labels the held-out test rows (GoEmotions' test split, the held-out XED groups and
   CX pairs) once, with the shipped heads and the fitted rules, and writes these
   figures into ``calibration.json`` beside the rules.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from peakend.stats.resampling import bootstrap_indices, percentile_interval
from peakend.text.calibration import Calibration, ValenceRule, end_class, ending_window
from peakend.text.corpora import Example
from peakend.text.embedding import EMBEDDING_DIM, Embedder, Matrix
from peakend.text.labels import VALENCE_CLASSES, emotion_valence_class
from peakend.text.scoring import CommentScore, EmbeddingScorer, LexiconScorer

SERVICE_WEIGHT = 2.0
"""Weight of the customer-service (CX) set against each other set of its language."""

END_SERVICE_WEIGHTS = (2.0, 4.0, 8.0, 16.0, 64.0)
"""Weights of the service set in the end rule's fit, from the label rule's upwards; one
is chosen on the validation rows (:func:`choose_end_weight`)."""

SHARE_PENALTY = 1.0
"""Macro-F1 traded for the gap between predicted and annotated share negative: a gap of
10 percentage points costs 0.10."""

OFFSET_GRID = np.round(np.arange(-2.0, 4.01, 0.1), 2)
NEGATIVE_CUTOFFS = np.round(np.arange(-0.8, -0.019, 0.02), 2)
POSITIVE_CUTOFFS = np.round(np.arange(0.02, 0.801, 0.02), 2)
"""Cut-offs keep a valence of exactly zero (no evidence either way) neutral."""
CALIBRATION_PATH = Path(__file__).parent / "heads" / "calibration.json"

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass
class ScoredSet:
    """One annotated set, scored by one backend, with its gold classes.

    ``fold`` is the validation fold of each row (-1 where it does not matter).
    """

    name: str
    lang: str
    gold: IntArray
    fold: IntArray
    valence: FloatArray
    proba: FloatArray | None
    comments: list[CommentScore] = field(default_factory=list)

    def rows(self, mask: NDArray[np.bool_]) -> ScoredSet:
        """The rows where ``mask`` holds."""
        return ScoredSet(
            self.name,
            self.lang,
            self.gold[mask],
            self.fold[mask],
            self.valence[mask],
            None if self.proba is None else self.proba[mask],
            [c for c, m in zip(self.comments, mask, strict=True) if m],
        )

    @property
    def end_valence(self) -> FloatArray:
        """Valence of each comment's ending."""
        return np.array([c.end_valence for c in self.comments], dtype=np.float64)


def gold_class(example: Example) -> int | None:
    """0 negative, 1 neutral, 2 positive, from the annotated valence or emotion."""
    label = example.valence or emotion_valence_class(example.emotion)
    return None if label is None else VALENCE_CLASSES.index(label)


SERVICE_SET = "cx"
"""The customer-service set: service language, what peakend reads."""


def set_weight(name: str, service: float = SERVICE_WEIGHT) -> float:
    """Weight of a set in the objectives (every set alike, service language ``service``
    times as much)."""
    return service if name == SERVICE_SET else 1.0


# --- fitting -------------------------------------------------------------------------


def macro_f1(gold: IntArray, predicted: IntArray) -> float:
    """Macro-F1 over the classes present in ``gold`` (a wrong class present only in
    the predictions still costs precision of nothing, recall of the gold class)."""
    scores = []
    for label in np.unique(gold):
        tp = int(((gold == label) & (predicted == label)).sum())
        denominator = int((gold == label).sum()) + int((predicted == label).sum())
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def _weights(sets: Sequence[ScoredSet], service: float = SERVICE_WEIGHT) -> list[float]:
    """Weight of each part: its set's weight, shared by size among the parts of one set."""
    sizes: dict[str, int] = {}
    for part in sets:
        sizes[part.name] = sizes.get(part.name, 0) + int(part.gold.size)
    return [set_weight(p.name, service) * p.gold.size / max(1, sizes[p.name]) for p in sets]


def objective(sets: Sequence[ScoredSet], predict: Callable[[ScoredSet], IntArray]) -> float:
    """Macro-F1 minus ``SHARE_PENALTY`` times the gap in share negative, summed over
    the sets with their weights: what the label rules and the label head's settings
    are chosen by."""
    total = 0.0
    for part, weight in zip(sets, _weights(sets), strict=True):
        if part.gold.size == 0:
            continue
        predicted = predict(part)
        gap = abs(float((predicted == 0).mean()) - float((part.gold == 0).mean()))
        total += weight * (macro_f1(part.gold, predicted) - SHARE_PENALTY * gap)
    return total


def fit_label_rule(sets: Sequence[ScoredSet], kind: str) -> ValenceRule:
    """The label rule of one backend and language that maximises the objective."""
    if kind == "offsets":
        grid = product(OFFSET_GRID, OFFSET_GRID)
        candidates = [ValenceRule("offsets", float(a), float(b)) for a, b in grid]
        logs = {id(p): np.log(np.clip(p.proba, 1e-12, None)) for p in sets if p.proba is not None}

        def score(rule: ValenceRule) -> float:
            shift = np.array([rule.negative, 0.0, rule.positive])
            return objective(sets, lambda part: (logs[id(part)] + shift).argmax(axis=1))

    else:
        candidates = [
            ValenceRule("cutoffs", float(a), float(b))
            for a, b in product(NEGATIVE_CUTOFFS, POSITIVE_CUTOFFS)
        ]

        def score(rule: ValenceRule) -> float:
            return objective(sets, lambda part: predict_labels(part, rule))

    return max(candidates, key=score)


def fit_end_rule(sets: Sequence[ScoredSet], service: float = SERVICE_WEIGHT) -> ValenceRule:
    """Cut-offs on the ending's valence whose shares of negative and positive endings
    match the annotated shares (gap summed over the sets, the service set weighted
    ``service`` times each other one)."""

    weights = _weights(sets, service)
    values = [part.end_valence for part in sets]

    def gap(cut: float, label: int, side: int) -> float:
        total = 0.0
        for part, weight, ends in zip(sets, weights, values, strict=True):
            if part.gold.size == 0:
                continue
            predicted = float((ends < cut).mean() if side < 0 else (ends > cut).mean())
            total += weight * abs(predicted - float((part.gold == label).mean()))
        return total

    low = min(NEGATIVE_CUTOFFS, key=lambda c: gap(float(c), 0, -1))
    high = min(POSITIVE_CUTOFFS, key=lambda c: gap(float(c), 2, 1))
    return ValenceRule("cutoffs", float(low), float(high))


def end_share_gap(part: ScoredSet, rule: ValenceRule) -> float:
    """Gap between predicted and annotated share of negative endings plus the same for
    positive endings, on the cut-offs alone (what :func:`fit_end_rule` matches)."""
    if part.gold.size == 0:
        return 0.0
    ends = part.end_valence
    negative = abs(float((ends < rule.negative).mean()) - float((part.gold == 0).mean()))
    positive = abs(float((ends > rule.positive).mean()) - float((part.gold == 2).mean()))
    return negative + positive


def choose_end_weight(sets: Sequence[ScoredSet]) -> tuple[float, dict[float, float]]:
    """The service weight of the end rule, chosen on the validation rows of one backend
    and language: for each weight in ``END_SERVICE_WEIGHTS`` and each fold, the rule
    fitted on the other folds is judged by its share gap on this fold's service rows
    (:func:`end_share_gap`, weighted by their count). Returns the weight with the
    smallest total (ties: the smaller weight) and every weight's total."""
    folds = sorted({int(f) for part in sets for f in part.fold if f >= 0})
    totals: dict[float, float] = {}
    for weight in END_SERVICE_WEIGHTS:
        total = 0.0
        for k in folds:
            rule = fit_end_rule([part.rows(part.fold != k) for part in sets], weight)
            for part in sets:
                if part.name == SERVICE_SET:
                    held = part.rows(part.fold == k)
                    total += end_share_gap(held, rule) * held.gold.size
        totals[weight] = total / max(1, sum(p.gold.size for p in sets if p.name == SERVICE_SET))
    best = min(END_SERVICE_WEIGHTS, key=lambda w: (round(totals[w], 12), w))
    return best, totals


def end_fit_report(sets: Sequence[ScoredSet]) -> dict[str, Any]:
    """How the end rule of one backend and language is chosen: the service weight, each
    weight's out-of-fold share gap on the service rows, and the cut-offs each set would
    get alone (which sets pull the fitted cut-offs where)."""
    weight, totals = choose_end_weight(sets)
    alone = {}
    for part in sets:
        rule = fit_end_rule([part])
        alone[f"{part.name}:{part.lang}"] = {"negative": rule.negative, "positive": rule.positive}
    return {
        "service_weight": weight,
        "service_gap_by_weight": {f"{w:g}": round(t, 4) for w, t in totals.items()},
        "cutoffs_alone": alone,
    }


def fit_calibration(scored: dict[str, list[ScoredSet]]) -> Calibration:
    """Label and end rules for every backend (keys of ``scored``) and language."""
    label: dict[str, ValenceRule] = {}
    end: dict[str, ValenceRule] = {}
    for backend, sets in scored.items():
        kind = "offsets" if backend == "embedding" else "cutoffs"
        for lang in ("en", "nl"):
            mine = [s for s in sets if s.lang == lang]
            label[f"{backend}:{lang}"] = fit_label_rule(mine, kind)
            end[f"{backend}:{lang}"] = fit_end_rule(mine, choose_end_weight(mine)[0])
    return Calibration(label, end)


# --- held-out figures ----------------------------------------------------------------


def predict_labels(part: ScoredSet, rule: ValenceRule) -> IntArray:
    """Class index of every row of ``part`` by ``rule``."""
    if rule.kind == "offsets":
        assert part.proba is not None
        return rule.classify_proba(part.proba)
    return np.where(part.valence < rule.negative, 0, np.where(part.valence > rule.positive, 2, 1))


def predict_ends(part: ScoredSet, rule: ValenceRule) -> list[str]:
    """How each comment of ``part`` ends, by the end ``rule``."""
    out = []
    for comment in part.comments:
        start, stop = ending_window([s.text for s in comment.sentences])
        ending = comment.sentences[start:stop]
        out.append(
            end_class(
                [s.valence for s in ending],
                [s.valence_class for s in ending],
                sum(len(s.text.split()) for s in ending),
                rule,
            )
        )
    return out


def macro_f1_interval(
    gold: IntArray, predicted: IntArray, resamples: int = 1000
) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the macro-F1 (rows resampled, seed 0): how
    far a test set's figure can move by the luck of which rows it holds."""
    samples = np.array(
        [
            macro_f1(gold[rows], predicted[rows])
            for rows in bootstrap_indices(int(gold.size), resamples, seed=0)
        ]
    )
    interval = percentile_interval(macro_f1(gold, predicted), samples, int(gold.size))
    return interval.low, interval.high


def auc(gold: IntArray, valence: FloatArray) -> float | None:
    """Area under the ROC curve of valence for positive against negative rows."""
    pos = valence[gold == 2]
    neg = valence[gold == 0]
    if not pos.size or not neg.size:
        return None
    ranks = rankdata(np.concatenate([neg, pos]))  # ties get their average rank
    r_pos = float(ranks[neg.size :].sum())
    return float((r_pos - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


def held_out_figures(
    scored: dict[str, list[ScoredSet]], calibration: Calibration
) -> list[dict[str, Any]]:
    """For each backend and held-out test set: macro-F1 and share negative of the
    uncalibrated decision and of the calibrated labels, share of endings negative and
    undecided, and the valence AUC."""
    rows = []
    for backend, sets in scored.items():
        today = (
            ValenceRule("offsets", 0.0, 0.0)
            if backend == "embedding"
            else ValenceRule("cutoffs", -0.05, 0.05)
        )
        for part in sets:
            labels = predict_labels(part, calibration.label_rule(backend, part.lang))
            ends = predict_ends(part, calibration.end_rule(backend, part.lang))
            before = predict_labels(part, today)
            decided = [e for e in ends if e != "undecided"]
            rows.append(
                {
                    "backend": backend,
                    "set": part.name,
                    "lang": part.lang,
                    "n": int(part.gold.size),
                    "macro_f1": macro_f1(part.gold, labels),
                    "macro_f1_interval": macro_f1_interval(part.gold, labels),
                    "macro_f1_today": macro_f1(part.gold, before),
                    "share_negative_gold": float((part.gold == 0).mean()),
                    "share_negative": float((labels == 0).mean()),
                    "share_negative_today": float((before == 0).mean()),
                    "ends_negative": sum(e == "negative" for e in decided) / max(1, len(decided)),
                    "ends_undecided": 1 - len(decided) / max(1, len(ends)),
                    "auc": auc(part.gold, part.valence),
                }
            )
    return rows


# --- data ----------------------------------------------------------------------------


class StoredEmbedder:
    """An embedder whose vectors are kept on disk by text, so that a sentence is
    embedded once across runs of the calibration and the quality benchmark."""

    def __init__(self, base: Embedder, path: Path) -> None:
        self.name = base.name
        self.engine = str(getattr(base, "engine", base.name))
        self._base = base
        self._path = path
        self._known: dict[str, Matrix] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as stored:
                self._known.update(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
        self.new = 0

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Vectors of ``texts``; unknown ones are computed and remembered."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            self._known.update(zip(missing, self._base.embed(missing), strict=True))
            self.new += len(missing)
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        return np.vstack([self._known[t] for t in texts])

    def save(self) -> None:
        """Write the known vectors to disk."""
        if self.new:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                self._path,
                texts=np.array(list(self._known)),
                vectors=np.vstack(list(self._known.values())),
            )


def annotated_sets(data: Path, cx: Path) -> list[tuple[str, list[Example], IntArray]]:
    """The held-out test sets (never used to fit a head, a setting or a rule)."""
    from peakend.text.embedding import E5Embedder
    from peakend.text.train import load_splits

    splits = load_splits(data, cx, E5Embedder(cache_size=0))
    out: list[tuple[str, list[Example], IntArray]] = []
    for name in ("goemotions", "xed_en", "xed_nl", "cx"):
        test = splits[name].test
        out.append((name, test, np.full(len(test), -1, dtype=np.int64)))
    return out


def score_sets(
    sets: list[tuple[str, list[Example], IntArray]],
    scorers: dict[str, LexiconScorer | EmbeddingScorer],
) -> dict[str, list[ScoredSet]]:
    """Score every set with every backend, split by language, gold classes attached."""
    out: dict[str, list[ScoredSet]] = {backend: [] for backend in scorers}
    for name, examples, folds in sets:
        keep = [i for i, e in enumerate(examples) if gold_class(e) is not None]
        for backend, scorer in scorers.items():
            texts = [examples[i].text for i in keep]
            comments = scorer.score(texts, lang="auto")
            proba = scorer.label_proba(texts) if isinstance(scorer, EmbeddingScorer) else None
            for lang in sorted({examples[i].lang for i in keep}):
                mine = [j for j, i in enumerate(keep) if examples[i].lang == lang]
                out[backend].append(
                    ScoredSet(
                        name,
                        lang,
                        np.array([gold_class(examples[keep[j]]) for j in mine], dtype=np.int64),
                        folds[[keep[j] for j in mine]],
                        np.array([comments[j].valence for j in mine], dtype=np.float64),
                        None if proba is None else proba[mine],
                        [comments[j] for j in mine],
                    )
                )
    return out


def default_scorers(
    cache_dir: Path, calibration: Calibration | None = None
) -> tuple[dict[str, Any], StoredEmbedder]:
    """The lexicon backend and the embedding backend on its default engine (with
    ``calibration``'s rules, the shipped ones by default), with the engine's vectors
    kept in ``cache_dir``."""
    from peakend.text.embedding import make_embedder, resolve_embedder

    engine = resolve_embedder("auto")
    stored = StoredEmbedder(make_embedder(engine), cache_dir / f"calibration-{engine}.npz")
    scorers = {
        "embedding": EmbeddingScorer(stored, calibration=calibration),
        "lexicon": LexiconScorer(),
    }
    return scorers, stored


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: fit the rules on validation rows, label the test rows once,
    write the JSON."""
    from peakend.text.train import CACHE_DIR, HEADS_DIR, LabelSettings
    from peakend.text.validation import fit_rules, load_validation_rows

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--cx", type=Path, default=Path("data/cx_sentences/cx_sentences.tsv"))
    parser.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    args = parser.parse_args(argv)
    training = json.loads((HEADS_DIR / "training.json").read_text(encoding="utf-8"))
    settings = LabelSettings(**training["label_settings"])
    scorers, stored = default_scorers(CACHE_DIR)
    data, splits = load_validation_rows(args.data, args.cx, scorers["embedding"], [settings.social])
    stored.save()
    calibration, validation = fit_rules(data, settings, splits, stored)
    end_fit = {
        f"{backend}:{lang}": end_fit_report([s for s in sets if s.lang == lang])
        for backend, sets in validation.items()
        for lang in ("en", "nl")
    }
    print(json.dumps(end_fit), flush=True)
    scorers["embedding"] = EmbeddingScorer(stored, calibration=calibration)
    scored = score_sets(annotated_sets(args.data, args.cx), scorers)
    stored.save()
    figures = held_out_figures(scored, calibration)
    payload = {
        "rules": calibration.to_dict(),
        "engine": stored.engine,
        "service_weight": SERVICE_WEIGHT,
        "share_penalty": SHARE_PENALTY,
        "end_fit": end_fit,
        "label_settings": training["label_settings"],
        "validation": held_out_figures(validation, calibration),
        "held_out": figures,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    for title, rows in (("validation", payload["validation"]), ("held out", figures)):
        print(title)
        for row in rows:
            print(
                f"{row['backend']:9} {row['set']:10} {row['lang']} n={row['n']:6,} "
                f"F1 {row['macro_f1_today']:.3f} -> {row['macro_f1']:.3f}  "
                f"neg {row['share_negative_gold']:.1%} gold, {row['share_negative_today']:.1%} "
                f"uncalibrated -> {row['share_negative']:.1%}; "
                f"ends neg {row['ends_negative']:.1%}, "
                f"undecided {row['ends_undecided']:.1%}; AUC {row['auc'] or float('nan'):.3f}"
            )
    print(json.dumps(calibration.to_dict()))
    print(f"rules written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
