"""The words charts draw (legends, axes, marks), in English and Dutch.

Views take a ``lang`` argument and look their labels up here, so a Dutch report
draws Dutch charts without translating finished figures afterwards. Numbers in
axes follow the language through the d3 format locale (:data:`FORMAT_LOCALES`).
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "nl"]

#: d3-format locale per language (decimal comma and thousands dot in Dutch).
FORMAT_LOCALES: dict[Language, dict[str, object]] = {
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["", ""]},
    "nl": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", ""]},
}

WORDS: dict[str, dict[Language, str]] = {
    "moment_of_truth": {"en": "moment of truth", "nl": "moment van de waarheid"},
    "excel": {"en": "excel moment", "nl": "excelmoment"},
    "performance": {"en": "performance moment", "nl": "prestatiemoment"},
    "standard": {"en": "standard moment", "nl": "standaardmoment"},
    "inconclusive": {"en": "inconclusive", "nl": "onbeslist"},
    "not_enough_data": {"en": "not enough data", "nl": "te weinig gegevens"},
    "not_analysed": {"en": "class not analysed", "nl": "klasse niet bepaald"},
    "rec_fix": {"en": "fix", "nl": "herstellen"},
    "rec_excel": {"en": "excel", "nl": "uitblinken"},
    "rec_maintain": {"en": "maintain", "nl": "vasthouden"},
    "rec_allow": {"en": "allow", "nl": "toestaan"},
    "rec_proactive_contact": {"en": "proactive contact", "nl": "proactief contact"},
    "rec_collect_data": {"en": "collect data", "nl": "meer gegevens verzamelen"},
    "probability": {"en": "percentage points", "nl": "procentpunt"},
    "penalty": {"en": "Penalty of a low score ({unit})", "nl": "Straf van een lage score ({unit})"},
    "reward": {
        "en": "Reward of a high score ({unit})",
        "nl": "Beloning van een hoge score ({unit})",
    },
    "matrix_title": {"en": "Moment matrix: {outcome}", "nl": "Momentenmatrix: {outcome}"},
    "touchpoint": {"en": "touchpoint", "nl": "contactmoment"},
    "class": {"en": "class", "nl": "klasse"},
    "confidence": {"en": "confidence", "nl": "zekerheid"},
    "scored": {"en": "scored journeys", "nl": "klantreizen met score"},
    "interval_low": {"en": "95 % interval, low", "nl": "95%-interval, onder"},
    "interval_high": {"en": "95 % interval, high", "nl": "95%-interval, boven"},
    "experienced": {"en": "experienced (average)", "nl": "beleefd (gemiddelde)"},
    "remembered": {"en": "remembered", "nl": "herinnerd"},
    "valence_axis": {
        "en": "Experience (−1 worst, 0 neutral, +1 best)",
        "nl": "Beleving (−1 slechtst, 0 neutraal, +1 best)",
    },
    "journey_type": {"en": "journey type", "nl": "soort klantreis"},
    "types_title": {
        "en": "Experienced and remembered journeys",
        "nl": "Beleefde en herinnerde klantreizen",
    },
    "moment_order": {"en": "moment, in journey order", "nl": "moment, in reisvolgorde"},
    "moments": {"en": "moments", "nl": "momenten"},
    "peak": {"en": "peak", "nl": "piek"},
    "end": {"en": "end", "nl": "einde"},
    "peak_and_end": {"en": "peak and end", "nl": "piek en einde"},
    "journey_title": {"en": "Journey {journey}", "nl": "Klantreis {journey}"},
    "model": {"en": "model", "nl": "model"},
    "score": {"en": "score", "nl": "score"},
    "higher_better": {"en": "{metric} (higher is better)", "nl": "{metric} (hoger is beter)"},
    "lower_better": {"en": "{metric} (lower is better)", "nl": "{metric} (lager is beter)"},
    "models_title": {
        "en": "Memory models, out of sample",
        "nl": "Herinneringsmodellen, buiten de steekproef",
    },
    "chosen": {"en": "chosen", "nl": "gekozen"},
    "other": {"en": "other", "nl": "ander"},
    "contacts_per_1000": {
        "en": "customer contacts per 1,000 journeys",
        "nl": "klantcontacten per 1.000 klantreizen",
    },
    "baseline": {"en": "baseline", "nl": "basislijn"},
    "flagged": {"en": "more than baseline", "nl": "meer dan de basislijn"},
    "not_flagged": {"en": "as usual", "nl": "zoals gewoonlijk"},
    "designed": {"en": "designed touchpoint", "nl": "ontworpen contactmoment"},
    "unit_day_after": {"en": "days after {anchor}", "nl": "dagen na {anchor}"},
    "unit_hour_after": {"en": "hours after {anchor}", "nl": "uren na {anchor}"},
    "timeline_title": {
        "en": "Customer contacts after {anchor}",
        "nl": "Klantcontacten na {anchor}",
    },
    "hidden_moment": {"en": "hidden moment", "nl": "verborgen moment"},
    "emotion": {"en": "emotion", "nl": "emotie"},
    "share_comments": {"en": "share of comments (top emotion)", "nl": "aandeel opmerkingen"},
    "emotions_title": {
        "en": "Emotions in comments per touchpoint",
        "nl": "Emoties in opmerkingen per contactmoment",
    },
    "ends_negative": {"en": "ends negative", "nl": "eindigt negatief"},
    "anger": {"en": "anger", "nl": "boosheid"},
    "frustration": {"en": "frustration", "nl": "frustratie"},
    "worry": {"en": "worry", "nl": "zorgen"},
    "uncertainty": {"en": "uncertainty", "nl": "onzekerheid"},
    "disappointment": {"en": "disappointment", "nl": "teleurstelling"},
    "joy": {"en": "joy", "nl": "blijdschap"},
    "trust": {"en": "trust", "nl": "vertrouwen"},
    "surprise": {"en": "surprise", "nl": "verrassing"},
    "neutral": {"en": "neutral", "nl": "neutraal"},
    "map_title": {
        "en": "Experience per touchpoint, in journey order",
        "nl": "Beleving per contactmoment, in reisvolgorde",
    },
    "map_x": {"en": "Touchpoint (journey order)", "nl": "Contactmoment (reisvolgorde)"},
    "volume": {"en": "events", "nl": "gebeurtenissen"},
    "dist_title": {
        "en": "How customers scored each touchpoint",
        "nl": "Hoe klanten elk contactmoment scoorden",
    },
    "dist_x": {"en": "Share of scores", "nl": "Aandeel van de scores"},
    "band": {"en": "score", "nl": "score"},
    "low": {"en": "low", "nl": "laag"},
    "middle": {"en": "middle", "nl": "midden"},
    "high": {"en": "high", "nl": "hoog"},
    "share": {"en": "share", "nl": "aandeel"},
    "focus_title": {"en": "Expected gain per action", "nl": "Verwachte winst per actie"},
    "focus_x": {
        "en": "Expected gain in {outcome} per journey (95 % interval)",
        "nl": "Verwachte winst in {outcome} per klantreis (95%-interval)",
    },
    "action": {"en": "action", "nl": "actie"},
    "gain": {"en": "gain", "nl": "winst"},
    # service recovery and churn
    "recovered_vs_never": {"en": "recovered − never failed", "nl": "hersteld − nooit een fout"},
    "unrecovered_vs_never": {
        "en": "not recovered − never failed",
        "nl": "niet hersteld − nooit een fout",
    },
    "recovered_vs_unrecovered": {
        "en": "recovered − not recovered",
        "nl": "hersteld − niet hersteld",
    },
    "recovery_x": {
        "en": "difference in {outcome}, with 95 % interval",
        "nl": "verschil in {outcome}, met 95%-interval",
    },
    "recovery_title": {"en": "Service recovery: {outcome}", "nl": "Klachtherstel: {outcome}"},
    "days": {"en": "days", "nl": "dagen"},
    "months": {"en": "months", "nl": "maanden"},
    "weeks": {"en": "weeks", "nl": "weken"},
    "still_customer": {"en": "still a customer", "nl": "nog klant"},
    "survival_title": {
        "en": "Customers who stay, by negative moments so far",
        "nl": "Klanten die blijven, naar negatieve momenten tot dan",
    },
    "n_negative": {"en": "{n} negative moments", "nl": "{n} negatieve momenten"},
    "some_negative": {"en": "some negative experience", "nl": "een negatieve ervaring"},
    "no_negative": {"en": "no negative experience", "nl": "geen negatieve ervaring"},
    "unrecovered_failures": {"en": "unrecovered failures", "nl": "niet-herstelde fouten"},
    "avoidable_x": {
        "en": "avoidable churners, with 95 % interval",
        "nl": "te behouden klanten, met 95%-interval",
    },
    "avoidable_title": {"en": "Avoidable churn per cause", "nl": "Vermijdbaar vertrek per oorzaak"},
}


def word(key: str, lang: Language, **values: object) -> str:
    """The chart word ``key`` in ``lang`` with ``values`` filled in."""
    return WORDS[key][lang].format(**values)


def signed(value: float, lang: Language, digits: int = 2) -> str:
    """``+0.50`` / ``+0,50`` with a true minus sign, as the report writes numbers."""
    shown = f"{value:+.{digits}f}".replace("-", "−")
    return shown.replace(".", ",") if lang == "nl" else shown
