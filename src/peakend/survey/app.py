"""The survey web service: the public form, its JSON API and the admin API (FastAPI).

Build it with :func:`create_app`; nothing happens at import time. Public routes
need only a signed link (``/s/<token>``, ``/api/v1/forms/<token>``); admin routes
(invitations, answers, export, erasure, audit log) need an API key sent as
``Authorization: Bearer <key>``. Every JSON answer has one envelope::

    {"ok": true, "data": ...}
    {"ok": false, "error": "what went wrong", "errors": {"question": "why"}, "status": 422}

The OpenAPI description is at ``/openapi.json``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StrictInt, StrictStr
from python_multipart.exceptions import FormParserError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peakend.errors import ConfigError
from peakend.survey import pages
from peakend.survey.errors import AccessError, AnswerError, InvalidLinkError, SurveyError
from peakend.survey.export_job import export_file
from peakend.survey.questionnaire import language_codes, read_questionnaires
from peakend.survey.store import DEFAULT_TTL_DAYS, InvitationRequest, SurveyStore
from peakend.survey.throttle import FAILURE_LIMIT, WINDOW_S, FailureLimiter

MAX_BODY_BYTES = 256 * 1024
MAX_INVITATIONS = 10_000
RETRY_AFTER_S = 5
"""Seconds a client is asked to wait when the database is unavailable (503)."""
EXPORT_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
# Strict: a JSON number that is not a whole number, or a boolean, is not an answer.
AnswerValue = StrictInt | StrictStr | list[StrictStr] | None
log = logging.getLogger("peakend.survey")


@dataclass(frozen=True)
class SurveySettings:
    """Settings of the survey service.

    Attributes
    ----------
    db
        Database: a SQLite file path or URL, or ``postgresql://user:pw@host/db``.
    questionnaires
        A questionnaire file or a folder of them.
    ttl_days
        Days an invitation link stays valid.
    base_url
        Public address of the service, used to print full links (e.g.
        ``https://survey.example.org``); without it links are relative.
    max_body_bytes
        Larger request bodies are refused with 413.
    failure_limit, failure_window_s
        A client with this many wrong API keys or invalid links within the
        window is refused (429) until the window ends (see
        :mod:`~peakend.survey.throttle`).
    """

    db: str
    questionnaires: Path
    ttl_days: float = DEFAULT_TTL_DAYS
    base_url: str = ""
    max_body_bytes: int = MAX_BODY_BYTES
    failure_limit: int = FAILURE_LIMIT
    failure_window_s: float = WINDOW_S


# --- request bodies -----------------------------------------------------------------


class SubmitBody(BaseModel):
    """Answers by question id; ``lang`` (nl/en) is the language the form was shown in."""

    answers: dict[str, AnswerValue] = Field(max_length=100)
    lang: Literal["nl", "en"] | None = None


class DraftBody(BaseModel):
    answers: dict[str, AnswerValue] = Field(max_length=100)


class InvitationBody(BaseModel):
    customer_id: str = Field(min_length=1, max_length=200)
    journey_id: str = Field(min_length=1, max_length=200)
    touchpoint: str = Field(min_length=1, max_length=200)
    ts: datetime
    channel: str | None = Field(default=None, max_length=200)
    lang: Literal["nl", "en"] | None = None
    questionnaire: str | None = Field(default=None, max_length=200)


class InvitationsBody(BaseModel):
    invitations: list[InvitationBody] = Field(min_length=1, max_length=MAX_INVITATIONS)


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII characters escaped: any text a client sent (even a lone
    surrogate, which UTF-8 cannot encode) can be echoed back in an error."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def ok(data: Any, status: int = 200) -> JSONResponse:
    return AsciiJSONResponse({"ok": True, "data": data}, status_code=status)


def problem(
    message: str,
    status: int,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"ok": False, "error": message, "errors": errors or {}, "status": status}
    return AsciiJSONResponse(body, status_code=status, headers=headers)


# --- the app ------------------------------------------------------------------------


def create_app(settings: SurveySettings, *, store: SurveyStore | None = None) -> FastAPI:
    """The survey service for ``settings`` (opens and migrates the database unless ``store``)."""
    if store is None:
        questionnaires = read_questionnaires(settings.questionnaires)
        store = SurveyStore.open(settings.db, questionnaires, ttl_days=settings.ttl_days)
    # No /docs or /redoc pages: FastAPI loads their scripts from a CDN, which the
    # service's content security policy (and an offline network) would block.
    # The description itself is at /openapi.json.
    app = FastAPI(
        title="peakend survey service",
        version="1",
        description="Short touchpoint questionnaires; every answer stored in a database.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings
    limiter = FailureLimiter(settings.failure_limit, settings.failure_window_s)
    app.state.limiter = limiter
    _errors(app)
    _public_routes(app, store)
    _admin_routes(app, store, settings)
    static = resources.files("peakend.survey") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(_Guard, max_body_bytes=settings.max_body_bytes, limiter=limiter)
    return app


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def count_failure(request: Request, exc: SurveyError) -> None:
    """Count a wrong key or invalid link of the request's client; audit keys and blocks."""
    if not isinstance(exc, AccessError | InvalidLinkError):
        return
    what = "API key" if isinstance(exc, AccessError) else "link"
    client = client_address(request)
    limiter: FailureLimiter = request.app.state.limiter
    failures = limiter.failed(client)
    store: SurveyStore = request.app.state.store
    detail = None
    if failures == limiter.limit:
        detail = (
            f"{failures} wrong API keys or invalid links within {limiter.window_s:g} s "
            f"(last: {what}); refused for the rest of the window"
        )
        action = "block-client"
    elif isinstance(exc, AccessError) and failures < limiter.limit:
        detail, action = f"wrong or missing API key on {request.url.path}", "failed-key"
    if detail is not None:
        await run_in_threadpool(store.audit_event, f"client:{client}", action, detail)


def app_from_env() -> FastAPI:
    """The service configured by environment variables, for ``uvicorn --factory``.

    ``PEAKEND_SURVEY_DB`` (database), ``PEAKEND_SURVEY_QUESTIONNAIRES`` (file or
    folder), optional ``PEAKEND_SURVEY_BASE_URL`` and ``PEAKEND_SURVEY_TTL_DAYS``.
    Runs several worker processes on one database, e.g.
    ``uvicorn --factory peakend.survey.app:app_from_env --workers 4``.
    """
    missing = [
        name
        for name in ("PEAKEND_SURVEY_DB", "PEAKEND_SURVEY_QUESTIONNAIRES")
        if not os.environ.get(name)
    ]
    if missing:
        raise ConfigError(f"set {' and '.join(missing)} to run the survey service")
    settings = SurveySettings(
        db=os.environ["PEAKEND_SURVEY_DB"],
        questionnaires=Path(os.environ["PEAKEND_SURVEY_QUESTIONNAIRES"]),
        base_url=os.environ.get("PEAKEND_SURVEY_BASE_URL", ""),
        ttl_days=float(os.environ.get("PEAKEND_SURVEY_TTL_DAYS", DEFAULT_TTL_DAYS)),
    )
    return create_app(settings)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(SurveyError)
    async def _survey_error(request: Request, exc: SurveyError) -> JSONResponse:
        await count_failure(request, exc)
        return problem(exc.message, exc.status, exc.errors)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = {
            ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body": str(
                error.get("msg", "invalid")
            )
            for error in exc.errors()
        }
        return problem("the request is not valid; see `errors`", 422, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(str(exc.detail), exc.status_code)

    @app.exception_handler(sa.exc.OperationalError)
    @app.exception_handler(sa.exc.InterfaceError)
    @app.exception_handler(sa.exc.TimeoutError)
    async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("survey database unavailable: %s", exc)
        return unavailable()


def unavailable() -> JSONResponse:
    """503 with ``Retry-After``: the database cannot be reached; nothing was stored."""
    return problem(
        "the survey database is unavailable; nothing was stored, try again shortly",
        503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _public_routes(app: FastAPI, store: SurveyStore) -> None:
    @app.get("/s/{token}", response_class=HTMLResponse, tags=["form"], summary="The form page")
    async def form_page(token: str, request: Request) -> HTMLResponse:
        try:
            state = await run_in_threadpool(store.form, token)
        except SurveyError as exc:
            await count_failure(request, exc)
            lang = page_language(
                request.query_params.get("lang"), request.headers.get("accept-language")
            )
            return HTMLResponse(pages.error_page(exc.message, lang=lang), status_code=exc.status)
        questionnaire = state.questionnaire
        lang = questionnaire.pick_language(
            request.query_params.get("lang"),
            state.invitation.lang,
            request.headers.get("accept-language"),
        )
        if state.answered:
            return HTMLResponse(pages.thanks_page(questionnaire, lang=lang, already=True))
        html = pages.form_page(questionnaire, token=token, lang=lang, values=state.draft)
        return HTMLResponse(html)

    @app.post("/s/{token}", response_class=HTMLResponse, tags=["form"], summary="Send the form")
    async def form_post(token: str, request: Request) -> HTMLResponse:
        try:
            form = await request.form()
        except StarletteHTTPException as exc:
            if exc.status_code == 413:
                raise
            return HTMLResponse(pages.error_page("the form could not be read"), status_code=400)
        except (MultiPartException, FormParserError, ValueError):
            return HTMLResponse(pages.error_page("the form could not be read"), status_code=400)
        answers: dict[str, object] = {}
        for key in set(form.keys()) - {"_lang"}:
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            answers[key] = values if len(values) > 1 else (values[0] if values else None)
        raw_lang = form.get("_lang")
        lang_hint = raw_lang if isinstance(raw_lang, str) else None
        # The store blocks until the commit: run it off the event loop.
        page, failure = await run_in_threadpool(_submit_form, store, token, answers, lang_hint)
        if failure is not None:
            await count_failure(request, failure)
        return page

    @app.get("/api/v1/forms/{token}", tags=["form"], summary="A link's questionnaire and draft")
    def get_form(token: str) -> JSONResponse:
        state = store.form(token)
        questionnaire = state.questionnaire
        return ok(
            {
                "questionnaire": asdict(questionnaire),
                "touchpoint": state.invitation.touchpoint,
                "lang": state.invitation.lang or questionnaire.default_language,
                "draft": dict(state.draft),
                "answered": state.answered,
            }
        )

    @app.post(
        "/api/v1/forms/{token}/responses",
        tags=["form"],
        summary="Submit answers (idempotent per link)",
        status_code=201,
        responses={
            200: {"description": "Already stored (same answers)"},
            404: {"description": "Invalid link"},
            409: {"description": "Different answers already stored"},
            410: {"description": "Expired link"},
            422: {"description": "Invalid answers"},
        },
    )
    def submit(token: str, body: SubmitBody) -> JSONResponse:
        receipt = store.submit(token, body.answers, lang=body.lang)
        return ok(receipt.to_dict(), 200 if receipt.duplicate else 201)

    @app.put("/api/v1/forms/{token}/draft", tags=["form"], summary="Save partial answers")
    def save_draft(token: str, body: DraftBody) -> JSONResponse:
        return ok({"answers": store.save_draft(token, body.answers)})

    @app.get("/api/v1/health", tags=["service"], summary="Is the service up")
    def health() -> JSONResponse:
        return ok({"status": "up"})


def _submit_form(
    store: SurveyStore, token: str, answers: dict[str, object], lang_hint: str | None
) -> tuple[HTMLResponse, SurveyError | None]:
    """The page answering a form post, and the link's error (counted by the caller)."""
    try:
        state = store.form(token)
    except SurveyError as exc:
        lang = page_language(lang_hint)
        page = HTMLResponse(pages.error_page(exc.message, lang=lang), status_code=exc.status)
        return page, exc
    questionnaire = state.questionnaire
    lang = questionnaire.pick_language(lang_hint, state.invitation.lang)
    try:
        receipt = store.submit(token, answers, lang=lang)
    except AnswerError as exc:
        values, _ = questionnaire.check_answers(answers, partial=True)
        html = pages.form_page(
            questionnaire, token=token, lang=lang, values=values, errors=exc.errors
        )
        return HTMLResponse(html, status_code=422), None
    except SurveyError as exc:
        page = HTMLResponse(pages.error_page(exc.message, lang=lang), status_code=exc.status)
        return page, exc
    page = HTMLResponse(pages.thanks_page(questionnaire, lang=lang, already=receipt.duplicate))
    return page, None


def page_language(*preferences: str | None) -> str:
    """nl or en for pages without a questionnaire (bad links): first supported preference."""
    for preference in preferences:
        for code in language_codes(preference):
            if code in pages.UI:
                return code
    return "en"


_bearer = HTTPBearer(auto_error=False, description="An API key made with `peakend survey add-key`")


def _admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The actor name of the request's API key; 401 without a valid one."""
    store: SurveyStore = request.app.state.store
    return store.authenticate(credentials.credentials if credentials else None)


Admin = Annotated[str, Depends(_admin)]


def _admin_routes(app: FastAPI, store: SurveyStore, settings: SurveySettings) -> None:
    def links(invitations: list[Any]) -> list[dict[str, Any]]:
        base = settings.base_url.rstrip("/")
        return [{**i.to_dict(), "url": f"{base}/s/{i.token}"} for i in invitations]

    @app.post(
        "/api/v1/invitations", tags=["admin"], summary="Create invitation links", status_code=201
    )
    def invite(body: InvitationsBody, actor: Admin) -> JSONResponse:
        requests = [InvitationRequest(**item.model_dump()) for item in body.invitations]
        return ok(links(store.invite(requests, actor=actor)), 201)

    @app.post(
        "/api/v1/invitations/csv",
        tags=["admin"],
        summary="Create invitation links from a CSV of touchpoint events",
        status_code=201,
        openapi_extra={
            "requestBody": {
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "required": True,
            }
        },
    )
    async def invite_csv(request: Request, actor: Admin) -> JSONResponse:
        if request.headers.get("content-type", "").split(";")[0].strip() != "text/csv":
            return problem("send the CSV with `Content-Type: text/csv`", 415)
        raw = await request.body()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return problem("the CSV must be UTF-8 text", 400)
        requests = parse_invitation_csv(text)
        return ok(links(store.invite(requests, actor=actor)), 201)

    @app.get("/api/v1/responses", tags=["admin"], summary="List answers, newest first")
    def list_responses(
        actor: Admin,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> JSONResponse:
        return ok(store.responses(actor=actor, limit=limit, offset=offset))

    @app.get("/api/v1/export", tags=["admin"], summary="All events as CSV or Parquet")
    async def export(actor: Admin, format: Literal["csv", "parquet"] = "csv") -> Response:
        # In a child process, so that this worker keeps serving submissions meanwhile.
        path = await export_file(store, actor=f"{actor} ({format} download)", fmt=format)
        media = EXPORT_MEDIA_TYPES[format]
        headers = {"Content-Disposition": f'attachment; filename="survey-events.{format}"'}
        return FileResponse(
            path,
            media_type=media,
            headers=headers,
            background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True),
        )

    @app.delete(
        "/api/v1/customers/{customer_id:path}",
        tags=["admin"],
        summary="Erase one customer (any id: percent-encode it; '/' may stay)",
    )
    def forget(customer_id: str, actor: Admin) -> JSONResponse:
        return ok(store.forget_customer(customer_id, actor=actor).to_dict())

    @app.delete(
        "/api/v1/links/{link}",
        tags=["admin"],
        summary="Revoke one link (its token or invitation id) on every worker at once",
        responses={404: {"description": "No such link, or already revoked"}},
    )
    def revoke_link(link: str, actor: Admin) -> JSONResponse:
        if not store.revoke_link(link, actor=actor):
            return problem("no such link, or it was already revoked", 404)
        return ok({"revoked": True})

    @app.get("/api/v1/audit", tags=["admin"], summary="Audit log, newest first")
    def audit(actor: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> JSONResponse:
        return ok(store.audit_log(limit=limit))


CSV_COLUMNS = ("customer_id", "journey_id", "touchpoint", "ts")


def parse_invitation_csv(text: str) -> list[InvitationRequest]:
    """Invitation requests from CSV text with a header.

    Needs the columns customer_id, journey_id, touchpoint and ts (ISO 8601);
    channel, lang and questionnaire are optional. Times without an offset are UTC.
    """
    try:
        return _read_invitation_csv(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise AnswerError(f"the CSV cannot be read: {exc}") from exc


def _read_invitation_csv(reader: csv.DictReader[str]) -> list[InvitationRequest]:
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise AnswerError(
            f"the CSV misses column(s) {', '.join(missing)}; needs {', '.join(CSV_COLUMNS)}"
        )
    requests: list[InvitationRequest] = []
    problems: dict[str, str] = {}
    for line, row in enumerate(reader, start=2):
        if len(requests) >= MAX_INVITATIONS:
            raise AnswerError(f"at most {MAX_INVITATIONS} invitations per request")
        try:
            ts = datetime.fromisoformat((row.get("ts") or "").strip())
        except ValueError:
            problems[f"line {line}"] = f"`ts` {row.get('ts')!r} is not an ISO 8601 time"
            continue
        requests.append(
            InvitationRequest(
                customer_id=(row.get("customer_id") or "").strip(),
                journey_id=(row.get("journey_id") or "").strip(),
                touchpoint=(row.get("touchpoint") or "").strip(),
                ts=ts,
                channel=(row.get("channel") or "").strip() or None,
                lang=(row.get("lang") or "").strip() or None,
                questionnaire=(row.get("questionnaire") or "").strip() or None,
            )
        )
    if problems:
        raise AnswerError(f"{len(problems)} CSV line(s) are invalid", problems)
    return requests


class _Guard:
    """ASGI wrapper: refuses bodies over the limit (413) and blocked clients (429), adds
    security headers to every answer, and answers in JSON whatever goes wrong.

    Pure ASGI (not a Starlette ``BaseHTTPMiddleware``) to keep submissions fast.
    """

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (
            b"content-security-policy",
            b"default-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    ]
    # Pages and answers hold personal data: never cached. The stylesheet and script may be.
    NO_STORE = (b"cache-control", b"no-store")
    CACHE_STATIC = (b"cache-control", b"public, max-age=3600")

    def __init__(self, app: ASGIApp, max_body_bytes: int, limiter: FailureLimiter) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caching = self.CACHE_STATIC if scope["path"].startswith("/static/") else self.NO_STORE
        extra = [*self.HEADERS, caching]
        client = scope.get("client")
        retry = self.limiter.retry_after(client[0] if client else "unknown")
        if retry > 0 and not scope["path"].startswith(("/static/", "/api/v1/health")):
            wait = (b"retry-after", str(math.ceil(retry)).encode())
            message = "too many wrong API keys or invalid links from this address; wait"
            await _send_json(send, 429, message, [*extra, wait])
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (
            not length.isdigit() or len(length) > 12 or int(length) > self.max_body_bytes
        ):
            await _send_json(send, 413, self._too_large(), extra)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # An HTTPException passes FastAPI's body parsing unchanged (a chunked
                    # body has no Content-Length to refuse up front).
                    raise HTTPException(413, self._too_large())
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception as exc:  # last resort: a JSON answer with the headers, never a drop
            if started:
                raise
            if isinstance(exc, HTTPException) and exc.status_code == 413:
                await _send_json(send, 413, self._too_large(), extra)
            elif isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
                log.warning("survey database unavailable: %s", exc)
                later = (b"retry-after", str(RETRY_AFTER_S).encode())
                await _send_json(send, 503, "the survey database is unavailable", [*extra, later])
            else:
                log.exception("unexpected error on %s %s", scope["method"], scope["path"])
                await _send_json(send, 500, "unexpected server error; it was logged", extra)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body_bytes} bytes"


async def _send_json(
    send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps({"ok": False, "error": message, "errors": {}, "status": status}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
