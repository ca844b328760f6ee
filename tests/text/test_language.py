"""Dutch/English detection and sentence splitting."""

import pytest

from peakend.text.language import (
    detect_language,
    detect_language_tokens,
    detect_sentence_languages,
)
from peakend.text.lexicon import LexiconValence
from peakend.text.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ik twijfel of ik wel de juiste keuze heb gemaakt", "nl"),
        ("De factuur klopt niet", "nl"),
        ("Super geholpen!", "nl"),
        ("Bedankt", "nl"),
        ("This is the third time I call", "en"),
        ("Not bad", "en"),
        ("Waited 40 minutes", "en"),
        ("Helpful", "en"),
    ],
)
def test_detects_dutch_and_english(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_text_without_letters_has_no_language() -> None:
    assert detect_language("😀😀 !!") is None
    assert detect_language("") is None
    assert detect_language_tokens(["😀", "!"]) is None


def test_undecided_word_takes_the_default() -> None:
    assert detect_language("Xyz", default="nl") == "nl"


def test_sentences_split_on_end_marks_and_line_breaks() -> None:
    text = "Ik heb 3 keer gebeld, bijv. gisteren. Niemand nam op!! Uiteindelijk wel geholpen.\nDank"
    assert split_sentences(text) == [
        "Ik heb 3 keer gebeld, bijv. gisteren.",
        "Niemand nam op!!",
        "Uiteindelijk wel geholpen.",
        "Dank",
    ]


def test_decimals_and_lower_case_continuations_stay_together() -> None:
    assert split_sentences("It cost 2.5 euro. ok then.") == ["It cost 2.5 euro. ok then."]


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("   \n ") == []


@pytest.mark.parametrize(
    "sentences",
    [
        ["De factuur klopt niet.", "Thanks for nothing!"],
        ["Super geholpen!", "Xyz", "😀"],
        ["The app is fine", "maar de factuur niet", "Helpful"],
        ["Bedankt", "Thanks"],
        ["!!", "??"],
        ["Geholpen", "Waited"],
    ],
)
def test_sentence_languages_agree_with_detecting_each_one(sentences: list[str]) -> None:
    lexicon = LexiconValence()
    tokens = [lexicon.tokens(s) for s in sentences]
    comment, langs = detect_sentence_languages(tokens)
    assert comment == detect_language_tokens([t for ts in tokens for t in ts])
    assert langs == [detect_language_tokens(ts, default=comment or "en") for ts in tokens]
