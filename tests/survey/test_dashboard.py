"""`peakend serve`: login, sessions, CSRF, units, escaping and the widget endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from peakend.cases import CaseStore, Rule
from peakend.dashboard.app import COOKIE, ServeSettings, create_serve_app
from peakend.survey.app import SurveySettings
from peakend.survey.store import SurveyStore

from .conftest import ANSWERS, EXAMPLES, AppClient, invitation_request

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RULES = [Rule(id="low", kind="score_at_most", cut=2, unit="logistics")]
PAGES = ["/dashboard", "/dashboard/cases", "/dashboard/cases/1", "/dashboard/widgets/responses"]
API = ["/api/v1/cases", "/api/v1/cases/1", "/api/v1/case-report", "/api/v1/widgets/endings"]


def endings(texts: list[str]) -> list[str | None]:
    return ["negative" if "boos" in t else "positive" for t in texts]


@pytest.fixture
def app(store: SurveyStore, tmp_path: Path) -> object:
    settings = ServeSettings(SurveySettings(db="unused", questionnaires=EXAMPLES))
    built = create_serve_app(settings, store=store, rules=RULES, endings=endings)
    cases: CaseStore = built.state.cases
    cases.add_user("olga", "case_owner", ["logistics"], "long password 1")
    cases.add_user("vic", "viewer", ["care"], "long password 2")
    for n, (overall, comment) in enumerate([(1, XSS), (4, "Ik ben boos"), (5, "Prima")], 1):
        invitation = store.invite([invitation_request(n)], actor="test")[0]
        store.submit(invitation.token, {**ANSWERS, "overall": overall, "comment": comment})
    cases.evaluate_new()
    return built


@pytest.fixture
def client(app: object) -> Iterator[AppClient]:
    c = AppClient(app)
    yield c
    c.close()


def login(client: AppClient, name: str, password: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login", data={"login_token": token.group(1), "name": name, "password": password}
    )
    assert response.status_code == 303
    return response.headers.get("set-cookie", "")


def csrf_of(client: AppClient, url: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(url).text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_a_session(client: AppClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    client.client.cookies.set(COOKIE, "forged-token")
    assert client.get(url).status_code == 303


@pytest.mark.parametrize("url", API)
def test_api_needs_a_session_or_key(client: AppClient, url: str) -> None:
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer pk_bad.key"}).status_code == 401
    assert client.post("/api/v1/cases/1", json={"status": "closed"}).status_code == 401
    assert client.post("/dashboard/cases/1", data={"status": "closed"}).status_code == 303


def test_login_and_cookie_flags(client: AppClient) -> None:
    cookie = login(client, "olga", "long password 1")
    assert COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/dashboard").status_code == 200
    failed = client.post("/login", data={"name": "olga", "password": "long password 1"})
    assert failed.status_code == 403  # no login form token
    client.client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    wrong = client.post(
        "/login", data={"login_token": token.group(1), "name": "olga", "password": "wrong one!!"}
    )
    assert wrong.headers["location"] == "/login?failed=1" and COOKIE not in wrong.headers.get(
        "set-cookie", ""
    )
    assert client.get("/dashboard").status_code == 303


def test_csrf_and_case_changes(client: AppClient) -> None:
    login(client, "olga", "long password 1")
    (case,) = client.get("/api/v1/cases").json()["data"]
    url = f"/dashboard/cases/{case['id']}"
    assert client.post(url, data={"status": "closed"}).status_code == 403
    assert client.post(url, data={"status": "closed", "csrf": "wrong"}).status_code == 403
    api = f"/api/v1/cases/{case['id']}"
    assert client.post(api, json={"status": "closed"}).status_code == 403
    csrf = csrf_of(client, url)
    done = client.post(url, data={"status": "closed", "note": XSS, "root_cause": XSS, "csrf": csrf})
    assert done.status_code == 303
    closed = client.get(api).json()["data"]
    assert closed["status"] == "closed" and closed["notes"][0]["text"] == XSS
    report = client.get("/api/v1/case-report").json()["data"]
    assert report["hours_to_close"]["n"] == 1
    fragment = client.get("/dashboard/widgets/case_report").text
    assert "not enough cases" in fragment


def test_everything_is_escaped(client: AppClient) -> None:
    login(client, "olga", "long password 1")
    (case,) = client.get("/api/v1/cases").json()["data"]
    url = f"/dashboard/cases/{case['id']}"
    client.post(url, data={"note": XSS, "root_cause": XSS, "csrf": csrf_of(client, url)})
    for page in (url, "/dashboard/cases", "/dashboard/widgets/cases"):
        text = client.get(page).text
        assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in client.get(url).text
    assert "script-src 'self'" in client.get(url).headers["content-security-policy"]


def test_units_are_enforced(client: AppClient) -> None:
    login(client, "vic", "long password 2")
    assert client.get("/api/v1/cases").json()["data"] == []
    assert client.get("/api/v1/cases/1").status_code == 404
    assert client.get("/dashboard/cases/1").status_code == 404
    assert "No cases" in client.get("/dashboard/cases").text
    csrf = csrf_of(client, "/dashboard")
    refused = client.post("/dashboard/cases/1", data={"status": "closed", "csrf": csrf})
    assert refused.status_code in (403, 404)


def test_api_key_sees_every_unit(client: AppClient, store: SurveyStore) -> None:
    key = store.add_api_key("crm", actor="test")
    headers = {"Authorization": f"Bearer {key}"}
    (case,) = client.get("/api/v1/cases", headers=headers).json()["data"]
    changed = client.post(
        f"/api/v1/cases/{case['id']}", json={"status": "in_progress"}, headers=headers
    )
    assert changed.status_code == 200 and changed.json()["data"]["first_response_at"]


def test_widgets_come_from_the_cache(app: object, client: AppClient) -> None:
    login(client, "olga", "long password 1")
    assert client.get("/api/v1/widgets/score_trend").status_code == 503
    assert "being computed" in client.get("/dashboard/widgets/score_trend").text
    app.state.widgets.refresh()  # type: ignore[attr-defined]
    trend = client.get("/api/v1/widgets/score_trend").json()["data"]
    assert trend["rows"] == []  # olga's unit is logistics, not the delivery touchpoint
    key = app.state.cases.survey.add_api_key("k", actor="t")  # type: ignore[attr-defined]
    client.client.cookies.clear()  # from here on the key (every unit) is the caller
    headers = {"Authorization": f"Bearer {key}"}
    trend = client.get("/api/v1/widgets/score_trend", headers=headers).json()["data"]
    (row,) = trend["rows"]
    assert row["touchpoint"] == "delivery" and row["answers"] == 3
    assert row["mean"] == pytest.approx(10 / 3)
    assert row["low"] < row["mean"] < row["high"]
    ending = client.get("/api/v1/widgets/endings", headers=headers).json()["data"]["rows"][0]
    assert ending["negative"] == pytest.approx(1 / 3) and ending["answers"] == 3
    rate = client.get("/api/v1/widgets/responses", headers=headers).json()["data"]["rows"][0]
    assert rate["rate"] == 1.0 and rate["invited"] == 3
    fragment = client.get("/dashboard/widgets/responses", headers=headers).text
    assert "data-vega=" in fragment and "on 3 answers" in fragment
    assert client.get("/dashboard/widgets/nope", headers=headers).status_code == 404


def test_survey_still_served(client: AppClient) -> None:
    assert client.get("/api/v1/health").json()["ok"] is True


def test_every_dashboard_route_refuses_without_a_session(app: object, client: AppClient) -> None:
    """Found from the app itself, so a new route cannot be forgotten here."""
    from fastapi.routing import APIRoute

    routes = [
        r
        for r in app.routes  # type: ignore[attr-defined]
        if isinstance(r, APIRoute)
        and r.path.startswith(
            ("/dashboard", "/api/v1/cases", "/api/v1/widgets", "/api/v1/case", "/api/v1/analyses")
        )
        and r.path != "/dashboard/static/vega.js"  # the public Vega library
    ]
    assert len(routes) >= 10
    for route in routes:
        url = route.path.replace("{case_id}", "1").replace("{name}", "responses")
        url = url.replace("{dataset}", "demo")
        for method in route.methods:
            response = client.request(method, url, json={} if method == "POST" else None)
            assert response.status_code in (303, 401), (method, url, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"] == "/login"


def test_password_guessing_is_refused(store: SurveyStore) -> None:
    settings = ServeSettings(
        SurveySettings(db="unused", questionnaires=EXAMPLES, failure_limit=3, failure_window_s=60)
    )
    app = create_serve_app(settings, store=store, rules=[], endings=endings)
    app.state.cases.add_user("olga", "case_owner", ["x"], "long password 1")
    client = AppClient(app)
    try:
        for _ in range(3):
            client.get("/login")  # a fresh login form token each time
            token = client.client.cookies.get("peakend_login")
            form = {"login_token": token, "name": "olga", "password": "guess guess"}
            assert client.post("/login", data=form).status_code == 303
        client.get("/login")
        form = {
            "login_token": client.client.cookies.get("peakend_login"),
            "name": "olga",
            "password": "long password 1",
        }
        refused = client.post("/login", data=form)
        assert refused.status_code == 429 and "Retry-After" in refused.headers
    finally:
        client.close()


def test_week_over_week_change() -> None:
    from scipy import stats

    from peakend.dashboard.widgets import welch_change

    before, after = [3.0, 4.0, 5.0, 4.0], [1.0, 2.0, 2.0, 3.0, 2.0]
    change, low, high = welch_change(before, after)
    reference = stats.ttest_ind(after, before, equal_var=False).confidence_interval(0.95)
    assert change == pytest.approx(2.0 - 4.0)
    assert (low, high) == pytest.approx((reference.low, reference.high))
    assert welch_change([3.0], after)[1:] == (None, None)  # one answer: no interval
