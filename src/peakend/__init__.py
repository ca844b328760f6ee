"""peakend: find the moments that matter in customer journeys and what customers remember.

The public API, in pipeline order::

    spec = read_spec("examples/airline_passenger_satisfaction.toml")
    data = load(spec)                      # validated canonical tables + report
    summary = summarize_journeys(data)     # journey features, touchpoints, flows

Names are imported on first use (:func:`__getattr__`), so that a program using
one part of peakend (a survey service worker) does not import the others.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peakend.errors import (
        ConfigError,
        DataError,
        DataWarning,
        MissingColumnError,
        ModelError,
        PeakendError,
        PeakendWarning,
        SchemaError,
        SourceError,
        StatisticalWarning,
    )
    from peakend.load import Dataset, load
    from peakend.models.hidden import HiddenMoment
    from peakend.models.hidden_analysis import (
        HiddenMomentReport,
        HiddenMomentsResult,
        find_hidden_moments,
    )
    from peakend.models.memory import MemoryResult, remembered_experience
    from peakend.models.memory_whatif import WhatIf, what_if
    from peakend.models.moment_design import Cuts
    from peakend.models.moment_plot import moment_matrix
    from peakend.models.moment_segments import SegmentMoments
    from peakend.models.moments import MomentSettings, MomentsResult, TouchpointMoment, find_moments
    from peakend.models.schedule import ProactiveRule, due_actions
    from peakend.schema import EVENT_SCHEMA, TOUCHPOINT_SCHEMA, Outcome, Scale, Touchpoint
    from peakend.spec import DatasetSpec, SourceSpec, parse_spec, read_spec
    from peakend.summary import Estimate, JourneySummary, summarize_journeys
    from peakend.text import (
        CommentScore,
        CommentScores,
        TouchpointEmotions,
        add_text_emotions,
        score_comments,
        touchpoint_emotions,
        with_text_valence,
    )
    from peakend.validate import Problem, Reason, Severity, ValidationReport

__version__ = "0.1.0"

# Where each public name lives; imported by __getattr__ on first use.
_PUBLIC = {
    "ConfigError": "peakend.errors",
    "DataError": "peakend.errors",
    "DataWarning": "peakend.errors",
    "MissingColumnError": "peakend.errors",
    "ModelError": "peakend.errors",
    "PeakendError": "peakend.errors",
    "PeakendWarning": "peakend.errors",
    "SchemaError": "peakend.errors",
    "SourceError": "peakend.errors",
    "StatisticalWarning": "peakend.errors",
    "Dataset": "peakend.load",
    "load": "peakend.load",
    "HiddenMoment": "peakend.models.hidden",
    "HiddenMomentReport": "peakend.models.hidden_analysis",
    "HiddenMomentsResult": "peakend.models.hidden_analysis",
    "find_hidden_moments": "peakend.models.hidden_analysis",
    "MemoryResult": "peakend.models.memory",
    "remembered_experience": "peakend.models.memory",
    "WhatIf": "peakend.models.memory_whatif",
    "what_if": "peakend.models.memory_whatif",
    "Cuts": "peakend.models.moment_design",
    "moment_matrix": "peakend.models.moment_plot",
    "SegmentMoments": "peakend.models.moment_segments",
    "MomentSettings": "peakend.models.moments",
    "MomentsResult": "peakend.models.moments",
    "TouchpointMoment": "peakend.models.moments",
    "find_moments": "peakend.models.moments",
    "ProactiveRule": "peakend.models.schedule",
    "due_actions": "peakend.models.schedule",
    "EVENT_SCHEMA": "peakend.schema",
    "TOUCHPOINT_SCHEMA": "peakend.schema",
    "Outcome": "peakend.schema",
    "Scale": "peakend.schema",
    "Touchpoint": "peakend.schema",
    "DatasetSpec": "peakend.spec",
    "SourceSpec": "peakend.spec",
    "parse_spec": "peakend.spec",
    "read_spec": "peakend.spec",
    "Estimate": "peakend.summary",
    "JourneySummary": "peakend.summary",
    "summarize_journeys": "peakend.summary",
    "CommentScore": "peakend.text",
    "CommentScores": "peakend.text",
    "TouchpointEmotions": "peakend.text",
    "add_text_emotions": "peakend.text",
    "score_comments": "peakend.text",
    "touchpoint_emotions": "peakend.text",
    "with_text_valence": "peakend.text",
    "Problem": "peakend.validate",
    "Reason": "peakend.validate",
    "Severity": "peakend.validate",
    "ValidationReport": "peakend.validate",
}

__all__ = [
    "EVENT_SCHEMA",
    "TOUCHPOINT_SCHEMA",
    "CommentScore",
    "CommentScores",
    "ConfigError",
    "Cuts",
    "DataError",
    "DataWarning",
    "Dataset",
    "DatasetSpec",
    "Estimate",
    "HiddenMoment",
    "HiddenMomentReport",
    "HiddenMomentsResult",
    "JourneySummary",
    "MemoryResult",
    "MissingColumnError",
    "ModelError",
    "MomentSettings",
    "MomentsResult",
    "Outcome",
    "ProactiveRule",
    "PeakendError",
    "PeakendWarning",
    "Problem",
    "Reason",
    "Scale",
    "SchemaError",
    "SegmentMoments",
    "Severity",
    "SourceError",
    "SourceSpec",
    "StatisticalWarning",
    "Touchpoint",
    "TouchpointMoment",
    "TouchpointEmotions",
    "ValidationReport",
    "WhatIf",
    "add_text_emotions",
    "due_actions",
    "find_moments",
    "find_hidden_moments",
    "load",
    "moment_matrix",
    "parse_spec",
    "read_spec",
    "remembered_experience",
    "score_comments",
    "summarize_journeys",
    "touchpoint_emotions",
    "what_if",
    "with_text_valence",
]


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'peakend' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The ``peakend`` module: ``peakend.load`` stays the function, not the submodule.

    Importing a submodule binds it as an attribute of its package; the function
    ``load`` has the name of its module ``peakend.load``, so that binding is
    skipped and :func:`__getattr__` returns the function.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and name in _PUBLIC:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
