"""The ``peakend`` command group that imports a sub-command's module only when it runs.

Each analysis command needs heavy libraries (pandas, pyarrow, DuckDB, scikit-learn,
FastAPI, Altair); importing them all for ``peakend --help`` or for one command took
seconds. :data:`COMMANDS` names each sub-command's module and one-line help, so the
top-level help is drawn from this table alone, and ``peakend X ...`` imports the
module of ``X`` only. A test checks that the table matches the commands' docstrings.
"""

from __future__ import annotations

import functools
import gc
import importlib
from typing import NamedTuple

import typer
import typer.main

# typer vendors click; its Context and Command are the ones TyperGroup works with.
from typer import _click as click
from typer.core import TyperCommand, TyperGroup


class Entry(NamedTuple):
    """Where a sub-command lives and its one-line help (the first line of its docstring)."""

    module: str
    help: str


COMMANDS: dict[str, Entry] = {
    "analyze": Entry(
        "peakend.cli.analyze", "Run every analysis the data allows and write the report."
    ),
    "demo": Entry(
        "peakend.cli.analyze",
        "Run the full analysis on the bundled demo data and print where the report is.",
    ),
    "churn": Entry(
        "peakend.cli.churn",
        "Churn drivers: survival curves, hazard ratios and avoidable churn per touchpoint.",
    ),
    "validate": Entry(
        "peakend.cli.data",
        "Check a dataset against its spec: every problem with file, row, column and fix.",
    ),
    "journeys": Entry(
        "peakend.cli.data",
        "Journey features, touchpoint statistics and the flow between touchpoints.",
    ),
    "generate": Entry(
        "peakend.cli.data",
        "Generate synthetic journeys with a planted truth, plus a dataset spec for them.",
    ),
    "emotions": Entry(
        "peakend.cli.emotions",
        "Read emotions, valence, the six pillars and effort in Dutch and English comments.",
    ),
    "hidden": Entry(
        "peakend.cli.hidden",
        "Find hidden moments: windows after company touchpoints with excess customer contacts.",
    ),
    "hidden-schedule": Entry(
        "peakend.cli.hidden",
        "List the proactive contacts due on a date, from the event log and contact rules.",
    ),
    "init": Entry(
        "peakend.cli.init", "Profile a data file and write a commented dataset spec that validates."
    ),
    "memory": Entry(
        "peakend.cli.memory",
        "Remembered experience: which memory model fits your customers, and which ends spoil.",
    ),
    "moments": Entry(
        "peakend.cli.moments",
        "Moments of truth, excel, performance and standard moments, with intervals.",
    ),
    "recovery": Entry(
        "peakend.cli.recovery",
        "Service recovery: outcomes of recovered, not-recovered and never-failed customers.",
    ),
    "serve": Entry(
        "peakend.cli.dashboard",
        "Run the survey service, the dashboard (/dashboard) and the cases in one process.",
    ),
    "users": Entry("peakend.cli.dashboard", "Dashboard users and their roles."),
    "cases": Entry("peakend.cli.dashboard", "Cases opened by alert rules."),
    "summary": Entry("peakend.cli.dashboard", "The PDF summary mailed on a schedule."),
    "survey": Entry(
        "peakend.cli.survey",
        "Short touchpoint questionnaires: invitations, the web form, answers and exports.",
    ),
}


def load_all() -> None:
    """Import every sub-command module, so that each registers its commands."""
    for module in dict.fromkeys(entry.module for entry in COMMANDS.values()):
        importlib.import_module(module)


@functools.cache
def _freeze_imports() -> None:
    """Keep what the command's imports created out of the garbage collector's walks.

    The libraries a command imports leave some two hundred thousand functions,
    classes and dicts that live as long as the process. Every full collection
    during the command, and the interpreter's last ones at exit, walked them all:
    a second of ``peakend analyze`` on the airline data. Frozen, they are still
    freed by reference counting at exit; only cycles among them are not collected.
    Once per process: a process that runs several commands (tests) freezes only
    what the first one found.
    """
    gc.freeze()


class LazyGroup(TyperGroup):
    """A Typer group that imports a sub-command's module on first use.

    The top-level help lists placeholders made from :data:`COMMANDS`; running or
    asking help for a command imports its module, which registers the command on
    the shared app, and the group takes the real command from there.
    """

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        built = super().list_commands(ctx)
        return [*COMMANDS, *(name for name in built if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        entry = COMMANDS.get(cmd_name)
        if command is not None or entry is None:
            return command
        if self._listing:
            return TyperCommand(cmd_name, help=entry.help, short_help=entry.help)
        importlib.import_module(entry.module)
        from peakend.cli.common import app

        self.commands.update(typer.main.get_group(app).commands)
        _freeze_imports()
        return self.commands.get(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The help of ``peakend`` itself: commands listed without importing them."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """As Typer's; an unknown name gets "did you mean" suggestions from every command."""
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.UsageError:
            if len(self.commands) >= len(COMMANDS):
                raise
            # Typer suggests from the commands built so far: build them all and retry.
            self._build_all()
            return super().resolve_command(ctx, args)

    def _build_all(self) -> None:
        load_all()
        from peakend.cli.common import app

        self.commands.update(typer.main.get_group(app).commands)
