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

Names are imported on first use, so a service worker imports only what it serves
(:mod:`~peakend.survey.service` builds the app without pyarrow). See docs/survey.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

_PUBLIC = {
    "SurveySettings": "peakend.survey.app",
    "create_app": "peakend.survey.app",
    "make_engine": "peakend.survey.database",
    "upgrade": "peakend.survey.database",
    "AccessError": "peakend.survey.errors",
    "AlreadyAnsweredError": "peakend.survey.errors",
    "AnswerError": "peakend.survey.errors",
    "ExpiredLinkError": "peakend.survey.errors",
    "InvalidLinkError": "peakend.survey.errors",
    "SurveyError": "peakend.survey.errors",
    "ExportResult": "peakend.survey.export",
    "database_spec_text": "peakend.survey.export",
    "events_table": "peakend.survey.export",
    "export_events": "peakend.survey.export",
    "Question": "peakend.survey.questionnaire",
    "Questionnaire": "peakend.survey.questionnaire",
    "parse_questionnaire": "peakend.survey.questionnaire",
    "read_questionnaire": "peakend.survey.questionnaire",
    "read_questionnaires": "peakend.survey.questionnaire",
    "ForgetResult": "peakend.survey.store",
    "Invitation": "peakend.survey.store",
    "InvitationRequest": "peakend.survey.store",
    "Receipt": "peakend.survey.store",
    "SurveyStore": "peakend.survey.store",
}

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


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'peakend.survey' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
