"""Emotion, valence, effort and the six pillars in Dutch and English comments, offline.

::

    from peakend.text import score_comments, add_text_emotions, touchpoint_emotions

    scores = score_comments(["De factuur klopt niet.", "Super geholpen!"])
    events = add_text_emotions(data)          # events + text_valence, emotion_*, pillar_* …
    per_touchpoint = touchpoint_emotions(data)

See ``docs/text.md`` for the models, their accuracy and speed.
"""

from peakend.text.effort import EffortSignal, find_effort
from peakend.text.journey import (
    TEXT_COLUMNS,
    EndingShare,
    InteractionEndings,
    TouchpointEmotion,
    TouchpointEmotions,
    add_text_emotions,
    interaction_endings,
    touchpoint_emotions,
    with_text_valence,
)
from peakend.text.labels import EMOTIONS, PILLARS
from peakend.text.language import detect_language
from peakend.text.reader import read_comments
from peakend.text.scoring import (
    DEFAULT_BACKEND,
    MAX_CHARS,
    CommentScore,
    CommentScores,
    EmbeddingScorer,
    LexiconScorer,
    SentenceScore,
    TextScorer,
    comment_valence,
    default_scores,
    get_scorer,
    lexicon_valence,
    score_comments,
)
from peakend.text.sentences import split_sentences

__all__ = [
    "DEFAULT_BACKEND",
    "EMOTIONS",
    "MAX_CHARS",
    "PILLARS",
    "TEXT_COLUMNS",
    "CommentScore",
    "CommentScores",
    "EffortSignal",
    "EmbeddingScorer",
    "EndingShare",
    "InteractionEndings",
    "LexiconScorer",
    "SentenceScore",
    "TextScorer",
    "TouchpointEmotion",
    "TouchpointEmotions",
    "add_text_emotions",
    "comment_valence",
    "default_scores",
    "detect_language",
    "find_effort",
    "get_scorer",
    "interaction_endings",
    "lexicon_valence",
    "read_comments",
    "score_comments",
    "split_sentences",
    "touchpoint_emotions",
    "with_text_valence",
]
