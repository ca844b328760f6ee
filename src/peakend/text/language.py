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
    return _decide([t for t in tokens if t[:1].isalpha()], default)


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
