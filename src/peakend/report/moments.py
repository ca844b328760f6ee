"""The moment-matrix section: moments of truth, excel and standard moments per touchpoint."""

from __future__ import annotations

from typing import Any

from peakend.load import Dataset
from peakend.models.moments import MomentsResult, TouchpointMoment, find_moments
from peakend.models.moments.holdout import FOLDS
from peakend.models.moments.segments import SegmentMoments
from peakend.report.i18n import Language, ci, number, percent, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section
from peakend.report.units import axis_unit, outcome_unit
from peakend.views.moments import moment_matrix
from peakend.views.save import to_spec

REFERENCES = (
    "Brandt, D. R. (1987). A procedure for identifying value-enhancing service components "
    "using customer satisfaction survey data. In Add Value to Your Service, AMA, 61–65.",
    "Mikulić, J. & Prebežac, D. (2008). Prioritizing improvement of service attributes using "
    "impact range-performance analysis and impact-asymmetry analysis. Managing Service "
    "Quality 18(6), 559–576.",
    "Johnson, J. W. (2000). A heuristic method for estimating the relative weight of predictor "
    "variables in multiple regression. Multivariate Behavioral Research 35(1), 1–19.",
    "Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.",
)

#: Touchpoints named per executive-summary sentence.
NAMED = 3


def moments_model(dataset: Dataset, outcome: str | None) -> MomentsResult:
    """The moments analysis the section presents; it needs nothing but the data.

    It keeps the inputs of its total effects for the focus plan, which ranks the
    moments' actions right after this section and then lets them go
    (:func:`peakend.report.focus.rank_moments_actions`).
    """
    return find_moments(dataset, outcome=outcome, keep_total_inputs=True)


def moments_section(ctx: ReportContext) -> Section:
    """Run :func:`~peakend.models.moments.find_moments` (unless started early) and present it."""
    # taken, not read: the finished future would otherwise hold the result to the end
    early = ctx.early.pop("moments", None)
    result = early.result() if early is not None else moments_model(ctx.dataset, ctx.outcome)
    ctx.results["moments"] = result
    ctx.classes.update(result.classes())
    lang = ctx.lang
    paragraphs = [
        text("moments_intro", lang, outcome=result.outcome),
        text(
            "moments_fit",
            lang,
            model=text(f"model_{result.model}", lang),
            n=number(result.n_journeys, lang),
            fit=ci(result.fit, lang, sign=False),
            fit_method=_fit_method(result, lang),
            unit=text(f"units_{result.resampling_unit}", lang),
        ),
    ]
    if result.adjusted_for:
        controls = ", ".join(result.adjusted_for)
        paragraphs.append(text("moments_direct", lang, controls=controls))
    else:
        paragraphs.insert(1, text(f"moments_{result.estimand}", lang, outcome=result.outcome))
    zero = [m.touchpoint for m in result.touchpoints if not m.importance_distinct]
    if zero:
        paragraphs.append(text("importance_zero", lang, touchpoints=", ".join(zero)))
    if result.collinear:
        pairs = ", ".join(f"{a} ~ {b} (r = {number(r, lang)})" for a, b, r in result.collinear)
        paragraphs.append(text("collinear", lang, pairs=pairs))
    paragraphs += [_segment_sentence(s, lang) for s in result.segments]
    tables = [_moment_table(result, lang, ctx.labels)]
    tables += [_segment_table(s, lang) for s in result.segments if _differing(s)]
    return Section(
        key="moments",
        title=text("moments", lang),
        paragraphs=tuple(paragraphs),
        charts=(Chart("moment_matrix", text("moments", lang), matrix_spec(result, ctx)),),
        tables=tuple(tables),
        summary=summary_sentences(
            result, lang, labels=ctx.labels, unit=outcome_unit(ctx.dataset, result.outcome, lang)
        ),
        methods=(_method(result, lang),),
        references=REFERENCES,
        results=result.to_dict(),
    )


def matrix_spec(result: MomentsResult, ctx: ReportContext) -> dict[str, Any]:
    """The moment matrix in the report language, with display names and the outcome's unit."""
    lang = ctx.lang
    chart = moment_matrix(
        result,
        title=text("matrix_title", lang, outcome=result.outcome),
        lang=lang,
        labels=ctx.labels,
        unit=axis_unit(ctx.dataset, result.outcome, lang),
    )
    return to_spec(chart)


def summary_sentences(
    result: MomentsResult,
    lang: Language,
    *,
    labels: dict[str, str] | None = None,
    unit: str | None = None,
) -> tuple[str, ...]:
    """Fix first, excel at, allow some pain at: the three sentences managers repeat.

    ``labels`` gives touchpoints their display names and ``unit`` the outcome's unit
    ("points on the 1–10 overall score"), so that each effect can be read alone.
    """
    names = labels or {}
    by_rec: dict[str, list[TouchpointMoment]] = {}
    for moment in result.touchpoints:
        by_rec.setdefault(moment.recommendation, []).append(moment)
    sentences = []
    fixes = sorted(by_rec.get("fix", []), key=lambda m: m.penalty.value)[:NAMED]
    if fixes:
        effect = _effect(min(m.penalty.value for m in fixes), result, lang, unit)
        sentences.append(
            text(
                "sum_fix",
                lang,
                touchpoints=_names(fixes, names),
                effect=effect,
                outcome=result.outcome,
            )
        )
    excels = sorted(by_rec.get("excel", []), key=lambda m: -m.reward.value)[:NAMED]
    if excels:
        effect = _effect(max(m.reward.value for m in excels), result, lang, unit)
        sentences.append(
            text(
                "sum_excel",
                lang,
                touchpoints=_names(excels, names),
                effect=effect,
                outcome=result.outcome,
            )
        )
    allows = sorted(by_rec.get("allow", []), key=lambda m: -m.counts.get("low", 0))[:NAMED]
    if allows:
        sentences.append(
            text(
                "sum_allow",
                lang,
                touchpoints=_names(allows, names),
                outcome=result.outcome,
                threshold=_threshold(result, lang),
            )
        )
    open_ = [m for m in result.touchpoints if m.moment_class == "inconclusive"]
    open_ = sorted(open_, key=lambda m: -m.importance.value)[:NAMED]
    if open_:
        sentences.append(
            text(
                "sum_collect",
                lang,
                touchpoints=_names(open_, names),
                first=names.get(open_[0].touchpoint, open_[0].touchpoint),
                more=settle_cell(open_[0].more_journeys, lang),
            )
        )
    return tuple(sentences)


def _round_up(n: int) -> int:
    """Round a sample size up to two significant digits: it is a rough figure."""
    if n < 100:
        return n
    step = 10 ** (len(str(n)) - 2)
    return int(-(-n // step) * step)


def _threshold(result: MomentsResult, lang: Language) -> str:
    if result.outcome_kind == "binary":
        return text("points", lang, value=number(100 * result.threshold, lang, 0))
    return number(result.threshold, lang)


def settle_cell(more: dict[str, int | None], lang: Language) -> str:
    """More journeys per band that would settle an open class, e.g. ``+460 low``."""
    parts = [
        text("settle_more", lang, n=number(_round_up(n), lang, 0), band=text(f"band_{b}", lang))
        if n is not None
        else f"{text(f'band_{b}', lang)}: {text('settle_on_threshold', lang)}"
        for b, n in more.items()
    ]
    return ", ".join(parts) or "–"


def _effect(value: float, result: MomentsResult, lang: Language, unit: str | None) -> str:
    if result.outcome_kind == "binary":
        shown = text("points", lang, value=number(100 * abs(value), lang, 0))
    else:
        shown = number(abs(value), lang)
    if unit and result.outcome_kind != "binary":
        shown = f"{shown} {unit}"
    return text("up_to", lang, value=shown)


def _names(moments: list[TouchpointMoment], labels: dict[str, str]) -> str:
    return ", ".join(labels.get(m.touchpoint, m.touchpoint) for m in moments)


def _moment_table(
    result: MomentsResult, lang: Language, labels: dict[str, str] | None = None
) -> ReportTable:
    labels = labels or {}
    headers = tuple(
        text(k, lang)
        for k in (
            "col_touchpoint",
            "col_class",
            "col_confidence",
            "col_penalty",
            "col_reward",
            "col_importance",
            "col_bands",
            "col_recommendation",
            "col_settle",
        )
    )
    rows = []
    for m in result.touchpoints:
        muted = m.moment_class == "not_enough_data"
        bands = "/".join(number(m.counts.get(b, 0), lang) for b in ("low", "middle", "high"))
        rows.append(
            (
                Cell(
                    labels.get(m.touchpoint, m.touchpoint), m.stage if m.stage is not None else 1e9
                ),
                Cell(text(f"class_{m.moment_class}", lang), m.moment_class, muted),
                Cell(percent(m.confidence, lang), m.confidence, muted),
                Cell(ci(m.penalty, lang), _sortable(m.penalty.value), muted),
                Cell(ci(m.reward, lang), _sortable(m.reward.value), muted),
                Cell(ci(m.importance, lang), _sortable(m.importance.value), muted),
                Cell(bands, m.counts.get("low", 0)),
                Cell(text(f"rec_{m.recommendation}", lang), m.recommendation, muted),
                Cell(settle_cell(m.more_journeys, lang), muted=not m.more_journeys),
            )
        )
    return ReportTable("moments", headers, tuple(rows), caption=text("sortable", lang))


def _sortable(value: float) -> float | None:
    return None if value != value else value  # NaN sorts as text "–"


def _differing(segment: SegmentMoments) -> bool:
    return any(d.class_differs for d in segment.differences)


def _segment_sentence(segment: SegmentMoments, lang: Language) -> str:
    key = "segments_differ" if _differing(segment) else "segments_same"
    return text(key, lang, attribute=segment.attribute)


def _segment_table(segment: SegmentMoments, lang: Language) -> ReportTable:
    headers = (text("col_touchpoint", lang), text("col_classes", lang))
    rows = tuple(
        (
            Cell(d.touchpoint),
            Cell(
                "; ".join(
                    f"{group}: {text(f'class_{cls}', lang)}" for group, cls in d.classes.items()
                )
            ),
        )
        for d in segment.differences
        if d.class_differs
    )
    return ReportTable(f"segments-{_slug(segment.attribute)}", headers, rows)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


def _method(result: MomentsResult, lang: Language) -> str:
    settings = result.settings
    threshold = (
        percent(result.threshold, lang, 1)
        if result.outcome_kind == "binary"
        else number(result.threshold, lang)
    )
    return text(
        "method_moments",
        lang,
        resamples=number(settings.n_resamples, lang),
        seed=settings.seed,
        threshold=threshold,
        min_count=number(settings.min_count, lang),
        unit=text(f"units_{result.resampling_unit}", lang),
    )


def _fit_method(result: MomentsResult, lang: Language) -> str:
    key = "fit_cv_customer" if result.resampling_unit == "customer" else "fit_cv"
    return text(key, lang, folds=FOLDS)
