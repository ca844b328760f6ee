"""Effort signals in Dutch and English."""

from pathlib import Path

import pytest

from peakend.text import effort
from peakend.text.effort import find_effort

CX_SENTENCES = Path(__file__).parents[2] / "data" / "cx_sentences" / "cx_sentences.tsv"

EXAMPLES = [
    ("This is the third time I call about this", "repeat_contact", 3.0),
    ("Voor de vijfde keer gebeld en nog steeds niks", "repeat_contact", 5.0),
    ("Ik heb al vier mails gestuurd", "repeat_contact", 4.0),
    ("I waited 40 minutes on hold", "waiting", 40.0),
    ("Ik heb veertig minuten in de wacht gestaan", "waiting", 40.0),
    ("Na twee uur aan de lijn was ik nog niets verder", "waiting", 120.0),
    ("An hour on hold", "waiting", 60.0),
    ("Steeds word ik doorverbonden", "transfer", None),
    ("I keep getting transferred", "transfer", None),
    ("Alweer moest ik mijn hele verhaal opnieuw vertellen", "repeat_information", None),
    ("I had to explain everything again", "repeat_information", None),
    ("Ik krijg geen antwoord", "no_response", None),
    ("Still no reply to my email", "no_response", None),
]


@pytest.mark.parametrize(("text", "kind", "amount"), EXAMPLES)
def test_finds_effort_with_amounts(text: str, kind: str, amount: float | None) -> None:
    signals = {s.kind: s for s in find_effort(text)}
    assert kind in signals
    assert signals[kind].amount == amount


@pytest.mark.parametrize(
    "text", ["Top service, dank je", "The agent was lovely", "", "Ik betaal per maand 40 euro"]
)
def test_no_effort_where_none_is_reported(text: str) -> None:
    assert find_effort(text) == ()


def _every_pattern(text: str) -> tuple[tuple[str, str, float | None], ...]:
    """Effort found by trying every case-folding pattern on the text itself, without
    the needle pre-check or the lower-cased ASCII search."""
    found: dict[str, tuple[str, float | None]] = {}
    for compiled in effort._PATTERNS:
        kind = compiled.kind
        match = compiled.folding.search(text) if kind not in found else None
        if match:
            found[kind] = (match.group(0).strip(), effort._amount(kind, match))
    return tuple((kind, words, amount) for kind, (words, amount) in found.items())


def test_needle_check_and_lowered_search_change_no_match() -> None:
    # Real customer-service sentences plus every example above, also in capitals, in
    # mixed case and with a character outside ASCII (which takes the case-folding path).
    lines = CX_SENTENCES.read_text(encoding="utf-8").splitlines()
    texts = [line.split("\t")[6] for line in lines[2:] if line and not line.startswith("#")]
    texts += [t for t, _kind, _amount in EXAMPLES]
    texts += [t.upper() for t in texts] + [t.title() for t in texts]
    texts += [f"{t} – ’" for t in texts]
    hits = 0
    for text in texts:
        expected = _every_pattern(text)
        if not effort.EFFORT_TRIGGERS.isdisjoint(effort._WORDS.findall(text.lower())):
            found = tuple((s.kind, s.text, s.amount) for s in find_effort(text))
            assert found == expected, text
            hits += bool(expected)
    assert hits >= 4 * len(EXAMPLES)


def test_patterns_are_written_in_lower_case() -> None:
    # The case-sensitive search of lower-cased text finds only lower-case words.
    for compiled in effort._PATTERNS:
        assert compiled.needles.pattern == compiled.needles.pattern.lower()
        assert compiled.lowered.pattern == compiled.lowered.pattern.lower()
