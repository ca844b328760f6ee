"""The web service in-process: form pages, JSON API, admin API and hostile input."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from peakend.survey.app import SurveySettings, create_app
from peakend.survey.questionnaire import Questionnaire
from peakend.survey.store import SurveyStore

from .conftest import ANSWERS, EXAMPLES, AppClient, invitation_request

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def store(tmp_path: Path, questionnaires: dict[str, Questionnaire]) -> SurveyStore:
    return SurveyStore.open(tmp_path / "survey.db", questionnaires)


@pytest.fixture
def client(store: SurveyStore, tmp_path: Path) -> Iterator[AppClient]:
    settings = SurveySettings(
        db=str(tmp_path / "survey.db"), questionnaires=EXAMPLES, max_body_bytes=64 * 1024
    )
    test_client = AppClient(create_app(settings, store=store))
    yield test_client
    test_client.close()


@pytest.fixture
def admin(store: SurveyStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {store.add_api_key('tester')}"}


def new_token(store: SurveyStore, n: int = 1, **extra: str) -> str:
    return store.invite([invitation_request(n, **extra)], actor="test")[0].token


def submit(client: AppClient, token: str, answers: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/forms/{token}/responses", json={"answers": answers})


# --- the form page --------------------------------------------------------------------


def test_form_page_speaks_dutch_by_default_and_english_on_request(
    client: AppClient, store: SurveyStore
) -> None:
    token = new_token(store)
    dutch = client.get(f"/s/{token}")
    assert dutch.status_code == 200 and '<html lang="nl">' in dutch.text
    assert "Heeft u gekregen wat u nodig had?" in dutch.text
    english = client.get(f"/s/{token}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Did you get what you needed?" in english.text
    assert "Did you get what you needed?" in client.get(f"/s/{token}?lang=en").text
    invited_in_english = new_token(store, 2, lang="en")
    assert '<html lang="en">' in client.get(f"/s/{invited_in_english}").text


def test_form_page_is_accessible_and_self_contained(client: AppClient, store: SurveyStore) -> None:
    page = client.get(f"/s/{new_token(store)}")
    html = page.text
    assert html.count("<fieldset") == 5 and html.count("<legend>") == 5  # radio/checkbox groups
    assert '<label for="q-comment">' in html and 'id="q-comment"' in html
    assert 'name="viewport"' in html and "http://" not in html and "https://" not in html
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"  # the link is the credential
    assert page.headers["cache-control"] == "no-store"
    for asset in ("/static/survey.css", "/static/survey.js"):
        static = client.get(asset)
        assert static.status_code == 200 and "max-age" in static.headers["cache-control"]


def test_form_post_shows_errors_then_thanks_then_already_answered(
    client: AppClient, store: SurveyStore
) -> None:
    token = new_token(store)
    bad = client.post(f"/s/{token}", data={"_lang": "en", "overall": "9", "comment": SCRIPT})
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text and "outside 1–5" in bad.text
    assert SCRIPT not in bad.text and "&lt;script&gt;" in bad.text  # kept, escaped
    form = {"_lang": "en", "success": "yes", "effort": "3", "emotion": "4", "overall": "4"}
    form_with_feelings = {**form, "feelings": ["happy", "relieved"]}
    done = client.post(f"/s/{token}", data=form_with_feelings)
    assert done.status_code == 200 and "Thank you" in done.text
    assert "already been answered" in client.get(f"/s/{token}?lang=en").text
    assert client.post(f"/s/{token}", data=form_with_feelings).status_code == 200  # idempotent
    assert client.post(f"/s/{token}", data={**form, "overall": "1"}).status_code == 409
    assert store.counts()["responses"] == 1


def test_drafts_are_restored_escaped(client: AppClient, store: SurveyStore) -> None:
    token = new_token(store)
    saved = client.put(
        f"/api/v1/forms/{token}/draft", json={"answers": {"overall": 2, "comment": SCRIPT}}
    )
    assert saved.status_code == 200
    html = client.get(f"/s/{token}").text
    assert SCRIPT not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert 'value="2" id="q-overall-1" checked' in html


def test_bad_links_get_an_error_page(
    client: AppClient, store: SurveyStore, questionnaires: dict[str, Questionnaire]
) -> None:
    assert client.get("/s/forged.123.abc").status_code == 404
    expired = SurveyStore(store.engine, questionnaires, ttl_days=-1).invite(
        [invitation_request()], actor="t"
    )
    page = client.get(f"/s/{expired[0].token}")
    assert page.status_code == 410 and "expired" in page.text


# --- JSON API -------------------------------------------------------------------------


def test_json_submission_is_idempotent_and_conflicts_are_refused(
    client: AppClient, store: SurveyStore
) -> None:
    token = new_token(store)
    first = submit(client, token, ANSWERS)
    assert first.status_code == 201 and first.json()["ok"] is True
    again = submit(client, token, ANSWERS)
    assert again.status_code == 200 and again.json()["data"]["duplicate"] is True
    conflict = submit(client, token, {**ANSWERS, "overall": 1})
    assert conflict.json() == {
        "ok": False,
        "error": "this questionnaire has already been answered; a link can be used for one set "
        "of answers only",
        "errors": {},
        "status": 409,
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"answers": {**ANSWERS, "overall": 6}}, 422),
        ({"answers": {**ANSWERS, "overall": 2.5}}, 422),
        ({"answers": {"overall": 3}}, 422),
        ({"answers": {**ANSWERS, "comment": "x" * 2001}}, 422),
        ({"answers": {**ANSWERS, "lang": "de"}}, 422),
        ({"answers": ANSWERS, "lang": "de"}, 422),
        ({"answers": "overall=5"}, 422),
        ({}, 422),
        ([1, 2], 422),
    ],
)
def test_invalid_answers_are_refused_with_reasons(
    client: AppClient, store: SurveyStore, body: Any, status: int
) -> None:
    response = client.post(f"/api/v1/forms/{new_token(store)}/responses", json=body)
    assert response.status_code == status
    payload = response.json()
    assert payload["ok"] is False and payload["status"] == status and payload["errors"]
    assert store.counts()["responses"] == 0


def test_wrong_content_oversized_and_non_utf8_bodies_are_refused(
    client: AppClient, store: SurveyStore
) -> None:
    token = new_token(store)
    url = f"/api/v1/forms/{token}/responses"
    json_type = {"Content-Type": "application/json"}
    refused = [
        client.post(url, content=b"\xff\xfe{}", headers=json_type),
        client.post(url, content=b'{"answers": {"comment": "\xc3\x28"}}', headers=json_type),
        client.post(url, content=b"answers=1", headers={"Content-Type": "text/plain"}),
        client.post(url, content=b"<answers/>", headers={"Content-Type": "application/xml"}),
        client.post(
            f"/s/{token}",
            content=b"comment=%ff%fe&overall=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        client.post(
            f"/s/{token}", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}
        ),
    ]
    assert [r.status_code for r in refused] == [422, 400, 422, 422, 422, 400]
    assert all(r.json()["ok"] is False for r in refused[:4])
    huge = client.post(url, json={"answers": {"comment": "x" * 70_000}})
    assert huge.status_code == 413 and huge.json()["status"] == 413
    assert store.counts()["responses"] == 0


def test_sql_meta_characters_are_stored_verbatim(
    client: AppClient, store: SurveyStore, admin: dict[str, str]
) -> None:
    nasty = "Robert'); DROP TABLE responses;-- \" \\ % _ ;"
    token = store.invite([invitation_request(1, channel=nasty)], actor="t")[0].token
    assert submit(client, token, {**ANSWERS, "comment": nasty}).status_code == 201
    listed = client.get("/api/v1/responses", headers=admin).json()["data"]
    assert listed[0]["answers"]["comment"] == nasty
    assert (
        client.delete(f"/api/v1/customers/{nasty}", headers=admin).json()["data"]["invitations"]
        == 0
    )
    assert store.counts()["responses"] == 1


# --- admin API ------------------------------------------------------------------------


def test_admin_routes_need_a_valid_key(client: AppClient, admin: dict[str, str]) -> None:
    for method, path in (
        ("get", "/api/v1/responses"),
        ("get", "/api/v1/export"),
        ("get", "/api/v1/audit"),
        ("delete", "/api/v1/customers/C1"),
        ("post", "/api/v1/invitations"),
    ):
        for headers in (
            {},
            {"Authorization": "Bearer pk_nope_nope"},
            {"Authorization": "Basic eDp5"},
        ):
            response = getattr(client, method)(path, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["error"].startswith("a valid API key is needed")


def test_invitations_from_json_and_csv(
    client: AppClient, admin: dict[str, str], store: SurveyStore
) -> None:
    body = {
        "invitations": [
            {
                "customer_id": "C9",
                "journey_id": "J9",
                "touchpoint": "delivery",
                "ts": "2025-03-01T10:00:00+01:00",
                "lang": "en",
            }
        ]
    }
    created = client.post("/api/v1/invitations", json=body, headers=admin)
    assert created.status_code == 201
    link = created.json()["data"][0]
    assert link["url"] == f"/s/{link['token']}" and link["ts"] == "2025-03-01T09:00:00+00:00"
    text = (
        "customer_id,journey_id,touchpoint,ts,channel\n"
        "C1,J1,service_call,2025-03-02T11:00:00Z,phone\n"
    )
    csv_headers = {**admin, "Content-Type": "text/csv"}
    from_csv = client.post("/api/v1/invitations/csv", content=text.encode(), headers=csv_headers)
    assert (
        from_csv.status_code == 201
        and from_csv.json()["data"][0]["questionnaire"] == "service_call"
    )
    assert (
        client.post(
            "/api/v1/invitations/csv",
            content=text.encode(),
            headers={**admin, "Content-Type": "text/plain"},
        ).status_code
        == 415
    )
    assert (
        client.post("/api/v1/invitations/csv", content=b"\xff\xfe", headers=csv_headers).status_code
        == 400
    )
    missing = client.post(
        "/api/v1/invitations/csv", content=b"customer_id,ts\nC1,x\n", headers=csv_headers
    )
    assert missing.status_code == 422 and "journey_id, touchpoint" in missing.json()["error"]
    bad_time = client.post(
        "/api/v1/invitations/csv",
        content=text.replace("2025-03-02T11:00:00Z", "yesterday").encode(),
        headers=csv_headers,
    )
    assert bad_time.json()["errors"] == {"line 2": "`ts` 'yesterday' is not an ISO 8601 time"}
    assert store.counts()["invitations"] == 2


def test_csv_export_defuses_formulas_and_the_export_is_audited(
    client: AppClient, admin: dict[str, str], store: SurveyStore
) -> None:
    token = new_token(store)
    submit(client, token, {**ANSWERS, "comment": '=HYPERLINK("http://evil","x")'})
    export = client.get("/api/v1/export?format=csv", headers=admin)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert rows[0]["text"] == '\'=HYPERLINK("http://evil","x")'
    parquet = client.get("/api/v1/export?format=parquet", headers=admin)
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.column("text").to_pylist() == ['=HYPERLINK("http://evil","x")']
    assert client.get("/api/v1/export?format=xlsx", headers=admin).status_code == 422
    audit = client.get("/api/v1/audit", headers=admin).json()["data"]
    exports = [entry for entry in audit if entry["action"] == "export"]
    assert [e["actor"] for e in exports] == [
        "key:tester (parquet download)",
        "key:tester (csv download)",
    ]


def test_openapi_describes_every_route(client: AppClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/api/v1/forms/{token}/responses",
        "/api/v1/forms/{token}/draft",
        "/api/v1/invitations",
        "/api/v1/invitations/csv",
        "/api/v1/responses",
        "/api/v1/export",
        "/api/v1/customers/{customer_id}",
        "/api/v1/audit",
    } <= set(paths)


def test_messages_on_pages_speak_the_page_language(client: AppClient, store: SurveyStore) -> None:
    token = new_token(store)
    dutch = client.post(f"/s/{token}", data={"_lang": "nl", "overall": "9"})
    assert "9 ligt buiten 1–5" in dutch.text and "deze vraag heeft een antwoord nodig" in dutch.text
    forged = client.get("/s/forged.1.x", headers={"Accept-Language": "nl-BE,nl;q=0.9"})
    assert forged.status_code == 404 and "deze link is niet geldig" in forged.text
    assert "this link is not valid" in client.get("/s/forged.1.x?lang=en").text


@pytest.mark.postgres
def test_the_service_runs_on_postgresql(postgres_db: str) -> None:
    app = create_app(SurveySettings(db=postgres_db, questionnaires=EXAMPLES))
    store: SurveyStore = app.state.store
    assert store.engine.dialect.name == "postgresql"
    client = AppClient(app)
    try:
        admin = {"Authorization": f"Bearer {store.add_api_key('pg')}"}
        body = {
            "invitations": [
                {
                    "customer_id": "C1",
                    "journey_id": "J1",
                    "touchpoint": "delivery",
                    "ts": "2025-03-01T10:00:00Z",
                }
            ]
        }
        token = client.post("/api/v1/invitations", json=body, headers=admin).json()["data"][0][
            "token"
        ]
        assert submit(client, token, ANSWERS).status_code == 201
        assert submit(client, token, ANSWERS).status_code == 200
        assert submit(client, token, {**ANSWERS, "overall": 1}).status_code == 409
        exported = client.get("/api/v1/export?format=parquet", headers=admin)
        assert pq.read_table(io.BytesIO(exported.content)).column("score").to_pylist() == [5.0]
        assert client.delete("/api/v1/customers/C1", headers=admin).json()["data"]["responses"] == 1
    finally:
        client.close()
        store.engine.dispose()


def test_unreadable_csv_is_refused_not_a_server_error(
    client: AppClient, admin: dict[str, str]
) -> None:
    headers = {**admin, "Content-Type": "text/csv"}
    for body in (b"\r0", b'customer_id,journey_id,touchpoint,ts\n"C1,J1', b"\x00\x00"):
        response = client.post("/api/v1/invitations/csv", content=body, headers=headers)
        assert response.status_code == 422, body


def test_the_factory_names_missing_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from peakend.errors import ConfigError
    from peakend.survey.app import app_from_env

    monkeypatch.delenv("PEAKEND_SURVEY_DB", raising=False)
    monkeypatch.delenv("PEAKEND_SURVEY_QUESTIONNAIRES", raising=False)
    with pytest.raises(ConfigError, match="PEAKEND_SURVEY_DB and PEAKEND_SURVEY_QUESTIONNAIRES"):
        app_from_env()


def test_no_page_loads_scripts_from_elsewhere(client: AppClient) -> None:
    assert client.get("/docs").status_code == 404  # FastAPI's page would load a CDN
    assert client.get("/openapi.json").status_code == 200
