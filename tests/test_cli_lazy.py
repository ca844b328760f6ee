"""The ``peakend`` command starts fast: sub-command modules are imported only when they run.

``tests/data/cli_options.json`` holds every command's option names as they were when
all modules were imported up front; the lazy group must offer exactly the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from peakend.cli import app
from peakend.cli.lazy import COMMANDS, load_all

OPTIONS = Path(__file__).parent / "data" / "cli_options.json"
HEAVY = ("pandas", "pyarrow", "fastapi", "altair", "duckdb", "sklearn", "statsmodels", "ibis")


def _options(command: Any, prefix: list[str], found: dict[str, list[str]]) -> None:
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            _options(sub, [*prefix, name], found)
        return
    names = (o for p in command.params for o in (*p.opts, *p.secondary_opts))
    found[" ".join(prefix)] = sorted(n for n in names if n.startswith("-"))


def _all_options() -> dict[str, list[str]]:
    load_all()
    found: dict[str, list[str]] = {}
    _options(typer.main.get_command(app), [], found)
    return found


def test_import_loads_no_heavy_library() -> None:
    code = (
        "import sys, peakend, peakend.cli;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_top_level_help_loads_no_heavy_library() -> None:
    code = (
        "import sys\nfrom peakend.cli import main\nsys.argv = ['peakend', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "journeys" in done.stdout and "survey" in done.stdout
    assert done.stdout.strip().endswith("HEAVY=")


def test_a_command_freezes_its_imports_out_of_the_collector() -> None:
    """Running a command (a fresh process) leaves its imported objects frozen, once."""
    code = (
        "import gc, sys\nfrom peakend.cli import main\n"
        "sys.argv = ['peakend', 'validate', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('FROZEN=%d' % gc.get_freeze_count())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    frozen = int(done.stdout.strip().rsplit("FROZEN=", 1)[1])
    assert frozen > 50_000  # pandas, pyarrow and the command's modules


def test_every_command_keeps_its_options() -> None:
    expected = json.loads(OPTIONS.read_text())
    # A command that gains or loses an option on purpose: update tests/data/cli_options.json.
    assert _all_options() == expected


def test_short_help_table_matches_the_commands() -> None:
    load_all()
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    built = {name: cmd.get_short_help_str(limit=300) for name, cmd in group.commands.items()}
    # A new or renamed command needs its line in peakend.cli.lazy.COMMANDS.
    assert {name: entry.help for name, entry in COMMANDS.items()} == built


@pytest.mark.parametrize("command", sorted(json.loads(OPTIONS.read_text())))
def test_help_of_every_command_shows_its_options(command: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    for option in json.loads(OPTIONS.read_text())[command]:
        assert option in result.output


def test_unknown_command_suggests_the_nearest() -> None:
    result = CliRunner().invoke(app, ["journey"])
    assert result.exit_code == 2
    assert "journeys" in result.output
