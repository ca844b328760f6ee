"""Service recovery: outcomes of recovered, not recovered and never-failed customers.

See :func:`service_recovery` and docs/recovery.md.
"""

from peakend.models.recovery.analysis import (
    OutcomeRecovery,
    RecoveryResult,
    SpeedEffect,
    from_events,
    service_recovery,
)

__all__ = ["OutcomeRecovery", "RecoveryResult", "SpeedEffect", "from_events", "service_recovery"]
