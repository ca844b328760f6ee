"""The focus-plan section: what to change first, ranked by the outcome it can win back."""

from __future__ import annotations

import plotly.graph_objects as go

from peakend.charts import PALETTE, RECOMMENDATION_COLOURS, style
from peakend.models.churn.actions import with_churn_actions
from peakend.models.focus import FocusAction, FocusPlan, focus_plan
from peakend.models.hidden.actions import proactive_actions
from peakend.models.moments import MomentsResult
from peakend.report.i18n import Language, ci, number, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section, Skipped

#: Actions drawn in the chart (the table lists all).
CHART_ACTIONS = 12


def focus_section(ctx: ReportContext) -> Section | Skipped:
    """Rank the moments' recommendations; needs the moments section to have run."""
    moments: MomentsResult | None = ctx.results.get("moments")
    if moments is None:
        return Skipped("focus", text("focus", ctx.lang), text("reason_no_scores", ctx.lang))
    extra = proactive_actions(ctx.results.get("hidden"), moments.outcome)
    base = focus_plan(moments, ctx.dataset, extra)
    # churn actions count churners saved, not outcome points: table only, not the chart
    plan = with_churn_actions(base, ctx.results.get("churn"), ctx.results.get("recovery"))
    ctx.results["focus"] = plan
    lang = ctx.lang
    return Section(
        key="focus",
        title=text("focus", lang),
        paragraphs=(text("focus_intro", lang, outcome=plan.outcome),),
        charts=(Chart("focus_plan", text("focus_title", lang), focus_figure(base, lang)),),
        tables=(_focus_table(plan, lang),),
        methods=(text("method_focus", lang),),
        results=plan.to_dict(),
    )


def focus_figure(plan: FocusPlan, lang: Language) -> go.Figure:
    """Expected gain per action with its interval, coloured by recommendation."""
    actions = [a for a in plan.actions if a.gain.value > 0][:CHART_ACTIONS]
    fig = go.Figure()
    for kind in dict.fromkeys(a.kind for a in actions):
        members = [a for a in actions if a.kind == kind]
        fig.add_trace(
            go.Bar(
                y=[a.touchpoint for a in members],
                x=[a.gain.value for a in members],
                orientation="h",
                name=text(f"rec_{kind}", lang),
                marker_color=RECOMMENDATION_COLOURS.get(kind, PALETTE["grey"]),
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [a.gain.high - a.gain.value for a in members],
                    "arrayminus": [a.gain.value - a.gain.low for a in members],
                    "color": PALETTE["black"],
                },
            )
        )
    fig.update_yaxes(categoryorder="array", categoryarray=[a.touchpoint for a in reversed(actions)])
    title = text("focus_title", lang)
    return style(fig, title, text("focus_x", lang, outcome=plan.outcome), "")


def _focus_table(plan: FocusPlan, lang: Language) -> ReportTable:
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
    rows = tuple(_row(a, lang) for a in plan.actions)
    return ReportTable("focus", headers, rows, caption=text("sortable", lang))


def _row(action: FocusAction, lang: Language) -> tuple[Cell, ...]:
    gain, risk = action.gain, action.risk
    return (
        Cell(str(action.rank), action.rank),
        Cell(text(f"rec_{action.kind}", lang), action.kind),
        Cell(action.touchpoint),
        Cell(
            ci(gain, lang, 3) if gain.value else "–",
            gain.value,
            muted=not gain.value,
        ),
        Cell(
            ci(risk, lang, 3) if risk.value == risk.value else "–",
            risk.value if risk.value == risk.value else None,
            muted=risk.value != risk.value,
        ),
        Cell(number(action.journeys, lang), action.journeys),
        Cell(action.owner or "–"),
        Cell(action.reason),
    )
