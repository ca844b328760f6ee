"""Calibrated negative / neutral / positive labels and "how the interaction ended".

A text model can rank comments well (negative ones get lower valence than positive
ones) and still label them badly: when its classes come from its own most probable
class, complaints in service language mostly come out *neutral*. The labels are
therefore decided by rules fitted on annotated data held out from the heads
(``python -m peakend.text.calibrate``), one per backend and language, and shipped in
``heads/calibration.json`` next to the heads:

* **label rule** (``valence_class``): for the embedding backend, offsets added to
  the log-probabilities of the label head (:mod:`peakend.text.label_head`) before
  taking the most probable class (offsets of zero give the head's own decision); for
  the lexicon backend, two
  cut-offs on the valence. Fitted to maximise macro-F1 with the predicted share of
  negatives close to the annotated share, service-language sentences weighted up.
* **end rule** (``end_class``): two cut-offs on the valence of the comment's ending
  (its last sentence, skipping closing formulas such as "Bedankt." or "Met
  vriendelijke groet.", read with the sentence before it when it is very short).
  Fitted so that the predicted shares of negative and positive endings match the
  annotated shares: the end rule feeds *shares* ("ends negative" per
  touchpoint, team or agent), for which unbiased counts matter more than F1.

An ending is **undecided** when it is mixed (its sentences take opposite sides) or
too short to read (a single word that carries no tone, or no word at all): it is
reported as such, never counted as neutral.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from peakend.errors import ModelError
from peakend.text.heads import shipped_bytes
from peakend.text.labels import VALENCE_CLASSES

RuleKind = Literal["offsets", "cutoffs"]
END_CLASSES = (*VALENCE_CLASSES, "undecided")
"""What :attr:`~peakend.text.scoring.CommentScore.end_class` can be."""

CLOSING_TOKENS = frozenset(
    "thanks thank you thx cheers regards kind best wishes greetings in advance "
    "bedankt dank je jullie u wel alvast groet groeten met vriendelijke hartelijke "
    "mvg gr vr bvd".split()
)
"""Words of closing formulas ("Thanks in advance.", "Met vriendelijke groet."): a last
sentence made of these only says nothing about how the interaction went."""

_CLOSING_MAX_CHARS = 60

SHORT_ENDING_WORDS = 2
"""An ending sentence of at most this many words ("Nog steeds kapot.") is read
together with the sentence before it."""

_FALLBACK_LANG = "en"


@dataclass(frozen=True)
class ValenceRule:
    """How one backend turns its scores into negative / neutral / positive in one language.

    Attributes
    ----------
    kind:
        ``"offsets"``: added to the log-probabilities of (negative, positive), neutral
        unchanged, then the most probable class; ``"cutoffs"``: negative below
        ``negative``, positive above ``positive``, neutral in between (on valence).
    negative, positive:
        The two fitted numbers.
    """

    kind: RuleKind
    negative: float
    positive: float

    def classify_valence(self, valence: float) -> str:
        """The class of one valence (cut-off rules only)."""
        if valence < self.negative:
            return "negative"
        if valence > self.positive:
            return "positive"
        return "neutral"

    def classify_proba(self, proba: NDArray[np.float64]) -> NDArray[np.int64]:
        """Class index (0 negative, 1 neutral, 2 positive) of each row of
        (negative, neutral, positive) probabilities."""
        if self.kind == "cutoffs":
            valence = proba[:, 2] - proba[:, 0]
            return np.where(valence < self.negative, 0, np.where(valence > self.positive, 2, 1))
        logp = np.log(np.clip(proba, 1e-12, None))
        logp[:, 0] += self.negative
        logp[:, 2] += self.positive
        result: NDArray[np.int64] = logp.argmax(axis=1)
        return result

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON."""
        return {"kind": self.kind, "negative": self.negative, "positive": self.positive}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValenceRule:
        """Read a rule written by :meth:`to_dict`."""
        kind = data["kind"]
        if kind not in ("offsets", "cutoffs"):
            raise ModelError(f"unknown calibration rule kind {kind!r}")
        return cls(kind, float(data["negative"]), float(data["positive"]))


@dataclass(frozen=True)
class Calibration:
    """The label and end rules of every backend and language.

    Attributes
    ----------
    label, end:
        Rules keyed by ``"<backend>:<lang>"`` (``embedding:nl``, ``lexicon:en`` …).
    """

    label: dict[str, ValenceRule]
    end: dict[str, ValenceRule]

    def label_rule(self, backend: str, lang: str | None) -> ValenceRule:
        """The label rule for ``backend`` in ``lang`` (English where it is unknown)."""
        return _pick(self.label, backend, lang)

    def end_rule(self, backend: str, lang: str | None) -> ValenceRule:
        """The end rule for ``backend`` in ``lang`` (English where it is unknown)."""
        return _pick(self.end, backend, lang)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "label": {k: r.to_dict() for k, r in self.label.items()},
            "end": {k: r.to_dict() for k, r in self.end.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Read rules written by :meth:`to_dict`."""
        return cls(
            {k: ValenceRule.from_dict(v) for k, v in data["label"].items()},
            {k: ValenceRule.from_dict(v) for k, v in data["end"].items()},
        )


def _pick(rules: dict[str, ValenceRule], backend: str, lang: str | None) -> ValenceRule:
    rule = rules.get(f"{backend}:{lang or _FALLBACK_LANG}") or rules.get(
        f"{backend}:{_FALLBACK_LANG}"
    )
    if rule is None:
        raise ModelError(
            f"no calibrated labels for the {backend} backend; rebuild them with "
            "`python -m peakend.text.calibrate`"
        )
    return rule


@cache
def load_calibration() -> Calibration:
    """The shipped rules (``peakend/text/heads/calibration.json``)."""
    raw = shipped_bytes(
        "calibration.json", "the label calibration", "python -m peakend.text.calibrate"
    )
    return Calibration.from_dict(json.loads(raw)["rules"])


def ending_window(sentences: Sequence[str]) -> tuple[int, int]:
    """Where the ending is: ``sentences[start:stop]``.

    The ending is the last sentence that is not a mere closing formula (see
    :data:`CLOSING_TOKENS`; a comment that is only a closing keeps it), together
    with the sentence before it when it has at most :data:`SHORT_ENDING_WORDS`
    words.
    """
    stop = len(sentences)
    while stop > 1 and _is_closing(sentences[stop - 1]):
        stop -= 1
    start = stop - 1
    if start > 0 and sentences[start].strip().count(" ") < SHORT_ENDING_WORDS:
        start -= 1
    return max(start, 0), stop


def _is_closing(sentence: str) -> bool:
    if len(sentence) > _CLOSING_MAX_CHARS:
        return False
    # One to six words, every one a closing token; most endings fail at the first word.
    words = 0
    for raw in sentence.split():
        word = raw.strip(".,;:!?()-'\"").lower()
        if not word:
            continue
        words += 1
        if words > 6 or word not in CLOSING_TOKENS:
            return False
    return words > 0


def end_class(
    valences: Sequence[float],
    labels: Sequence[str],
    words: int,
    rule: ValenceRule,
) -> str:
    """How an interaction ended, from its ending sentences.

    Parameters
    ----------
    valences, labels:
        Valence and calibrated label of each sentence of the ending window, in order.
    words:
        Words in the ending window.
    rule:
        The end rule of the backend and language.

    Returns
    -------
    str
        ``negative``, ``neutral``, ``positive`` or ``undecided``: mixed (one ending
        sentence negative and another positive) or too short (no word, or a single
        word the end rule reads as neutral).
    """
    if not valences or words == 0:
        return "undecided"
    if "negative" in labels and "positive" in labels:
        return "undecided"
    mean = sum(valences) / len(valences)
    decided = rule.classify_valence(mean)
    if words < 2 and decided == "neutral":
        return "undecided"
    return decided
