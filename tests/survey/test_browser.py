"""Fill in and send the survey form in a real headless Chromium, in Dutch and in English.

The service runs on a loopback port (uvicorn in a thread); Chromium (the one named
by ``PEAKEND_CHROMIUM``, else ``chromium`` on the PATH, e.g. Debian's package
``chromium``) is driven by Playwright; without it these tests skip. The form is
operated the way people do: by the labels a screen reader announces, partly with
the keyboard, and on a phone-sized screen. Screenshots are saved under ``test-artifacts/survey/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from peakend.survey.app import SurveySettings, create_app
from peakend.survey.questionnaire import Questionnaire
from peakend.survey.store import SurveyStore

from .conftest import EXAMPLES, invitation_request, served

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "survey"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, questionnaires: dict[str, Questionnaire]
) -> Iterator[tuple[str, SurveyStore]]:
    db = tmp_path_factory.mktemp("browser") / "survey.db"
    store = SurveyStore.open(db, questionnaires)
    app = create_app(SurveySettings(db=str(db), questionnaires=EXAMPLES), store=store)
    with served(app, stop_timeout_s=10) as url:
        yield url, store


@pytest.fixture(scope="module")
def browser(chromium: Browser) -> Browser:
    """The machine's Chromium (tests/conftest.py: found on PATH or via PEAKEND_CHROMIUM)."""
    return chromium


def open_page(browser: Browser, locale: str) -> Page:
    context = browser.new_context(viewport=PHONE, locale=locale, is_mobile=True, has_touch=True)
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith("http://127.0.0.1") else None
        ),
    )
    page.outside_requests = outside  # type: ignore[attr-defined]
    return page


CASES = {
    "nl": {
        "locale": "nl-NL",
        "success": ("Heeft u gekregen wat u nodig had?", "Gedeeltelijk"),
        "effort": "Hoeveel moeite",
        "emotion": "Hoe voelde u zich",
        "feelings": ("Welke gevoelens", "Opgelucht"),
        "overall": "Hoe tevreden bent u",
        "comment": "Wilt u nog iets kwijt?",
        "saved": "bewaard",
        "send": "Versturen",
        "thanks": "Bedankt!",
    },
    "en": {
        "locale": "en-GB",
        "success": ("Did you get what you needed?", "Yes"),
        "effort": "How much effort",
        "emotion": "How did you feel",
        "feelings": ("Which feelings", "Relieved"),
        "overall": "How satisfied are you",
        "comment": "Anything else you would like to tell us?",
        "saved": "saved",
        "send": "Send",
        "thanks": "Thank you!",
    },
}


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_customer_fills_in_and_sends_the_form(
    service: tuple[str, SurveyStore], browser: Browser, lang: str
) -> None:
    base, store = service
    text = CASES[lang]
    n = 1 if lang == "nl" else 2
    (invitation,) = store.invite([invitation_request(n)], actor="test")
    page = open_page(browser, text["locale"])  # language from the browser
    page.goto(f"{base}/s/{invitation.token}")
    expect(page.locator("html")).to_have_attribute("lang", lang)

    group = page.get_by_role("group", name=re.compile(re.escape(text["success"][0])))
    group.get_by_label(text["success"][1], exact=True).check()
    effort = page.get_by_role("group", name=re.compile(text["effort"]))
    effort.get_by_label("1", exact=True).focus()
    page.keyboard.press("ArrowRight")  # radio groups move with the arrow keys
    expect(effort.get_by_label("2", exact=True)).to_be_checked()
    expect(page.get_by_role("status")).to_contain_text(text["saved"])  # draft saved by script

    page.reload()  # partial answers survive a reload
    expect(effort.get_by_label("2", exact=True)).to_be_checked()

    page.get_by_role("group", name=re.compile(text["emotion"])).get_by_label("4").check()
    feelings = page.get_by_role("group", name=re.compile(text["feelings"][0]))
    feelings.get_by_label(text["feelings"][1]).check()
    page.get_by_role("group", name=re.compile(text["overall"])).get_by_label("5").check()
    page.get_by_label(re.compile(re.escape(text["comment"]))).fill("<b>Top</b> =1+1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"form-{lang}.png"), full_page=True)
    page.get_by_role("button", name=text["send"]).click()

    expect(page.get_by_role("status")).to_contain_text(text["thanks"])
    page.screenshot(path=str(ARTIFACTS / f"thanks-{lang}.png"), full_page=True)
    assert page.outside_requests == []  # type: ignore[attr-defined]
    page.context.close()

    (row,) = [r for r in store.responses(actor="test", limit=10) if r["journey_id"] == f"J{n}"]
    assert row["lang"] == lang
    assert row["answers"] == {
        "success": "partly" if lang == "nl" else "yes",
        "effort": 2,
        "emotion": 4,
        "feelings": ["relieved"],
        "overall": 5,
        "comment": "<b>Top</b> =1+1",
    }


def test_missing_answers_are_announced_and_marked(
    service: tuple[str, SurveyStore], browser: Browser
) -> None:
    base, store = service
    (invitation,) = store.invite([invitation_request(3, lang="en")], actor="test")
    page = open_page(browser, "nl-NL")
    page.goto(f"{base}/s/{invitation.token}")  # the invitation's language wins
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("Some answers are missing")
    overall = page.get_by_role("group", name=re.compile("How satisfied"))
    expect(overall).to_have_attribute("aria-invalid", "true")
    expect(overall).to_contain_text("this question needs an answer")
    page.screenshot(path=str(ARTIFACTS / "errors-en.png"), full_page=True)
    page.context.close()


def test_the_form_works_with_the_keyboard_alone(
    service: tuple[str, SurveyStore], browser: Browser
) -> None:
    base, store = service
    (invitation,) = store.invite([invitation_request(4, lang="en")], actor="test")
    page = open_page(browser, "en-GB")
    page.goto(f"{base}/s/{invitation.token}")
    keys = [
        "Tab",  # the link to the Dutch page
        "Tab",
        "Space",  # success: Yes
        "Tab",
        "ArrowRight",  # effort: 2
        "Tab",
        *["ArrowRight"] * 3,  # emotion: 4
        "Tab",
        "Space",  # feelings: Relieved
        *["Tab"] * 4,  # past the other feelings
        "Tab",
        *["ArrowRight"] * 4,  # overall: 5
        "Tab",  # the comment box
    ]
    for key in keys:
        page.keyboard.press(key)
    page.keyboard.type("Only the keyboard")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the send button
    expect(page.get_by_role("status")).to_contain_text("Thank you!")
    page.context.close()
    (row,) = [r for r in store.responses(actor="test", limit=10) if r["journey_id"] == "J4"]
    assert row["answers"] == {
        "success": "yes",
        "effort": 2,
        "emotion": 4,
        "feelings": ["relieved"],
        "overall": 5,
        "comment": "Only the keyboard",
    }
