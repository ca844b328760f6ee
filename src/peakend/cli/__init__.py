"""The ``peakend`` command: one sub-command per job, each a thin layer over the Python API.

Importing a sub-command module registers its commands on the shared Typer app.
"""

from peakend.cli import (
    analyze,  # noqa: F401  (registers analyze, demo)
    churn,  # noqa: F401  (registers churn)
    dashboard,  # noqa: F401  (registers serve, users, cases)
    data,  # noqa: F401  (registers validate, journeys, generate)
    emotions,  # noqa: F401  (registers emotions)
    hidden,  # noqa: F401  (registers hidden, hidden-schedule)
    init,  # noqa: F401  (registers init)
    memory,  # noqa: F401  (registers memory)
    moments,  # noqa: F401  (registers moments)
    recovery,  # noqa: F401  (registers recovery)
    survey,  # noqa: F401  (registers the survey sub-commands)
)
from peakend.cli.common import app, main

__all__ = ["app", "main"]
