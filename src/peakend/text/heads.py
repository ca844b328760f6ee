"""Small linear classification heads on top of sentence embeddings.

Each head is a logistic regression trained by ``peakend.text.train`` and shipped as a
``.npz`` file inside the package (a few kilobytes: a weight matrix, a bias, the label
names). Applying one is a matrix product, so the heads cost nothing next to the
embedding itself.

* ``emotion``: softmax over :data:`~peakend.text.labels.EMOTIONS`.
* ``valence``: softmax over negative/neutral/positive; valence = P(pos) - P(neg).
* ``pillars``: one sigmoid per pillar, each with its own decision threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from io import BytesIO
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from peakend.errors import ModelError

HEAD_NAMES = ("emotion", "valence", "pillars")

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Head:
    """A linear head: ``scores = X @ weights.T + bias``, then softmax or sigmoid.

    Attributes
    ----------
    labels:
        Output names, in column order.
    weights:
        ``(len(labels), 384)`` weights.
    bias:
        ``(len(labels),)`` intercepts.
    kind:
        ``'softmax'`` (one label per text) or ``'sigmoid'`` (independent labels).
    thresholds:
        Decision thresholds for sigmoid heads (0.5 where not tuned).
    """

    labels: tuple[str, ...]
    weights: Array
    bias: Array
    kind: str
    thresholds: Array

    def predict_proba(self, embeddings: NDArray[np.floating]) -> Array:
        """Probabilities, one row per embedding and one column per label."""
        scores = np.asarray(embeddings, dtype=np.float64) @ self.weights.T + self.bias
        if self.kind == "sigmoid":
            result: Array = 1.0 / (1.0 + np.exp(-scores))
            return result
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        normalised: Array = exp / exp.sum(axis=1, keepdims=True)
        return normalised

    def save(self, path: Path) -> None:
        """Write the head as a compressed ``.npz``."""
        np.savez_compressed(
            path,
            labels=np.array(self.labels),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            kind=np.array(self.kind),
            thresholds=self.thresholds.astype(np.float32),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Head:
        """Read a head written by :meth:`save`."""
        with np.load(BytesIO(data), allow_pickle=False) as npz:
            return cls(
                labels=tuple(str(x) for x in npz["labels"]),
                weights=npz["weights"].astype(np.float64),
                bias=npz["bias"].astype(np.float64),
                kind=str(npz["kind"]),
                thresholds=npz["thresholds"].astype(np.float64),
            )


@cache
def load_head(name: str) -> Head:
    """The shipped head called ``name`` (``emotion``, ``valence`` or ``pillars``)."""
    if name not in HEAD_NAMES:
        raise ModelError(f"unknown head {name!r}; the shipped heads are {', '.join(HEAD_NAMES)}")
    data = shipped_bytes(f"{name}.npz", f"the {name} head", "python -m peakend.text.train")
    return Head.from_bytes(data)


def shipped_bytes(filename: str, what: str, rebuild: str) -> bytes:
    """A file shipped in ``peakend/text/heads``, or a ModelError saying how to restore it."""
    try:
        return resources.files("peakend.text").joinpath("heads", filename).read_bytes()
    except FileNotFoundError:
        raise ModelError(
            f"{what} is missing from the installed package; reinstall peakend "
            f"or rebuild it with `{rebuild}`"
        ) from None
