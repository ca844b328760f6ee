"""``peakend churn``: which accumulated experiences drive churn, and how much is avoidable."""

from __future__ import annotations

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
from peakend.models.churn import ChurnResult, churn_drivers
from peakend.spec import read_spec


@app.command()
def churn(
    spec: SpecArg, strict: StrictOpt = None, backend: BackendOpt = None, as_json: JsonOpt = False
) -> None:
    """Churn drivers: survival curves, hazard ratios and avoidable churn per touchpoint.

    Declare churn in the spec's [churn] section (a churn flag and time, or no
    activity for N days). From an event history the covariates change with every
    event (negative moments so far, the last ending, contacts, failures); from a
    per-customer snapshot they are measured once.

    Example: peakend churn examples/iranian_churn.toml --json
    """
    parsed = read_spec(spec)
    if not parsed.snapshot:
        from peakend.load import load

        with status(loading_message(spec, backend)):
            data = load(parsed, strict=strict, backend=backend)
        with status("Fitting the survival model …"):
            result = churn_drivers(data)
    else:
        with status("Fitting the survival model …"):
            result = churn_drivers(parsed)
    if as_json:
        print_json(result.to_dict())
        return
    _print(result)


def _print(result: ChurnResult) -> None:
    c = result.concordance
    out.print(
        f"[bold]{escape(result.dataset_name)}[/] ({result.kind}): {result.customers:,} customers, "
        f"{result.churners:,} churned; concordance on held-out customers "
        + (f"{c:.3f}" if c is not None else "–")
    )
    table = Table(
        "driver", "hazard ratio [95% CI]", "p", "proportional hazards (p)",
        box=None, header_style="bold",
    )  # fmt: skip
    for d in result.drivers:
        ph = (
            "–"
            if d.ph_p != d.ph_p
            else f"{d.ph_p:.3f}" + (" changes over time" if d.ph_p < 0.01 else "")
        )
        table.add_row(
            escape(d.covariate),
            f"{d.hazard_ratio:.3f} [{d.low:.3f}, {d.high:.3f}]",
            f"{d.p:.2g}",
            ph,
        )
    out.print(table)
    a = result.avoidable
    if a is not None:
        t = a.total
        figure = f"{t.value:,.0f} [{t.low:,.0f}, {t.high:,.0f}] of {a.churners:,} churners"
        if t.low > 0:
            out.print(
                f"avoidable churn: {figure} ({100 * a.share:.1f} %) owe their churn to "
                "negative experiences"
            )
        else:
            out.print(f"avoidable churn: no evidence at this sample size ({figure})")
        for cause, e in a.by_cause[:8]:
            out.print(f"  {escape(cause)}: {e.value:,.0f} [{e.low:,.0f}, {e.high:,.0f}]")
    for note in result.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
