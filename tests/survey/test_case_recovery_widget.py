"""The `case_recovery` widget: the figures of `peakend cases recovery` on the dashboard,
computed in the background, scoped to the user's units, with JSON and exports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from peakend.cases.recovery import case_recovery
from peakend.dashboard.app import ServeSettings, create_serve_app
from peakend.survey.app import SurveySettings
from peakend.survey.store import SurveyStore

from .conftest import EXAMPLES, AppClient
from .test_case_recovery import RULES, fill, notify
from .test_dashboard import login


def serve_app(store: SurveyStore, *, separate_process: bool = False) -> Any:
    settings = ServeSettings(SurveySettings(db="unused", questionnaires=EXAMPLES))
    app = create_serve_app(settings, store=store, rules=RULES, notify=notify())  # type: ignore[arg-type]
    # serve computes in a child process; most tests compute in theirs (faster to start)
    app.state.recovery.separate_process = separate_process
    return app


@pytest.fixture
def client_of() -> Iterator[Any]:
    made: list[AppClient] = []

    def make(app: Any) -> AppClient:
        made.append(AppClient(app))
        return made[-1]

    yield make
    for c in made:
        c.close()


def key(store: SurveyStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {store.add_api_key('k', actor='test')}"}


def test_widget_gives_the_recovery_figures(store: SurveyStore, client_of: Any) -> None:
    cases = fill(store, n_failed=24, n_plain=30)
    app = serve_app(store)
    client = client_of(app)
    headers = key(store)
    assert client.get("/api/v1/widgets/case_recovery", headers=headers).status_code == 503
    page = client.get("/dashboard/widgets/case_recovery", headers=headers).text
    assert "being computed" in page
    app.state.recovery.refresh()
    data = client.get("/api/v1/widgets/case_recovery", headers=headers).json()["data"]
    assert cases.notify is not None
    expected = case_recovery(store, cases.notify.followup)
    assert data["customers"] == 54
    assert data["verdict"] == expected.result.outcomes[0].verdict
    assert data["result"]["groups"] == {"no failure": 30, "recovered": 12, "not recovered": 12}
    groups = {r["name"]: r for r in data["rows"] if r["row"] == "group"}
    assert groups["recovered"]["customers"] == 12
    assert groups["recovered"]["value"] == pytest.approx(
        expected.result.outcomes[0].means["recovered"]
    )
    (contrast,) = [r for r in data["rows"] if r["name"] == "recovered − not recovered"]
    main = expected.result.outcomes[0].all_failures
    assert main is not None
    assert contrast["value"] == pytest.approx(main.recovered_vs_unrecovered.value)
    assert contrast["low"] < contrast["value"] < contrast["high"]
    fragment = client.get("/dashboard/widgets/case_recovery", headers=headers).text
    assert "data-vega=" in fragment and "on 54 customers" in fragment
    assert data["verdict"] in fragment

    csv = client.get("/api/v1/widgets/case_recovery?format=csv", headers=headers)
    assert csv.headers["content-disposition"] == 'attachment; filename="case_recovery.csv"'
    lines = csv.text.splitlines()
    assert lines[0] == "row,name,customers,value,low,high" and len(lines) == 1 + 3 + 3
    svg = client.get("/api/v1/widgets/case_recovery?format=svg", headers=headers)
    assert svg.headers["content-type"] == "image/svg+xml" and svg.text.startswith("<svg")


def test_small_samples_say_no_evidence(store: SurveyStore, client_of: Any) -> None:
    fill(store, n_failed=4, n_plain=5)
    app = serve_app(store)
    client = client_of(app)
    headers = key(store)
    app.state.recovery.refresh()
    data = client.get("/api/v1/widgets/case_recovery", headers=headers).json()["data"]
    assert data["verdict"] == "no evidence at this sample size"
    assert all(r["row"] == "group" for r in data["rows"])  # no contrast without evidence
    fragment = client.get("/dashboard/widgets/case_recovery", headers=headers).text
    assert "no evidence at this sample size" in fragment and "data-vega=" not in fragment
    no_chart = client.get("/api/v1/widgets/case_recovery?format=png", headers=headers)
    assert no_chart.status_code == 404


def test_widget_is_scoped_to_the_users_units(store: SurveyStore, client_of: Any) -> None:
    fill(store, n_failed=24, n_plain=30)
    app = serve_app(store)
    cases = app.state.cases
    cases.add_user("vic", "viewer", ["care"], "long password 2")
    cases.add_user("dora", "viewer", ["delivery", "logistics"], "long password 3")
    client = client_of(app)
    login(client, "vic", "long password 2")
    assert client.get("/api/v1/widgets/case_recovery").status_code == 503  # queued
    app.state.recovery.refresh(only_new=True)
    seen = client.get("/api/v1/widgets/case_recovery").json()["data"]
    assert seen["customers"] == 0  # no answer at the care touchpoint, no care case
    assert all(not r["customers"] for r in seen["rows"])
    client.client.cookies.clear()
    login(client, "dora", "long password 3")
    client.get("/api/v1/widgets/case_recovery")
    app.state.recovery.refresh(only_new=True)
    seen = client.get("/api/v1/widgets/case_recovery").json()["data"]
    assert seen["result"]["groups"] == {"no failure": 30, "recovered": 12, "not recovered": 12}
    # A unit filter only narrows: dora filtering on care sees nothing.
    client.get("/api/v1/widgets/case_recovery?unit=care")
    app.state.recovery.refresh(only_new=True)
    narrowed = client.get("/api/v1/widgets/case_recovery?unit=care").json()["data"]
    assert narrowed["customers"] == 0 and narrowed["filter"]["units"] == ["care"]


def test_default_layout_shows_the_widget(store: SurveyStore, client_of: Any) -> None:
    app = serve_app(store)
    client = client_of(app)
    page = client.get("/dashboard", headers=key(store)).text
    assert 'id="widget-case_recovery"' in page
    assert 'hx-get="/dashboard/widgets/case_recovery"' in page


def test_a_case_change_wakes_the_computation(store: SurveyStore, client_of: Any) -> None:
    fill(store, n_failed=4, n_plain=5)
    app = serve_app(store)
    client = client_of(app)
    recovery = app.state.recovery
    recovery._dirty = False
    changed = client.post("/api/v1/cases/1", json={"note": "called again"}, headers=key(store))
    assert changed.status_code == 200
    assert recovery._dirty  # recomputed within min_gap seconds, not at the next interval


def test_serve_computes_in_a_child_process(store: SurveyStore, client_of: Any) -> None:
    fill(store, n_failed=24, n_plain=30)
    app = serve_app(store, separate_process=True)
    recovery = app.state.recovery
    try:
        recovery.refresh()
        assert recovery._pool is not None  # the figures came from the child
    finally:
        recovery.stop()
    assert recovery._pool is None
    client = client_of(app)
    data = client.get("/api/v1/widgets/case_recovery", headers=key(store)).json()["data"]
    assert data["result"]["groups"] == {"no failure": 30, "recovered": 12, "not recovered": 12}
