"""The dashboard in a real headless Chromium: log in, widgets draw, a case opens and closes.

`peakend serve`'s app runs on a loopback port (uvicorn in a thread, with its
background threads); Chromium is the machine's (tests/conftest.py), without it
these tests skip. Every page must draw without a console error and without a
request leaving the machine. Screenshots go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from peakend.cases import CaseStore, Rule
from peakend.dashboard.app import ServeSettings, create_serve_app
from peakend.survey.app import SurveySettings
from peakend.survey.questionnaire import Questionnaire
from peakend.survey.store import InvitationRequest, SurveyStore

from .conftest import ANSWERS, EXAMPLES, served

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "dashboard"
RULES = [Rule(id="low", kind="score_at_most", cut=2)]  # unit: the touchpoint


def endings(texts: list[str]) -> list[str | None]:
    return ["negative" if "boos" in t else "positive" for t in texts]


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, questionnaires: dict[str, Questionnaire]
) -> Iterator[tuple[str, SurveyStore]]:
    db = tmp_path_factory.mktemp("dashboard") / "survey.db"
    store = SurveyStore.open(db, questionnaires)
    now = datetime.now(UTC)
    for n in range(30):
        invitation = store.invite(
            [InvitationRequest(f"C{n}", f"J{n}", "delivery", now - timedelta(days=n))],
            actor="test",
        )[0]
        comment = "Ik ben boos" if n % 4 == 0 else "Prima geregeld"
        store.submit(invitation.token, {**ANSWERS, "overall": 3 + n % 3, "comment": comment})
    from peakend.datasets import demo_spec_path

    settings = ServeSettings(
        SurveySettings(db=str(db), questionnaires=EXAMPLES),
        widget_interval=60,
        alert_interval=1,
        datasets=(demo_spec_path(),),
    )
    app = create_serve_app(settings, store=store, rules=RULES, endings=endings)
    cases: CaseStore = app.state.cases
    cases.add_user("olga", "case_owner", ["delivery"], "long password 1")
    cases.add_user("vic", "viewer", ["first_invoice"], "long password 2")
    cases.add_user("ada", "admin", ["*"], "long password 3")
    with served(app, stop_timeout_s=30) as url:
        yield url, store


def open_page(browser: Browser) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    problems: list[str] = []
    page.on(
        "request",
        lambda r: (
            problems.append(f"outside: {r.url}")
            if not r.url.startswith("http://127.0.0.1")
            else None
        ),
    )
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.problems = problems  # type: ignore[attr-defined]
    return page


def log_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def test_dashboard_case_loop(chromium: Browser, service: tuple[str, Any]) -> None:
    base, store = service
    page = open_page(chromium)
    log_in(page, base, "olga", "long password 1")
    for widget in ("responses", "score_trend", "endings"):
        expect(page.locator(f"#widget-{widget} [data-drawn=done] svg")).to_be_visible(
            timeout=30_000
        )
    expect(page.locator("#time-to-close")).to_contain_text("no cases yet")
    # An answer that matches the rule: a case opens by itself within 5 s.
    invitation = store.invite(
        [InvitationRequest("ANGRY", "J-A", "delivery", datetime.now(UTC))], actor="test"
    )[0]
    sent = time.monotonic()
    store.submit(invitation.token, {**ANSWERS, "overall": 1, "comment": "<b>boos</b>"})
    page.goto(f"{base}/dashboard/cases")
    row = page.get_by_role("row").filter(has_text="ANGRY")
    while row.count() == 0 and time.monotonic() - sent < 5:
        page.reload()
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    expect(page.locator(".comment")).to_have_text("<b>boos</b>")  # shown as text, not markup
    page.get_by_label("Status").select_option("closed")
    page.get_by_label("Root cause").fill("damaged parcel")
    page.get_by_label("Note").fill("Called the customer; new parcel sent.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_have_text("closed")
    page.goto(f"{base}/dashboard")
    expect(page.locator("#time-to-close")).to_contain_text("n = 1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert page.problems == []  # type: ignore[attr-defined]


def wait_until_drawn(page: Page, timeout_s: float = 120) -> None:
    """Until no widget is loading or computing and every chart on the page has drawn."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = page.locator(".computing, .widget > p.muted:has-text('Loading')").count()
        charts, drawn = (
            page.locator("[data-vega]").count(),
            page.locator("[data-drawn=done]").count(),
        )
        if busy == 0 and charts and charts == drawn:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"{busy} widgets busy, {drawn} of {charts} charts drawn")


def test_every_widget_draws_and_filters(chromium: Browser, service: tuple[str, Any]) -> None:
    """Survey and analysis widgets draw; the filter bar narrows every survey widget."""
    base, _store = service
    page = open_page(chromium)
    log_in(page, base, "ada", "long password 3")
    wait_until_drawn(page)
    for name in ("moments", "memory", "hidden", "recovery", "churn", "focus"):
        expect(page.locator(f"#widget-{name}")).to_contain_text("on 2000 journeys")
    expect(page.locator("#widget-verbatims")).to_contain_text("ends negative")
    # Thirty answers and at most one case: the honest answer is "no evidence".
    recovery = page.locator("#widget-case_recovery")
    expect(recovery).to_contain_text("no evidence at this sample size")
    expect(recovery).to_contain_text(re.compile(r"on 3[01] customers"))
    endings = page.locator("#widget-endings")
    expect(endings).to_contain_text(re.compile(r"on 3[01] answers"))  # 31 after the case test
    page.get_by_label("Period").fill("7d")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/dashboard\?period=7d"))
    # Computed on this filter's first request, in the background; the widget polls.
    # Seven days of answers: days 0 to 6 (and the case test's answer of today).
    expect(endings).to_contain_text(re.compile(r"on [78] answers"), timeout=30_000)
    wait_until_drawn(page)
    assert page.problems == []  # type: ignore[attr-defined]


def test_viewer_of_another_unit_sees_nothing(chromium: Browser, service: tuple[str, Any]) -> None:
    base, _store = service
    page = open_page(chromium)
    log_in(page, base, "vic", "long password 2")
    page.goto(f"{base}/dashboard/cases")
    expect(page.get_by_text("No cases.")).to_be_visible()
    response = page.goto(f"{base}/dashboard/cases/1")
    assert response is not None and response.status == 404
    assert page.request.get(f"{base}/api/v1/cases/1").status == 404
    assert page.request.get(f"{base}/api/v1/cases").json()["data"] == []
    assert page.request.get(f"{base}/api/v1/widgets/score_trend").json()["data"]["rows"] == []
    deadline = time.monotonic() + 30
    recovery = page.request.get(f"{base}/api/v1/widgets/case_recovery")
    while recovery.status == 503 and time.monotonic() < deadline:  # vic's units: queued
        page.wait_for_timeout(250)
        recovery = page.request.get(f"{base}/api/v1/widgets/case_recovery")
    assert recovery.status == 200 and recovery.json()["data"]["customers"] == 0
