"""The focus-plan section: what to change first, ranked by the outcome it can win back."""

from __future__ import annotations

from typing import Any

from peakend.models.focus import FocusAction, FocusPlan, focus_plan
from peakend.models.moments import MomentsResult
from peakend.report.i18n import Language, ci, number, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section, Skipped
from peakend.views.focus import focus_chart
from peakend.views.save import to_spec


def focus_section(ctx: ReportContext) -> Section | Skipped:
    """Rank the moments' recommendations; needs the moments section to have run."""
    moments: MomentsResult | None = ctx.results.get("moments")
    if moments is None:
        return Skipped("focus", text("focus", ctx.lang), text("reason_no_scores", ctx.lang))
    plan = focus_plan(moments, ctx.dataset)
    ctx.results["focus"] = plan
    lang = ctx.lang
    return Section(
        key="focus",
        title=text("focus", lang),
        paragraphs=(text("focus_intro", lang, outcome=plan.outcome),),
        charts=(Chart("focus_plan", text("focus_title", lang), focus_figure(plan, ctx)),),
        tables=(_focus_table(plan, lang, ctx.labels),),
        methods=(text("method_focus", lang),),
        results=plan.to_dict(),
    )


def focus_figure(plan: FocusPlan, ctx: ReportContext) -> dict[str, Any]:
    """Expected gain per action with its interval, coloured by recommendation."""
    lang = ctx.lang
    chart = focus_chart(plan, lang=lang, labels=ctx.labels, title=text("focus_title", lang))
    return to_spec(chart)


def _focus_table(plan: FocusPlan, lang: Language, labels: dict[str, str]) -> ReportTable:
    headers = tuple(
        text(k, lang)
        for k in (
            "col_rank",
            "col_action",
            "col_touchpoint",
            "col_gain",
            "col_risk",
            "col_journeys",
            "col_owner",
            "col_why",
        )
    )
    rows = tuple(_row(a, lang, labels) for a in plan.actions)
    return ReportTable("focus", headers, rows, caption=text("sortable", lang))


def _row(action: FocusAction, lang: Language, labels: dict[str, str]) -> tuple[Cell, ...]:
    gain, risk = action.gain, action.risk
    return (
        Cell(str(action.rank), action.rank),
        Cell(text(f"rec_{action.kind}", lang), action.kind),
        Cell(labels.get(action.touchpoint, action.touchpoint)),
        Cell(
            ci(gain, lang, 3) if gain.value else "–",
            gain.value,
            muted=not gain.value,
        ),
        Cell(number(risk.value, lang, 3), risk.value if risk.value == risk.value else None),
        Cell(number(action.journeys, lang), action.journeys),
        Cell(action.owner or "–"),
        Cell(action.reason),
    )
