"""peakend: find the moments that matter in customer journeys and what customers remember.

The public API, in pipeline order::

    spec = read_spec("examples/airline_passenger_satisfaction.toml")
    data = load(spec)                      # validated canonical tables + report
    summary = summarize_journeys(data)     # journey features, touchpoints, flows
    recovery = service_recovery(data)      # recovered vs not recovered vs never failed
    churn = churn_drivers(data)            # survival, drivers, avoidable churn
"""

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
from peakend.models.churn import ChurnResult, churn_drivers
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
from peakend.models.recovery import RecoveryResult, service_recovery
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

__all__ = [
    "EVENT_SCHEMA",
    "TOUCHPOINT_SCHEMA",
    "ChurnResult",
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
    "RecoveryResult",
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
    "churn_drivers",
    "due_actions",
    "find_moments",
    "find_hidden_moments",
    "load",
    "moment_matrix",
    "parse_spec",
    "read_spec",
    "remembered_experience",
    "score_comments",
    "service_recovery",
    "summarize_journeys",
    "touchpoint_emotions",
    "what_if",
    "with_text_valence",
]
