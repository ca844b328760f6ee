"""``peakend serve``: the survey service, the dashboard and the cases in one FastAPI app.

The survey app (:func:`peakend.survey.app.create_app`) is mounted at ``/`` and
unchanged; the dashboard adds, before it:

* ``/login``, ``/logout``: a login form (CSRF-protected by a double-submit
  cookie) that opens a session: a random token in an HttpOnly, SameSite=Lax
  cookie, stored hashed;
* ``/dashboard``: the page of widgets of the layout (:mod:`peakend.dashboard.layout`)
  with a filter bar (:mod:`peakend.dashboard.filters`), each loaded as an HTMX
  fragment from ``/dashboard/widgets/<name>`` (JSON at ``/api/v1/widgets/<name>``,
  files with ``?format=csv|png|svg``); the analysis widgets of ``--dataset`` specs
  are routed by :mod:`peakend.dashboard.panels`;
* ``/dashboard/cases`` and ``/dashboard/cases/<id>``: the cases of the user's
  units, with a form to change status, root cause and add a note;
* ``/api/v1/cases``, ``/api/v1/cases/<id>``, ``/api/v1/case-report``: the same as JSON.

Every dashboard and case route needs a session cookie or an API key
(``Authorization: Bearer``, as the survey's admin API; a key sees every unit).
Every state-changing request with a session carries its CSRF token (form field
``csrf`` or header ``X-CSRF-Token``). Templates escape every value (Jinja2
autoescape) and the content security policy allows scripts from the service
only. Background threads run while the app runs: the alert rules
(:class:`~peakend.cases.worker.AlertWorker`), the widget cache
(:class:`~peakend.dashboard.widgets.WidgetCache`), with datasets their
analyses (:class:`~peakend.dashboard.analyses.AnalysisCache`) and, with a
notify file, the delivery of the outbox and the scheduled summary
(:class:`~peakend.cases.summary.SummaryWorker`).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from peakend.cases.auth import new_token
from peakend.cases.delivery import DeliveryWorker
from peakend.cases.endings import SharedEndings
from peakend.cases.notify import NotifyConfig, read_notify
from peakend.cases.report import CaseReport, case_report
from peakend.cases.rules import Rule, read_rules
from peakend.cases.store import STATUSES, CaseStore, Endings, User
from peakend.cases.summary import SummaryWorker
from peakend.cases.worker import AlertWorker
from peakend.dashboard.analyses import AnalysisCache, units_for
from peakend.dashboard.case_recovery import CaseRecoveryCache, RecoveryFigures
from peakend.dashboard.exports import export_response, wants_export
from peakend.dashboard.filters import NO_FILTER, Filter, from_query
from peakend.dashboard.layout import CASE_WIDGETS, load_layout
from peakend.dashboard.panels import analysis_routes, page_filter
from peakend.dashboard.widgets import WIDGETS, Widget, WidgetCache
from peakend.survey.app import SurveySettings, client_address, create_app, ok, problem
from peakend.survey.errors import AccessError, SurveyError
from peakend.survey.questionnaire import read_questionnaires
from peakend.survey.store import SurveyStore
from peakend.survey.throttle import FailureLimiter
from peakend.views.live import endings_chart, response_rate_chart, score_trend_chart
from peakend.views.recovery import recovery_chart
from peakend.views.save import to_spec, vega_javascript

TOO_MANY = "too many wrong passwords; wait a few minutes and try again"
COOKIE = "peakend_session"
REPORT_TTL_S = 5.0
LOGIN_COOKIE = "peakend_login"
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)
RECOVERY_CHART = "Next score (0–1): recovered, not recovered, never failed"
CHARTS = {
    "responses": response_rate_chart,
    "score_trend": score_trend_chart,
    "endings": endings_chart,
}


@dataclass(frozen=True)
class ServeSettings:
    """Settings of ``peakend serve``: the survey's, plus the alert rules and refresh times."""

    survey: SurveySettings
    rules: Path | None = None
    widget_interval: float = 60.0
    alert_interval: float = 2.0
    secure_cookies: bool = False
    #: The dashboard layout file (None: the built-in default layout).
    layout: Path | None = None
    #: Dataset specs whose analyses the dashboard shows, and seconds between recomputations.
    datasets: tuple[Path, ...] = ()
    refresh: float = 3600.0
    #: The notify file (e-mail, webhooks, follow-up question; :mod:`peakend.cases.notify`).
    notify: Path | None = None


class LoginRequired(Exception):
    """No valid session or key: pages go to the login form, the API answers 401."""


class CaseChange(BaseModel):
    status: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, max_length=5000)
    root_cause: str | None = Field(default=None, max_length=200)
    owner: str | None = Field(default=None, max_length=200)


def create_serve_app(
    settings: ServeSettings,
    *,
    store: SurveyStore | None = None,
    rules: list[Rule] | None = None,
    endings: Endings | None = None,
    notify: NotifyConfig | None = None,
) -> FastAPI:
    """The whole service: survey, dashboard and cases (background threads run with it)."""
    if store is None:
        questionnaires = read_questionnaires(settings.survey.questionnaires)
        store = SurveyStore.open(
            settings.survey.db, questionnaires, ttl_days=settings.survey.ttl_days
        )
    if rules is None:
        rules = read_rules(settings.rules) if settings.rules is not None else []
    shared = SharedEndings(endings)  # each comment scored once for rules and widgets
    if notify is None and settings.notify is not None:
        notify = read_notify(settings.notify)
    cases = CaseStore(
        store, rules, endings=shared, notify=notify, base_url=settings.survey.base_url
    )
    delivery = _delivery(cases, notify)
    summary = _summary(store, notify, delivery)
    widgets = WidgetCache(store, endings=shared, interval=settings.widget_interval)
    worker = AlertWorker(cases, interval=settings.alert_interval)
    analyses = AnalysisCache(settings.datasets, interval=settings.refresh)
    recovery = CaseRecoveryCache(
        store,
        notify.followup if notify is not None else None,
        interval=max(600.0, 5 * settings.widget_interval),
        min_gap=min(30.0, settings.widget_interval),
        separate_process=True,
    )
    worker.on_change.append(recovery.wake)  # cases escalated: their fate is decided
    layout = load_layout(settings.layout, analyses.names)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker.start()
        widgets.start()
        analyses.start()
        recovery.start()
        if delivery is not None:
            delivery.start()
        if summary is not None:
            summary.start()
        store.listeners.append(widgets.wake)
        try:
            yield
        finally:
            store.listeners.remove(widgets.wake)
            worker.stop()
            widgets.stop()
            analyses.stop()
            recovery.stop()
            if delivery is not None:
                delivery.stop()
            if summary is not None:
                summary.stop()

    app = FastAPI(title="peakend", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.cases = cases
    app.state.widgets = widgets
    app.state.worker = worker
    app.state.analyses = analyses
    app.state.recovery = recovery
    app.state.layout = layout
    app.state.delivery = delivery
    app.state.summary = summary
    app.state.settings = settings
    app.state.templates = Environment(
        loader=PackageLoader("peakend.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    _handlers(app)
    _login_routes(app, cases, settings)
    fragments = Fragments(cases, widgets, recovery)
    _page_routes(app, fragments)
    _api_routes(app, fragments)
    analysis_routes(app, analyses, _render)
    static = resources.files("peakend.dashboard") / "static"
    app.mount("/dashboard/static", StaticFiles(directory=str(static)), name="dashboard-static")
    app.mount("/", create_app(settings.survey, store=store))

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if request.url.path.startswith(("/dashboard", "/login", "/api/v1/cases")):
            response.headers["Content-Security-Policy"] = CSP
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers["Cache-Control"] = "no-store"
        return response

    return app


def _delivery(cases: CaseStore, notify: NotifyConfig | None) -> DeliveryWorker | None:
    """The thread that sends queued e-mails and webhooks (none without a notify file)."""
    if notify is None or (notify.email is None and not notify.webhooks and not notify.summary):
        return None
    delivery = DeliveryWorker(cases.survey, notify)
    cases.on_queue.append(delivery.wake)
    return delivery


def _summary(
    store: SurveyStore, notify: NotifyConfig | None, delivery: DeliveryWorker | None
) -> SummaryWorker | None:
    """The thread that queues the scheduled PDF summary (none without ``[summary]``)."""
    if notify is None or notify.summary is None or delivery is None:
        return None
    return SummaryWorker(store, notify.summary, on_queue=[delivery.wake])


# --- who is asking ----------------------------------------------------------------------


def current_user(request: Request) -> User:
    """The user of the request's session cookie or API key; :class:`LoginRequired` else."""
    cases: CaseStore = request.app.state.cases
    found = cases.session(request.cookies.get(COOKIE))
    if found is not None:
        request.state.csrf = found[1]
        return found[0]
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        try:
            actor = cases.survey.authenticate(header[7:].strip())
        except AccessError as exc:
            raise LoginRequired from exc
        request.state.csrf = None  # a key is not sent by browsers on their own
        return User(actor, "admin", ("*",))
    raise LoginRequired


CurrentUser = Annotated[User, Depends(current_user)]


async def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a state-changing request of a session without its CSRF token (403)."""
    expected = getattr(request.state, "csrf", None)
    if expected is None:
        return
    sent = sent or request.headers.get("x-csrf-token")
    if not sent or not hmac.compare_digest(sent, expected):
        raise _Forbidden("the form has expired or did not come from this site; reload the page")


class _Forbidden(SurveyError):
    status = 403


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return problem("log in or send an API key as `Authorization: Bearer <key>`", 401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(SurveyError)
    async def _error(request: Request, exc: SurveyError) -> Response:
        if request.url.path.startswith("/api/"):
            return problem(exc.message, exc.status, exc.errors)
        page = _render(request, "error.html", message=exc.message, status=exc.status)
        return HTMLResponse(page, status_code=exc.status)


def _render(request: Request, template: str, **values: Any) -> str:
    env: Environment = request.app.state.templates
    query = f"?{request.url.query}" if request.url.query else ""
    values.setdefault("self_url", request.url.path + query)  # where a fragment reloads from
    return env.get_template(template).render(
        csrf=getattr(request.state, "csrf", None) or "", **values
    )


# --- login -------------------------------------------------------------------------------


def _login_routes(app: FastAPI, cases: CaseStore, settings: ServeSettings) -> None:
    secure = settings.secure_cookies
    # Wrong passwords are counted per address and per user name: guessing is
    # refused (429) for the rest of the window once either reaches the limit.
    limiter = FailureLimiter(settings.survey.failure_limit, settings.survey.failure_window_s)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, failed: bool = False) -> HTMLResponse:
        token = new_token()
        page = _render(request, "login.html", login_token=token, failed=failed)
        response = HTMLResponse(page)
        response.set_cookie(
            LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=3600
        )
        return response

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        sent, cookie = form.get("login_token"), request.cookies.get(LOGIN_COOKIE)
        if not isinstance(sent, str) or not cookie or not hmac.compare_digest(sent, cookie):
            raise _Forbidden("the login form has expired; open /login again")
        name, password = str(form.get("name") or ""), str(form.get("password") or "")
        keys = (f"login:{client_address(request)}", f"user:{name[:200]}")
        wait = max(limiter.retry_after(k) for k in keys)
        if wait > 0:
            page = _render(request, "error.html", status=429, message=TOO_MANY)
            return HTMLResponse(page, status_code=429, headers={"Retry-After": f"{wait:.0f}"})
        try:
            token, _csrf = await run_in_threadpool(cases.login, name, password)
        except AccessError:
            for key in keys:
                limiter.failed(key)
            return RedirectResponse("/login?failed=1", status_code=303)
        response = RedirectResponse("/dashboard", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=secure)
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request, user: CurrentUser) -> Response:
        form = await request.form()
        csrf = form.get("csrf")
        await check_csrf(request, csrf if isinstance(csrf, str) else None)
        token = request.cookies.get(COOKIE)
        if token:
            await run_in_threadpool(cases.logout, token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response


# --- pages and fragments --------------------------------------------------------------


class Fragments:
    """Per app: chart specs by widget, units and computation time (built once per
    refresh and set of units, not per request: building one takes tens of ms), and
    case reports by units, reused for :data:`REPORT_TTL_S` seconds and dropped when
    a case is changed through the dashboard."""

    def __init__(self, cases: CaseStore, widgets: WidgetCache, recovery: CaseRecoveryCache) -> None:
        self.cases = cases
        self.widgets = widgets
        self.recovery = recovery
        self._recovery_specs: dict[tuple[object, datetime], str | None] = {}
        self._specs: dict[tuple[str, tuple[str, ...], Filter, datetime], str | None] = {}
        self._reports: dict[tuple[str, ...], tuple[float, CaseReport]] = {}
        self._lock = threading.Lock()
        self._building: dict[tuple[str, tuple[str, ...], Filter, datetime], threading.Lock] = {}

    def widget(self, name: str, user: User, flt: Filter = NO_FILTER) -> dict[str, Any]:
        """What the widget fragment shows to ``user`` under the filter ``flt``."""
        values = {"name": name, "title": WIDGETS[name], "query": flt.query(), "filter": flt}
        widget = self.widgets.get(name, flt)
        if widget is None:
            return {**values, "widget": None, "spec": None}
        mine = widget.for_user(user, flt)
        key = (name, _units(user), flt, widget.computed_at)
        return {**values, "title": mine.title, "widget": mine, "spec": self._spec(key, mine)}

    def _spec(self, key: tuple[str, tuple[str, ...], Filter, datetime], mine: Widget) -> str | None:
        """The chart spec of ``key``, built once: viewers asking for it at the same
        time wait for one build instead of each building it (after a refresh, twenty
        builds at once on two cores took longer than the whole page may)."""
        with self._lock:
            spec = self._specs.get(key, "")
            building = self._building.setdefault(key, threading.Lock())
        if spec != "":
            return spec
        with building:
            with self._lock:
                spec = self._specs.get(key, "")
            if spec != "":
                return spec
            chart = CHARTS.get(key[0])
            built = to_spec(chart(mine.rows)) if mine.rows and chart else None
            spec = json.dumps(built, ensure_ascii=False) if built else None
            with self._lock:
                for old in [k for k in self._specs if k[0] == key[0] and k[3] != key[3]]:
                    del self._specs[old]
                    self._building.pop(old, None)
                self._specs[key] = spec
        return spec

    def report(self, user: User) -> CaseReport:
        """The case report of the user's units (at most :data:`REPORT_TTL_S` old)."""
        key = _units(user)
        with self._lock:
            found = self._reports.get(key)
        if found is not None and time.monotonic() - found[0] < REPORT_TTL_S:
            return found[1]
        report = case_report(self.cases.timings(user))
        with self._lock:
            self._reports[key] = (time.monotonic(), report)
        return report

    def changed(self) -> None:
        """A case changed: the next report is computed afresh, the recovery soon."""
        with self._lock:
            self._reports.clear()
        self.recovery.wake()

    def case_recovery(self, user: User, flt: Filter) -> tuple[RecoveryFigures | None, str | None]:
        """The recovery figures of the user's units (narrowed by the filter's) and
        their chart spec (None when no contrast could be computed); built once per
        computation and set of units."""
        figures = self.recovery.get(units_for(user, flt))
        if figures is None:
            return None, None
        key = (figures.units, figures.computed_at)
        with self._lock:
            if key in self._recovery_specs:
                return figures, self._recovery_specs[key]
        spec = None
        if figures.found is not None and figures.found.result.outcomes[0].all_failures:
            chart = recovery_chart(figures.found.result, title=RECOVERY_CHART)
            spec = json.dumps(to_spec(chart), ensure_ascii=False)
        with self._lock:
            stale = [k for k in self._recovery_specs if k[0] == key[0]]
            for old in stale:
                del self._recovery_specs[old]
            self._recovery_specs[key] = spec
        return figures, spec


def _units(user: User) -> tuple[str, ...]:
    return ("*",) if user.all_units else user.units


def _page_routes(app: FastAPI, fragments: Fragments) -> None:
    cases = fragments.cases

    @app.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request, user: CurrentUser) -> HTMLResponse:
        values = page_filter(request)
        return HTMLResponse(_render(request, "dashboard.html", user=user, **values))

    @app.get("/dashboard/static/vega.js", include_in_schema=False)
    def vega() -> Response:
        return Response(vega_javascript(), media_type="text/javascript")

    @app.get("/dashboard/widgets/{name}", response_class=HTMLResponse, include_in_schema=False)
    def widget_fragment(name: str, request: Request, user: CurrentUser) -> HTMLResponse:
        if name == "cases":
            found = cases.cases(user, limit=50)
            open_cases = [c for c in found if c.status != "closed"]
            return HTMLResponse(_render(request, "cases_fragment.html", cases=open_cases))
        if name == "case_report":
            report = fragments.report(user)
            return HTMLResponse(_render(request, "report_fragment.html", report=report))
        if name == "case_recovery":
            flt = from_query(request.query_params)
            figures, spec = fragments.case_recovery(user, flt)
            page = _render(
                request,
                "case_recovery_fragment.html",
                figures=figures,
                spec=spec,
                query=flt.query(),
                title=CASE_WIDGETS[name],
            )
            return HTMLResponse(page)
        if name not in WIDGETS:
            return HTMLResponse("no such widget", status_code=404)
        values = fragments.widget(name, user, from_query(request.query_params))
        template = "verbatims_fragment.html" if name == "verbatims" else "widget_fragment.html"
        return HTMLResponse(_render(request, template, **values))

    @app.get("/dashboard/cases", response_class=HTMLResponse, include_in_schema=False)
    def case_list(request: Request, user: CurrentUser, status: str | None = None) -> HTMLResponse:
        found = cases.cases(user, status=status or None)
        page = _render(request, "cases.html", user=user, cases=found, statuses=STATUSES)
        return HTMLResponse(page)

    @app.get("/dashboard/cases/{case_id}", response_class=HTMLResponse, include_in_schema=False)
    def case_page(case_id: int, request: Request, user: CurrentUser) -> HTMLResponse:
        case, notes = cases.case(user, case_id)
        page = _render(request, "case.html", user=user, case=case, notes=notes, statuses=STATUSES)
        return HTMLResponse(page)

    @app.post("/dashboard/cases/{case_id}", include_in_schema=False)
    async def case_form(case_id: int, request: Request, user: CurrentUser) -> Response:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        await check_csrf(request, fields.get("csrf"))
        change = CaseChange(
            status=fields.get("status") or None,
            note=fields.get("note") or None,
            root_cause=fields.get("root_cause") or None,
        )
        await run_in_threadpool(_update, fragments, user, case_id, change)
        return RedirectResponse(f"/dashboard/cases/{case_id}", status_code=303)


def _update(fragments: Fragments, user: User, case_id: int, change: CaseChange) -> Any:
    fragments.changed()
    return fragments.cases.update(
        user,
        case_id,
        status=change.status,
        note=change.note,
        root_cause=change.root_cause,
        owner=change.owner,
    )


# --- JSON ----------------------------------------------------------------------------------


def _recovery_json(fragments: Fragments, request: Request, user: User) -> Response:
    """The ``case_recovery`` widget as JSON, or its rows as CSV / its chart as PNG, SVG."""
    flt = from_query(request.query_params)
    figures, spec = fragments.case_recovery(user, flt)
    if figures is None:
        return problem("the figures are being computed; try again in a minute", 503)
    if wants_export(request):
        specs = [("case_recovery", json.loads(spec))] if spec else []
        return export_response(request, "case_recovery", figures.rows(), specs)
    return ok({**figures.to_dict(), "filter": flt.to_dict()})


def _api_routes(app: FastAPI, fragments: Fragments) -> None:
    cases, widgets = fragments.cases, fragments.widgets

    @app.get("/api/v1/widgets/{name}", tags=["dashboard"], summary="A widget's rows")
    def widget_json(name: str, request: Request, user: CurrentUser) -> Response:
        if name == "case_recovery":
            return _recovery_json(fragments, request, user)
        if name not in WIDGETS:
            return problem(f"no widget {name!r}; known: {', '.join(WIDGETS)}", 404)
        flt = from_query(request.query_params)
        widget = widgets.get(name, flt)
        if widget is None:
            return problem("the figures are being computed; try again in a minute", 503)
        mine = widget.for_user(user, flt)
        if wants_export(request):
            chart = CHARTS.get(name)
            specs = [(name, to_spec(chart(mine.rows)))] if chart and mine.rows else []
            return export_response(request, name, mine.rows, specs)
        return ok({**mine.to_dict(), "filter": flt.to_dict()})

    @app.get("/api/v1/cases", tags=["cases"], summary="Cases of the caller's units, newest first")
    def list_cases(
        user: CurrentUser,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    ) -> JSONResponse:
        return ok([c.to_dict() for c in cases.cases(user, status=status, limit=limit)])

    @app.get("/api/v1/cases/{case_id}", tags=["cases"], summary="One case and its notes")
    def get_case(case_id: int, user: CurrentUser) -> JSONResponse:
        case, notes = cases.case(user, case_id)
        followup = cases.followups([case_id]).get(case_id)
        return ok(
            {
                **case.to_dict(),
                "notes": [n.to_dict() for n in notes],
                "followup": followup.to_dict() if followup else None,
            }
        )

    @app.post("/api/v1/cases/{case_id}", tags=["cases"], summary="Change a case or add a note")
    async def change_case(
        case_id: int, change: CaseChange, request: Request, user: CurrentUser
    ) -> JSONResponse:
        await check_csrf(request, None)
        case = await run_in_threadpool(_update, fragments, user, case_id, change)
        return ok(case.to_dict())

    @app.get("/api/v1/case-report", tags=["cases"], summary="Time to respond and to close")
    def report(user: CurrentUser) -> JSONResponse:
        return ok(fragments.report(user).to_dict())
