"""Tell Dutch from English, offline and fast.

peakend reads Dutch and English only, so language identification is a two-way choice:
count the function words of each language (they make up about half of any sentence),
and fall back on letter pairs typical of each (``ij``, ``oe``, ``sch`` against ``th``,
``wh``, ``ing``) when a comment has none, as in "Super geholpen!". A comment with no
letters at all (emoji only, digits) gets ``None``.
"""

from __future__ import annotations

import re
from typing import Final, Literal

Lang = Literal["nl", "en"]
LANGUAGES: Final = ("nl", "en")

_WORD = re.compile(r"[^\W\d_]+(?:'[a-z]+)?", re.UNICODE)

_NL: Final = frozenset(
    """de het een en van ik je jij u uw mijn is was zijn ben bent heb hebt heeft hebben had
    niet geen wel ook nog maar dat die dit deze er op aan met voor naar bij uit om te tot
    als dan of want omdat wat wie waar hoe waarom wanneer nu al toch weer heel erg zeer
    veel echt gewoon even graag we wij ze zij hij hun ons onze mij me kan kun kunt kon
    moet moest wil wilde zou zal word wordt werd worden geweest gaat ging over door
    alles niets niks iets nooit altijd keer mee hier daar zo nee ja bedankt dank goed""".split()
)
_EN: Final = frozenset(
    """the a an and of i you your my is was are be been am have has had not no don't
    didn't doesn't isn't wasn't can't won't it's i'm i've also still but that this these
    those there on at with for to from by out about as than or because what who where how
    why when now already again very really just even please we they he she them our me
    can could would should will shall must do does did get got go went all nothing
    something never always time here so yes thanks thank good""".split()
)
_NL_PAIRS: Final = ("ij", "oe", "aa", "ee", "uu", "sch", "cht", "eu", "ui", "oo")
_EN_PAIRS: Final = ("th", "wh", "ing", "ck", "sh", "ea", "ou", "ay", "ly ")
# Word shapes: Dutch past participles (ge...d/t/en) and suffixes; English -ed/-ly/-tion.
_NL_SHAPE = re.compile(r"^(ge\w{3,}(en|d|t)|\w+(heid|lijk|tje|isch|ig))$")
_EN_SHAPE = re.compile(r"^\w+(ed|ly|tion|ness|ful|ous|ies)$")


def detect_language(text: str, *, default: Lang = "en") -> Lang | None:
    """The language of ``text``: ``'nl'`` or ``'en'``; ``None`` if it has no letters.

    ``default`` decides a text with no clue either way (a single unknown word).
    """
    return _decide([w.lower() for w in _WORD.findall(text)], default)


def detect_language_tokens(tokens: list[str], *, default: Lang = "en") -> Lang | None:
    """:func:`detect_language` on lower-cased word tokens a caller already has."""
    # Function words are letters only, so punctuation and emoji tokens cannot change
    # their counts: most comments are decided before the tokens are filtered.
    nl = len(_NL.intersection(tokens))
    en = len(_EN.intersection(tokens))
    if nl != en:
        return "nl" if nl > en else "en"
    return _decide([t for t in tokens if t[:1].isalpha()], default)


def detect_sentence_languages(
    sentences: list[list[str]],
) -> tuple[Lang | None, list[Lang | None]]:
    """The language of a comment and of each of its sentences, from their tokens.

    The same answers as :func:`detect_language_tokens` on all the comment's tokens and
    then on each sentence's (defaulting to the comment's language), with the function
    words of each sentence looked up once for both.
    """
    nl_words = [_NL.intersection(tokens) for tokens in sentences]
    en_words = [_EN.intersection(tokens) for tokens in sentences]
    nl, en = len(set().union(*nl_words)), len(set().union(*en_words))
    if nl != en:
        comment: Lang | None = "nl" if nl > en else "en"
    else:
        letters = [t for tokens in sentences for t in tokens if t[:1].isalpha()]
        comment = _decide(letters, "en")
    default = comment or "en"
    langs: list[Lang | None] = []
    for tokens, nl_found, en_found in zip(sentences, nl_words, en_words, strict=True):
        if len(nl_found) != len(en_found):
            langs.append("nl" if len(nl_found) > len(en_found) else "en")
        else:
            langs.append(_decide([t for t in tokens if t[:1].isalpha()], default))
    return comment, langs


def _decide(words: list[str], default: Lang) -> Lang | None:
    if not words:
        return None
    nl = len(_NL.intersection(words))
    en = len(_EN.intersection(words))
    if nl != en:
        return "nl" if nl > en else "en"
    nl_shapes = sum(bool(_NL_SHAPE.match(w)) for w in words)
    en_shapes = sum(bool(_EN_SHAPE.match(w)) for w in words)
    if nl_shapes != en_shapes:
        return "nl" if nl_shapes > en_shapes else "en"
    joined = " ".join(words) + " "
    nl_pairs = sum(joined.count(p) for p in _NL_PAIRS)
    en_pairs = sum(joined.count(p) for p in _EN_PAIRS)
    if nl_pairs != en_pairs:
        return "nl" if nl_pairs > en_pairs else "en"
    return default
