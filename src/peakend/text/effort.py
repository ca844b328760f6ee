"""Effort signals in Dutch and English comments: what customers had to *do*.

Effort is one of the three components of an experience (success, effort, emotion;
Temkin, seed 003) and the "time & effort" pillar (seed 001). Customers report it in
countable ways, which patterns catch more reliably than a classifier:

* ``repeat_contact``: "third time I call", "voor de derde keer gebeld", "4 mails gestuurd"
* ``waiting``: "waited 40 minutes", "een uur in de wacht", "drie weken wachten"
* ``transfer``: "doorverbonden", "transferred", "van het kastje naar de muur"
* ``repeat_information``: "mijn verhaal opnieuw vertellen", "fill everything in again"
* ``no_response``: "geen antwoord", "no reply", "never called back"

Each signal carries the matched words and, where the comment says it, an amount:
minutes for waiting, the number of contacts for repeats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Final, NamedTuple

_NUMBERS: Final = {
    "een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7,
    "acht": 8, "negen": 9, "tien": 10, "twintig": 20, "dertig": 30, "veertig": 40,
    "vijftig": 50, "half": 0.5, "halve": 0.5, "anderhalf": 1.5, "anderhalve": 1.5,
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50,
}  # fmt: skip
_ORDINALS: Final = {
    "tweede": 2, "derde": 3, "vierde": 4, "vijfde": 5, "zesde": 6, "zevende": 7, "achtste": 8,
    "tiende": 10, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "tenth": 10, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6,
}  # fmt: skip
_MINUTES: Final = {
    "sec": 1 / 60, "seconden": 1 / 60, "seconds": 1 / 60, "min": 1.0, "minuut": 1.0,
    "minuten": 1.0, "minute": 1.0, "minutes": 1.0, "mins": 1.0, "kwartier": 15.0,
    "uur": 60.0, "uren": 60.0, "hour": 60.0, "hours": 60.0, "hrs": 60.0, "dag": 1440.0,
    "dagen": 1440.0, "day": 1440.0, "days": 1440.0, "week": 10080.0, "weken": 10080.0,
    "weeks": 10080.0, "maand": 43200.0, "maanden": 43200.0, "month": 43200.0,
    "months": 43200.0,
}  # fmt: skip

_NUM = r"(\d+(?:[.,]\d+)?|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + ")"
_UNIT = r"(" + "|".join(sorted(_MINUTES, key=len, reverse=True)) + r")\b"
_ORD = r"(" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + ")"
_CONTACT = (
    r"(?:bel|gebeld|belde|bellen|contact|gemaild|mail|mails|e-?mails?|chat|gechat|"
    r"calls?|called|calling|ring|rang|rung|emailed|messages?|berichten|klachten?|"
    r"geprobeerd|tried|bereiken|reach)"
)

# Words every pattern needs, as plain lower-case text: a sentence without any of them
# cannot match, so the pattern is not tried.
_CONTACT_WORDS = tuple(
    "bel contact mail chat call ring rang rung message berichten klacht geprobeerd tried "
    "bereiken reach".split()
)
_AGAIN = ("weer", "opnieuw", "again")
_WAIT_WORDS = ("wacht", "hold", "wait", "lijn", "line")


class _Pattern(NamedTuple):
    """One effort pattern, compiled for lower-cased ASCII text and for any text.

    ``re.IGNORECASE`` folds the case of every character it compares, which makes a
    search several times slower. Lower-casing an ASCII sentence keeps each character in
    its place and gives the same matches to the case-sensitive ``lowered`` pattern, so
    the match's span still points into the sentence; other text takes ``folding``.
    ``needles`` (case-sensitive, on the lower-cased sentence) holds words every match
    contains.
    """

    kind: str
    needles: re.Pattern[str]
    lowered: re.Pattern[str]
    folding: re.Pattern[str]


def _compiled(kind: str, needles: tuple[str, ...], pattern: str) -> _Pattern:
    """Patterns and needles are written in lower case (a test checks it)."""
    return _Pattern(
        kind,
        re.compile("|".join(needles)),
        re.compile(pattern),
        re.compile(pattern, re.IGNORECASE),
    )


_PATTERNS: Final[tuple[_Pattern, ...]] = tuple(
    _compiled(kind, needles, pattern)
    for kind, needles, pattern in (
        ("repeat_contact", ("keer", "time"),
         rf"\b(?:voor\s+)?de\s+{_ORD}\s+keer\b|\b(?:the\s+)?{_ORD}\s+time\b"),
        ("repeat_contact", ("keer", "keren", "time"),
         rf"\b{_NUM}\s+(?:keer|keren|times)\b(?=[^.!?]{{0,40}}{_CONTACT})"),
        ("repeat_contact", _CONTACT_WORDS, rf"\b{_NUM}\s+{_CONTACT}\b"),
        ("repeat_contact", _AGAIN, rf"\b(?:alweer|opnieuw|weer|again)\b[^.!?]{{0,20}}{_CONTACT}"),
        ("repeat_contact", _AGAIN, rf"\b{_CONTACT}\b[^.!?]{{0,25}}\b(?:alweer|opnieuw|again)\b"),
        ("waiting", _WAIT_WORDS,
                    rf"\b{_NUM}\s+{_UNIT}[^.!?]{{0,30}}\b(?:gewacht|wachten|in de wacht|"
                    rf"wachttijd|on hold|waiting|waited|wait|aan de lijn|on the line)"),
        ("waiting", _WAIT_WORDS,
                    rf"\b(?:gewacht|wachten|in de wacht|wachttijd|on hold|waited|waiting|"
                    rf"wait|aan de lijn|on the line)\b[^.!?]{{0,20}}?\b{_NUM}\s+{_UNIT}"),
        ("waiting", ("wacht", "hold", "queue"),
         r"\b(?:in de wacht|on hold|wachtrij|queue|wachttijd)\b"),
        ("transfer", ("doorverbonden", "doorgeschakeld", "doorgestuurd", "transferred", "passed",
                      "put", "kastje", "pillar"),
                     r"\b(?:doorverbonden|doorgeschakeld|doorgestuurd|transferred|"
                     r"passed (?:on|around)|put through)\b|kastje naar de muur|"
                     r"pillar to post"),
        ("repeat_information", ("opnieuw", "weer", "again", "nogmaals"),
                               r"\b(?:opnieuw|weer|alweer|again|nogmaals)\b[^.!?]{0,30}"
                               r"(?:vertellen|uitleggen|invullen|uploaden|opgeven|explain|"
                               r"fill|upload|enter|give)"),
        ("repeat_information", ("opnieuw", "again", "from the start"),
                               r"(?:vertellen|uitleggen|invullen|uploaden|explain|fill|"
                               r"upload)[^.!?]{0,30}\b(?:opnieuw|again|from the start)\b"),
        ("no_response", ("antwoord", "reactie", "teruggebeld", "reply", "response", "answer",
                         "back", "niemand"),
                        r"\b(?:geen (?:antwoord|reactie)|nooit teruggebeld|niet teruggebeld|"
                        r"no (?:reply|response|answer)|never (?:called|got) back|"
                        r"niemand (?:belt|nam op|reageert))\b"),
    )
)  # fmt: skip
EFFORT_TRIGGERS: Final = frozenset(
    """keer keren time times wacht gewacht wachten wachtrij wachttijd hold waited waiting
    wait queue lijn line doorverbonden doorgeschakeld doorgestuurd transferred passed put
    kastje pillar opnieuw weer alweer again nogmaals antwoord reactie teruggebeld reply
    response answer back niemand call klacht message email emails""".split()
    + [w for w in re.findall(r"\w+", _CONTACT) if len(w) > 2]
)
"""Every pattern needs one of these words; most comments have none and skip the patterns."""
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class EffortSignal:
    """One report of customer effort.

    Attributes
    ----------
    kind:
        ``repeat_contact``, ``waiting``, ``transfer``, ``repeat_information`` or
        ``no_response``.
    text:
        The words that matched.
    amount:
        Minutes waited (``waiting``) or the number of contacts (``repeat_contact``),
        when the comment states it; else ``None``.
    """

    kind: str
    text: str
    amount: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON."""
        return asdict(self)


def find_effort(text: str, tokens: Iterable[str] | None = None) -> tuple[EffortSignal, ...]:
    """The effort signals in ``text``, one per kind (the first match), in pattern order.

    ``tokens`` (lower-cased words of ``text``), when the caller has them, saves a pass.
    """
    words = tokens if tokens is not None else _WORDS.findall(text.lower())
    if EFFORT_TRIGGERS.isdisjoint(words):
        return ()
    # Almost every comment is ASCII: its lower-cased text is searched case-sensitively.
    lowered = text.lower() if text.isascii() else None
    signals: dict[str, EffortSignal] = {}
    for kind, needles, plain, folding in _PATTERNS:
        if kind in signals:
            continue
        if lowered is None:
            match = folding.search(text)
        elif needles.search(lowered):
            match = plain.search(lowered)
        else:
            continue
        if match:
            matched = text[match.start() : match.end()].strip()
            signals[kind] = EffortSignal(kind, matched, _amount(kind, match))
    return tuple(signals.values())


def _amount(kind: str, match: re.Match[str]) -> float | None:
    groups = [g.lower() for g in match.groups() if g]
    if kind == "waiting":
        numbers = [_number(g) for g in groups if _number(g) is not None]
        units = [_MINUTES[g] for g in groups if g in _MINUTES]
        if numbers and units:
            return round(float(numbers[0] or 0.0) * units[0], 2)
        return None
    if kind == "repeat_contact":
        for group in groups:
            if group in _ORDINALS:
                return float(_ORDINALS[group])
            number = _number(group)
            if number is not None:
                return number
    return None


def _number(token: str) -> float | None:
    if token in _NUMBERS:
        return float(_NUMBERS[token])
    try:
        return float(token.replace(",", "."))
    except ValueError:
        return None
