"""peakend: find the moments that matter in customer journeys and what customers remember.

The public API, in pipeline order::

    spec = read_spec("examples/airline_passenger_satisfaction.toml")
    data = load(spec)                      # validated canonical tables + report
    summary = summarize_journeys(data)     # journey features, touchpoints, flows
    recovery = service_recovery(data)      # recovered vs not recovered vs never failed
    churn = churn_drivers(data)            # survival, drivers, avoidable churn

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
        InputMissingError,
        MissingColumnError,
        ModelError,
        PeakendError,
        PeakendWarning,
        SchemaError,
        SourceError,
        StatisticalWarning,
    )
    from peakend.load import Dataset, load
    from peakend.models.churn import ChurnResult, churn_drivers
    from peakend.models.hidden.analysis import (
        HiddenMomentReport,
        HiddenMomentsResult,
        find_hidden_moments,
    )
    from peakend.models.hidden.schedule import ProactiveRule, due_actions
    from peakend.models.hidden.windows import HiddenMoment
    from peakend.models.memory import MemoryResult, remembered_experience
    from peakend.models.memory.whatif import WhatIf, what_if
    from peakend.models.moments import MomentSettings, MomentsResult, TouchpointMoment, find_moments
    from peakend.models.moments.design import Cuts
    from peakend.models.moments.segments import SegmentMoments
    from peakend.models.recovery import RecoveryResult, service_recovery
    from peakend.profile import SpecDraft, draft_spec
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
    from peakend.views.moments import moment_matrix

__version__ = "0.1.0"

# Where each public name lives; imported by __getattr__ on first use.
_PUBLIC = {
    "ConfigError": "peakend.errors",
    "DataError": "peakend.errors",
    "DataWarning": "peakend.errors",
    "InputMissingError": "peakend.errors",
    "MissingColumnError": "peakend.errors",
    "ModelError": "peakend.errors",
    "PeakendError": "peakend.errors",
    "PeakendWarning": "peakend.errors",
    "SchemaError": "peakend.errors",
    "SourceError": "peakend.errors",
    "StatisticalWarning": "peakend.errors",
    "Dataset": "peakend.load",
    "load": "peakend.load",
    "ChurnResult": "peakend.models.churn",
    "churn_drivers": "peakend.models.churn",
    "RecoveryResult": "peakend.models.recovery",
    "service_recovery": "peakend.models.recovery",
    "SpecDraft": "peakend.profile",
    "draft_spec": "peakend.profile",
    "HiddenMoment": "peakend.models.hidden.windows",
    "HiddenMomentReport": "peakend.models.hidden.analysis",
    "HiddenMomentsResult": "peakend.models.hidden.analysis",
    "find_hidden_moments": "peakend.models.hidden.analysis",
    "MemoryResult": "peakend.models.memory",
    "remembered_experience": "peakend.models.memory",
    "WhatIf": "peakend.models.memory.whatif",
    "what_if": "peakend.models.memory.whatif",
    "Cuts": "peakend.models.moments.design",
    "moment_matrix": "peakend.views.moments",
    "SegmentMoments": "peakend.models.moments.segments",
    "MomentSettings": "peakend.models.moments",
    "MomentsResult": "peakend.models.moments",
    "TouchpointMoment": "peakend.models.moments",
    "find_moments": "peakend.models.moments",
    "ProactiveRule": "peakend.models.hidden.schedule",
    "due_actions": "peakend.models.hidden.schedule",
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
    "draft_spec",
    "service_recovery",
    "churn_drivers",
    "SpecDraft",
    "InputMissingError",
    "RecoveryResult",
    "ChurnResult",
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
