"""`peakend serve`: login, sessions, CSRF, units, escaping and the widget endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from peakend.cases import CaseStore, Rule
from peakend.cases.store import User
from peakend.dashboard.app import COOKIE, ServeSettings, create_serve_app
from peakend.survey.app import SurveySettings
from peakend.survey.questionnaire import read_questionnaires
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


# --- layouts, filters, analysis widgets, exports ------------------------------------------


def key_headers(app: object) -> dict[str, str]:
    key = app.state.cases.survey.add_api_key("k", actor="t")  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ('title = "x"\nwidgets = 1', "unknown key(s) widgets"),
        ('[[widget]]\nname = "nope"', "name must be one of"),
        ('[[widget]]\nname = "endings"\ncolour = "red"', "unknown key(s) colour"),
        ('[[widget]]\nname = "endings"\nperiod = "last month"', 'use "30d"'),
        ('[[widget]]\nname = "endings"\ntouchpoints = "care"', "touchpoints must be a list"),
        ('[[widget]]\nname = "endings"\ndataset = "demo"', "remove it"),
        ('[[widget]]\nname = "endings"\nsegment = "email"', "key:value"),
        ('title = "x"', "add at least one [[widget]]"),
        ("[[widget]\n", "not valid TOML"),
    ],
)
def test_layout_errors_name_the_key_and_the_fix(text: str, fix: str) -> None:
    from peakend.dashboard.layout import parse_layout
    from peakend.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(fix)) as raised:
        parse_layout(text, "my.toml")
    assert str(raised.value).startswith("my.toml")


def test_layout_datasets_are_checked() -> None:
    from peakend.dashboard.layout import check_layout, default_layout, parse_layout
    from peakend.errors import ConfigError

    layout = parse_layout('[[widget]]\nname = "moments"', "my.toml")
    with pytest.raises(ConfigError, match="start serve with --dataset"):
        check_layout(layout, [])
    with pytest.raises(ConfigError, match="add dataset = one of a, b"):
        check_layout(layout, ["a", "b"])
    assert check_layout(layout, ["a"]).panels[0].dataset == "a"
    other = parse_layout('[[widget]]\nname = "moments"\ndataset = "c"', "my.toml")
    with pytest.raises(ConfigError, match="no dataset 'c'; registered: a"):
        check_layout(other, ["a"])
    names = [p.name for p in default_layout(["demo"]).panels]
    assert names[:7] == [
        "score_trend", "responses", "endings", "verbatims", "cases", "case_report", "case_recovery",
    ]  # fmt: skip
    assert names[7:] == ["moments", "memory", "hidden", "recovery", "churn", "focus"]


def test_serve_refuses_a_bad_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from peakend.cli import main

    bad = tmp_path / "layout.toml"
    bad.write_text('[[widget]]\nname = "score_trend"\nperiod = "soon"\n', encoding="utf-8")
    db = str(tmp_path / "s.db")
    args = ["peakend", "serve", "--db", db, "-q", str(EXAMPLES), "--layout", str(bad)]
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "widget 1 (score_trend): period 'soon' is not understood" in message


def test_layout_orders_the_page(store: SurveyStore, tmp_path: Path) -> None:
    layout = tmp_path / "layout.toml"
    layout.write_text(
        'title = "Delivery desk"\n[[widget]]\nname = "endings"\nperiod = "2025-03-01.."\n'
        'touchpoints = ["delivery"]\n[[widget]]\nname = "score_trend"\n',
        encoding="utf-8",
    )
    settings = ServeSettings(SurveySettings(db="unused", questionnaires=EXAMPLES), layout=layout)
    app = create_serve_app(settings, store=store, rules=[], endings=endings)
    client = AppClient(app)
    try:
        page = client.get("/dashboard?unit=delivery,care", headers=key_headers(app)).text
        assert "<h1>Delivery desk</h1>" in page
        urls = re.findall(r'hx-get="(/dashboard/widgets/[^"]+)"', page)
        assert urls == [
            "/dashboard/widgets/endings?period=2025-03-01..&amp;unit=delivery",
            "/dashboard/widgets/score_trend?unit=delivery%2Ccare",
        ]
    finally:
        client.close()


def test_filters_select_answers(app: object, client: AppClient, store: SurveyStore) -> None:
    headers = key_headers(app)
    request = invitation_request(
        9, touchpoint="first_invoice", channel="sms", questionnaire="delivery"
    )
    invitation = store.invite([request], actor="t")[0]
    store.submit(invitation.token, {**ANSWERS, "overall": 2})
    widgets = app.state.widgets  # type: ignore[attr-defined]
    widgets.refresh()
    url = "/api/v1/widgets/score_trend"
    everything = client.get(url, headers=headers).json()["data"]["rows"]
    assert {r["touchpoint"] for r in everything} == {"delivery", "first_invoice"}
    assert client.get(f"{url}?segment=channel:sms", headers=headers).status_code == 503
    fragment = client.get("/dashboard/widgets/score_trend?period=2026-01-01..", headers=headers)
    assert "Computing…" in fragment.text and 'hx-trigger="load delay:2s"' in fragment.text
    widgets.compute_pending()
    sms = client.get(f"{url}?segment=channel:sms", headers=headers).json()["data"]
    assert [r["touchpoint"] for r in sms["rows"]] == ["first_invoice"] and sms["n_answers"] == 1
    assert sms["filter"]["segment"] == "channel:sms"
    later = client.get(f"{url}?period=2026-01-01..", headers=headers).json()["data"]
    assert later["rows"] == [] and later["n_answers"] == 0
    units = client.get(f"{url}?unit=first_invoice", headers=headers).json()["data"]["rows"]
    assert [r["touchpoint"] for r in units] == ["first_invoice"]  # units need no recomputation
    assert client.get(f"{url}?period=yesterday", headers=headers).status_code == 422
    assert "is not understood" in client.get(f"{url}?period=x", headers=headers).json()["error"]


def test_a_filter_never_widens_a_role(app: object, client: AppClient, store: SurveyStore) -> None:
    cases: CaseStore = app.state.cases  # type: ignore[attr-defined]
    cases.add_user("dora", "viewer", ["delivery"], "long password 3")
    app.state.widgets.refresh()  # type: ignore[attr-defined]
    login(client, "vic", "long password 2")  # unit care: no delivery answers
    for query in ("", "?unit=delivery", "?unit=delivery,care", "?unit=*"):
        for name in ("score_trend", "endings", "verbatims", "responses"):
            data = client.get(f"/api/v1/widgets/{name}{query}").json()["data"]
            assert data["rows"] == [], (name, query)
        assert "Prima" not in client.get(f"/dashboard/widgets/verbatims{query}").text
    client.client.cookies.clear()
    login(client, "dora", "long password 3")
    assert client.get("/api/v1/widgets/endings").json()["data"]["rows"]
    assert client.get("/api/v1/widgets/endings?unit=care").json()["data"]["rows"] == []


def test_verbatim_feed_escapes_and_labels(app: object, client: AppClient) -> None:
    app.state.widgets.refresh()  # type: ignore[attr-defined]
    headers = key_headers(app)
    rows = client.get("/api/v1/widgets/verbatims", headers=headers).json()["data"]["rows"]
    assert {r["comment"]: r["ending"] for r in rows} == {
        XSS: "positive",
        "Ik ben boos": "negative",
        "Prima": "positive",
    }
    assert all(r["emotion"] == 4 for r in rows)
    fragment = client.get("/dashboard/widgets/verbatims", headers=headers).text
    assert "&lt;script&gt;" in fragment and "<script>alert" not in fragment
    assert "ends negative" in fragment


def test_widget_exports(app: object, client: AppClient) -> None:
    app.state.widgets.refresh()  # type: ignore[attr-defined]
    headers = key_headers(app)
    csv = client.get("/api/v1/widgets/endings?format=csv", headers=headers)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="endings.csv"'
    header, row = csv.text.splitlines()
    assert header == "touchpoint,negative,low,high,answers" and row.startswith("delivery,0.333")
    svg = client.get("/api/v1/widgets/score_trend?format=svg", headers=headers)
    assert svg.headers["content-type"] == "image/svg+xml" and svg.text.startswith("<svg")
    png = client.get("/api/v1/widgets/responses?format=png", headers=headers)
    assert png.content.startswith(b"\x89PNG")
    no_chart = client.get("/api/v1/widgets/verbatims?format=png", headers=headers)
    assert no_chart.status_code == 404 and "format=csv" in no_chart.json()["error"]
    assert client.get("/api/v1/widgets/endings?format=xls", headers=headers).status_code == 422
    assert client.get("/api/v1/widgets/endings?format=csv").status_code == 401


@pytest.fixture(scope="module")
def demo_spec() -> Path:
    from peakend.datasets import demo_spec_path

    return demo_spec_path()


def test_analysis_widgets(tmp_path: Path, demo_spec: Path) -> None:
    """Each analysis widget: figures with intervals and n, charts, role scoping, exports.

    The analyses do not depend on the survey database: SQLite only.
    """
    store = SurveyStore.open(tmp_path / "s.db", read_questionnaires(EXAMPLES))
    settings = ServeSettings(
        SurveySettings(db="unused", questionnaires=EXAMPLES), datasets=(demo_spec,)
    )
    app = create_serve_app(settings, store=store, rules=[], endings=endings)
    cases: CaseStore = app.state.cases
    cases.add_user("ann", "analyst", ["*"], "long password 4")
    cases.add_user("ivy", "viewer", ["first_invoice", "installation"], "long password 5")
    client = AppClient(app)
    analyses = app.state.analyses
    try:
        headers = key_headers(app)
        url = "/api/v1/analyses/demo"
        assert client.get(f"{url}/moments", headers=headers).status_code == 503
        assert "Computing…" in client.get("/dashboard/analyses/demo/moments", headers=headers).text
        analyses.compute()
        for name in ("moments", "memory", "hidden", "recovery", "churn", "focus"):
            data = client.get(f"{url}/{name}", headers=headers).json()["data"]
            assert data["n_journeys"] == 2000 and data["reason"] is None, name
            assert data["charts"] and _has_interval(data["results"]), name
            fragment = client.get(f"/dashboard/analyses/demo/{name}", headers=headers).text
            assert "data-vega=" in fragment and "on 2000 journeys" in fragment
        page = client.get("/dashboard", headers=headers).text
        assert 'hx-get="/dashboard/analyses/demo/focus"' in page
        csv = client.get(f"{url}/focus?format=csv", headers=headers)
        assert csv.text.splitlines()[0] == "action,kind,gain,low,high"
        png = client.get(f"{url}/hidden?format=png&chart=hidden_first_invoice", headers=headers)
        assert png.content.startswith(b"\x89PNG")
        assert client.get(f"{url}/nope", headers=headers).status_code == 404
        # A viewer of two units gets the analysis of those touchpoints only.
        login(client, "ivy", "long password 5")
        assert client.get(f"{url}/moments?unit=churn_call").status_code == 503
        assert client.get(f"{url}/moments").status_code == 503  # not the admin's figures
        analyses.compute()
        mine = client.get(f"{url}/moments").json()["data"]
        rows = {t["touchpoint"] for t in mine["results"]["touchpoints"]}
        assert rows <= {"first_invoice", "installation"} and rows
        outside = client.get(f"{url}/moments?unit=churn_call").json()["data"]
        assert outside["n_journeys"] == 0 and "no journeys match" in outside["reason"]
        # Only admins and analysts may ask for a recomputation.
        csrf = csrf_of(client, "/dashboard")
        refused = client.post("/dashboard/analyses/refresh", data={"csrf": csrf})
        assert refused.status_code == 403
        client.client.cookies.clear()
        login(client, "ann", "long password 4")
        csrf = csrf_of(client, "/dashboard")
        assert "Recompute the analyses" in client.get("/dashboard").text
        done = client.post("/dashboard/analyses/refresh", data={"csrf": csrf, "dataset": "demo"})
        assert done.status_code == 303 and analyses.computing() == ["demo"]
    finally:
        client.close()


def _has_interval(value: object) -> bool:
    if isinstance(value, dict):
        if {"low", "high"} <= set(value) and value.get("low") is not None:
            return True
        return any(_has_interval(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_interval(v) for v in value)
    return False


def test_period_forms() -> None:
    from datetime import date

    from peakend.dashboard.filters import Filter, FilterError, parse_period

    today = date(2026, 3, 31)
    assert parse_period("30d", today) == (date(2026, 3, 2), today)
    assert parse_period("2w", today) == (date(2026, 3, 18), today)
    assert parse_period("2026-01-01..", today) == (date(2026, 1, 1), None)
    assert parse_period("..2026-01-31", today) == (None, date(2026, 1, 31))
    for bad in ("0d", "2026-02-01..2026-01-01", "2026-13-01..", "soon"):
        with pytest.raises(FilterError):
            parse_period(bad, today)
    narrowed = Filter(units=("a", "b")).merged(Filter(units=("c",)))
    assert narrowed.units == ("(none)",) and "unit=%28none%29" in narrowed.query()
    assert not narrowed.shows("a", User("x", "admin", ("*",)))  # nothing in common: nothing


def test_demo_survey(tmp_path: Path) -> None:
    """`peakend demo --serve`'s database: every answer is a demo event; the admin can log in."""
    from peakend.dashboard.demo import DEMO_USER, demo_answers, prepare_demo
    from peakend.dashboard.layout import read_layout

    answers = demo_answers()
    assert len(answers) > 500 and {a["touchpoint"] for a in answers} == {
        "installation",
        "first_invoice",
        "support_call",
    }
    setup = prepare_demo(tmp_path, None)
    assert setup.answers == len(answers) and setup.password is not None
    again = prepare_demo(tmp_path, None)
    assert again.answers == len(answers) and again.password is None  # shown once only
    store = SurveyStore.open(setup.db, read_questionnaires(setup.questionnaires))
    cases = CaseStore(store)
    token, _csrf = cases.login(DEMO_USER, setup.password)
    assert token
    prepare_demo(tmp_path, "chosen password 1")
    cases.login(DEMO_USER, "chosen password 1")
    scores = store.read_snapshot(
        lambda c: c.exec_driver_sql("SELECT overall FROM responses ORDER BY id").scalars().all()
    )
    assert scores == [a["score"] for a in answers]
    assert {p.name for p in read_layout(setup.layout).panels} >= {"moments", "focus"}


def test_demo_serve_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`peakend demo --serve` starts serve on the demo survey, dataset, rules and layout."""
    import sys

    import peakend.cli.dashboard as serve_cli
    from peakend.cli import main

    started: list[tuple[ServeSettings, str, int]] = []
    monkeypatch.setattr(serve_cli, "start_service", lambda *args: started.append(args))
    monkeypatch.setenv("PEAKEND_PASSWORD", "chosen password 2")
    argv = ["peakend", "demo", "--serve", "--out", str(tmp_path), "--port", "8123"]
    monkeypatch.setattr(sys, "argv", argv)
    main()
    ((settings, host, port),) = started
    assert (host, port) == ("127.0.0.1", 8123)
    assert settings.survey.db == str(tmp_path / "survey.db")
    assert settings.datasets and settings.layout is not None and settings.rules is not None
    output = capsys.readouterr()
    assert "answers)" in output.err and "password" not in output.out  # chosen, not printed
