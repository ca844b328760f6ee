"""The label head: what it ships, how it mixes its experts, and the labels it gives."""

from pathlib import Path

import numpy as np
import pytest

from peakend.errors import ModelError
from peakend.text import score_comments
from peakend.text.calibrate import macro_f1
from peakend.text.corpora import read_cx
from peakend.text.label_head import (
    LEXICON_FEATURES,
    LabelHead,
    lexicon_features,
    load_label_head,
)
from peakend.text.labels import VALENCE_CLASSES
from peakend.text.train import split_cx

CX = Path(__file__).parents[2] / "data" / "cx_sentences" / "cx_sentences.tsv"
DIM = 384 + len(LEXICON_FEATURES)


def test_the_shipped_head_loads_with_a_gate_and_one_expert_per_genre() -> None:
    head = load_label_head()
    assert head.genres == ("social", "dialogue", "service")
    assert head.gate_weights.shape == (3, DIM)
    assert head.expert_weights.shape == (3, len(VALENCE_CLASSES), DIM)
    rng = np.random.default_rng(0)
    proba = head.predict_proba(rng.normal(size=(5, DIM)))
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_the_mixture_is_the_experts_weighted_by_the_gate() -> None:
    eye = np.eye(2)
    head = LabelHead(
        ("a", "b"),
        gate_weights=np.array([[4.0, 0.0], [0.0, 4.0]]),
        gate_bias=np.zeros(2),
        expert_weights=np.zeros((2, 3, 2)),
        expert_bias=np.array([[0.0, 2.0, 0.0], [2.0, -30.0, 0.0]]),
    )
    proba = head.predict_proba(eye)
    gate = head.gate(eye)
    first = np.exp([0.0, 2.0, 0.0]) / np.exp([0.0, 2.0, 0.0]).sum()
    second = np.exp([2.0, -30.0, 0.0]) / np.exp([2.0, -30.0, 0.0]).sum()
    assert np.allclose(proba[0], gate[0, 0] * first + gate[0, 1] * second)
    assert gate[0, 0] > 0.9 and gate[1, 1] > 0.9
    assert proba[1, 1] < 0.1  # the second expert (no neutral class) dominates row two


def test_features_of_the_wrong_width_are_refused() -> None:
    with pytest.raises(ModelError, match="lexicon_features"):
        load_label_head().predict_proba(np.zeros((1, 384)))


def test_lexicon_features_mark_texts_without_evidence() -> None:
    features = lexicon_features(np.array([0.5, 0.0, np.nan]), np.array([-0.2, 0.0, np.nan]))
    assert features.tolist() == [[0.5, 0.5, 0.0, -0.2], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0]]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("De factuur klopt niet.", "negative"),
        ("Ik heb drie keer gebeld en niemand belt terug.", "negative"),
        ("I waited an hour and nobody called me back.", "negative"),
        ("Super geholpen! Dank je wel.", "positive"),
        ("The engineer was friendly and fixed it quickly.", "positive"),
    ],
)
def test_known_sentences_get_their_label(text: str, label: str) -> None:
    (comment,) = score_comments([text]).comments
    assert comment.valence_class == label


def test_held_out_service_sentences() -> None:
    """The CX sentences no head, setting or rule was fitted on (the training script's
    held-out pairs): macro-F1 and share negative of the calibrated labels near the
    figures in docs/text.md (0.86 and 0.82; 55 % and 59 % negative against 55 %
    annotated, English and Dutch); the bars leave room for another engine and for the
    noise of 156 sentences."""
    examples = read_cx(CX)
    _, test = split_cx(examples)
    held_out = [examples[i] for i in test]
    comments = score_comments([e.text for e in held_out]).comments
    gold = np.array([VALENCE_CLASSES.index(str(e.valence)) for e in held_out])
    predicted = np.array([VALENCE_CLASSES.index(str(c.valence_class)) for c in comments])
    assert macro_f1(gold, predicted) >= 0.70
    assert abs(float((predicted == 0).mean()) - float((gold == 0).mean())) <= 0.10
