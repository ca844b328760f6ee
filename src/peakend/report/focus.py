"""The focus-plan section: what to change first, ranked by the outcome it can win back."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from peakend.errors import DataError, ModelError
from peakend.models.focus import FocusAction, FocusPlan, focus_plan, with_actions
from peakend.models.moments import MomentsResult, TouchpointMoment
from peakend.report.dutch import channel, goal
from peakend.report.i18n import TEXTS, Language, ci, number, percent, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section, Skipped
from peakend.report.units import outcome_unit
from peakend.stats.resampling import Interval
from peakend.views.focus import focus_chart
from peakend.views.save import to_spec

if TYPE_CHECKING:
    from peakend.models.hidden.analysis import HiddenMomentsResult


#: Where :func:`rank_moments_actions` leaves its plan in ``ReportContext.results``.
MOMENTS_ACTIONS = "focus_moments_actions"


def rank_moments_actions(ctx: ReportContext) -> None:
    """Rank the moments' own actions right after the moments section, then let their inputs go.

    The gains by intervention start from what the moments analysis kept
    (:attr:`~peakend.models.moments.MomentsResult.total_inputs`: the adjusted band
    design and every journey's scored moments in order, about 0.3 GB on 10M
    events) instead of building them again from the events. Ranked here, those
    inputs are not held through the later sections, where the report reaches its
    peak of memory; :func:`focus_section` adds the other analyses' actions. A
    failure is left to the focus section, which then says why it was skipped.
    """
    moments: MomentsResult | None = ctx.results.get("moments")
    if moments is None or moments.total_inputs is None:
        return
    ctx.results["moments"] = replace(moments, total_inputs=None)
    with suppress(DataError, ModelError):
        ctx.results[MOMENTS_ACTIONS] = focus_plan(moments, ctx.dataset)


def focus_section(ctx: ReportContext) -> Section | Skipped:
    """Rank the moments' recommendations; needs the moments section to have run."""
    moments: MomentsResult | None = ctx.results.get("moments")
    if moments is None:
        return Skipped("focus", text("focus", ctx.lang), text("reason_no_scores", ctx.lang))
    extra = _proactive_actions(ctx.results.get("hidden"), moments.outcome)
    own: FocusPlan | None = ctx.results.pop(MOMENTS_ACTIONS, None)
    base = focus_plan(moments, ctx.dataset, extra) if own is None else with_actions(own, extra)
    # churn actions count churners saved, not outcome points: table only, not the chart
    plan = _with_churn_actions(base, ctx)
    ctx.results["focus"] = plan
    lang = ctx.lang
    return Section(
        key="focus",
        title=text("focus", lang),
        paragraphs=(text("focus_intro", lang, outcome=plan.outcome), *_effects(plan, lang)),
        # no action with a gain to draw (every touchpoint is maintained or allowed): table only
        charts=(Chart("focus_plan", text("focus_title", lang), focus_figure(base, ctx)),)
        if any(a.gain.value > 0 for a in base.actions)
        else (),
        tables=(_focus_table(plan, ctx, moments),),
        methods=(text("method_focus", lang),),
        results=plan.to_dict(),
    )


def _effects(plan: FocusPlan, lang: Language) -> tuple[str, ...]:
    """Which effects the gains rest on (by intervention, or the band regression's)."""
    key = f"focus_effects_{plan.effects}"
    return (text(key, lang),) if key in TEXTS else ()


def focus_figure(plan: FocusPlan, ctx: ReportContext) -> dict[str, Any]:
    """Expected gain per action with its interval, coloured by recommendation."""
    lang = ctx.lang
    chart = focus_chart(plan, lang=lang, labels=ctx.labels, title=text("focus_title", lang))
    return to_spec(chart)


def _focus_table(plan: FocusPlan, ctx: ReportContext, moments: MomentsResult) -> ReportTable:
    lang, labels = ctx.lang, ctx.labels
    by_name = {m.touchpoint: m for m in moments.touchpoints}
    unit = outcome_unit(ctx.dataset, plan.outcome, lang)
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
    rows = tuple(
        _row(a, lang, labels, _why(a, by_name.get(a.touchpoint), plan, moments, ctx, unit))
        for a in plan.actions
    )
    return ReportTable("focus", headers, rows, caption=text("sortable", lang))


def _why(
    action: FocusAction,
    moment: TouchpointMoment | None,
    plan: FocusPlan,
    moments: MomentsResult,
    ctx: ReportContext,
    unit: str,
) -> str:
    """Why this action, in the report language and with the outcome's unit.

    A fix or excel action quotes the effect its gain rests on (over the journeys
    it moves, :func:`moved_effect`), not the moments table's penalty or reward:
    the sentence then agrees with the gain next to it.
    """
    lang = ctx.lang
    key = f"why_{action.kind}"
    if action.kind == "proactive_contact":
        return _why_proactive(action, ctx)
    if action.kind in ("prevent_negative", "recover_faster"):
        shown = number(action.gain.value, lang, 0)
        return text(key, lang, n=shown, touchpoint=ctx.label(action.touchpoint))
    if key not in TEXTS:
        return action.reason
    effect = moved_effect(action, plan.n_journeys)
    if moment is None or effect is None:
        return text(key, lang) if "{" not in TEXTS[key][lang] else action.reason
    # a binary outcome's effects are probabilities: shown in percentage points
    scale, digits = (100.0, 0) if plan.outcome_kind == "binary" else (1.0, 2)
    return text(
        key,
        lang,
        moment=text(f"a_class_{moment.moment_class}", lang),
        effect=f"{number(scale * effect.value, lang, digits)} {unit}",
        level=percent(moments.settings.level, lang),
        low=number(scale * effect.low, lang, digits),
        high=number(scale * effect.high, lang, digits),
        share=percent(moment.low_share, lang),
        n=number(action.journeys, lang),
    )


def moved_effect(action: FocusAction, n_journeys: int) -> Interval | None:
    """The effect a fix or excel gain rests on, with its interval; ``None`` for other actions.

    A gain is that effect (the penalty's cost, or the reward, over the journeys
    the action moves) times the share of all ``n_journeys`` the action moves
    (:mod:`peakend.models.focus.plan`), so the gain per journey moved is the
    effect itself: the fix's cost as a positive number, the excel's reward.
    """
    if action.kind not in ("fix", "excel") or action.journeys <= 0:
        return None
    share = action.journeys / n_journeys
    gain = action.gain
    return Interval(gain.value / share, gain.low / share, gain.high / share, gain.n)


def _proactive_actions(hidden: HiddenMomentsResult | None, outcome: str) -> list[FocusAction]:
    """The hidden moments' proactive contacts as actions; none without that analysis.

    The hidden-moments modules (and the statistics libraries they load) are
    imported only when that analysis ran: a survey without timestamps never
    needs them.
    """
    if hidden is None:
        return []
    from peakend.models.hidden.actions import proactive_actions

    return proactive_actions(hidden, outcome)


def _why_proactive(action: FocusAction, ctx: ReportContext) -> str:
    """The hidden moment a proactive contact prevents, and on what its gain rests."""
    hidden: HiddenMomentsResult | None = ctx.results.get("hidden")
    reports = hidden.moments if hidden is not None else ()
    report = next((r for r in reports if r.intervention.anchor == action.touchpoint), None)
    if report is None:
        return action.reason if ctx.lang == "en" else text("rec_proactive_contact", ctx.lang)
    from peakend.report.hidden import window_label  # a hidden moment: that analysis ran

    contact, lang = report.intervention, ctx.lang
    return text(
        "why_proactive_contact",
        lang,
        window=window_label(report, ctx),
        channel=channel(contact.channel, lang),
        unit=text(f"unit_{report.moment.unit}", lang),
        day=contact.day,
        goal=goal(contact.goal, lang),
        n=number(contact.contacts_deflected_per_1000.value, lang, 0),
        basis=text(f"basis_{contact.basis}", lang),
    )


def _row(action: FocusAction, lang: Language, labels: dict[str, str], why: str) -> tuple[Cell, ...]:
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
        Cell(
            ci(risk, lang, 3) if risk.value == risk.value else "–",
            risk.value if risk.value == risk.value else None,
            muted=risk.value != risk.value,
        ),
        Cell(number(action.journeys, lang), action.journeys),
        Cell(action.owner or "–"),
        Cell(why),
    )


def _with_churn_actions(plan: FocusPlan, ctx: ReportContext) -> FocusPlan:
    """``plan`` with the churn actions when the report has a churn analysis.

    The churn module (and the survival statistics it loads) is imported only then:
    a report without churn starts a second faster.
    """
    churn = ctx.results.get("churn")
    if churn is None:
        return plan
    from peakend.models.churn.actions import with_churn_actions

    return with_churn_actions(plan, churn, ctx.results.get("recovery"))
