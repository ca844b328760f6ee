"""Survey sub-commands: ``peakend survey init|add-key|serve|invite|export|forget|…``.

Every command takes ``--db`` (a SQLite file or ``postgresql://`` URL; default the
``PEAKEND_SURVEY_DB`` variable). Commands run by the operator on the server are
recorded in the audit log with the actor ``cli:<login name>``.
"""

from __future__ import annotations

import csv
import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from peakend.cli.common import JsonOpt, app, err, out, print_json, status
from peakend.errors import ConfigError
from peakend.survey.app import SurveySettings, create_app, parse_invitation_csv
from peakend.survey.database import make_engine, upgrade
from peakend.survey.export import EXPORT_FORMATS, database_spec_text, export_events
from peakend.survey.keys import make_private
from peakend.survey.questionnaire import Questionnaire, read_questionnaires
from peakend.survey.server import (
    MAX_CONNECTIONS,
    REQUEST_TIMEOUT_S,
    WORKER_START_TIMEOUT_S,
    ServerOptions,
    run,
)
from peakend.survey.store import DEFAULT_TTL_DAYS, SurveyStore, normalise_id

survey_app = typer.Typer(
    name="survey",
    help="Short touchpoint questionnaires: invitations, the web form, answers and exports.",
    no_args_is_help=True,
)
app.add_typer(survey_app, name="survey")

DbOpt = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="PEAKEND_SURVEY_DB",
        help="Survey database: a SQLite file (created if missing) or postgresql://user:pw@host/db.",
    ),
]
QuestionnairesOpt = Annotated[
    Path,
    typer.Option(
        "--questionnaires",
        "-q",
        envvar="PEAKEND_SURVEY_QUESTIONNAIRES",
        help="A questionnaire file (YAML/TOML) or a folder of them.",
    ),
]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _open(
    db: str, questionnaires: Path | None = None, ttl_days: float = DEFAULT_TTL_DAYS
) -> SurveyStore:
    found: dict[str, Questionnaire] = read_questionnaires(questionnaires) if questionnaires else {}
    with status("Opening the survey database …"):
        return SurveyStore(make_engine(db), found, ttl_days=ttl_days)


@survey_app.command()
def init(db: DbOpt) -> None:
    """Create the survey database or upgrade it to the newest schema.

    Example: peakend survey init --db survey.db
    """
    with status("Creating or upgrading the survey schema …"):
        revision = upgrade(make_engine(db))
        SurveyStore(make_engine(db), {})  # makes the link-signing secret
    err.print(f"Survey database ready (schema {revision}).")


@survey_app.command("add-key")
def add_key(
    db: DbOpt,
    name: Annotated[str, typer.Option(help="Who or what uses the key (shown in the audit log).")],
) -> None:
    """Create an admin API key; it is printed once and stored only as a hash.

    Example: peakend survey add-key --db survey.db --name crm-export
    """
    key = _open(db).add_api_key(name, actor=_actor())
    err.print("Store this key now; it cannot be shown again:")
    sys.stdout.write(key + "\n")


@survey_app.command("revoke-key")
def revoke_key(
    db: DbOpt,
    key_id: Annotated[str, typer.Argument(help="The key id: the part after pk_ in the key.")],
) -> None:
    """Stop an admin API key from working (it stays listed in the audit log).

    Example: peakend survey revoke-key --db survey.db c741002d732e
    """
    if not _open(db).revoke_api_key(key_id, actor=_actor()):
        raise ConfigError(f"no active API key with id {key_id!r}")
    err.print(f"API key {key_id} revoked.")


@survey_app.command("revoke-link")
def revoke_link(
    db: DbOpt,
    link: Annotated[str, typer.Argument(help="The link (URL or token) or its invitation id.")],
) -> None:
    """Make one invitation link stop working at once, on every running worker (audited).

    Example: peakend survey revoke-link --db survey.db https://survey.example.org/s/Xb3….
    """
    if not _open(db).revoke_link(link, actor=_actor()):
        raise ConfigError("no such link, or it was already revoked")
    err.print("Link revoked; every worker refuses it from its next request.")


@survey_app.command("rotate-secret")
def rotate_secret(db: DbOpt) -> None:
    """Sign new links with a fresh secret; links signed before stay valid until the next rotation.

    Running services pick the new secret up within 2 seconds. Rotate twice to
    end every older link for good (e.g. after a leak); to end one link, use
    revoke-link.

    Example: peakend survey rotate-secret --db survey.db
    """
    _open(db).rotate_secret(actor=_actor())
    err.print("New link-signing secret in use; links from before the previous one stop working.")


@survey_app.command()
def serve(
    db: DbOpt,
    questionnaires: QuestionnairesOpt,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    base_url: Annotated[
        str,
        typer.Option(
            help="Public address used in invitation links, e.g. https://survey.example.org."
        ),
    ] = "",
    ttl_days: Annotated[
        float, typer.Option(help="Days an invitation link stays valid.")
    ] = DEFAULT_TTL_DAYS,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    request_timeout: Annotated[
        float,
        typer.Option(
            min=0.1, help="Close a connection whose request takes longer to arrive (seconds)."
        ),
    ] = REQUEST_TIMEOUT_S,
    max_connections: Annotated[
        int,
        typer.Option(min=1, help="Per worker: beyond this many connections answer 503 at once."),
    ] = MAX_CONNECTIONS,
    worker_start_timeout: Annotated[
        int,
        typer.Option(
            min=1, help="Seconds a worker may take to start before it is replaced (--workers > 1)."
        ),
    ] = WORKER_START_TIMEOUT_S,
) -> None:
    """Run the survey web service (form, JSON API, admin API; OpenAPI at /openapi.json).

    The database is created or upgraded on start. Access logs stay off: the
    request paths hold the customers' links. Slow requests are cut off after
    --request-timeout and connections beyond --max-connections get a 503.

    Example: peakend survey serve --db survey.db -q examples/questionnaires
    """
    settings = SurveySettings(
        db=db, questionnaires=questionnaires, ttl_days=ttl_days, base_url=base_url
    )
    options = ServerOptions(
        host=host,
        port=port,
        workers=workers,
        request_timeout=request_timeout,
        max_connections=max_connections,
        worker_start_timeout=worker_start_timeout,
    )
    with status("Opening the survey database …"):
        service = create_app(settings)  # also checks the settings before workers start
    err.print(
        f"Survey service on http://{host}:{port} (OpenAPI at /openapi.json); Ctrl+C stops it."
    )
    if workers == 1:
        run(service, options)
        return
    # Each worker builds the app from the environment (see app_from_env). The
    # workers are started from the small peakend.survey.server module, not from
    # this command line program, so that each imports only the service.
    os.environ.update(
        PEAKEND_SURVEY_DB=db,
        PEAKEND_SURVEY_QUESTIONNAIRES=str(questionnaires),
        PEAKEND_SURVEY_BASE_URL=base_url,
        PEAKEND_SURVEY_TTL_DAYS=str(ttl_days),
        **options.to_env(),
    )
    service.state.store.engine.dispose()  # no database handle survives into the workers
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "peakend.survey.server"])


@survey_app.command()
def invite(
    db: DbOpt,
    questionnaires: QuestionnairesOpt,
    events: Annotated[
        Path,
        typer.Argument(help="CSV of touchpoint events: customer_id, journey_id, touchpoint, ts."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the links to this CSV (default stdout)."),
    ] = None,
    base_url: Annotated[
        str,
        typer.Option(
            envvar="PEAKEND_SURVEY_BASE_URL",
            help="Public address of the service, e.g. https://survey.example.org (needed).",
        ),
    ] = "",
    ttl_days: Annotated[float, typer.Option(help="Days a link stays valid.")] = DEFAULT_TTL_DAYS,
) -> None:
    """Create one signed, single-use, expiring link per customer and touchpoint event.

    The CSV needs customer_id, journey_id, touchpoint and ts (ISO 8601); channel,
    lang (nl/en) and questionnaire are optional. The output CSV has the links.

    Every invalid line is reported with its reason, and nothing is stored then.
    The output file is readable by its owner only: the links are credentials.

    Example: peakend survey invite --db survey.db -q examples/questionnaires events.csv
    --base-url https://survey.example.org -o links.csv
    """
    if not base_url.startswith(("https://", "http://")):
        raise ConfigError(
            "links need the public address of the survey service: give --base-url "
            "https://survey.example.org (or set PEAKEND_SURVEY_BASE_URL)"
            + (f"; {base_url!r} is not an http(s) address" if base_url else "")
        )
    store = _open(db, questionnaires, ttl_days)
    try:
        text = events.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {events} as UTF-8 CSV: {exc}") from exc
    requests = parse_invitation_csv(text)
    with status(f"Creating {len(requests):,} invitation link(s) …"):
        created = store.invite(requests, actor=_actor())
    base = base_url.rstrip("/")
    fields = [
        "customer_id",
        "journey_id",
        "touchpoint",
        "questionnaire",
        "lang",
        "expires_at",
        "url",
    ]
    if output:
        make_private(output)
    handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for invitation in created:
            writer.writerow({**invitation.to_dict(), "url": f"{base}/s/{invitation.token}"})
    finally:
        if output:
            handle.close()
    n_new = sum(invitation.created for invitation in created)
    err.print(
        f"{len(created):,} invitation link(s): {n_new:,} new, {len(created) - n_new:,} existing."
    )


@survey_app.command()
def export(
    db: DbOpt,
    questionnaires: QuestionnairesOpt,
    output: Annotated[Path, typer.Option("--out", "-o", help="Folder for events and survey.toml.")],
    fmt: Annotated[
        str, typer.Option("--format", help=f"One of: {', '.join(EXPORT_FORMATS)}.")
    ] = "parquet",
    as_json: JsonOpt = False,
) -> None:
    """Export every invitation as a canonical event (answers where given) plus a dataset spec.

    Analyse the result at once: peakend journeys OUT/survey.toml. CSV text cells
    are guarded against spreadsheet formula injection. The export is audited.

    Example: peakend survey export --db survey.db -q examples/questionnaires --out survey-export
    """
    store = _open(db, questionnaires)
    with status("Exporting …"):
        result = export_events(store, output, actor=_actor(), fmt=fmt)
    if as_json:
        print_json(result.to_dict())
        return
    out.print(
        f"{result.n_events:,} events ({result.n_answered:,} answered) → {result.events_path}; "
        f"spec: {result.spec_path}"
    )


@survey_app.command()
def spec(db: DbOpt, questionnaires: QuestionnairesOpt) -> None:
    """Print a dataset spec that reads the survey database directly (the survey_events view).

    Example: peakend survey spec --db survey.db -q examples/questionnaires > survey.toml
    """
    sys.stdout.write(database_spec_text(_open(db, questionnaires), db) + "\n")


@survey_app.command()
def forget(
    db: DbOpt,
    customer_id: Annotated[str, typer.Argument(help="The customer whose data are erased.")],
    as_json: JsonOpt = False,
) -> None:
    """Erase every invitation, answer and draft of one customer (GDPR request); audited.

    Example: peakend survey forget --db survey.db C-1042
    """
    result = _open(db).forget_customer(customer_id, actor=_actor())
    if as_json:
        print_json(result.to_dict())
        return
    out.print(
        f"Erased {result.invitations:,} invitation(s), {result.responses:,} answer(s) and "
        f"{result.drafts:,} draft(s) of customer {escape(normalise_id(customer_id))}."
    )


@survey_app.command()
def audit(
    db: DbOpt,
    limit: Annotated[int, typer.Option(help="Number of entries, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log: who created invitations, read, exported or erased what.

    Example: peakend survey audit --db survey.db --limit 20
    """
    entries = _open(db).audit_log(limit=limit)
    if as_json:
        print_json({"entries": entries, "n": len(entries)})
        return
    table = Table("time (UTC)", "actor", "action", "detail", box=None, header_style="bold")
    for entry in entries:
        table.add_row(*(escape(str(entry[k])) for k in ("ts", "actor", "action", "detail")))
    out.print(table)
