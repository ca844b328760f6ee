"""The public API stays deliberate: every exported name exists and is documented."""

from __future__ import annotations

import inspect

import peakend


def test_all_names_exist_and_are_sorted_by_kind() -> None:
    for name in peakend.__all__:
        assert hasattr(peakend, name), f"peakend.__all__ lists {name!r} but it is missing"


def test_every_public_name_has_a_docstring() -> None:
    for name in peakend.__all__:
        obj = getattr(peakend, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"peakend.{name} has no docstring"


def test_public_functions_are_in_all() -> None:
    public = {
        name
        for name, obj in vars(peakend).items()
        if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
    }
    assert public <= set(peakend.__all__), public - set(peakend.__all__)
