"""The label head: negative / neutral / positive from an embedding and the lexicon.

The valence head ranks comments well, but one three-class decision on top of it
cannot serve text whose share of neutral sentences differs: Reddit comments
(GoEmotions) are 38 % neutral, film lines (XED) and service complaints hardly ever.
The label head therefore reads *what kind of text* a sentence is before deciding:

* a **gate** (a softmax over genres: social posts, film and dialogue lines, customer
  service) says how much a sentence resembles each kind of annotated text;
* one **expert** per genre (a multinomial logistic regression) gives the class
  probabilities that kind of text implies, with the class shares it really has;
* the label probabilities are the experts' probabilities mixed by the gate.

Both read the sentence's multilingual-e5-small embedding and four lexicon features
(:func:`lexicon_features`). Applying the head is a few matrix products: free next to
the embedding. It is trained by ``python -m peakend.text.train`` and shipped as
``heads/labels.npz``; the calibrated label rule (:mod:`peakend.text.calibration`)
reads its probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from peakend.errors import ModelError
from peakend.text.heads import shipped_bytes

Array = NDArray[np.float64]

LEXICON_FEATURES = ("lexicon_valence", "lexicon_strength", "lexicon_silent", "lexicon_end")
"""The lexicon features appended to the embedding, in column order."""


def lexicon_features(valence: Array, end_valence: Array) -> Array:
    """The lexicon features of texts from their lexicon valence and ending valence.

    The valence itself, its strength (absolute value), whether the lexicon found no
    word at all (valence exactly zero: no evidence, which is not the same as a
    balanced text) and the valence of the ending. NaN (no text) counts as zero.
    """
    value = np.nan_to_num(np.asarray(valence, dtype=np.float64))
    end = np.nan_to_num(np.asarray(end_valence, dtype=np.float64))
    return np.column_stack([value, np.abs(value), (value == 0).astype(np.float64), end])


def _softmax(scores: Array) -> Array:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    result: Array = exp / exp.sum(axis=1, keepdims=True)
    return result


@dataclass(frozen=True)
class LabelHead:
    """A gated mixture of linear three-class experts.

    Attributes
    ----------
    genres:
        The kinds of annotated text, one per expert (gate column order).
    gate_weights, gate_bias:
        ``(len(genres), d)`` and ``(len(genres),)``: the gate's softmax.
    expert_weights, expert_bias:
        ``(len(genres), 3, d)`` and ``(len(genres), 3)``: each expert's softmax over
        negative, neutral, positive (a class an expert never saw has bias -30).
    """

    genres: tuple[str, ...]
    gate_weights: Array
    gate_bias: Array
    expert_weights: Array
    expert_bias: Array

    def gate(self, features: NDArray[np.floating]) -> Array:
        """How much each row resembles each genre (rows sum to one)."""
        x = np.asarray(features, dtype=np.float64)
        return _softmax(x @ self.gate_weights.T + self.gate_bias)

    def predict_proba(self, features: NDArray[np.floating]) -> Array:
        """P(negative), P(neutral), P(positive) of each row of ``[embedding, lexicon
        features]``."""
        x = np.asarray(features, dtype=np.float64)
        if x.shape[1] != self.gate_weights.shape[1]:
            raise ModelError(
                f"the label head reads {self.gate_weights.shape[1]} features per text, got "
                f"{x.shape[1]}: pass the embedding followed by lexicon_features()"
            )
        gate = self.gate(x)
        out = np.zeros((x.shape[0], 3))
        for k in range(len(self.genres)):
            scores = x @ self.expert_weights[k].T + self.expert_bias[k]
            out += gate[:, [k]] * _softmax(scores)
        return out

    def save(self, path: Path) -> None:
        """Write the head as a compressed ``.npz``."""
        np.savez_compressed(
            path,
            genres=np.array(self.genres),
            gate_weights=self.gate_weights.astype(np.float32),
            gate_bias=self.gate_bias.astype(np.float32),
            expert_weights=self.expert_weights.astype(np.float32),
            expert_bias=self.expert_bias.astype(np.float32),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> LabelHead:
        """Read a head written by :meth:`save`."""
        with np.load(BytesIO(data), allow_pickle=False) as npz:
            return cls(
                genres=tuple(str(g) for g in npz["genres"]),
                gate_weights=npz["gate_weights"].astype(np.float64),
                gate_bias=npz["gate_bias"].astype(np.float64),
                expert_weights=npz["expert_weights"].astype(np.float64),
                expert_bias=npz["expert_bias"].astype(np.float64),
            )


@cache
def load_label_head() -> LabelHead:
    """The shipped label head (``peakend/text/heads/labels.npz``)."""
    data = shipped_bytes("labels.npz", "the label head", "python -m peakend.text.train")
    return LabelHead.from_bytes(data)
