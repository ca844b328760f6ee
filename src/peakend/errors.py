"""Every exception and warning peakend raises.

::

    PeakendError                         exit code
    ├── DataError (also a ValueError)    1  the data cannot be used as they are
    │   ├── SchemaError                  1  carries every failure case found (strict mode)
    │   ├── InputMissingError            1  the data lack what the command needs
    │   │                                   (no outcome, no scores, no comments; also a ConfigError)
    │   └── MissingColumnError           2  the spec names a column the source does not have
    ├── SourceError                      2  cannot read a file, table or database
    ├── ConfigError                      2  a dataset spec, option or setting is wrong
    └── ModelError                       1
    PeakendWarning
    ├── DataWarning                      ── data were fixed or assumed (time zone, quarantine)
    └── StatisticalWarning               ── small samples, low variance

Messages say what was wrong, where (file, row, column) and what to do next. The
command line exits with the error's ``exit_code``: 0 ok, 1 data problems (the
data were read but cannot give the answer), 2 usage, spec or source errors (the
command, the spec or the file itself must change before peakend can read the data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peakend.validate import Problem


class PeakendError(Exception):
    """Base class of every error peakend raises on purpose."""

    exit_code: int = 1
    """What the ``peakend`` command exits with for this kind of error."""


class DataError(PeakendError, ValueError):
    """The data were read but cannot be used as they are."""


class SchemaError(DataError):
    """Validation found problems; ``problems`` lists every one of them."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class MissingColumnError(DataError):
    """A column the dataset spec names is not in the source."""

    exit_code = 2

    def __init__(self, message: str, *, column: str, source: str) -> None:
        super().__init__(message)
        self.column = column
        self.source = source


class SourceError(PeakendError):
    """A file, table or database could not be read."""

    exit_code = 2


class ConfigError(PeakendError):
    """A dataset spec or setting is invalid; the message names the key."""

    exit_code = 2


class InputMissingError(DataError, ConfigError):
    """The data, as the spec maps them, lack what a command needs.

    No outcome, no scores, no comments: the command cannot answer, whether the
    fix is in the data or in the spec's mapping, so every command exits 1 for it.
    It is a :class:`ConfigError` too, for callers that caught that before.
    """

    exit_code = 1


class ModelError(PeakendError):
    """A model could not be fitted or used."""


class PeakendWarning(UserWarning):
    """Base class of every warning peakend emits."""


class DataWarning(PeakendWarning):
    """Data were normalised or an assumption was made (say which)."""


class StatisticalWarning(PeakendWarning):
    """A figure rests on too little or too uniform data."""
