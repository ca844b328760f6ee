"""Scoring comments with the lexicon backend: shapes, edge cases and bad input."""

import dataclasses
import gc
import math
import pickle

import numpy as np
import pytest

from peakend.errors import ConfigError, DataError
from peakend.text import EMOTIONS, MAX_CHARS, score_comments
from peakend.text.effort import EffortSignal
from peakend.text.scoring import CommentScore, SentenceScore, _comment_score, _sentence_score


def lexicon(texts: list[str | None], **kwargs: str):  # type: ignore[no-untyped-def]
    return score_comments(texts, backend="lexicon", **kwargs)  # type: ignore[arg-type]


def test_each_comment_gets_language_valence_emotions_and_sentences() -> None:
    result = lexicon(["De factuur klopt niet.", "Super geholpen! Dank je wel."])
    invoice, helped = result.comments
    assert invoice.lang == "nl" and invoice.valence is not None and invoice.valence < 0
    assert helped.valence is not None and helped.valence > 0
    assert len(helped.sentences) == 2
    assert set(invoice.emotions) == set(EMOTIONS)
    assert math.isclose(sum(invoice.emotions.values()), 1.0)
    assert "integrity" in invoice.pillars and invoice.pillars["integrity"] < 0


def test_the_end_is_scored_apart_from_the_peak() -> None:
    (comment,) = lexicon(
        ["Het was echt schandalig slecht en belachelijk. Uiteindelijk wel netjes opgelost."]
    ).comments
    assert comment.end_valence is not None and comment.end_valence > 0
    assert comment.peak_valence is not None and comment.peak_valence < 0


def test_mixed_language_comment_is_read_per_sentence() -> None:
    (comment,) = lexicon(
        ["De monteur kwam niet opdagen en niemand belde. The agent was very kind though."]
    ).comments
    assert [s.lang for s in comment.sentences] == ["nl", "en"]


def test_negation_in_both_languages() -> None:
    texts = ["Ik ben niet tevreden", "niet slecht", "not bad", "not happy at all"]
    valences = [c.valence for c in lexicon(texts).comments]
    assert valences[0] < 0 < valences[1]
    assert valences[3] < 0 < valences[2]
    assert lexicon(["Ik ben niet tevreden"]).comments[0].emotion == "disappointment"


def test_empty_and_missing_comments_have_no_valence() -> None:
    result = lexicon(["", "   ", None, "Prima"])
    assert [c.valence is None for c in result.comments] == [True, True, True, False]
    assert result.comments[0].emotion is None and result.comments[0].end_valence is None
    assert result.n == 1


def test_emoji_only_comment_is_scored_without_a_language() -> None:
    happy, angry = lexicon(["😀😀", "😡"]).comments
    assert happy.lang is None and happy.valence is not None and happy.valence > 0
    assert angry.valence is not None and angry.valence < 0


def test_very_long_comment_is_cut_and_marked() -> None:
    text = "De monteur was vriendelijk. " * 2000
    (comment,) = lexicon([text]).comments
    assert comment.truncated and len(comment.text) == MAX_CHARS
    assert comment.valence is not None and comment.valence > 0


def test_forced_language_overrides_detection() -> None:
    (comment,) = lexicon(["prima"], lang="nl").comments
    assert comment.lang == "nl" and comment.valence is not None and comment.valence > 0


def test_bytes_are_refused_with_a_hint() -> None:
    with pytest.raises(DataError, match="decode it first"):
        lexicon([b"caf\xe9"])  # type: ignore[list-item]


def test_undecodable_text_is_refused_with_a_hint() -> None:
    broken = b"caf\xe9 slecht".decode("utf-8", errors="surrogateescape")
    with pytest.raises(DataError, match="wrong encoding"):
        lexicon([broken])


def test_unknown_backend_or_language_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="backend"):
        score_comments(["x"], backend="bert")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="language"):
        score_comments(["x"], backend="lexicon", lang="fr")  # type: ignore[arg-type]


def test_shares_carry_intervals_and_json_is_plain_data() -> None:
    result = lexicon(["Super!", "Slecht.", "Prima geregeld.", ""])
    shares = result.emotion_shares()
    assert shares["joy"].n == 3 and shares["joy"].low is not None
    data = result.to_dict()
    assert data["n_scored"] == 3 and len(data["comments"]) == 4
    assert data["valence"]["n"] == 3


def test_progress_is_reported_per_batch() -> None:
    seen: list[int] = []
    texts = [f"Top {i}" for i in range(600)]
    lexicon_result = score_comments(texts, backend="lexicon", progress=seen.append)
    assert seen == [256, 512, 600] and len(lexicon_result.comments) == 600


def test_repeated_comments_are_scored_once_and_returned_in_order() -> None:
    result = lexicon(["Top", "Slecht", "Top"])
    assert result.comments[0] is result.comments[2]
    assert [c.text for c in result.comments] == ["Top", "Slecht", "Top"]


PILLAR_SENTENCES = {
    "personalisation": ("Ze kenden mijn naam en geschiedenis.", "They knew my name and history."),
    "integrity": ("Ze zijn hun belofte niet nagekomen.", "They never kept their promise."),
    "expectations": ("Veel later dan verwacht.", "Much later than expected."),
    "resolution": ("Het probleem is opgelost.", "The problem is solved."),
    "time_effort": ("Lang gewacht aan de telefoon.", "I waited on hold for ages."),
    "empathy": ("De medewerker was onvriendelijk.", "The agent was rude."),
}


@pytest.mark.parametrize("pillar", list(PILLAR_SENTENCES))
def test_each_pillar_in_dutch_and_english(pillar: str) -> None:
    for comment in lexicon(list(PILLAR_SENTENCES[pillar])).comments:
        assert pillar in comment.pillars, (comment.text, comment.pillars)


EMOTION_SENTENCES = {
    "anger": ("Ik ben woedend, dit is oplichterij!", "I'm furious, this is a scam!"),
    "frustration": ("Irritant, de app werkt weer niet.", "So annoying, the app is stuck again."),
    "worry": ("Ik ben bang dat mijn pakket kwijt is.", "I'm afraid my parcel is lost."),
    "uncertainty": ("Ik twijfel of dit klopt.", "I'm unsure whether this is right."),
    "disappointment": ("Helaas, erg teleurgesteld.", "Unfortunately I'm disappointed."),
    "joy": ("Heel blij, top geregeld!", "Very happy, great job!"),
    "trust": ("Bedankt, ik voelde me gehoord.", "Thank you, I felt heard."),
    "surprise": ("Ik was verrast, dat kwam onverwacht.", "I was surprised, totally unexpected."),
    "neutral": ("Mijn klantnummer is 123456.", "My customer number is 123456."),
}


@pytest.mark.parametrize("emotion", list(EMOTION_SENTENCES))
def test_each_emotion_cue_in_dutch_and_english(emotion: str) -> None:
    for comment in lexicon(list(EMOTION_SENTENCES[emotion])).comments:
        assert comment.emotion == emotion, (comment.text, comment.emotions)


def test_repr_is_short() -> None:
    assert repr(lexicon(["Top", ""])) == "CommentScores(2 comments, 1 with text, lexicon backend)"


def test_valence_only_path_matches_the_lexicon_backend() -> None:
    from peakend.text import lexicon_valence

    texts = ["De factuur klopt niet.", "Not bad at all!", "", None, "Slecht. Maar toch opgelost."]
    fast = lexicon_valence(texts)
    full = lexicon(texts).comments
    for value, comment in zip(fast, full, strict=True):
        if comment.valence is None:
            assert np.isnan(value)
        else:
            assert value == pytest.approx(comment.valence)
    ends = lexicon_valence(texts, end=True)
    assert ends[4] == pytest.approx(full[4].end_valence) and ends[4] > 0


def test_a_single_string_is_refused_with_a_hint() -> None:
    from peakend.text import lexicon_valence

    with pytest.raises(DataError, match=r"wrap it"):
        score_comments("Top", backend="lexicon")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"wrap it"):
        lexicon_valence("Top")  # type: ignore[arg-type]


def test_lexicon_scoring_leaves_the_cycle_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    score_comments(["Prima geholpen.", "Not good at all."], backend="lexicon")
    assert gc.isenabled()
    with pytest.raises(DataError):
        score_comments(["fine", b"\xff"], backend="lexicon")  # type: ignore[list-item]
    assert gc.isenabled()
    gc.disable()
    try:
        score_comments(["Prima geholpen."], backend="lexicon")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_fast_built_records_are_the_records_their_classes_build() -> None:
    signal = EffortSignal("waiting", "40 minutes on hold", 40.0)
    fields = ("Waited 40 minutes on hold.", "en", -0.3, "negative", {"anger": 1.0}, ("x",))
    sentence = _sentence_score(*fields, (signal,))
    assert type(sentence) is SentenceScore
    assert sentence == SentenceScore(*fields, (signal,))
    assert repr(sentence) == repr(SentenceScore(*fields, (signal,)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        sentence.valence = 0.0  # type: ignore[misc]
    values = (
        "t",
        "en",
        -0.3,
        "negative",
        {},
        {"x": -0.3},
        (signal,),
        (sentence,),
        True,
        "negative",
    )
    comment = _comment_score(*values, -0.3)
    assert type(comment) is CommentScore
    assert comment == CommentScore(*values, -0.3)
    assert comment.to_dict() == CommentScore(*values, -0.3).to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        comment.end_class = None  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(comment)) == comment
