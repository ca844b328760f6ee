"""What customers remember of a journey: peak, end, trend and their weights (see :mod:`.analysis`).

Modules: :mod:`.fit` (weighted least squares / logistic fits, Wald tests),
:mod:`.models` (the candidate memory models and their comparison),
:mod:`.journeys` (journey types, end spoilers), :mod:`.summary` (plain sentences
and weight ratios), :mod:`.whatif` (what-if scenarios), :mod:`.analysis`
(:func:`remembered_experience`).
"""

from peakend.models.memory.analysis import (
    EndSpoiler,
    MemoryResult,
    Ratio,
    TypeMemory,
    remembered_experience,
)

__all__ = ["EndSpoiler", "MemoryResult", "Ratio", "TypeMemory", "remembered_experience"]
