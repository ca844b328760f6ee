"""The canonical data model: events, outcomes, the touchpoint catalogue and score scales.

Every loader turns a user's files into these three tables, so the engine and the
models only ever see one shape:

* **events** (long, one row per touchpoint event): ``journey_id``, ``customer_id``,
  ``ts`` (UTC instant), ``seq`` (source order, the tie-breaker for equal
  timestamps), ``touchpoint``, ``channel``, ``initiated_by`` (``customer`` or
  ``company``), ``score`` (on its declared scale), ``valence`` (score mapped to
  [-1, 1]), ``text``, ``lang``.
* **outcomes** (one row per journey): ``journey_id`` and one numeric column per
  declared outcome (binary outcomes as 0/1).
* **touchpoints** (catalogue): ``touchpoint``, ``stage`` (order in the journey),
  ``brand_relevance`` (0-1), ``cost`` (per contact), ``owner``, ``initiated_by``.

Scores are never interpreted without a declared :class:`Scale`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from peakend.errors import ConfigError

EVENT_SCHEMA = pa.schema(
    [
        pa.field("journey_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("touchpoint", pa.string(), nullable=False),
        pa.field("channel", pa.string()),
        pa.field("initiated_by", pa.string()),
        pa.field("score", pa.float64()),
        pa.field("valence", pa.float64()),
        pa.field("text", pa.string()),
        pa.field("lang", pa.string()),
    ]
)
"""Arrow schema of the canonical events table."""

EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)
REQUIRED_EVENT_COLUMNS: tuple[str, ...] = ("journey_id", "touchpoint")
INITIATORS: tuple[str, ...] = ("customer", "company")

TOUCHPOINT_SCHEMA = pa.schema(
    [
        pa.field("touchpoint", pa.string(), nullable=False),
        pa.field("stage", pa.int64()),
        pa.field("brand_relevance", pa.float64()),
        pa.field("cost", pa.float64()),
        pa.field("owner", pa.string()),
        pa.field("initiated_by", pa.string()),
    ]
)
"""Arrow schema of the touchpoint catalogue."""

OUTCOME_KINDS: tuple[str, ...] = ("continuous", "binary")


@dataclass(frozen=True)
class Scale:
    """A declared score scale and how it maps to valence.

    Parameters
    ----------
    low, high:
        The lowest and highest valid score (``1`` and ``5`` for a 1-5 scale).
    neutral:
        The score that means neither good nor bad; maps to valence 0. Defaults to
        the midpoint.
    not_applicable:
        Scores that mean "not applicable" (``0`` in many airline surveys); they
        become missing, never a low score.
    not_applicable_text:
        Text answers that mean the same (``"N/A"``, ``"Weet niet"``), compared
        case-insensitively after trimming spaces.
    reversed:
        ``True`` when a low number is the good end (e.g. customer effort 1 = easy).
    """

    low: float
    high: float
    neutral: float | None = None
    not_applicable: tuple[float, ...] = ()
    not_applicable_text: tuple[str, ...] = ()
    reversed: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ConfigError(
                f"scale low ({self.low}) must be below high ({self.high}); "
                "fix `low`/`high` in the [scales] table of the spec"
            )
        mid = self.midpoint
        if not self.low < mid < self.high:
            raise ConfigError(
                f"scale neutral {mid} lies outside ({self.low}, {self.high}); "
                "set `neutral` strictly between low and high"
            )
        for value in self.not_applicable:
            if self.low <= value <= self.high:
                raise ConfigError(
                    f"not-applicable code {value} lies inside the scale "
                    f"{self.low}-{self.high}; pick a code outside the scale"
                )

    @property
    def midpoint(self) -> float:
        """The neutral score (declared, or the middle of the scale)."""
        return self.neutral if self.neutral is not None else (self.low + self.high) / 2

    def valence(self, score: float) -> float:
        """Map one score to [-1, 1]: neutral is 0, the ends are -1 and 1.

        Each side of the neutral point is stretched on its own, so an asymmetric
        neutral (e.g. 7 on 0-10) still sends both ends to ±1.
        """
        mid = self.midpoint
        if score >= mid:
            value = (score - mid) / (self.high - mid)
        else:
            value = (score - mid) / (mid - self.low)
        return -value if self.reversed else value

    def describe(self) -> str:
        """A short human description, e.g. ``1-5 (neutral 3, 0 = n/a)``."""
        text = f"{_num(self.low)}-{_num(self.high)} (neutral {_num(self.midpoint)}"
        if self.not_applicable or self.not_applicable_text:
            codes = ", ".join(
                [_num(v) for v in self.not_applicable] + [repr(v) for v in self.not_applicable_text]
            )
            text += f", {codes} = n/a"
        if self.reversed:
            text += ", reversed"
        return text + ")"


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Touchpoint:
    """One entry of the touchpoint catalogue.

    In a wide layout ``column`` holds the touchpoint's score and ``text_column``
    the comment on it (the text of its event).
    """

    name: str
    stage: int | None = None
    brand_relevance: float | None = None
    cost: float | None = None
    owner: str | None = None
    initiated_by: str | None = None
    column: str | None = None
    scale: str | None = None
    text_column: str | None = None
    #: Name shown to readers of the report and charts (default: :attr:`display_name`).
    label: str | None = None

    @property
    def display_name(self) -> str:
        """The declared ``label``, else the name with spaces for underscores, capitalised."""
        if self.label:
            return self.label
        plain = self.name.replace("_", " ").strip()
        return plain[:1].upper() + plain[1:]

    def __post_init__(self) -> None:
        if self.initiated_by is not None and self.initiated_by not in INITIATORS:
            raise ConfigError(
                f"touchpoint {self.name!r}: initiated_by must be one of "
                f"{', '.join(INITIATORS)}, not {self.initiated_by!r}"
            )
        if self.brand_relevance is not None and not 0 <= self.brand_relevance <= 1:
            raise ConfigError(
                f"touchpoint {self.name!r}: brand_relevance must lie in [0, 1], "
                f"not {self.brand_relevance}"
            )


@dataclass(frozen=True)
class Outcome:
    """A declared outcome: where it comes from and how to read it as a number.

    Binary outcomes become 1 when the value is in ``positive`` (compared as
    text, case-insensitive) and 0 when it is in ``negative`` (or, if
    ``negative`` is empty, any other non-missing value). Continuous outcomes are
    read as numbers on ``scale`` when given. ``from_touchpoint`` derives a binary
    outcome from the journey itself: 1 when the journey contains that
    touchpoint (e.g. ``A_APPROVED`` in a loan log).
    """

    name: str
    kind: str = "continuous"
    column: str | None = None
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    scale: str | None = None
    from_touchpoint: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in OUTCOME_KINDS:
            raise ConfigError(
                f"outcome {self.name!r}: kind must be one of {', '.join(OUTCOME_KINDS)}, "
                f"not {self.kind!r}"
            )
        if (self.column is None) == (self.from_touchpoint is None):
            raise ConfigError(
                f"outcome {self.name!r}: give exactly one of `column` or `from_touchpoint`"
            )
        if self.kind == "binary" and self.column is not None and not self.positive:
            raise ConfigError(
                f"outcome {self.name!r} is binary: list the values that mean yes in "
                '`positive`, e.g. positive = ["satisfied"]'
            )
