"""Report language: the words of the report in English and Dutch, and numbers per language.

Every sentence the report shows comes from :data:`TEXTS`, keyed by a short id,
so both languages stay complete (a test checks that every key has both).
Numbers follow the language: ``0.52`` and ``12,345`` in English, ``0,52`` and
``12.345`` in Dutch.
"""

from __future__ import annotations

import math
from typing import Literal

from peakend.errors import ConfigError

Language = Literal["en", "nl"]
LANGUAGES: tuple[Language, ...] = ("en", "nl")

TEXTS: dict[str, dict[Language, str]] = {
    "title": {"en": "Customer journey report", "nl": "Klantreisrapport"},
    "subtitle": {
        "en": "{dataset}: {journeys} journeys, {events} events",
        "nl": "{dataset}: {journeys} klantreizen, {events} gebeurtenissen",
    },
    "generated": {
        "en": "Made with peakend {version} on {date}",
        "nl": "Gemaakt met peakend {version} op {date}",
    },
    "contents": {"en": "Contents", "nl": "Inhoud"},
    "summary": {"en": "Executive summary", "nl": "Samenvatting voor het management"},
    "journey_map": {"en": "Journey map", "nl": "Klantreiskaart"},
    "moments": {"en": "Moment matrix", "nl": "Momentenmatrix"},
    "memory": {"en": "Remembered vs experienced", "nl": "Herinnerd versus beleefd"},
    "emotions": {
        "en": "Emotions and how interactions end",
        "nl": "Emoties en hoe contacten eindigen",
    },
    "hidden": {"en": "Hidden moments", "nl": "Verborgen momenten"},
    "focus": {"en": "Focus plan", "nl": "Focusplan"},
    "quality": {"en": "Data quality", "nl": "Datakwaliteit"},
    "methods": {"en": "Method notes", "nl": "Toelichting op de methode"},
    "skipped": {"en": "Not in this report", "nl": "Niet in dit rapport"},
    "skipped_intro": {
        "en": "These analyses need data this dataset does not have:",
        "nl": "Deze analyses vragen gegevens die deze dataset niet heeft:",
    },
    # executive summary sentences
    "sum_volume": {
        "en": "We looked at {journeys} customer journeys with {events} touchpoint events.",
        "nl": "We bekeken {journeys} klantreizen met {events} contactmomenten.",
    },
    "sum_experience": {
        "en": "On a scale from −1 (very negative) to +1 (very positive), the average "
        "experience was {mean}; journeys ended at {end} and their most intense moment "
        "was {peak}.",
        "nl": "Op een schaal van −1 (zeer negatief) tot +1 (zeer positief) was de "
        "gemiddelde beleving {mean}; klantreizen eindigden op {end} en hun meest "
        "intense moment was {peak}.",
    },
    "sum_weakest": {
        "en": "The weakest touchpoint is {touchpoint} ({valence}, n = {n}); the strongest "
        "is {best} ({best_valence}).",
        "nl": "Het zwakste contactmoment is {touchpoint} ({valence}, n = {n}); het sterkste "
        "is {best} ({best_valence}).",
    },
    # journey map
    "map_intro": {
        "en": "Touchpoints in journey order. Each point is the average experience at that "
        "touchpoint with its 95 % interval; the size shows how often it happens.",
        "nl": "Contactmomenten in de volgorde van de reis. Elk punt is de gemiddelde beleving "
        "op dat moment met het 95%-interval; de grootte toont hoe vaak het voorkomt.",
    },
    "map_title": {
        "en": "Experience per touchpoint, in journey order",
        "nl": "Beleving per contactmoment, in reisvolgorde",
    },
    "map_x": {"en": "Touchpoint (journey order)", "nl": "Contactmoment (reisvolgorde)"},
    "map_y": {"en": "Average experience (−1 to +1)", "nl": "Gemiddelde beleving (−1 tot +1)"},
    "dist_title": {
        "en": "How customers scored each touchpoint",
        "nl": "Hoe klanten elk contactmoment scoorden",
    },
    "dist_x": {"en": "Share of scores", "nl": "Aandeel van de scores"},
    "dist_y": {"en": "Touchpoint", "nl": "Contactmoment"},
    "low": {"en": "low", "nl": "laag"},
    "middle": {"en": "middle", "nl": "midden"},
    "high": {"en": "high", "nl": "hoog"},
    "not_analysed": {"en": "class not analysed", "nl": "klasse niet bepaald"},
    # table headers
    "col_touchpoint": {"en": "Touchpoint", "nl": "Contactmoment"},
    "col_volume": {"en": "Events", "nl": "Gebeurtenissen"},
    "col_journeys": {"en": "Journeys", "nl": "Klantreizen"},
    "col_scored": {"en": "Scored", "nl": "Met score"},
    "col_valence": {"en": "Experience [95 % CI]", "nl": "Beleving [95%-BI]"},
    "col_low": {"en": "Low", "nl": "Laag"},
    "col_high": {"en": "High", "nl": "Hoog"},
    "col_severity": {"en": "Severity", "nl": "Ernst"},
    "col_problem": {"en": "Problem", "nl": "Probleem"},
    "col_rows": {"en": "Rows", "nl": "Rijen"},
    "col_analysis": {"en": "Analysis", "nl": "Analyse"},
    "col_reason": {"en": "Reason", "nl": "Reden"},
    "sortable": {
        "en": "Click a column header to sort.",
        "nl": "Klik op een kolomkop om te sorteren.",
    },
    # data quality
    "quality_summary": {
        "en": "{rows} rows read; {events} events in {journeys} journeys loaded; "
        "{quarantined} rows quarantined (kept aside with their reason, never dropped silently).",
        "nl": "{rows} rijen gelezen; {events} gebeurtenissen in {journeys} klantreizen geladen; "
        "{quarantined} rijen in quarantaine (apart gezet met hun reden, nooit stil weggelaten).",
    },
    "quality_clean": {"en": "No problems were found.", "nl": "Er zijn geen problemen gevonden."},
    # method notes
    "method_valence": {
        "en": "Scores are mapped to an experience value from −1 to +1 around the neutral point "
        "declared in the dataset spec; not-applicable answers are left out. Averages come with "
        "a 95 % normal-approximation interval (mean ± 1.96·sd/√n) and their sample size.",
        "nl": "Scores worden omgezet naar een belevingswaarde van −1 tot +1 rond het neutrale "
        "punt uit de datasetbeschrijving; 'niet van toepassing' telt niet mee. Gemiddelden "
        "hebben een 95%-interval (gemiddelde ± 1,96·sd/√n) en hun steekproefgrootte.",
    },
    "method_order": {
        "en": "Events are ordered per journey by time, then by their sequence number, so ties "
        "in time are resolved the same way every run.",
        "nl": "Gebeurtenissen zijn per klantreis geordend op tijd en daarna op volgnummer, zodat "
        "gelijke tijdstippen elke keer op dezelfde manier worden geordend.",
    },
    "references": {"en": "References", "nl": "Bronnen"},
    "reason_no_scores": {
        "en": "no touchpoint scores in the data",
        "nl": "geen scores per contactmoment in de data",
    },
    "reason_no_outcome": {
        "en": "no outcome declared in the dataset spec",
        "nl": "geen uitkomst in de datasetbeschrijving",
    },
    "reason_no_timestamps": {
        "en": "no timestamps, so no time between touchpoints",
        "nl": "geen tijdstippen, dus geen tijd tussen contactmomenten",
    },
    "reason_no_text": {
        "en": "no comments (text) in the data",
        "nl": "geen opmerkingen (tekst) in de data",
    },
    "reason_not_available": {
        "en": "this analysis is not part of this peakend version",
        "nl": "deze analyse zit niet in deze versie van peakend",
    },
    "reason_failed": {"en": "the analysis failed: {error}", "nl": "de analyse mislukte: {error}"},
}


def check_language(lang: str) -> Language:
    """Return ``lang`` as a :data:`Language`, or explain which languages exist."""
    if lang not in LANGUAGES:
        raise ConfigError(f"report language {lang!r} is not available; use one of: en, nl")
    return lang  # type: ignore[return-value]


def text(key: str, lang: Language, **values: object) -> str:
    """The sentence ``key`` in ``lang`` with ``values`` filled in."""
    return TEXTS[key][lang].format(**values)


def number(value: float | int | None, lang: Language, digits: int = 2) -> str:
    """Format a number the way readers of ``lang`` expect; ``–`` when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    formatted = f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"
    return _localise(formatted, lang)


def signed(value: float | None, lang: Language, digits: int = 2) -> str:
    """A number with an explicit sign (for experience values around zero)."""
    if value is None or math.isnan(value):
        return "–"
    formatted = f"{value:+,.{digits}f}".replace("-", "−")
    return _localise(formatted, lang)


def percent(share: float | None, lang: Language, digits: int = 0) -> str:
    """A share in [0, 1] as a percentage."""
    if share is None or math.isnan(share):
        return "–"
    return _localise(f"{100 * share:.{digits}f}", lang) + ("%" if lang == "nl" else " %")


def interval(
    value: float | None, low: float | None, high: float | None, lang: Language, digits: int = 2
) -> str:
    """``+0.31 [+0.28, +0.34]``: a value with its interval, or the value alone."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return signed(value, lang, digits)
    sep = "; " if lang == "nl" else ", "
    return (
        f"{signed(value, lang, digits)} "
        f"[{signed(low, lang, digits)}{sep}{signed(high, lang, digits)}]"
    )


def _localise(formatted: str, lang: Language) -> str:
    if lang == "en":
        return formatted
    return formatted.replace(",", "\0").replace(".", ",").replace("\0", ".")
