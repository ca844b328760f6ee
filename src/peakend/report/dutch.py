"""Dutch words for the names and sentences the analyses write in English.

The models speak English in their results (``results.json`` keeps those codes
and names stable); the Dutch report shows their Dutch form from here: the
experience classics and their proactive contacts, the contact channels, and
the names of hidden-moment windows ("eerste factuur, dag 0–4").
"""

from __future__ import annotations

from peakend.report.i18n import Language

#: Experience classic (``models/classics.toml``) → Dutch name.
CLASSIC_NAMES = {
    "post-purchase doubt": "twijfel na aankoop",
    "first-invoice worry": "zorgen over de eerste factuur",
    "delivery anxiety": "onrust voor de levering",
    "waiting-for-response silence": "stilte na een aanvraag",
    "after-complaint silence": "stilte na een klacht",
    "renewal price check": "prijscheck bij verlenging",
}

#: Proactive goal (English, from the classics) → Dutch.
GOALS = {
    "confirm the choice: recap what the customer bought and why it suits them": (
        "bevestig de keuze: vat samen wat de klant kocht en waarom het past"
    ),
    "announce the first invoice and explain how it is built up, before it arrives": (
        "kondig de eerste factuur aan en leg uit hoe die is opgebouwd, voordat hij komt"
    ),
    "confirm the date and time window, and who will come or what will arrive": (
        "bevestig datum en tijdvak, en wie er komt of wat er wordt geleverd"
    ),
    "say where the request stands, what happens next and by when": (
        "vertel hoe het met de aanvraag staat, wat de volgende stap is en wanneer"
    ),
    "check that the solution holds and thank the customer for raising it": (
        "controleer of de oplossing werkt en bedank de klant voor de melding"
    ),
    "show the new price next to the old one and what the customer gets for it": (
        "zet de nieuwe prijs naast de oude en laat zien wat de klant ervoor krijgt"
    ),
    "reach the customer before the question arises": ("benader de klant voordat de vraag opkomt"),
}

#: Contact channel → Dutch.
CHANNELS = {
    "email": "e-mail",
    "phone": "telefoon",
    "sms": "sms",
    "letter": "brief",
    "app": "app",
    "chat": "chat",
}


def classic_name(name: str, lang: Language) -> str:
    """An experience classic's name in ``lang``."""
    return CLASSIC_NAMES.get(name, name) if lang == "nl" else name


def goal(text: str, lang: Language) -> str:
    """A proactive contact's goal in ``lang``."""
    return GOALS.get(text, text) if lang == "nl" else text


def channel(name: str, lang: Language) -> str:
    """A contact channel in ``lang``."""
    return CHANNELS.get(name, name) if lang == "nl" else name
