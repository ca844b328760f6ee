"""peakend: find the moments that matter in customer journeys and what customers remember.

The public API, in pipeline order::

    spec = read_spec("examples/airline_passenger_satisfaction.toml")
    data = load(spec)                      # validated canonical tables + report
    summary = summarize_journeys(data)     # journey features, touchpoints, flows
"""

from typing import Any as _Any

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


def moment_matrix(result: MomentsResult, **options: _Any) -> _Any:
    """The moment matrix of ``result`` as a Vega-Lite chart (an Altair ``LayerChart``).

    Save it with ``peakend.views.save_chart(chart, path)`` (PNG, SVG, PDF or
    offline HTML, no browser needed). ``options`` are those of
    :func:`peakend.views.moments.moment_matrix` (``lang``, ``labels``, ``unit``,
    ``title``). Altair is imported only when this is called.
    """
    from peakend.views.moments import moment_matrix as draw

    return draw(result, **options)


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
