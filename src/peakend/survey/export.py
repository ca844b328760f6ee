"""Export survey answers as peakend's canonical events, with a dataset spec beside them.

Two routes into the analysis:

* :func:`export_events` writes ``events.parquet`` (or ``.csv``) and
  ``survey.toml``, a dataset spec that ``peakend.load`` and every analysis
  command read (like ``peakend generate`` does);
* :func:`database_spec_text` writes a spec whose ``[source]`` is the survey
  database itself (the ``survey_events`` view), so analyses always see the
  newest answers.

Every invitation is one event (the touchpoint happened), scored with the
``overall`` answer when the customer answered. CSV cells that a spreadsheet
would run as a formula get a leading apostrophe (OWASP "CSV injection"): cells
starting with ``=``, ``+``, ``-`` or ``@`` — also after spaces, line breaks or
invisible characters, and in their full-width forms (``＝``) — or with a tab or
carriage return. Export files are readable by their owner only.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import sqlalchemy as sa

from peakend.errors import ConfigError, SourceError
from peakend.survey.keys import make_private
from peakend.survey.models import EVENTS_VIEW
from peakend.survey.questionnaire import Questionnaire
from peakend.survey.store import SurveyStore

EXPORT_FORMATS = ("parquet", "csv")
EVENT_SCHEMA = pa.schema(
    [
        ("journey_id", pa.string()),
        ("customer_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("touchpoint", pa.string()),
        ("channel", pa.string()),
        ("score", pa.float64()),
        ("success", pa.float64()),
        ("effort", pa.float64()),
        ("emotion", pa.float64()),
        ("feelings", pa.string()),
        ("text", pa.string()),
        ("lang", pa.string()),
        ("questionnaire", pa.string()),
        ("submitted_at", pa.timestamp("us", tz="UTC")),
    ]
)
# Answer columns peakend's loader does not know by role; the spec ignores them by name.
EXTRA_COLUMNS = ("success", "effort", "emotion", "feelings", "questionnaire", "submitted_at")
FORMULA_START = ("=", "+", "-", "@")
CONTROL_START = ("\t", "\r", "\n")


@dataclass(frozen=True)
class ExportResult:
    """Files written by :func:`export_events` and how many events they hold."""

    events_path: Path
    spec_path: Path
    n_events: int
    n_answered: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "events_path": str(self.events_path),
            "spec_path": str(self.spec_path),
            "n_events": self.n_events,
            "n_answered": self.n_answered,
        }


def events_table(store: SurveyStore, *, actor: str) -> pa.Table:
    """Every invitation as a canonical event row (answers where given); audited."""
    rows = store.event_rows(actor=actor, what="events table")
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def export_events(
    store: SurveyStore, out_dir: str | Path, *, actor: str, fmt: str = "parquet"
) -> ExportResult:
    """Write ``events.<fmt>`` and the dataset spec ``survey.toml`` into ``out_dir``."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SourceError(f"cannot create export folder {out}: {exc}") from exc
    rows = store.event_rows(actor=actor, what=f"{fmt} export to {out}")
    table = pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)
    events_path = out / f"events.{fmt}"
    make_private(events_path)
    if fmt == "parquet":
        pq.write_table(table, events_path)
    else:
        write_safe_csv(table, events_path)
    spec_path = out / "survey.toml"
    source = [f'path = "{events_path.name}"']
    spec_path.write_text(spec_text(store.questionnaires.values(), source), encoding="utf-8")
    n_answered = sum(1 for row in rows if row["submitted_at"] is not None)
    return ExportResult(events_path, spec_path, len(rows), n_answered)


def write_safe_csv(table: pa.Table, sink: Path | BinaryIO) -> None:
    """Write a CSV (to a file or a binary stream) in which no text cell runs as a formula."""
    columns = []
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type):
            column = pa.array([defuse_cell(v) for v in column.to_pylist()], pa.string())
        columns.append(column)
    pa_csv.write_csv(pa.Table.from_arrays(columns, names=table.column_names), sink)


def defuse_cell(value: str | None) -> str | None:
    """Prefix a text cell with ``'`` when a spreadsheet would read it as a formula."""
    if value is None or not value or value[0].isalnum():  # the common case, at once
        return value
    if value.startswith(CONTROL_START):
        return "'" + value
    # Spreadsheets skip leading blanks and format characters (zero-width space,
    # BOM) and read full-width signs as the ASCII ones.
    start = 0
    while start < len(value) and (
        value[start].isspace() or unicodedata.category(value[start]) in ("Cf", "Cc")
    ):
        start += 1
    head = unicodedata.normalize("NFKC", value[start : start + 1])
    if head.startswith(FORMULA_START):
        return "'" + value
    return value


def database_spec_text(store: SurveyStore, db: str) -> str:
    """A dataset spec that reads the ``survey_events`` view of the survey database."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite":
        source = [f"path = {json.dumps(str(Path(url.database or '').resolve()))}"]
        source.append(f'table = "{EVENTS_VIEW}"')
    else:
        # Name the schema: the reader looks the view up in every schema of the database.
        with store.engine.connect() as connection:
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
        plain = db if db.startswith(("postgresql://", "postgres://")) else str(url)
        source = [f"url = {json.dumps(plain)}", f'table = "{schema}.{EVENTS_VIEW}"']
    return spec_text(store.questionnaires.values(), source)


def spec_text(questionnaires: Sequence[Questionnaire] | Any, source: Sequence[str]) -> str:
    """A long-layout dataset spec for survey events; one scale per overall-score range."""
    questionnaires = sorted(questionnaires, key=lambda q: q.id)
    scales: dict[tuple[int, int], str] = {}
    for questionnaire in questionnaires:
        overall = questionnaire.overall
        scales.setdefault((overall.low, overall.high), f"overall_{overall.low}_{overall.high}")
    lines = [
        'name = "survey"',
        'description = "Answers from the peakend survey service, one event per invitation."',
        'layout = "long"',
        f"ignore_columns = {json.dumps(list(EXTRA_COLUMNS))}",
        f'default_scale = "{next(iter(scales.values()), "overall_1_5")}"',
        "",
        "[source]",
        *source,
        "",
        "[columns]",
        *(
            f'{role} = "{role}"'
            for role in ("journey_id", "customer_id", "ts", "touchpoint", "channel")
        ),
        'score = "score"',
        'text = "text"',
        'lang = "lang"',
        "",
    ]
    for (low, high), name in scales.items():
        lines += [f"[scales.{name}]", f"low = {low}", f"high = {high}", ""]
    touchpoints: Mapping[str, Questionnaire] = {q.touchpoint: q for q in questionnaires}
    for touchpoint, questionnaire in touchpoints.items():
        overall = questionnaire.overall
        lines += [
            "[[touchpoints]]",
            f"name = {json.dumps(touchpoint)}",
            f'scale = "{scales[(overall.low, overall.high)]}"',
            "",
        ]
    return "\n".join(lines)
