"""The live service: ``peakend serve``, ``peakend users add|list`` and ``peakend cases …``.

``serve`` runs the survey service, the dashboard and the cases in one process;
the other commands work on the same database (``--db`` or ``PEAKEND_SURVEY_DB``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from peakend.cases.notify import Followup, read_notify
from peakend.cases.recovery import case_recovery
from peakend.cases.report import case_report
from peakend.cases.rules import read_rules
from peakend.cases.store import CaseStore, User
from peakend.cli.common import JsonOpt, app, err, out, print_json, status
from peakend.cli.recovery import print_result
from peakend.cli.survey import DbOpt, QuestionnairesOpt, _actor, _open
from peakend.survey.app import SurveySettings
from peakend.survey.server import ServerOptions, run

if TYPE_CHECKING:
    from peakend.dashboard.app import ServeSettings

users_app = typer.Typer(name="users", help="Dashboard users and their roles.", no_args_is_help=True)
cases_app = typer.Typer(name="cases", help="Cases opened by alert rules.", no_args_is_help=True)
summary_app = typer.Typer(
    name="summary", help="The PDF summary mailed on a schedule.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(cases_app, name="cases")
app.add_typer(summary_app, name="summary")

RulesOpt = Annotated[
    Path | None,
    typer.Option(
        "--rules", envvar="PEAKEND_ALERT_RULES", help="Alert rules file (TOML); see docs."
    ),
]
LayoutOpt = Annotated[
    Path | None,
    typer.Option(
        "--layout",
        envvar="PEAKEND_LAYOUT",
        help="Dashboard layout file (TOML): widgets, order, options; see docs/dashboard.md.",
    ),
]
DatasetOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--dataset",
        help="Dataset spec whose analyses the dashboard shows (repeat for several).",
    ),
]
RefreshOpt = Annotated[
    float,
    typer.Option(min=10, help="Seconds between recomputations of the dataset analyses."),
]
NotifyOpt = Annotated[
    Path | None,
    typer.Option(
        "--notify",
        envvar="PEAKEND_NOTIFY",
        help="Notifications file (TOML): e-mail, webhooks, follow-up question; see docs.",
    ),
]
QuestionnairesOptional = Annotated[
    Path | None,
    typer.Option(
        "--questionnaires",
        "-q",
        envvar="PEAKEND_SURVEY_QUESTIONNAIRES",
        help="Questionnaire file or folder (the score ranges the recovery line needs).",
    ),
]
EVERYONE = User("cli", "admin", ("*",))


@app.command()
def serve(
    db: DbOpt,
    questionnaires: QuestionnairesOpt,
    rules: RulesOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    base_url: Annotated[
        str,
        typer.Option(help="Public address, e.g. https://cx.example.org (https: secure cookies)."),
    ] = "",
    widget_interval: Annotated[
        float, typer.Option(min=1, help="Seconds between recomputations of the widgets.")
    ] = 60.0,
    layout: LayoutOpt = None,
    dataset: DatasetOpt = None,
    refresh: RefreshOpt = 3600.0,
    notify: NotifyOpt = None,
) -> None:
    """Run the survey service, the dashboard (/dashboard) and the cases in one process.

    Answers that match an alert rule open a case within seconds; overdue cases
    are escalated every minute. Add users first with `peakend users add`.

    The dashboard shows the widgets of --layout (a TOML file; default: every
    survey widget and the cases, then the analyses of each --dataset).

    Example: peakend serve --db survey.db -q examples/questionnaires --rules alerts.toml
    """
    from peakend.dashboard.app import ServeSettings

    settings = ServeSettings(
        survey=SurveySettings(db=db, questionnaires=questionnaires, base_url=base_url),
        rules=rules,
        widget_interval=widget_interval,
        secure_cookies=base_url.startswith("https://"),
        layout=layout,
        datasets=tuple(dataset or ()),
        refresh=refresh,
        notify=notify,
    )
    start_service(settings, host, port)


def start_service(settings: ServeSettings, host: str, port: int) -> None:
    """Open the database, check rules, layout and datasets, then serve until Ctrl+C."""
    from peakend.dashboard.app import create_serve_app

    with status("Opening the survey database …"):
        service = create_serve_app(settings)
    err.print(f"peakend on http://{host}:{port}/dashboard (survey at /s/…); Ctrl+C stops it.")
    run(service, ServerOptions(host=host, port=port))


@users_app.command("add")
def add_user(
    db: DbOpt,
    name: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, analyst, case_owner or viewer.")],
    units: Annotated[
        str, typer.Option(help='Comma-separated units the user sees, or "*" for all.')
    ],
    password: Annotated[
        str | None,
        typer.Option(
            envvar="PEAKEND_PASSWORD",
            help="Password (at least 10 characters); asked for when not given.",
        ),
    ] = None,
    email: Annotated[
        str | None, typer.Option(help="E-mail address for case notifications (optional).")
    ] = None,
) -> None:
    """Create a dashboard user, or replace its role, units and password.

    Example: peakend users add --db survey.db --name olga --role case_owner --units logistics
    """
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = _open(db)
    user = CaseStore(store).add_user(
        name, role, units.split(","), password, actor=_actor(), email=email
    )
    err.print(f"User {escape(user.name)} ({user.role}; units {escape(', '.join(user.units))}).")


@users_app.command("list")
def list_users(db: DbOpt, as_json: JsonOpt = False) -> None:
    """List the dashboard users with their roles and units."""
    users = CaseStore(_open(db)).users()
    if as_json:
        print_json({"ok": True, "users": [u.to_dict() for u in users]})
        return
    table = Table("name", "role", "units")
    for user in users:
        table.add_row(escape(user.name), user.role, escape(", ".join(user.units)))
    out.print(table)


@cases_app.command("evaluate")
def evaluate(
    db: DbOpt, rules: RulesOpt = None, notify: NotifyOpt = None, as_json: JsonOpt = False
) -> None:
    """Run the alert rules once on every answer not looked at yet (serve does this itself).

    With --notify the new cases' e-mails and webhooks are queued in the database;
    `peakend serve --notify` delivers them.
    """
    if rules is None:
        raise typer.BadParameter("give the alert rules file with --rules")
    store = CaseStore(_open(db), read_rules(rules), notify=read_notify(notify) if notify else None)
    with status("Reading comments and answers …"):
        opened = store.evaluate_new()
    if as_json:
        print_json({"ok": True, "opened": opened})
        return
    err.print(f"{len(opened)} case(s) opened.")


@cases_app.command("escalate")
def escalate(db: DbOpt, notify: NotifyOpt = None, as_json: JsonOpt = False) -> None:
    """Escalate every open or in-progress case past its due time (serve does this every minute).

    With --notify the escalations' e-mails and webhooks are queued in the
    database; `peakend serve --notify` delivers them.

    Example: peakend cases escalate --db survey.db
    """
    found = read_notify(notify) if notify else None
    ids = CaseStore(_open(db), notify=found).escalate_overdue()
    if as_json:
        print_json({"ok": True, "escalated": ids})
        return
    err.print(f"{len(ids)} overdue case(s) escalated{': ' if ids else '.'}{ids if ids else ''}")


@cases_app.command("report")
def report(
    db: DbOpt,
    questionnaires: QuestionnairesOptional = None,
    notify: NotifyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Time to first response, time to close, share closed within target, with intervals,
    and (with -q) whether closed cases recover the customer (the recovery analysis).

    Example: peakend cases report --db survey.db -q examples/questionnaires --notify notify.toml
    """
    store = _open(db, questionnaires)
    found = case_report(CaseStore(store).timings(EVERYONE))
    recovered = None
    if questionnaires is not None:
        with status("Comparing customers whose case was recovered, not recovered, or none …"):
            recovered = case_recovery(store, _followup(notify))
    if as_json:
        extra = {"recovery": recovered.to_dict() if recovered else None}
        print_json({"ok": True, **found.to_dict(), **extra})
        return
    out.print(
        f"{found.n_cases} case(s): {found.n_open} open, {found.n_escalated} escalated, "
        f"{found.n_overdue} overdue"
    )
    for label, value, unit in (
        ("median hours to first response", found.hours_to_first_response, "h"),
        ("median hours to close", found.hours_to_close, "h"),
        ("closed within target", found.closed_within_target, "share"),
    ):
        if value is None:
            out.print(f"{label}: no cases yet")
        elif value.low != value.low:  # NaN: too few cases
            out.print(f"{label}: {value.value:.2f} {unit} (n = {value.n}; too few for an interval)")
        else:
            out.print(
                f"{label}: {value.value:.2f} {unit} "
                f"(95 % interval {value.low:.2f}–{value.high:.2f}, n = {value.n})"
            )
    if recovered is not None:
        out.print(escape(recovered.sentence()))
    else:
        out.print("do closed cases recover the customer? give the questionnaires with -q to see")


@cases_app.command("recovery")
def recovery(
    db: DbOpt,
    questionnaires: QuestionnairesOpt,
    notify: NotifyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Do closed cases recover the customer? The recovery analysis on the cases.

    Failure: the answer that opened a customer's first case; recovered: closed with
    a positive follow-up answer (--notify names the follow-up questionnaire), else
    closed within target; outcome: the customer's next score (0–1). See docs.

    The questionnaires (-q) give each overall score's range, so scores of
    different questionnaires are compared on one 0–1 scale.

    Example: peakend cases recovery --db survey.db -q examples/questionnaires --json
    """
    with status("Comparing customers whose case was recovered, not recovered, or who had none …"):
        found = case_recovery(_open(db, questionnaires), _followup(notify))
    if as_json:
        print_json({"ok": True, **found.to_dict()})
        return
    print_result(found.result)
    out.print(
        f"customers whose case is still open and not yet due (left out): "
        f"{found.customers_waiting}; follow-up answers: {found.followups_answered}"
    )
    out.print(escape(found.sentence()))


def _followup(notify: Path | None) -> Followup | None:
    """The follow-up settings of the notify file (None without one)."""
    return read_notify(notify).followup if notify is not None else None


@summary_app.command("send")
def send_summary(
    db: DbOpt,
    notify: Annotated[
        Path,
        typer.Option(
            "--notify",
            envvar="PEAKEND_NOTIFY",
            help="Notifications file (TOML) with a [summary] table; see docs/dashboard.md.",
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Mail the summary (page 1 of the dataset's report, as a PDF) now.

    The mails are queued in the database and delivered at once; a failed one is
    retried by `peakend serve --notify`. The schedule is not changed: this is
    for testing the [summary] table and for sending it from cron.

    Example: peakend summary send --db survey.db --notify notify.toml
    """
    from peakend.cases.delivery import DeliveryWorker
    from peakend.cases.summary import build_summary, enqueue_summary, next_due

    config = read_notify(notify)
    if config.summary is None:
        raise typer.BadParameter(f"{notify} has no [summary] table; see docs/dashboard.md")
    store = _open(db)
    with status("Building the report's first page …"):
        mail = build_summary(config.summary)
    with store.write() as connection:
        ids = enqueue_summary(connection, config.summary, mail)
        store.audit(connection, _actor(), "summary", f"sent now to {len(ids)} recipient(s)")
    with status("Sending …"):
        sent = DeliveryWorker(store, config).deliver_due(ids)
    due = next_due(store, config.summary)
    if as_json:
        print_json(
            {
                "ok": sent == len(ids),
                "recipients": list(config.summary.recipients),
                "sent": sent,
                "headline": mail.headline,
                "pdf_bytes": len(mail.pdf),
                "next_scheduled": due.isoformat() if due else None,
            }
        )
        return
    out.print(escape(f"{mail.subject}: {len(mail.pdf):,}-byte PDF, headline: {mail.headline}"))
    out.print(f"sent to {sent} of {len(ids)} recipient(s)")
    if sent < len(ids):
        err.print("the others are queued; `peakend serve --notify` retries them")
    schedule = config.summary.describe()
    when = due.strftime("%Y-%m-%d %H:%M UTC") if due else "set when serve starts"
    out.print(f"schedule: {schedule}; next scheduled summary: {when}")
