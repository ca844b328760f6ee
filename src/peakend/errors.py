"""Every exception and warning peakend raises.

::

    PeakendError
    ├── DataError (also a ValueError)    ── the data cannot be used as it is
    │   ├── SchemaError                  ── carries every failure case found
    │   └── MissingColumnError
    ├── SourceError                      ── cannot read a file, table or database
    ├── ConfigError                      ── a dataset spec or setting is wrong
    └── ModelError
    PeakendWarning
    ├── DataWarning                      ── data were fixed or assumed (time zone, quarantine)
    └── StatisticalWarning               ── small samples, low variance

Messages say what was wrong, where (file, row, column) and what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peakend.validate import Problem


class PeakendError(Exception):
    """Base class of every error peakend raises on purpose."""


class DataError(PeakendError, ValueError):
    """The data were read but cannot be used as they are."""


class SchemaError(DataError):
    """Validation found problems; ``problems`` lists every one of them."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class MissingColumnError(DataError):
    """A column the dataset spec names is not in the source."""

    def __init__(self, message: str, *, column: str, source: str) -> None:
        super().__init__(message)
        self.column = column
        self.source = source


class SourceError(PeakendError):
    """A file, table or database could not be read."""


class ConfigError(PeakendError):
    """A dataset spec or setting is invalid; the message names the key."""


class ModelError(PeakendError):
    """A model could not be fitted or used."""


class PeakendWarning(UserWarning):
    """Base class of every warning peakend emits."""


class DataWarning(PeakendWarning):
    """Data were normalised or an assumption was made (say which)."""


class StatisticalWarning(PeakendWarning):
    """A figure rests on too little or too uniform data."""
