"""What the contacts of a hidden moment say: distinctive words and emotion.

* **Distinctive words** of the contacts in a window against all other contacts:
  log-odds ratios with an informative Dirichlet prior (Monroe, Colaresi &
  Quinn 2008, "Fightin' Words"), ranked by their z-score.
* **Emotion** of those contacts through :func:`peakend.text.default_scores`
  (the scorer every command uses, so a comment has one valence everywhere), when
  the text module is importable; the words stand in when it is not.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import ibis

from peakend.errors import PeakendError
from peakend.summary import Estimate

Z_95 = 1.959964

_STOPWORDS = frozenset(
    """de het een en van ik je u wij we mijn is dat die in op te met voor niet wel of
    er aan bij als om ook dan nog maar kan heb wat hoe waarom wanneer was zijn deze dit
    the a an and of to in is it i my me you we for on with that this be are was not or
    at as but can do have what how why when""".split()
)
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


@dataclass(frozen=True)
class Word:
    """A word that sets a window's contacts apart: its count there and log-odds z-score."""

    word: str
    count: int
    z: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"word": self.word, "count": self.count, "z": self.z}


def tokens(text: str) -> list[str]:
    """Lower-case words of three letters or more, without common Dutch/English stop words."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def distinctive_words(
    target: Counter[str], background: Counter[str], *, top: int = 8, prior: float = 1000.0
) -> list[Word]:
    """Words over-represented in ``target`` against ``background`` (texts with counts).

    Log-odds ratio with an informative Dirichlet prior whose mean is the pooled
    word distribution and whose strength is ``prior`` tokens; words with z > 1.96.
    """
    t = _word_counts(target)
    b = _word_counts(background)
    pooled = t + b
    n_t, n_b, n_all = sum(t.values()), sum(b.values()), sum(pooled.values())
    if not n_t or not n_b:
        return []
    words = []
    for w, total in pooled.items():
        a = prior * total / n_all
        yt, yb = t.get(w, 0), b.get(w, 0)
        delta = math.log((yt + a) / (n_t + prior - yt - a)) - math.log(
            (yb + a) / (n_b + prior - yb - a)
        )
        z = delta / math.sqrt(1 / (yt + a) + 1 / (yb + a))
        if z > Z_95 and yt > 0:
            words.append(Word(w, yt, round(z, 2)))
    return sorted(words, key=lambda x: -x.z)[:top]


def _word_counts(texts: Counter[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text, n in texts.items():
        for w in tokens(text):
            counts[w] += n
    return counts


def window_texts(
    pairs: ibis.Table, windows: ibis.Table
) -> tuple[dict[int, Counter[str]], Counter[str]]:
    """Verbatims (with counts) of each window's contacts, and of every contact in the pairs.

    The background is every contact that lies within the horizon after some
    anchor, each counted once (pairs repeat a contact for each anchor).
    """
    with_text = pairs.filter(pairs.text.notnull() & (pairs.text != ""))
    j = with_text.join(windows, "anchor")
    j = j.filter((j.offset >= j["first"]) & (j.offset <= j["last"]))
    inside = j.group_by(["window_id", "text"]).aggregate(n=j.count()).to_pyarrow().to_pylist()
    if not inside:
        return {}, Counter()
    once = with_text.select("journey_id", "contact", "contact_ts", "text").distinct()
    rows = once.group_by("text").aggregate(n=once.count()).to_pyarrow().to_pylist()
    everything = Counter({r["text"]: int(r["n"]) for r in rows})
    per_window: dict[int, Counter[str]] = {}
    for r in inside:
        per_window.setdefault(int(r["window_id"]), Counter())[r["text"]] += int(r["n"])
    return per_window, everything


def window_words(
    per_window: dict[int, Counter[str]], everything: Counter[str], *, top: int = 8
) -> dict[int, list[Word]]:
    """Distinctive words of each window's contacts against all other contact texts."""
    return {i: distinctive_words(c, everything - c, top=top) for i, c in per_window.items()}


@dataclass(frozen=True)
class WindowEmotion:
    """How the contacts in a window feel: mean valence and the most common emotions.

    From :func:`peakend.text.default_scores` (the default scorer) on the window's
    verbatims; ``emotions`` holds the three most frequent top emotions with
    Wilson intervals.
    """

    backend: str
    n: int
    valence: Estimate
    emotions: dict[str, Estimate]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "backend": self.backend,
            "n": self.n,
            "valence": self.valence.to_dict(),
            "emotions": {k: v.to_dict() for k, v in self.emotions.items()},
        }


def window_emotions(
    per_window: dict[int, Counter[str]], *, max_texts: int = 5_000
) -> dict[int, WindowEmotion]:
    """Emotion of each window's verbatims, when :mod:`peakend.text` is available.

    Counts above ``max_texts`` are scaled down proportionally (each distinct
    text kept at least once), which keeps the shares and bounds the work.
    Returns an empty mapping when the text module cannot be imported.
    """
    try:
        from peakend.text import default_scores
    except ImportError:  # the text extra is optional: the words stand in
        return {}
    result = {}
    for i, texts in per_window.items():
        total = sum(texts.values())
        factor = min(1.0, max_texts / total) if total else 1.0
        batch = [t for t, n in texts.items() for _ in range(max(1, round(n * factor)))]
        try:
            scores = default_scores(batch)
        except PeakendError:
            continue
        shares = scores.emotion_shares()
        top = sorted(shares, key=lambda e: -(shares[e].value or 0.0))[:3]
        result[i] = WindowEmotion(
            scores.backend, scores.n, scores.valence(), {e: shares[e] for e in top}
        )
    return result
