"""``peakend recovery``: does a well-handled failure win the customer back?"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from peakend.cli.common import (
    BackendOpt,
    JsonOpt,
    SpecArg,
    StrictOpt,
    app,
    loading_message,
    out,
    print_json,
    status,
)
from peakend.models.recovery import RecoveryResult, service_recovery
from peakend.spec import read_spec
from peakend.stats.att import Effect


@app.command()
def recovery(
    spec: SpecArg,
    outcome: Annotated[
        list[str] | None, typer.Option(help="Outcome to compare (repeatable; default: all).")
    ] = None,
    strict: StrictOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Service recovery: outcomes of recovered, not-recovered and never-failed customers.

    Declare the failure and its recovery in the spec's [recovery] section. For every
    outcome: recovered − never failed and recovered − not recovered with 95 %
    intervals (adjusted for the declared confounders, clustered by customer), a
    verdict, and whether a faster recovery recovers more.

    Example: peakend recovery examples/cell2cell_churn.toml --json
    """
    parsed = read_spec(spec)
    if not parsed.snapshot:
        from peakend.load import load

        with status(loading_message(spec, backend)):
            data = load(parsed, strict=strict, backend=backend)
        with status("Comparing recovered, not recovered and never-failed customers …"):
            result = service_recovery(data, outcomes=outcome)
    else:
        with status("Comparing recovered, not recovered and never-failed customers …"):
            result = service_recovery(parsed, outcomes=outcome)
    if as_json:
        print_json(result.to_dict())
        return
    print_result(result)


def _iv(e: Effect) -> str:
    if e.value != e.value:
        return "–"
    return f"{e.value:+.3f} [{e.low:+.3f}, {e.high:+.3f}]"


def print_result(result: RecoveryResult) -> None:
    """The recovery figures as a table, the verdicts' reasons and the speed effect."""
    g = result.groups
    out.print(
        f"[bold]{escape(result.dataset_name)}[/]: {sum(g.values()):,} {result.unit}s — "
        + ", ".join(f"{k} {v:,}" for k, v in g.items())
        + f"; repeated failures {result.repeated:,}; clustered by {result.clustered_by}"
    )
    if result.confounders:
        out.print(f"adjusted for: {escape(', '.join(result.confounders))}")
    table = Table(
        "outcome", "never failed", "recovered", "not recovered", "recovered − never failed",
        "recovered − not recovered", "verdict", box=None, header_style="bold",
    )  # fmt: skip
    for o in result.outcomes:
        c = o.all_failures
        table.add_row(
            escape(o.outcome + (" (lower is better)" if o.lower_is_better else "")),
            *(
                f"{o.means[k]:.3f}" if o.means[k] == o.means[k] else "–"
                for k in ("no failure", "recovered", "not recovered")
            ),
            _iv(c.recovered_vs_none) if c else "–",
            _iv(c.recovered_vs_unrecovered) if c else "–",
            escape(o.verdict),
        )
    if result.outcomes:
        out.print(table)
    else:
        out.print("No outcome is declared: only failures and their causes are counted.")
    for o in result.outcomes:
        out.print(f"  {escape(o.outcome)}: {escape(o.reason)}")
        for b in o.by_severity:
            c = b.contrasts
            out.print(
                f"    severity {escape(b.level)}: recovered − never failed "
                f"{_iv(c.recovered_vs_none)}, − not recovered {_iv(c.recovered_vs_unrecovered)}"
                f" ({b.recovered:,} / {b.not_recovered:,})"
            )
    if result.speed is not None:
        s = result.speed
        out.print(
            f"time to recovery: {escape(s.outcome)} per doubling of the delay "
            f"{_iv(s.per_doubling)} — {escape(s.verdict)}"
        )
    for cause in result.causes[:6]:
        out.print(
            f"  failures after {escape(cause['touchpoint'])}: {cause['failures']:,}, recovered "
            f"{100 * cause['recovered_share']:.0f} %"
        )
    for note in result.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
