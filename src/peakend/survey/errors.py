"""Errors of the survey service, all under :class:`peakend.errors.PeakendError`.

::

    PeakendError
    └── SurveyError                  ── ``status`` is the HTTP status the API answers
        ├── InvalidLinkError (404)   ── forged, altered or forgotten link
        ├── ExpiredLinkError (410)   ── the link's time is up
        ├── AlreadyAnsweredError (409) ── a different answer was already stored
        ├── AnswerError (422)        ── missing or invalid answers; ``errors`` by question
        └── AccessError (401)        ── a missing or wrong API key
"""

from __future__ import annotations

from collections.abc import Mapping

from peakend.errors import PeakendError


class SurveyError(PeakendError):
    """A request the survey service refuses; ``status`` is its HTTP status code."""

    status = 400

    def __init__(self, message: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})

    def __str__(self) -> str:
        """The message and, one per line, every problem with where it is (row, line, field)."""
        return "\n".join(
            [self.message, *(f"  {where}: {why}" for where, why in self.errors.items())]
        )


class InvalidLinkError(SurveyError):
    """The link was forged, altered or belongs to an erased customer."""

    status = 404


class ExpiredLinkError(SurveyError):
    """The link's time is up; answers can no longer be given."""

    status = 410


class AlreadyAnsweredError(SurveyError):
    """The link was already used for a different set of answers."""

    status = 409


class AnswerError(SurveyError):
    """Answers or invitation fields are missing or invalid; ``errors`` says which."""

    status = 422


class AccessError(SurveyError):
    """An admin route was called without a valid API key."""

    status = 401
