"""The survey package's public names exist and are documented."""

from __future__ import annotations

import inspect

import peakend.survey


def test_every_exported_name_exists_and_has_a_docstring() -> None:
    for name in peakend.survey.__all__:
        obj = getattr(peakend.survey, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"peakend.survey.{name} has no docstring"
