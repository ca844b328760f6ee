"""One regression test per defect of the survey service's audit (revocation, server
errors from public input, erasure, file modes, limits), in-process unless noted."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from peakend.survey import models as m
from peakend.survey import store as store_module
from peakend.survey.app import SurveySettings, create_app
from peakend.survey.database import make_engine
from peakend.survey.errors import AlreadyAnsweredError, InvalidLinkError
from peakend.survey.export import defuse_cell
from peakend.survey.questionnaire import Questionnaire
from peakend.survey.store import InvitationRequest, SurveyStore
from peakend.survey.tokens import sign_token

from .conftest import ANSWERS, EXAMPLES, AppClient, invitation_request

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


@pytest.fixture
def sqlite_store(tmp_path: Path, questionnaires: dict[str, Questionnaire]) -> Iterator[SurveyStore]:
    opened = SurveyStore.open(tmp_path / "survey.db", questionnaires)
    yield opened
    opened.engine.dispose()


def client_for(store: SurveyStore, **settings: Any) -> AppClient:
    url = str(store.engine.url)
    return AppClient(
        create_app(SurveySettings(db=url, questionnaires=EXAMPLES, **settings), store=store)
    )


@pytest.fixture
def client(sqlite_store: SurveyStore) -> Iterator[AppClient]:
    test_client = client_for(sqlite_store)
    yield test_client
    test_client.close()


def new_token(store: SurveyStore, n: int = 1, **extra: str) -> str:
    return store.invite([invitation_request(n, **extra)], actor="test")[0].token


# --- 1. revocation ------------------------------------------------------------------


def test_a_link_from_before_two_rotations_is_refused_by_a_running_service(
    db: str, questionnaires: dict[str, Questionnaire], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = SurveyStore.open(db, questionnaires)  # a worker that already serves the link
    token = new_token(service)
    assert service.form(token).invitation.customer_id == "C1"
    operator = SurveyStore.open(db, questionnaires)
    operator.rotate_secret(actor="test")
    operator.rotate_secret(actor="test")
    monkeypatch.setattr(store_module, "SECRET_RELOAD_S", 0.0)  # the reload interval has passed
    with pytest.raises(InvalidLinkError):
        service.submit(token, {k: v for k, v in ANSWERS.items() if k != "comment"})
    fresh = new_token(operator, 2)  # signed after the rotations: accepted by the worker
    assert service.form(fresh).invitation.customer_id == "C2"
    service.engine.dispose()
    operator.engine.dispose()


def test_a_revoked_link_is_refused_at_once_by_every_worker(
    db: str, questionnaires: dict[str, Questionnaire]
) -> None:
    worker = SurveyStore.open(db, questionnaires)
    token = new_token(worker)
    worker.form(token)
    operator = SurveyStore.open(db, questionnaires)
    assert operator.revoke_link(f"https://survey.example.org/s/{token}", actor="test")
    assert not operator.revoke_link(token, actor="test")  # already revoked
    with pytest.raises(InvalidLinkError):
        worker.form(token)
    with pytest.raises(InvalidLinkError):
        worker.submit(token, ANSWERS)
    worker.engine.dispose()
    operator.engine.dispose()


def test_a_token_has_one_spelling(client: AppClient, sqlite_store: SurveyStore) -> None:
    token = new_token(sqlite_store)
    invitation_id, expires, signature = token.split(".")
    for expiry in (f"0{expires}", f"+{expires}", f" {expires}", f"{expires}.0"):
        other = f"{invitation_id}.{expiry}.{signature}"
        assert client.get(f"/api/v1/forms/{other}").status_code == 404
    assert client.get(f"/api/v1/forms/{token}").status_code == 200


# --- 2. no server error from public input --------------------------------------------


@pytest.mark.parametrize("path", ["/s/a.%C2%B2.b", "/api/v1/forms/a.%C2%B2.b", "/s/a.%D9%A3.b"])
def test_a_token_with_a_non_ascii_digit_is_an_invalid_link(client: AppClient, path: str) -> None:
    assert client.get(path).status_code == 404


BAD_SCALE = ["²", "--3", "9" * 5000, "٣", "３", 3.0, True, " 3", "3 ", "+3", "0x3", 3.5, -1, 6]


@pytest.mark.parametrize("value", BAD_SCALE)
def test_a_scale_answer_is_ascii_digits_within_the_scale(
    client: AppClient, sqlite_store: SurveyStore, value: object
) -> None:
    token = new_token(sqlite_store)
    answers = {**ANSWERS, "overall": value}
    submitted = client.post(f"/api/v1/forms/{token}/responses", json={"answers": answers})
    assert submitted.status_code == 422, submitted.text
    assert "overall" in str(submitted.json()["errors"])
    draft = client.put(f"/api/v1/forms/{token}/draft", json={"answers": {"overall": value}})
    assert draft.status_code == 422
    if isinstance(value, str):
        form = client.post(f"/s/{token}", data={**ANSWERS, "overall": value})
        assert form.status_code == 422 and "content-security-policy" in form.headers
    assert sqlite_store.counts()["responses"] == 0


def test_a_scale_answer_in_ascii_digits_is_accepted(
    client: AppClient, sqlite_store: SurveyStore
) -> None:
    token = new_token(sqlite_store)
    answers = {**ANSWERS, "overall": "4"}
    assert client.post(f"/api/v1/forms/{token}/responses", json={"answers": answers}).is_success


def test_a_lone_surrogate_is_a_422_everywhere(client: AppClient, sqlite_store: SurveyStore) -> None:
    token = new_token(sqlite_store)
    body = '{"answers": {"success": "yes", "effort": 2, "emotion": 4, "overall": 5, '
    body += '"comment": "\\ud800"}}'
    headers = {"content-type": "application/json"}
    for method, path in (("POST", "responses"), ("PUT", "draft")):
        reply = client.request(
            method, f"/api/v1/forms/{token}/{path}", content=body, headers=headers
        )
        assert reply.status_code == 422 and "comment" in reply.json()["errors"]
    unknown = '{"answers": {"\\udfff": 1}}'
    reply = client.put(f"/api/v1/forms/{token}/draft", content=unknown, headers=headers)
    assert reply.status_code == 422


@pytest.mark.postgres
def test_concurrent_drafts_and_a_submission_on_postgres(
    postgres_db: str, questionnaires: dict[str, Questionnaire]
) -> None:
    store = SurveyStore.open(postgres_db, questionnaires)
    outcomes: list[str] = []

    def draft(token: str, i: int) -> str:
        try:
            store.save_draft(token, {"overall": 1 + i % 5})
        except AlreadyAnsweredError:
            return "answered"
        return "draft"

    def answer(token: str) -> str:
        return "duplicate" if store.submit(token, ANSWERS).duplicate else "stored"

    try:
        for n in range(20):
            token = new_token(store, n)
            with ThreadPoolExecutor(6) as pool:
                futures = [pool.submit(draft, token, i) for i in range(5)]
                futures.append(pool.submit(answer, token))
                outcomes += [future.result() for future in futures]  # raises what failed
        with store.engine.connect() as connection:
            both = connection.execute(
                sa.select(sa.func.count())
                .select_from(m.drafts)
                .join(m.responses, m.responses.c.invitation_id == m.drafts.c.invitation_id)
            ).scalar_one()
    finally:
        store.engine.dispose()
    assert outcomes.count("stored") == 20
    assert both == 0, "a draft was left beside a stored answer"


# --- 4. exports never block submissions --------------------------------------------


def test_a_submission_completes_while_an_export_is_reading(sqlite_store: SurveyStore) -> None:
    tokens = [new_token(sqlite_store, n) for n in range(3)]
    reading, release = threading.Event(), threading.Event()
    exporter: list[int] = []

    def pause_the_export(conn: Any, _clause: Any, *_args: Any) -> None:
        if threading.get_ident() == exporter[0] and "survey_events" not in str(_clause):
            if "submitted_at" in str(_clause) and "LEFT OUTER JOIN" in str(_clause):
                reading.set()
                release.wait(30)

    sa.event.listen(sqlite_store.engine, "after_execute", pause_the_export)

    def export() -> None:
        exporter.append(threading.get_ident())
        sqlite_store.event_rows(actor="test", what="test")

    thread = threading.Thread(target=export)
    thread.start()
    assert reading.wait(30)
    done = threading.Event()

    def submit() -> None:
        sqlite_store.submit(tokens[0], ANSWERS)
        done.set()

    submitter = threading.Thread(target=submit, daemon=True)
    submitter.start()
    finished_during_export = done.wait(20)
    release.set()
    thread.join()
    submitter.join(30)
    assert finished_during_export, "the submission waited for the export"


# --- 5. erasure ---------------------------------------------------------------------


def test_an_erased_customer_leaves_no_trace_in_the_sqlite_files(
    tmp_path: Path, questionnaires: dict[str, Questionnaire]
) -> None:
    store = SurveyStore.open(tmp_path / "survey.db", questionnaires)
    secret_comment = "Mijn-geheime-opmerking-over-de-bezorging-" * 3
    requests = [invitation_request(n) for n in range(200)]
    requests += [
        InvitationRequest("KLANT-ERASE-ME-4242", f"JX{n}", "delivery", requests[0].ts)
        for n in range(5)
    ]
    invitations = store.invite(requests, actor="test")
    for n, invitation in enumerate(invitations):
        comment = secret_comment if invitation.customer_id.startswith("KLANT") else f"ok {n}"
        store.submit(invitation.token, {**ANSWERS, "comment": comment})
    assert store.forget_customer(" KLANT-ERASE-ME-4242 ", actor="test").invitations == 5
    files = [p for p in tmp_path.iterdir() if p.name.startswith("survey.db")]
    for path in files:
        content = path.read_bytes()
        assert b"KLANT-ERASE-ME" not in content, path.name
        assert b"Mijn-geheime-opmerking" not in content, path.name
    store.engine.dispose()


def test_ids_are_normalised_on_every_path_and_any_id_is_erasable(
    client: AppClient, sqlite_store: SurveyStore
) -> None:
    key = {"Authorization": f"Bearer {sqlite_store.add_api_key('tester')}"}
    body = {
        "invitations": [
            {
                "customer_id": "C-1 ",
                "journey_id": "J1",
                "touchpoint": "delivery",
                "ts": "2025-03-01",
            },
            {
                "customer_id": "a/b?c",
                "journey_id": "J2",
                "touchpoint": "delivery",
                "ts": "2025-03-01",
            },
        ]
    }
    assert client.post("/api/v1/invitations", json=body, headers=key).status_code == 201
    assert sqlite_store.forget_customer("C-1", actor="test").invitations == 1
    erased = client.delete("/api/v1/customers/a%2Fb%3Fc", headers=key)
    assert erased.status_code == 200 and erased.json()["data"]["invitations"] == 1
    assert sqlite_store.counts()["invitations"] == 0


def test_the_audit_tag_cannot_be_computed_from_the_database(sqlite_store: SurveyStore) -> None:
    new_token(sqlite_store)
    sqlite_store.forget_customer("C1", actor="test")
    with sqlite_store.engine.connect() as connection:
        seeds = connection.execute(sa.select(m.survey_meta.c.value)).scalars().all()
    detail = sqlite_store.audit_log(limit=1)[0]["detail"]
    for seed in seeds:
        assert hashlib.sha256(f"{seed}:C1".encode()).hexdigest()[:16] not in detail


# --- 6. private files, secret outside the database -----------------------------------


def test_database_files_and_key_are_readable_by_their_owner_only(
    tmp_path: Path, questionnaires: dict[str, Questionnaire]
) -> None:
    store = SurveyStore.open(tmp_path / "survey.db", questionnaires)
    token = new_token(store)
    store.submit(token, ANSWERS)
    paths = [p for p in tmp_path.iterdir() if p.name.startswith("survey.db")]
    assert {p.name for p in paths} >= {"survey.db", "survey.db-wal", "survey.db.key"}
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name
    # The database alone cannot sign a link: its seeds are not the signing keys.
    with store.engine.connect() as connection:
        seeds = connection.execute(sa.select(m.survey_meta.c.value)).scalars().all()
    invitation_id, expires, _ = token.split(".")
    for seed in seeds:
        with pytest.raises(InvalidLinkError):
            store.form(sign_token(seed, invitation_id, int(expires)))
    store.engine.dispose()


def test_an_existing_world_readable_database_is_made_private(
    tmp_path: Path, questionnaires: dict[str, Questionnaire]
) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    make_engine(path).dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- 7. limits, headers, outages -----------------------------------------------------


def test_wrong_keys_are_counted_blocked_and_audited(sqlite_store: SurveyStore) -> None:
    test_client = client_for(sqlite_store, failure_limit=10, failure_window_s=60)
    statuses = [
        test_client.get("/api/v1/audit", headers={"Authorization": f"Bearer pk_x_{n}"}).status_code
        for n in range(15)
    ]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429] * 5
    blocked = test_client.get("/api/v1/forms/x.1.y")
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert test_client.get("/api/v1/health").status_code == 200
    actions = [e["action"] for e in sqlite_store.audit_log(limit=50)]
    assert actions.count("failed-key") == 9 and actions.count("block-client") == 1
    test_client.close()


def test_invalid_links_are_counted_too(sqlite_store: SurveyStore) -> None:
    test_client = client_for(sqlite_store, failure_limit=5)
    statuses = [test_client.get(f"/s/nope{n}.1.x").status_code for n in range(7)]
    assert statuses == [404] * 5 + [429] * 2
    test_client.close()


def test_a_chunked_oversized_body_is_413_with_security_headers(client: AppClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(160):
            yield b"x" * 65536

    reply = client.post(
        "/api/v1/forms/a.1.b/responses",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 413
    for name in SECURITY_HEADERS:
        assert name in reply.headers
    declared = client.post("/api/v1/forms/a.1.b/responses", content=b"x" * 300_000)
    assert declared.status_code == 413 and "content-security-policy" in declared.headers
    form = client.post(
        "/s/a.1.b", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert form.status_code == 413


def test_an_unexpected_error_is_a_json_500_with_security_headers(
    client: AppClient, sqlite_store: SurveyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(sqlite_store, "submit", broken)
    reply = client.post(f"/api/v1/forms/{new_token(sqlite_store)}/responses", json={"answers": {}})
    assert reply.status_code == 500 and reply.json()["ok"] is False
    for name in SECURITY_HEADERS:
        assert name in reply.headers


def test_a_database_outage_is_a_json_503_with_retry_after(
    client: AppClient, sqlite_store: SurveyStore
) -> None:
    token = new_token(sqlite_store)
    working = sqlite_store.engine
    sqlite_store.engine = make_engine("postgresql://nobody:x@127.0.0.1:9/none")
    try:
        for reply in (
            client.post(f"/api/v1/forms/{token}/responses", json={"answers": ANSWERS}),
            client.get(f"/s/{token}"),
        ):
            assert reply.status_code == 503, reply.text
            assert reply.headers["retry-after"] == "5"
            assert reply.json()["ok"] is False and "content-security-policy" in reply.headers
    finally:
        sqlite_store.engine.dispose()
        sqlite_store.engine = working


@pytest.mark.parametrize(
    "field, value",
    [
        ("ts", "9999-12-31T23:00-05:00"),
        ("customer_id", "C\x001"),
        ("journey_id", "J\ud800"),
        ("customer_id", "   "),
    ],
)
def test_bad_invitation_fields_are_a_422_on_every_database(
    db: str, questionnaires: dict[str, Questionnaire], field: str, value: str
) -> None:
    store = SurveyStore.open(db, questionnaires)
    test_client = client_for(store)
    key = {"Authorization": f"Bearer {store.add_api_key('tester')}"}
    item = {"customer_id": "C1", "journey_id": "J1", "touchpoint": "delivery", "ts": "2025-03-01"}
    item[field] = value
    body = json.dumps({"invitations": [item]})
    reply = test_client.post(
        "/api/v1/invitations", content=body, headers={**key, "content-type": "application/json"}
    )
    assert reply.status_code == 422, reply.text
    assert store.counts()["invitations"] == 0
    test_client.close()
    store.engine.dispose()


# --- 9. CSV formula guard ------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    ["=1+1", " =1+1", "\n=1+1", "＝1+1", "\u200b=1+1", "\ufeff@SUM(A1)", "\t=1", "－1", "+1"],
)
def test_formula_like_cells_are_defused(cell: str) -> None:
    assert defuse_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Prima", "1 = 1", "", "e-mail", "Dank!"])
def test_plain_cells_are_left_alone(cell: str) -> None:
    assert defuse_cell(cell) == cell
