"""Survey service: short touchpoint questionnaires whose answers land in a real database.

* :mod:`~peakend.survey.questionnaire`: questionnaires as YAML/TOML files, validated on load;
* :mod:`~peakend.survey.tokens`: signed, expiring invitation links and hashed API keys;
* :mod:`~peakend.survey.database`: engines (SQLite in WAL mode, or PostgreSQL) and the
  Alembic migrations shipped in the package;
* :mod:`~peakend.survey.store`: invitations, idempotent submissions, drafts, API keys,
  GDPR erasure and the audit log; :mod:`~peakend.survey.groupcommit` shares SQLite commits;
* :mod:`~peakend.survey.app`: the FastAPI service (form, JSON API, admin API), with
  :mod:`~peakend.survey.pages` for the HTML;
* :mod:`~peakend.survey.export`: canonical events plus a dataset spec for ``peakend.load``.

See docs/survey.md.
"""

from peakend.survey.app import SurveySettings, create_app
from peakend.survey.database import make_engine, upgrade
from peakend.survey.errors import (
    AccessError,
    AlreadyAnsweredError,
    AnswerError,
    ExpiredLinkError,
    InvalidLinkError,
    SurveyError,
)
from peakend.survey.export import ExportResult, database_spec_text, events_table, export_events
from peakend.survey.questionnaire import (
    Question,
    Questionnaire,
    parse_questionnaire,
    read_questionnaire,
    read_questionnaires,
)
from peakend.survey.store import (
    ForgetResult,
    Invitation,
    InvitationRequest,
    Receipt,
    SurveyStore,
)

__all__ = [
    "AccessError",
    "AlreadyAnsweredError",
    "AnswerError",
    "ExpiredLinkError",
    "ExportResult",
    "ForgetResult",
    "InvalidLinkError",
    "Invitation",
    "InvitationRequest",
    "Question",
    "Questionnaire",
    "Receipt",
    "SurveyError",
    "SurveySettings",
    "SurveyStore",
    "create_app",
    "database_spec_text",
    "events_table",
    "export_events",
    "make_engine",
    "parse_questionnaire",
    "read_questionnaire",
    "read_questionnaires",
    "upgrade",
]
