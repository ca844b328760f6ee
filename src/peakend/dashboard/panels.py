"""The dashboard page from its layout and filter bar, and the routes of the analysis widgets.

* ``/dashboard?period=&segment=&unit=``: the layout's widgets, each loaded as a
  fragment whose URL carries the widget's own options merged with the filter bar;
* ``/dashboard/analyses/<dataset>/<name>``: an analysis widget's fragment (JSON
  at ``/api/v1/analyses/<dataset>/<name>``, files with ``?format=csv|png|svg``);
* ``POST /dashboard/analyses/refresh``: recompute the datasets now (admins and analysts).

A filter that cannot be read answers 422 with how to write it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from peakend.cases.store import User
from peakend.dashboard.analyses import AnalysisCache, AnalysisWidget
from peakend.dashboard.exports import export_response, wants_export
from peakend.dashboard.filters import Filter, FilterError, from_query
from peakend.dashboard.layout import ANALYSIS_WIDGETS, SURVEY_WIDGETS, Layout, Panel
from peakend.report.build import _json_safe as json_safe
from peakend.survey.app import ok, problem
from peakend.survey.errors import SurveyError
from peakend.views.save import chart_rows

Render = Callable[..., str]
#: Roles that may ask for a recomputation of the datasets.
REFRESHERS = ("admin", "analyst")


def panel_url(panel: Panel, page: Filter) -> str:
    """The fragment URL of ``panel`` with its options merged with the page's filter."""
    query = panel.filter.merged(page).query()
    if panel.is_analysis:
        base = f"/dashboard/analyses/{panel.dataset}/{panel.name}"
    else:
        base = f"/dashboard/widgets/{panel.name}"
    # The recovery of closed cases is narrowed by units (its period is the cases').
    filtered = panel.name in SURVEY_WIDGETS or panel.is_analysis or panel.name == "case_recovery"
    return f"{base}?{query}" if query and filtered else base


def page_filter(request: Request) -> dict[str, Any]:
    """What the dashboard template needs: title, filter bar values and the panels' URLs."""
    layout: Layout = request.app.state.layout
    page = from_query(request.query_params)
    panels, seen = [], set()
    for i, p in enumerate(layout.panels, 1):
        # A widget's element id is its name (its first time on the page), so a
        # link or a test can find it: #widget-score_trend, #widget-moments.
        ident = p.name if p.name not in seen else f"{p.name}-{i}"
        seen.add(p.name)
        panels.append({"id": ident, "name": p.name, "title": p.title, "url": panel_url(p, page)})
    analyses: AnalysisCache = request.app.state.analyses
    return {
        "title": layout.title,
        "page": page,
        "panels": panels,
        "datasets": analyses.names,
    }


def _session_user(request: Request) -> User:
    """The user of the request (the app's session or API key check)."""
    from peakend.dashboard.app import current_user

    return current_user(request)


CurrentUser = Annotated[User, Depends(_session_user)]


def analysis_routes(app: FastAPI, analyses: AnalysisCache, render: Render) -> None:
    """The fragment, JSON, export and refresh routes of the analysis widgets."""
    from peakend.dashboard.app import check_csrf

    @app.exception_handler(FilterError)
    async def _bad_filter(request: Request, exc: FilterError) -> Response:
        if request.url.path.startswith("/api/"):
            return problem(str(exc), 422)
        page = render(request, "error.html", message=str(exc), status=422)
        return HTMLResponse(page, status_code=422)

    def lookup(
        dataset: str, name: str, request: Request, user: User
    ) -> tuple[Filter, AnalysisWidget | None]:
        if dataset not in analyses.specs or name not in ANALYSIS_WIDGETS:
            raise _NotFound(
                f"no analysis widget {dataset}/{name}; "
                f"datasets: {', '.join(analyses.names) or 'none'}; "
                f"widgets: {', '.join(ANALYSIS_WIDGETS)}"
            )
        flt = from_query(request.query_params)
        return flt, analyses.get(dataset, name, user, flt)

    @app.get(
        "/dashboard/analyses/{dataset}/{name}", response_class=HTMLResponse, include_in_schema=False
    )
    def analysis_fragment(
        dataset: str, name: str, request: Request, user: CurrentUser
    ) -> HTMLResponse:
        flt, widget = lookup(dataset, name, request, user)
        charts = [
            (cid, title, json.dumps(spec, ensure_ascii=False, allow_nan=False))
            for cid, title, spec in (widget.charts if widget else ())
        ]
        page = render(
            request,
            "analysis_fragment.html",
            name=name,
            dataset=dataset,
            title=f"{ANALYSIS_WIDGETS[name]} · {dataset}",
            widget=widget,
            charts=charts,
            query=flt.query(),
            user=user,
            refreshers=REFRESHERS,
        )
        return HTMLResponse(page)

    @app.get("/api/v1/analyses/{dataset}/{name}", tags=["dashboard"], summary="An analysis widget")
    def analysis_json(dataset: str, name: str, request: Request, user: CurrentUser) -> Response:
        flt, widget = lookup(dataset, name, request, user)
        if widget is None:
            return problem("the analysis is being computed; try again in a minute", 503)
        if wants_export(request):
            charts = [(cid, spec) for cid, _title, spec in widget.charts]
            wanted = request.query_params.get("chart")
            chosen = [s for cid, s in charts if wanted in (None, cid)]
            rows = json_safe(chart_rows(chosen[0])) if chosen else []
            return export_response(request, f"{dataset}-{name}", rows, charts)
        return ok({**widget.to_dict(), "filter": flt.to_dict()})

    @app.post("/dashboard/analyses/refresh", include_in_schema=False)
    async def refresh(request: Request, user: CurrentUser) -> Response:
        form = await request.form()
        csrf = form.get("csrf")
        await check_csrf(request, csrf if isinstance(csrf, str) else None)
        if user.role not in REFRESHERS:
            raise _Forbidden("only admins and analysts may recompute the analyses")
        dataset = str(form.get("dataset") or "") or None
        if dataset is not None and dataset not in analyses.specs:
            raise _NotFound(f"no dataset {dataset!r}; registered: {', '.join(analyses.names)}")
        analyses.request_refresh(dataset)
        back = str(form.get("back") or "/dashboard")
        return RedirectResponse(back if back.startswith("/dashboard") else "/dashboard", 303)


class _NotFound(SurveyError):
    status = 404


class _Forbidden(SurveyError):
    status = 403
