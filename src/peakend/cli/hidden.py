"""Hidden-moment sub-commands: ``hidden`` (find them) and ``hidden-schedule`` (due actions)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pyarrow.csv as pa_csv
import typer
from rich.markup import escape
from rich.table import Table

from peakend.cli.common import (
    BackendOpt,
    JsonOpt,
    SpecArg,
    StrictOpt,
    app,
    err,
    fmt_estimate,
    load_dataset,
    out,
    print_json,
    status,
)
from peakend.models.hidden.analysis import (
    HiddenMomentReport,
    HiddenMomentsResult,
    find_hidden_moments,
)
from peakend.models.hidden.interventions import AssumedRange
from peakend.models.hidden.schedule import ProactiveRule, due_actions
from peakend.stats.resampling import Interval

NamesOpt = Annotated[list[str] | None, typer.Option(help="Touchpoint name (repeatable).")]


@app.command()
def hidden(
    spec: SpecArg,
    unit: Annotated[str, typer.Option(help="Offset unit: day or hour.")] = "day",
    horizon: Annotated[int, typer.Option(help="Offsets 0..horizon-1 after each anchor.")] = 14,
    alpha: Annotated[float, typer.Option(help="False discovery rate over all cells.")] = 0.05,
    anchor: NamesOpt = None,
    contact: NamesOpt = None,
    proactive: NamesOpt = None,
    outcome: Annotated[str | None, typer.Option(help="Outcome used as the score.")] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write the timeline charts (HTML and SVG) here."),
    ] = None,
    strict: StrictOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find hidden moments: windows after company touchpoints with excess customer contacts.

    Windows are detected on a random half of the customers and measured on the
    other half. For each window: excess contacts per 1,000 journeys, share of customers
    affected, what the contacts are about, the outcome gap, the closest
    experience classic and a suggested proactive contact with its expected effect.

    Example: peakend hidden examples/bpic2012_loan_application.toml --json
    """
    dataset = load_dataset(spec, strict, backend=backend)
    with status("Computing contact-rate curves and hidden moments …"):
        result = find_hidden_moments(
            dataset,
            unit=unit,
            horizon=horizon,
            alpha=alpha,
            anchors=anchor,
            contacts=contact,
            proactive=proactive,
            score_outcome=outcome,
        )
    currency = dataset.spec.currency
    if as_json:
        print_json({**result.to_dict(), "currency": currency})
    else:
        _print(result, currency)
    if out_dir is not None:
        _charts(result, out_dir)


def _charts(result: HiddenMomentsResult, out_dir: Path) -> None:
    from peakend.cli.charts import write_charts
    from peakend.views.hidden import hidden_timeline

    anchors = sorted({m.moment.anchor for m in result.moments}) or sorted(result.anchor_journeys)
    charts = [
        (
            hidden_timeline(result, a),
            out_dir / f"hidden_{''.join(c if c.isalnum() else '_' for c in a)}",
        )
        for a in anchors
    ]
    with status(f"Writing {len(anchors)} timeline chart(s) …"):
        write_charts(charts, ("html", "svg"), what="timeline charts")


def _iv(i: Interval | AssumedRange, digits: int = 0, sign: str = "") -> str:
    """``value [low, high]``; an assumed range reads ``value (assumed low to high)``."""
    if isinstance(i, AssumedRange):
        low, high = f"{i.low:{sign}.{digits}f}", f"{i.high:{sign}.{digits}f}"
        return f"{i.value:{sign}.{digits}f} (assumed, {low} to {high})"
    return f"{i.value:{sign}.{digits}f} [{i.low:{sign}.{digits}f}, {i.high:{sign}.{digits}f}]"


def _money(i: Interval | AssumedRange, currency: str | None) -> str:
    """A money figure in the spec's currency (``[report] currency``): ``€899 [€610, €1,190]``."""
    from peakend.report.i18n import money

    low, high = money(i.low, currency, "en"), money(i.high, currency, "en")
    if isinstance(i, AssumedRange):
        return f"{money(i.value, currency, 'en')} (assumed, {low} to {high})"
    return f"{money(i.value, currency, 'en')} [{low}, {high}]"


def _print(result: HiddenMomentsResult, currency: str | None = None) -> None:
    tested = sum(result.anchor_journeys.values())
    out.print(
        f"[bold]{result.dataset_name}[/]: {len(result.anchor_journeys)} anchors tested "
        f"({tested:,} anchor journeys), {len(result.moments)} hidden moment(s) at FDR "
        f"{result.alpha:g}; {escape(result.rule.reason)}"
    )
    for t in result.logged_together:
        out.print(
            f"logged together, not a hidden moment: {t.contacts:,} contacts "
            f"({escape(', '.join(t.contact_mix))}) carry the timestamp of {escape(t.anchor)} "
            f"({t.per_1000:.0f} per 1,000 journeys)"
        )
    if not result.moments:
        out.print("Nothing stands out: no offset has significantly more contacts than baseline.")
        return
    table = Table(
        "hidden moment", "journeys", "excess / 1,000 [95% CI]", "share affected", "looks like",
        "top words", box=None, header_style="bold",
    )  # fmt: skip
    for m in result.moments:
        s = m.moment.share_affected
        table.add_row(
            escape(m.moment.label),
            f"{m.moment.n_journeys:,}",
            _iv(m.moment.excess_per_1000),
            f"{100 * s.value:.1f}% [{100 * s.low:.1f}, {100 * s.high:.1f}]",
            escape(f"{m.classic.name} ({m.classic.score:.2f})") if m.classic else "–",
            escape(", ".join(w.word for w in m.words[:4])) or "–",
        )
    out.print(table)
    for m in result.moments:
        _print_moment(m, currency)


def _print_moment(m: HiddenMomentReport, currency: str | None) -> None:
    iv = m.intervention
    out.print(f"\n[bold]{escape(m.moment.label)}[/]")
    if m.emotion is not None:
        shares = ", ".join(
            f"{k} {100 * (v.value or 0):.0f}%" for k, v in m.emotion.emotions.items()
        )
        out.print(
            f"  emotion of {m.emotion.n:,} verbatims: {escape(shares)}; "
            f"valence {fmt_estimate(m.emotion.valence)}"
        )
    for seg, groups in m.segments.items():
        parts = ", ".join(f"{g} {_iv(iv)} (n={iv.n:,})" for g, iv in groups.items())
        out.print(f"  excess per 1,000 by {escape(seg)}: {escape(parts)}")
    for g in m.outcome_gaps:
        out.print(
            f"  {escape(g.outcome)}: with a contact {g.with_contact:.2f} (n={g.n_with:,}), "
            f"without {g.without_contact:.2f} (n={g.n_without:,}); "
            f"difference {_iv(g.difference, 2, '+')}"
        )
    for e in m.proactive_effects:
        if e.overlap is not None and e.overlap.refused:
            out.print(
                f"  already given: {escape(e.touchpoint)} to {e.n_treated:,} journeys: effect "
                f"not estimated, {escape(e.overlap.refused)}"
            )
            continue
        effects = ", ".join(f"{k} {_iv(v, 2, '+')}" for k, v in e.outcomes.items())
        out.print(
            f"  already given: {escape(e.touchpoint)} to {e.n_treated:,} journeys"
            f"{' (after a low score: reactive, not used)' if e.reactive else ''}: contacts "
            f"{_iv(e.contacts_per_1000, 0, '+')} per 1,000; {escape(effects)}"
            + (
                f" [dim](effective sample {e.overlap.ess_treated:,.0f} / "
                f"{e.overlap.ess_control:,.0f})[/]"
                if e.overlap
                else ""
            )
        )
    saved = iv.cost_saved_per_1000
    cost = f"; cost saved {_money(saved, currency)}" if saved else ""
    score = (
        f"; {iv.score_outcome} {_iv(iv.score_change, 2, '+')}"
        if iv.score_change and iv.score_outcome
        else ""
    )
    out.print(
        f"  [green]suggested[/]: {escape(iv.channel)} on {m.moment.unit} {iv.day} — "
        f"{escape(iv.goal)}\n  expected ({iv.basis}): {_iv(iv.contacts_deflected_per_1000)} "
        f"contacts deflected per 1,000{cost}{escape(score)}\n  [dim]{escape(iv.note)}[/]"
    )


@app.command("hidden-schedule")
def hidden_schedule(
    spec: SpecArg,
    rule: Annotated[
        list[str],
        typer.Option(help="ANCHOR+DAYSd:CHANNEL[:GOAL], e.g. 'subscription_started+2d:phone'."),
    ],
    on: Annotated[
        str | None, typer.Option("--date", help="Due date YYYY-MM-DD (UTC); default today.")
    ] = None,
    csv: Annotated[Path | None, typer.Option(help="Write the due actions to this CSV.")] = None,
    skip_if: Annotated[
        str | None,
        typer.Option(help="Leave out journeys that already had this touchpoint after the anchor."),
    ] = None,
    strict: StrictOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the proactive contacts due on a date, from the event log and contact rules.

    Example: peakend hidden-schedule data/synthetic.toml
    --rule "subscription_started+2d:phone:confirm the choice" --date 2024-03-05
    """
    rules = [dataclasses.replace(ProactiveRule.parse(r), skip_if=skip_if) for r in rule]
    when = on or datetime.now(UTC).date().isoformat()
    dataset = load_dataset(spec, strict, backend=backend)
    with status(f"Finding actions due on {when} …"):
        table = due_actions(dataset, rules, when)
    if csv is not None:
        pa_csv.write_csv(table, csv)
        err.print(f"{table.num_rows:,} due actions written to [bold]{csv}[/]")
    if as_json:
        rows = [{k: str(v) if k in ("anchor_ts", "due_date") else v for k, v in r.items()}
                for r in table.to_pylist()]  # fmt: skip
        print_json({"date": when, "n": table.num_rows, "actions": rows})
        return
    out.print(f"{table.num_rows:,} proactive contact(s) due on {when}")
    view = Table("journey", "customer", "anchor", "anchor time", "channel", "goal", box=None)
    for r in table.slice(0, 50).to_pylist():
        view.add_row(*(escape(str(r[k] or "")) for k in (
            "journey_id", "customer_id", "anchor", "anchor_ts", "channel", "goal")))  # fmt: skip
    out.print(view)
    if table.num_rows > 50:
        out.print(f"… and {table.num_rows - 50:,} more (use --csv or --json)")
