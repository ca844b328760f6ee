"""Lexicon valence: Pattern's Dutch lexicon and VADER, with negation."""

import itertools

import pytest

from peakend.errors import ConfigError
from peakend.text import lexicon as lexicon_module
from peakend.text.lexicon import LexiconValence


@pytest.fixture(scope="module")
def lexicon() -> LexiconValence:
    return LexiconValence()


@pytest.mark.parametrize(
    ("text", "lang", "sign"),
    [
        ("Ik ben tevreden", "nl", 1),
        ("Ik ben niet tevreden", "nl", -1),
        ("Tevreden ben ik niet", "nl", -1),
        ("niet slecht", "nl", 1),
        ("De factuur klopt niet", "nl", -1),
        ("Het werkt niet", "nl", -1),
        ("Super geholpen!", "nl", 1),
        ("not bad", "en", 1),
        ("not good at all", "en", -1),
        ("The app doesn't work", "en", -1),
        ("I waited 40 minutes, terrible", "en", -1),
        ("Love it 😍", "en", 1),
        ("😡", "en", -1),
    ],
)
def test_valence_sign_with_negation(
    lexicon: LexiconValence, text: str, lang: str, sign: int
) -> None:
    assert lexicon.valence(text, lang) * sign > 0.05


def test_intensifiers_strengthen(lexicon: LexiconValence) -> None:
    assert lexicon.valence("heel slecht", "nl") < lexicon.valence("slecht", "nl") < 0
    assert lexicon.valence("very good", "en") > lexicon.valence("good", "en") > 0


def test_after_but_counts_more(lexicon: LexiconValence) -> None:
    assert lexicon.valence("Helaas duurde het lang, maar de medewerker was vriendelijk", "nl") > 0


def test_valence_is_bounded_and_zero_without_sentiment(lexicon: LexiconValence) -> None:
    assert lexicon.valence("Mijn klantnummer is 123456", "nl") == 0.0
    angry = " ".join(["slecht"] * 200)
    assert -1.0 <= lexicon.valence(angry, "nl") < -0.9


def test_unknown_language_is_a_config_error(lexicon: LexiconValence) -> None:
    with pytest.raises(ConfigError, match="'nl' or 'en'"):
        lexicon.valence("bonjour", "fr")


def test_negation_stops_at_the_end_of_its_clause(lexicon: LexiconValence) -> None:
    assert lexicon.valence("De monteur kwam niet opdagen, belachelijk.", "nl") < 0
    assert lexicon.valence("He did not show up, ridiculous.", "en") < 0
    assert lexicon.valence("Niet slecht.", "nl") > 0
    assert lexicon.valence("not bad", "en") > 0


def test_ascii_tokens_are_the_general_patterns_tokens() -> None:
    # Every ASCII character next to every other, on both sides, and next to a space.
    chars = [chr(i) for i in range(128)]
    for a, b in itertools.product(chars, repeat=2):
        text = f"{a}{b}{a} {b}"
        assert lexicon_module._ASCII_TOKEN.findall(text) == lexicon_module._TOKEN.findall(text)


def test_tokens_of_ascii_and_other_text(lexicon: LexiconValence) -> None:
    assert lexicon.tokens("Don't WAIT 40 min.!? 'Tja'") == [
        "don't", "wait", "40", "min", ".", "!", "?", "'tja'",
    ]  # fmt: skip
    assert lexicon.tokens("Café’s zijn dicht…") == ["café's", "zijn", "dicht", "…"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ik ben niet tevreden, maar de medewerker was heel erg vriendelijk", "nl"),
        ("Tevreden ben ik niet en het werkt niet", "nl"),
        ("Not good at all, but the agent was really very kind 😍", "en"),
        ("The app doesn't work", "en"),
        ("Mijn klantnummer is 123456", "nl"),
    ],
)
def test_scored_tokens_are_the_nonzero_word_scores(
    lexicon: LexiconValence, text: str, lang: str
) -> None:
    tokens = lexicon.tokens(text)
    positions, scores = lexicon.scored_tokens(tokens, lang)
    word_scores = lexicon.word_scores(tokens, lang)
    assert positions == sorted(positions)
    assert [word_scores[i] for i in positions] == scores
    assert all(word_scores[i] == 0.0 for i in set(range(len(tokens))) - set(positions))
    assert sum(scores) == sum(word_scores)
