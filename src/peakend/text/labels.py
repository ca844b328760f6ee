"""The label sets peakend reads from text, and how public datasets map onto them.

Emotions follow what customer-experience teams act on (Temkin's "emotion" component,
seed 003): the states a customer-service sentence most often carries. Pillars are
the six elements of excellent customer experience (Ryder, Fritz & Imhof 2017; seed 001).
GoEmotions (Demszky et al. 2020) and XED (Öhman et al. 2020) use finer or other label
sets; the maps below say which of their labels count as which of ours, and ``None``
means the label has no counterpart and examples carrying it are left out.
"""

from __future__ import annotations

from typing import Final

EMOTIONS: Final = (
    "anger",
    "frustration",
    "worry",
    "uncertainty",
    "disappointment",
    "joy",
    "trust",
    "surprise",
    "neutral",
)
"""Emotion labels, in a fixed order (the column order of every probability array)."""

PILLARS: Final = (
    "personalisation",
    "integrity",
    "expectations",
    "resolution",
    "time_effort",
    "empathy",
)
"""The six pillars of customer experience, in a fixed order."""

POSITIVE_EMOTIONS: Final = frozenset({"joy", "trust"})
NEGATIVE_EMOTIONS: Final = frozenset(
    {"anger", "frustration", "worry", "uncertainty", "disappointment"}
)

VALENCE_CLASSES: Final = ("negative", "neutral", "positive")
"""Three-way valence classes; a valence in [-1, 1] maps to them at +-0.05 (VADER's cut-offs)."""

VALENCE_CUTOFF: Final = 0.05

GOEMOTIONS_MAP: Final[dict[str, str | None]] = {
    "admiration": "trust",
    "amusement": "joy",
    "anger": "anger",
    "annoyance": "frustration",
    "approval": "trust",
    "caring": "trust",
    "confusion": "uncertainty",
    "curiosity": None,
    "desire": None,
    "disappointment": "disappointment",
    "disapproval": "frustration",
    "disgust": "anger",
    "embarrassment": None,
    "excitement": "joy",
    "fear": "worry",
    "gratitude": "trust",
    "grief": "disappointment",
    "joy": "joy",
    "love": "joy",
    "nervousness": "worry",
    "optimism": "joy",
    "pride": "joy",
    "realization": None,
    "relief": "joy",
    "remorse": None,
    "sadness": "disappointment",
    "surprise": "surprise",
    "neutral": "neutral",
}
"""GoEmotions' 27 emotions + neutral onto ours (gratitude, admiration and caring read as
feeling valued; annoyance and disapproval as frustration)."""

XED_MAP: Final[dict[int, str | None]] = {
    1: "anger",
    2: None,  # anticipation: no customer-service counterpart
    3: "anger",  # disgust
    4: "worry",  # fear
    5: "joy",
    6: "disappointment",  # sadness
    7: "surprise",
    8: "trust",
}
"""XED's Plutchik ids onto ours."""


def valence_class(value: float) -> str:
    """The three-way class of a valence in [-1, 1]."""
    if value > VALENCE_CUTOFF:
        return "positive"
    if value < -VALENCE_CUTOFF:
        return "negative"
    return "neutral"


def emotion_valence_class(emotion: str) -> str | None:
    """The valence class an emotion implies; ``None`` for surprise, which can go either way."""
    if emotion in POSITIVE_EMOTIONS:
        return "positive"
    if emotion in NEGATIVE_EMOTIONS:
        return "negative"
    if emotion == "neutral":
        return "neutral"
    return None
