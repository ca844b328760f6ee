"""Effort signals in Dutch and English."""

import pytest

from peakend.text.effort import find_effort


@pytest.mark.parametrize(
    ("text", "kind", "amount"),
    [
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
    ],
)
def test_finds_effort_with_amounts(text: str, kind: str, amount: float | None) -> None:
    signals = {s.kind: s for s in find_effort(text)}
    assert kind in signals
    assert signals[kind].amount == amount


@pytest.mark.parametrize(
    "text", ["Top service, dank je", "The agent was lovely", "", "Ik betaal per maand 40 euro"]
)
def test_no_effort_where_none_is_reported(text: str) -> None:
    assert find_effort(text) == ()
