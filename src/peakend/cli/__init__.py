"""The ``peakend`` command: one sub-command per job, each a thin layer over the Python API.

Each sub-command module registers its commands on the shared Typer app when it is
imported; :mod:`peakend.cli.lazy` imports it only when that command runs, so
``peakend --help`` and ``import peakend.cli`` load no heavy library.
"""

from peakend.cli.common import app, main

__all__ = ["app", "main"]
