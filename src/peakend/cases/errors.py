"""Errors of cases and dashboard users, in the survey service's hierarchy.

::

    SurveyError
    ├── CaseNotFoundError (404) ── no such case, or not in the user's units
    ├── ForbiddenError (403)    ── the user's role may not do this
    └── CaseError (422)         ── an invalid status, note or user
"""

from __future__ import annotations

from peakend.survey.errors import SurveyError


class CaseNotFoundError(SurveyError):
    """No such case, or it belongs to a unit the user may not see (both look the same)."""

    status = 404


class ForbiddenError(SurveyError):
    """The user's role may not do this (e.g. a viewer closing a case)."""

    status = 403


class CaseError(SurveyError):
    """An invalid change: unknown status, empty note, bad user settings (exit code 2)."""

    status = 422
    exit_code = 2
