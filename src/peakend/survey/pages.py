"""HTML pages of the public form: the questionnaire, the thank-you page and errors.

Plain HTML built with the standard library; every piece of text that comes from
a questionnaire, an invitation or a customer goes through :func:`html.escape`.
The pages work without JavaScript (a normal form post) and without any external
asset; ``/static/survey.js`` only adds saving of partial answers. Accessibility:
every question is a ``fieldset`` with a ``legend`` (radio groups) or a
``label`` (text), native inputs (keyboard and screen readers work as usual),
errors are linked with ``aria-describedby`` and announced in a live region.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

from peakend.survey.questionnaire import Answer, Question, Questionnaire

UI: Mapping[str, Mapping[str, str]] = {
    "nl": {
        "submit": "Versturen",
        "required": "verplicht",
        "optional": "optioneel",
        "errors": "Niet alle antwoorden zijn goed ingevuld. Kijk de gemarkeerde vragen na.",
        "thanks": "Bedankt! Uw antwoorden zijn opgeslagen.",
        "answered": "Deze vragenlijst is al ingevuld. Bedankt!",
        "saved": "Uw antwoorden tot nu toe zijn bewaard.",
        "error": "Er ging iets mis",
        "chars": "tekens",
        "language": "Taal",
    },
    "en": {
        "submit": "Send",
        "required": "required",
        "optional": "optional",
        "errors": "Some answers are missing or not valid. Please check the marked questions.",
        "thanks": "Thank you! Your answers have been saved.",
        "answered": "This questionnaire has already been answered. Thank you!",
        "saved": "Your answers so far have been saved.",
        "error": "Something went wrong",
        "chars": "characters",
        "language": "Language",
    },
}
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}
# Dutch wording of the messages the store and the questionnaire checks give in English.
DUTCH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), dutch)
    for pattern, dutch in (
        (r"^this question needs an answer$", "deze vraag heeft een antwoord nodig"),
        (
            r"^expected a whole number from (-?\d+) to (-?\d+)$",
            "kies een heel getal van {0} tot {1}",
        ),
        (r"^(-?\d+) is outside (-?\d+)–(-?\d+)$", "{0} ligt buiten {1}–{2}"),
        (r"^at most (\d+) characters, got (\d+)$", "hoogstens {0} tekens, nu {1}"),
        (r"^choose one of: (.*)$", "kies een van: {0}"),
        (r"^choose at most (\d+)$", "kies er hoogstens {0}"),
        (r"^text may not contain NUL characters$", "de tekst bevat een ongeldig teken (NUL)"),
        (
            r"^this link is not valid: .*$",
            "deze link is niet geldig: controleer of hij volledig is gekopieerd",
        ),
        (r"^this link is no longer valid$", "deze link is niet meer geldig"),
        (r"^this link has expired.*$", "deze link is verlopen; antwoorden kunnen niet meer"),
        (r"^this questionnaire has already been answered.*$", "deze vragenlijst is al ingevuld"),
        (
            r"^the questionnaire of this link is no longer offered$",
            "deze vragenlijst is er niet meer",
        ),
    )
)


def localise(message: str, lang: str) -> str:
    """A service message in the page's language (messages are written in English)."""
    if lang != "nl":
        return message
    for pattern, dutch in DUTCH:
        match = pattern.match(message)
        if match:
            return dutch.format(*match.groups())
    return message


def _t(text: Mapping[str, str] | None, lang: str) -> str:
    if not text:
        return ""
    return escape(text.get(lang) or next(iter(text.values())))


def _page(title: str, lang: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{title}</title>\n"
        '<link rel="stylesheet" href="/static/survey.css">\n'
        '<script src="/static/survey.js" defer></script>\n'
        f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def form_page(
    questionnaire: Questionnaire,
    *,
    token: str,
    lang: str,
    values: Mapping[str, Answer] | None = None,
    errors: Mapping[str, str] | None = None,
) -> str:
    """The questionnaire as one accessible page, filled with ``values``, marking ``errors``."""
    values, errors = values or {}, errors or {}
    ui = UI[lang]
    parts = [f"<h1>{_t(questionnaire.title, lang)}</h1>", _language_links(questionnaire, lang)]
    if questionnaire.intro:
        parts.append(f'<p class="intro">{_t(questionnaire.intro, lang)}</p>')
    alert = f'<p class="alert" id="form-errors">{escape(ui["errors"])}</p>' if errors else ""
    parts.append(f'<div role="alert" aria-live="assertive">{alert}</div>')
    parts.append(
        f'<form method="post" action="/s/{escape(token)}" data-token="{escape(token)}" '
        f'data-saved="{escape(ui["saved"])}" novalidate>'
    )
    parts.append(f'<input type="hidden" name="_lang" value="{escape(lang)}">')
    for number, question in enumerate(questionnaire.questions, start=1):
        parts.append(_question(question, number, lang, values.get(question.id), errors))
    parts.append(f'<button type="submit">{escape(ui["submit"])}</button>')
    parts.append('<p class="status" role="status" aria-live="polite"></p>')
    parts.append("</form>")
    return _page(_t(questionnaire.title, lang), lang, "\n".join(parts))


def _language_links(questionnaire: Questionnaire, lang: str) -> str:
    if len(questionnaire.languages) < 2:
        return ""
    links = []
    for code in questionnaire.languages:  # validated codes: nl, en
        name = escape(LANGUAGE_NAMES.get(code, code))
        if code == lang:
            links.append(f'<span aria-current="true">{name}</span>')
        else:
            links.append(f'<a href="?lang={code}" hreflang="{code}" lang="{code}">{name}</a>')
    label = escape(UI[lang]["language"])
    return f'<nav class="languages" aria-label="{label}">{" | ".join(links)}</nav>'


def _question(
    question: Question, number: int, lang: str, value: Answer | None, errors: Mapping[str, str]
) -> str:
    qid = escape(question.id)
    need = UI[lang]["required" if question.required else "optional"]
    heading = f'{number}. {_t(question.text, lang)} <span class="need">({escape(need)})</span>'
    error = errors.get(question.id)
    described = f' aria-describedby="err-{qid}" aria-invalid="true"' if error else ""
    error_html = (
        f'<p class="error" id="err-{qid}">{escape(localise(error, lang))}</p>' if error else ""
    )
    required = " required" if question.required else ""
    if question.kind == "text":
        text = escape(value) if isinstance(value, str) else ""
        return (
            f'<div class="question{" invalid" if error else ""}">'
            f'<label for="q-{qid}">{heading}</label>{error_html}'
            f'<textarea id="q-{qid}" name="{qid}" rows="4" maxlength="{question.max_chars}"'
            f"{required}{described}>{text}</textarea>"
            f'<p class="hint">max. {question.max_chars} {escape(UI[lang]["chars"])}</p></div>'
        )
    choices = _choices(question, lang)
    kind = "checkbox" if question.kind == "multi" else "radio"
    chosen = {str(v) for v in value} if isinstance(value, list) else {str(value)}
    inputs = []
    for index, (option_value, label) in enumerate(choices):
        checked = " checked" if option_value in chosen else ""
        req = required if kind == "radio" else ""
        inputs.append(
            f'<label class="choice"><input type="{kind}" name="{qid}" '
            f'value="{escape(option_value)}" id="q-{qid}-{index}"{checked}{req}>'
            f"<span>{label}</span></label>"
        )
    scale = " scale" if question.kind == "scale" else ""
    return (
        f'<fieldset class="question{scale}{" invalid" if error else ""}"{described}>'
        f"<legend>{heading}</legend>{error_html}"
        f'<div class="choices">{"".join(inputs)}</div>{_ends(question, lang)}</fieldset>'
    )


def _choices(question: Question, lang: str) -> list[tuple[str, str]]:
    if question.kind == "scale":
        return [(str(n), str(n)) for n in range(question.low, question.high + 1)]
    return [(option.id, _t(option.label, lang)) for option in question.options]


def _ends(question: Question, lang: str) -> str:
    if question.kind != "scale" or not (question.low_label or question.high_label):
        return ""
    return (
        f'<p class="ends"><span>{question.low} = {_t(question.low_label, lang)}</span>'
        f"<span>{question.high} = {_t(question.high_label, lang)}</span></p>"
    )


def thanks_page(questionnaire: Questionnaire, *, lang: str, already: bool = False) -> str:
    """Shown after a successful submission (or when the link was already used)."""
    if already:
        message = escape(UI[lang]["answered"])
    else:
        message = _t(questionnaire.thanks, lang) or escape(UI[lang]["thanks"])
    body = (
        f'<h1>{_t(questionnaire.title, lang)}</h1>\n<p class="thanks" role="status">{message}</p>'
    )
    return _page(message, lang, body)


def error_page(message: str, *, lang: str = "en") -> str:
    """A plain page for a link that does not work; ``message`` is escaped."""
    title = escape(UI.get(lang, UI["en"])["error"])
    text = escape(localise(message, lang))
    return _page(title, lang, f'<h1>{title}</h1>\n<p class="alert">{text}</p>')
