"""Split a comment into sentences, so its end can be scored apart from its peak.

A rule-based splitter is enough for survey comments and chat turns: it breaks after
``.``, ``!``, ``?`` and ``…`` (runs of them too) followed by a space and a capital,
digit, quote or emoji, and at line breaks; it keeps common Dutch and English
abbreviations ("bijv.", "o.a.", "e.g.", "Mr.") and decimals ("2.5") together.
"""

from __future__ import annotations

import re
from typing import Final

_ABBREVIATIONS: Final = frozenset(
    """bijv b.v o.a d.w.z m.b.t i.v.m t.z.t z.s.m ca incl excl etc nr dhr mevr mw
    e.g i.e mr mrs ms dr vs approx no st""".split()
)
_BOUNDARY = re.compile(r"([.!?…]+)[\"')\]]*\s+|\s*[\r\n]+\s*")
# The same without line breaks: most comments are one line, and the line-break branch,
# which may start at any space, triples the cost of the scan. Written to start with a
# character set (not a repeat of one), the pattern lets the search skip to the next end
# mark instead of trying a match at every character: half the cost.
_END_MARK = re.compile(r"([.!?…][.!?…]*)[\"')\]]*\s+")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, in order; an empty text gives ``[]``."""
    sentences: list[str] = []
    start = 0
    boundary = _BOUNDARY if "\n" in text or "\r" in text else _END_MARK
    for match in boundary.finditer(text):
        end = match.end()
        mark = match.group(1)  # None at a line break, which always ends a sentence
        if mark and end < len(text) and not _starts_sentence(text[end]):
            continue
        if mark == "." and _ends_with_abbreviation(text[start : match.start()].strip()):
            continue
        chunk = text[start:end].strip()
        if chunk:
            sentences.append(chunk)
        start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_with_abbreviation(piece: str) -> bool:
    last = piece.rsplit(maxsplit=1)[-1].lower() if piece else ""
    return last.rstrip(".") in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def _starts_sentence(char: str) -> bool:
    return char.isupper() or char.isdigit() or not char.isalnum()
