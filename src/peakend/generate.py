"""Synthetic customer journeys of a subscription service, with a planted truth.

:func:`generate` writes a complete dataset for an energy/telecom-like provider:
events in the canonical shape (:data:`peakend.schema.EVENT_SCHEMA`), one outcome
row per journey, the touchpoint catalogue, a dataset spec that
:func:`peakend.spec.read_spec` reads, and ``truth.json`` describing exactly what
was planted, so that every model in peakend can be tested against a known answer:

* per designed touchpoint a class (moment of truth, excel, performance,
  standard) planted as a penalty on ``overall`` when its score is low (1-2) and
  a reward when it is high (4-5);
* the peak-end memory model that makes ``overall`` from the valences of the
  scored events (peak, end, mean, trough);
* hidden moments: windows of days after an anchor touchpoint with extra
  customer-initiated contacts on top of a low baseline, optionally with an
  effect on ``overall`` and with Dutch contact verbatims;
* optionally, proactive company contacts inside a window given to a
  segment-dependent share of customers, with a known deflection of the
  window's contacts and a known effect on ``overall`` (``truth.json``
  ``proactive``);
* service failures followed by a recovery contact, handled well or badly;
* a churn hazard rising with negative moments, a negative end and contacts.

Per touchpoint ``truth.json`` states the planted (direct) penalty and reward and
the total effects by intervention (:func:`total_effects`): on ``overall``
(``total``), on the share satisfied (``total_satisfied``), on the share churned
(``total_churned``, :func:`churned_total_effects`), and on ``overall`` and the
share satisfied over the journeys the focus plan moves (``total_moved``,
``total_moved_satisfied``, :func:`moved_total_effects`), and on ``overall`` over
each segment's journeys (``total_by_segment``).

Randomness is counter-based: every draw is a hash of (seed, variable, journey
number, item number), so the data of journey *i* do not depend on how the
journeys are cut into chunks. Any ``chunk_journeys`` gives the same rows and
values (and, as row groups are cut at fixed row counts, byte-identical files);
only the memory used and the progress granularity change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from peakend.errors import ConfigError
from peakend.schema import EVENT_SCHEMA, TOUCHPOINT_SCHEMA

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
U64 = NDArray[np.uint64]
Bool = NDArray[np.bool_]

CLASSES: tuple[str, ...] = ("moment_of_truth", "excel", "performance", "standard")
TRUTH_SECTIONS: tuple[str, ...] = (
    "generator",
    "counts",
    "journeys",
    "touchpoints",
    "memory",
    "hidden_windows",
    "baseline_contacts",
    "recovery",
    "churn",
    "outcomes",
    "realised",
    "proactive",
)
"""Top-level keys of ``truth.json``."""

OUTCOME_SCHEMA = pa.schema(
    [
        pa.field("journey_id", pa.string(), nullable=False),
        pa.field("overall", pa.float64()),
        pa.field("recommend", pa.int64()),
        pa.field("satisfied", pa.int64()),
        pa.field("churned", pa.int64()),
        pa.field("churn_days", pa.float64()),
        pa.field("segment", pa.string()),
        pa.field("channel_preference", pa.string()),
    ]
)
"""Arrow schema of ``outcomes.parquet``."""
SEVERITY_COLUMN = "failure_severity"
"""Outcome-table column with each failure's planted severity (``severe_share > 0`` only)."""


def outcome_schema(cfg: GeneratorConfig) -> pa.Schema:
    """:data:`OUTCOME_SCHEMA`, plus the failure severity column when severity is planted."""
    if cfg.severe_share <= 0:
        return OUTCOME_SCHEMA
    return OUTCOME_SCHEMA.append(pa.field(SEVERITY_COLUMN, pa.string()))


RECOVERY = "recovery"
CLOSED = "journey_closed"
_EFFECT_THRESHOLD = 0.25
_DAY_S = 86_400
_MAX_ITEMS = 4096  # items (contacts) per journey and variable; counts never come near


@dataclass(frozen=True)
class TouchpointDesign:
    """A designed touchpoint: where it sits, how often it happens, its planted effect.

    ``gap_hours`` is the median time after the previous designed touchpoint
    (log-normal with ``gap_sigma``); with probability ``p_tie`` the gap is zero,
    giving an exact timestamp tie. Scores come from an ordered-probit model:
    latent ``latent_mean + loading * mood + noise`` cut at the config thresholds.
    ``penalty`` (<= 0) applies to ``overall`` when the score is 1-2, ``reward``
    (>= 0) when it is 4-5. ``failure_rate`` is the chance of a service failure
    (score forced to 1, followed by a recovery contact).
    """

    name: str
    stage: int
    initiated_by: str
    channel: str
    owner: str
    brand_relevance: float
    cost: float
    p_present: float
    gap_hours: float
    gap_sigma: float
    p_tie: float
    latent_mean: float
    response_rate: float
    penalty: float = 0.0
    reward: float = 0.0
    failure_rate: float = 0.0

    @property
    def kind(self) -> str:
        """The planted (direct) class, from the size of penalty and reward (0.25 points)."""
        return planted_class(self.penalty, self.reward)


def planted_class(penalty: float, reward: float, threshold: float = _EFFECT_THRESHOLD) -> str:
    """The class of a penalty and reward against ``threshold`` (the planted 0.25 points)."""
    hurts = -penalty >= threshold
    lifts = reward >= threshold
    if hurts and lifts:
        return "performance"
    if hurts:
        return "moment_of_truth"
    return "excel" if lifts else "standard"


@dataclass(frozen=True)
class ContactDesign:
    """An unsolicited, customer-initiated contact type (no designed stage)."""

    name: str
    channel: str
    owner: str
    cost: float
    baseline_share: float


@dataclass(frozen=True)
class HiddenWindow:
    """Extra contacts on days ``first_day``..``last_day`` after ``anchor``.

    ``excess_rate`` is the mean number of extra contacts per journey that has
    the anchor (Poisson), uniform in time over the window; ``mix`` gives the
    contact touchpoints and their shares. ``overall_effect`` is added to
    ``overall`` of every journey with at least one of these extra contacts
    (0 by default, so the default data do not change).
    """

    label: str
    anchor: str
    first_day: int
    last_day: int
    excess_rate: float
    mix: tuple[tuple[str, float], ...]
    overall_effect: float = 0.0


@dataclass(frozen=True)
class ProactiveContact:
    """A proactive company contact inside a hidden window, with a known effect.

    Journeys that have the window's anchor receive it with a probability that
    depends on their segment (``shares``: segment name and probability), so a
    naive treated-versus-untreated comparison is confounded by segment and an
    adjustment on the observed segment removes the bias. The contact is logged
    as touchpoint ``touchpoint`` (company-initiated, unscored) ``day`` days
    after the anchor; it removes a share ``deflection`` of the window's extra
    contacts and adds ``overall_effect`` to ``overall``.
    """

    window: str
    touchpoint: str
    channel: str
    cost: float
    day: float
    shares: tuple[tuple[str, float], ...]
    deflection: float
    overall_effect: float


@dataclass(frozen=True)
class Segment:
    """A customer segment: its share, mood shift and churn log-hazard effect.

    ``effect_scale`` multiplies every touchpoint's planted penalty and reward for
    the segment's journeys (1: the effects do not differ between segments).
    """

    name: str
    share: float
    mood_shift: float = 0.0
    churn_effect: float = 0.0
    effect_scale: float = 1.0


# fmt: off
_DESIGN: tuple[tuple[Any, ...], ...] = (
    # name, stage, initiated_by, channel, owner, brand_relevance, cost, p_present,
    #   gap_hours, gap_sigma, p_tie, latent_mean, response_rate, penalty, reward, failure_rate
    ("website_visit", 1, "customer", "web", "marketing", 0.4, 0.1, 0.90,
        0.0, 0.0, 0.0, 0.6, 0.5, 0.0, 0.0, 0.0),
    ("quote", 2, "customer", "web", "sales", 0.5, 2.0, 0.80,
        0.5, 1.0, 0.03, 0.5, 0.7, -0.3, 0.3, 0.0),
    ("subscription_started", 3, "company", "web", "sales", 0.3, 1.0, 1.0,
        48.0, 1.0, 0.0, 0.7, 0.6, 0.0, 0.0, 0.0),
    ("welcome_mail", 4, "company", "email", "marketing", 0.2, 0.05, 0.85,
        0.2, 0.5, 0.1, 0.6, 0.4, 0.0, 0.0, 0.0),
    ("installation", 5, "company", "field", "field_service", 0.9, 80.0, 0.75,
        168.0, 0.4, 0.0, 0.3, 0.8, -1.0, 0.0, 0.06),
    ("first_invoice", 6, "company", "email", "billing", 0.5, 0.5, 0.95,
        480.0, 0.2, 0.0, 0.2, 0.7, -0.8, 0.0, 0.05),
    ("app_onboarding", 7, "customer", "app", "digital", 0.8, 0.2, 0.55,
        24.0, 1.0, 0.0, 0.5, 0.6, 0.0, 0.6, 0.0),
    ("support_call", 8, "customer", "phone", "customer_service", 0.6, 6.0, 0.35,
        240.0, 0.8, 0.0, 0.0, 0.8, -0.6, 0.5, 0.04),
    ("review_invitation", 9, "company", "email", "marketing", 0.1, 0.05, 0.70,
        168.0, 0.3, 0.0, 0.6, 0.5, 0.0, 0.0, 0.0),
    ("renewal_offer", 10, "company", "email", "retention", 0.7, 1.0, 0.60,
        1080.0, 0.2, 0.0, 0.4, 0.6, 0.0, 0.5, 0.0),
)
# fmt: on
DEFAULT_TOUCHPOINTS: tuple[TouchpointDesign, ...] = tuple(TouchpointDesign(*row) for row in _DESIGN)
"""The designed journey of a subscription provider, in stage order."""

DEFAULT_CONTACTS: tuple[ContactDesign, ...] = (
    ContactDesign("call_center", "phone", "customer_service", 6.0, 0.35),
    ContactDesign("chat", "chat", "customer_service", 3.0, 0.20),
    ContactDesign("faq_visit", "web", "digital", 0.05, 0.30),
    ContactDesign("email", "email", "customer_service", 2.0, 0.15),
)

DEFAULT_WINDOWS: tuple[HiddenWindow, ...] = (
    HiddenWindow(
        "post-purchase doubt",
        "subscription_started",
        2,
        3,
        0.30,
        (("call_center", 0.45), ("faq_visit", 0.35), ("chat", 0.20)),
    ),
    HiddenWindow(
        "first-invoice worry",
        "first_invoice",
        0,
        4,
        0.45,
        (("call_center", 0.55), ("email", 0.25), ("chat", 0.20)),
    ),
    HiddenWindow(
        "renewal price check",
        "renewal_offer",
        1,
        5,
        0.20,
        (("faq_visit", 0.50), ("chat", 0.30), ("call_center", 0.20)),
    ),
)

DEFAULT_PROACTIVE: tuple[ProactiveContact, ...] = (
    ProactiveContact(
        "post-purchase doubt",
        "confirmation_call",
        "phone",
        5.0,
        1.5,
        (("consumer", 0.10), ("business", 0.30)),
        0.7,
        0.4,
    ),
    ProactiveContact(
        "first-invoice worry",
        "invoice_explainer",
        "email",
        0.1,
        0.02,
        (("consumer", 0.15), ("business", 0.35)),
        0.6,
        0.3,
    ),
)
"""Proactive contacts for the first two default windows; off unless configured."""

DEFAULT_SEGMENTS: tuple[Segment, ...] = (
    Segment("consumer", 0.75),
    Segment("business", 0.25, mood_shift=-0.2, churn_effect=-0.3),
)


@dataclass(frozen=True)
class GeneratorConfig:
    """Every hyperparameter of the generator, with defaults for a realistic provider.

    Parameters
    ----------
    n_journeys:
        Number of journeys; about 9-10 events per journey.
    journeys_per_customer:
        Journeys per customer (customer ``c`` owns journeys
        ``floor(c * m) .. floor((c + 1) * m) - 1``), so ``m = 2.5`` alternates
        customers with 2 and 3 journeys. 1 (the default) gives one customer per
        journey. Customer-level draws (:func:`customer_index`) make the journeys of
        one customer alike, the clustering real data have.
    customer_mood_corr:
        Share of the mood's variance that belongs to the customer and is shared by
        all of their journeys (intra-customer correlation of mood, in [0, 1));
        0 by default. The mood's variance stays 1.
    customer_overall_sd:
        Standard deviation of a customer's rating tendency, added to ``overall`` of
        each of their journeys (a lenient or strict rater); 0 by default.
    survey_order:
        Store the scores as one survey gives them after the journey: every event
        of a journey gets the journey's last timestamp and the events are stored
        in a random order, so the data no longer carry the experienced order
        (``overall`` still remembers the experienced one). Off by default.
    close_after_days:
        Closing journeys: each journey closes at a log-normal time (this median,
        sigma 0.3) after its start; designed touchpoints after it do not happen,
        no contact comes after it, and a ``journey_closed`` event (stage after
        the last, declared ``[journey_end] closing`` in the spec) marks it.
        Unsolicited contacts then run at a constant rate from the start to the
        close. 0 (the default) keeps journeys open until ``baseline_tail_days``
        after their last designed touchpoint.
    contact_frailty_sd:
        Customer contact propensity: every contact rate of a customer is
        multiplied by ``exp(sd * z - sd**2 / 2)`` (mean 1), ``z`` drawn per
        customer; 0 by default.
    repeat_contact_share, repeat_delay_hours:
        Repeat contacts: each unsolicited contact is followed by one more of the
        same kind with this probability, an exponential delay (this mean) later;
        0 by default.
    tenure_drift:
        The baseline contact rate is multiplied by ``exp(tenure_drift * t / 30 days)``,
        ``t`` the time since the journey's start (negative: customers call less
        as they settle); 0 by default.
    office_hours:
        Share of unsolicited baseline contacts and of company touchpoints that
        fall outside office hours (Monday-Friday 8-18 UTC) and are moved to
        the next opening (spread over its ten hours); 0 by default.
    seed:
        Seed of the counter-based random draws.
    start, span_days:
        Journeys start uniformly in ``[start, start + span_days)`` (UTC).
    chunk_journeys:
        Journeys generated and written per chunk; bounds the memory used.
    row_group_rows:
        Target Parquet row-group size.
    touchpoints, contacts, hidden_windows, segments:
        The journey design; see :class:`TouchpointDesign` and friends.
    proactive:
        Proactive company contacts planted inside hidden windows
        (:class:`ProactiveContact`; none by default, e.g. :data:`DEFAULT_PROACTIVE`).
    contact_texts:
        Give unsolicited contacts a short Dutch verbatim (``text``, ``lang``)
        whose words depend on the window they belong to; off by default.
    channel_preferences:
        Shares of each customer's preferred contact channel.
    preferred_channel_share:
        Chance that an unsolicited contact uses the preferred channel.
    baseline_contacts_per_day, baseline_tail_days:
        Unsolicited contacts per journey-day, uniform from the first designed
        touchpoint until ``baseline_tail_days`` after the last one.
    mood_loading, thresholds:
        Ordered-probit score model: latent ``latent_mean + mood_loading * mood +
        sqrt(1 - mood_loading**2) * noise``; score = 1 + number of thresholds below.
    intercept, w_peak, w_end, w_mean, w_trough, noise_sd:
        The memory model for ``overall`` (see ``truth.json`` ``memory``).
    recovered_share, recovered_effect, unrecovered_effect, recovery_delay_hours:
        Service recovery: share of failures recovered well, their effect on
        ``overall`` and the mean delay (exponential) of the recovery contact.
    severe_share, severe_recovered_effect:
        Failure severity, off by default (``severe_share = 0``): a failure is
        "severe" with this probability, else "minor" (outcome column
        ``failure_severity``, declared as ``[recovery] severity``); a severe failure
        that is recovered adds ``severe_recovered_effect`` to ``overall`` (severity
        lowers the outcome after recovery). ``truth.json`` gains the total effects
        per severity level.
    churn_base_per_day, churn_per_negative, churn_negative_end, churn_per_contact,
    churn_recovered, churn_unrecovered, horizon_days:
        Exponential churn time after journey end, log-hazard linear in the
        covariates; censored at ``horizon_days``.
    churn_time_varying:
        Plant the churn hazard on each customer's event history instead: from the
        journey's first event the log-hazard is linear in the covariates *so far*
        (negative moments, whether the last scored event was negative, unsolicited
        contacts, recovery contacts that went well or badly), so it changes at every
        event; ``churn_days`` counts from the first event. Needs
        ``journeys_per_customer = 1``. Events after the churn time are still written
        (other analyses see the same journeys); a survival analysis reads the history
        up to churn only. ``truth.json`` ``churn`` gains the avoidable churn. Off by
        default.
    satisfied_threshold, recommend_noise_sd:
        ``satisfied = overall >= threshold``; ``recommend`` is ``overall`` mapped
        to 0-10 plus noise.
    """

    n_journeys: int = 10_000
    seed: int = 0
    journeys_per_customer: float = 1.0
    customer_mood_corr: float = 0.0
    customer_overall_sd: float = 0.0
    survey_order: bool = False
    close_after_days: float = 0.0
    contact_frailty_sd: float = 0.0
    repeat_contact_share: float = 0.0
    repeat_delay_hours: float = 24.0
    tenure_drift: float = 0.0
    office_hours: float = 0.0
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    span_days: float = 365.0
    chunk_journeys: int = 100_000
    row_group_rows: int = 1_000_000
    touchpoints: tuple[TouchpointDesign, ...] = DEFAULT_TOUCHPOINTS
    contacts: tuple[ContactDesign, ...] = DEFAULT_CONTACTS
    hidden_windows: tuple[HiddenWindow, ...] = DEFAULT_WINDOWS
    segments: tuple[Segment, ...] = DEFAULT_SEGMENTS
    proactive: tuple[ProactiveContact, ...] = ()
    contact_texts: bool = False
    channel_preferences: tuple[tuple[str, float], ...] = (
        ("phone", 0.40),
        ("chat", 0.25),
        ("email", 0.20),
        ("web", 0.15),
    )
    preferred_channel_share: float = 0.5
    baseline_contacts_per_day: float = 0.01
    baseline_tail_days: float = 14.0
    mood_loading: float = 0.5
    thresholds: tuple[float, float, float, float] = (-1.6, -0.9, -0.2, 0.8)
    intercept: float = 5.3
    w_peak: float = 0.9
    w_end: float = 1.1
    w_mean: float = 0.6
    w_trough: float = 0.3
    noise_sd: float = 0.3
    recovered_share: float = 0.6
    recovered_effect: float = 1.0
    unrecovered_effect: float = -0.4
    recovery_delay_hours: float = 24.0
    severe_share: float = 0.0
    severe_recovered_effect: float = -0.8
    churn_base_per_day: float = 0.0006
    churn_per_negative: float = 0.25
    churn_negative_end: float = 0.5
    churn_per_contact: float = 0.15
    churn_recovered: float = -0.3
    churn_unrecovered: float = 0.6
    horizon_days: float = 365.0
    churn_time_varying: bool = False
    satisfied_threshold: float = 7.0
    recommend_noise_sd: float = 0.8

    def __post_init__(self) -> None:
        _check_sizes(self)
        _check_design(self)
        _check_probabilities(self)


def _check_sizes(cfg: GeneratorConfig) -> None:
    for key in ("n_journeys", "chunk_journeys", "row_group_rows"):
        value = getattr(cfg, key)
        if not isinstance(value, Integral) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"GeneratorConfig.{key} must be a positive integer, not {value!r}")
    if cfg.n_journeys >= 10**12:
        raise ConfigError(f"GeneratorConfig.n_journeys {cfg.n_journeys} is too large (max 10**12)")
    if cfg.start.tzinfo is None:
        raise ConfigError("GeneratorConfig.start must be timezone-aware, e.g. tzinfo=UTC")
    if cfg.span_days <= 0 or cfg.horizon_days <= 0:
        raise ConfigError("GeneratorConfig.span_days and horizon_days must be positive")
    if not 1.0 <= cfg.journeys_per_customer <= 1_000.0:
        raise ConfigError(
            "GeneratorConfig.journeys_per_customer must lie in [1, 1000], "
            f"not {cfg.journeys_per_customer!r}"
        )
    if not 0.0 <= cfg.customer_mood_corr < 1.0 or cfg.customer_overall_sd < 0:
        raise ConfigError(
            "GeneratorConfig.customer_mood_corr must lie in [0, 1) and customer_overall_sd "
            f"be >= 0, not {cfg.customer_mood_corr!r} and {cfg.customer_overall_sd!r}"
        )
    if cfg.churn_time_varying and cfg.journeys_per_customer != 1.0:
        raise ConfigError("GeneratorConfig.churn_time_varying needs journeys_per_customer = 1")
    if list(cfg.thresholds) != sorted(cfg.thresholds):
        raise ConfigError(f"GeneratorConfig.thresholds must increase, not {cfg.thresholds}")


def _check_design(cfg: GeneratorConfig) -> None:
    names = [t.name for t in cfg.touchpoints] + [c.name for c in cfg.contacts] + [RECOVERY]
    names += [p.touchpoint for p in cfg.proactive]
    if not cfg.touchpoints or len(set(names)) != len(names):
        raise ConfigError(f"touchpoint names must be unique and non-empty: {names}")
    stages = [t.stage for t in cfg.touchpoints]
    if stages != sorted(set(stages)):
        raise ConfigError(f"designed touchpoints must be listed in increasing stage: {stages}")
    contact_names = {c.name for c in cfg.contacts}
    designed = {t.name for t in cfg.touchpoints}
    for w in cfg.hidden_windows:
        if w.anchor not in designed:
            raise ConfigError(f"hidden window {w.label!r}: anchor {w.anchor!r} is not designed")
        if not 0 <= w.first_day <= w.last_day:
            raise ConfigError(f"hidden window {w.label!r}: need 0 <= first_day <= last_day")
        unknown = sorted({n for n, _ in w.mix} - contact_names)
        if unknown:
            raise ConfigError(f"hidden window {w.label!r}: unknown contacts {unknown}")
    labels = [w.label for w in cfg.hidden_windows]
    segments = {s.name for s in cfg.segments}
    for p in cfg.proactive:
        if labels.count(p.window) != 1:
            raise ConfigError(f"proactive {p.touchpoint!r}: window {p.window!r} matches no window")
        if not {s for s, _ in p.shares} <= segments or p.day < 0:
            raise ConfigError(f"proactive {p.touchpoint!r}: unknown segment or negative day")
    channels = {c.channel for c in cfg.contacts}
    prefs = {c for c, _ in cfg.channel_preferences}
    if not prefs <= channels:
        raise ConfigError(f"channel_preferences {sorted(prefs - channels)} match no contact")


def _check_probabilities(cfg: GeneratorConfig) -> None:
    values = {
        "repeat_contact_share": cfg.repeat_contact_share,
        "office_hours": cfg.office_hours,
        "preferred_channel_share": cfg.preferred_channel_share,
        "recovered_share": cfg.recovered_share,
        "severe_share": cfg.severe_share,
        "mood_loading": cfg.mood_loading,
    }
    for t in cfg.touchpoints:
        for key in ("p_present", "p_tie", "response_rate", "failure_rate"):
            values[f"{t.name}.{key}"] = getattr(t, key)
    for p in cfg.proactive:
        values[f"{p.touchpoint}.deflection"] = p.deflection
        values.update({f"{p.touchpoint}.shares.{s}": v for s, v in p.shares})
    bad = [f"{k}={v}" for k, v in values.items() if not 0 <= v <= 1]
    if bad:
        raise ConfigError(f"probabilities must lie in [0, 1]: {', '.join(bad)}")
    rates = [cfg.baseline_contacts_per_day, cfg.baseline_tail_days, cfg.churn_base_per_day]
    rates += [cfg.noise_sd, cfg.close_after_days, cfg.contact_frailty_sd, cfg.repeat_delay_hours]
    rates += [w.excess_rate for w in cfg.hidden_windows]
    if min(rates) < 0:
        raise ConfigError("contact rates, tail days, churn_base_per_day and noise_sd must be >= 0")


@dataclass(frozen=True)
class GeneratedDataset:
    """Where :func:`generate` wrote the dataset, and how big it is."""

    directory: Path
    spec_path: Path
    events_path: Path
    outcomes_path: Path
    truth_path: Path
    touchpoints_path: Path
    n_journeys: int
    n_events: int


def generate(
    out_dir: str | Path,
    config: GeneratorConfig | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    name: str = "synthetic",
) -> GeneratedDataset:
    """Write a synthetic journey dataset with a planted truth into ``out_dir``.

    Files: ``events.parquet`` (:data:`~peakend.schema.EVENT_SCHEMA`),
    ``outcomes.parquet`` (:data:`OUTCOME_SCHEMA`), ``touchpoints.csv``,
    ``truth.json`` and ``<name>.toml`` (a dataset spec). Events are generated and
    written chunk by chunk, so memory stays flat in ``n_journeys``.

    Parameters
    ----------
    out_dir:
        Directory to write into (created if needed; files are overwritten).
    config:
        Hyperparameters; :class:`GeneratorConfig` defaults when ``None``.
    progress:
        Called after each chunk with the number of journeys written so far.
    name:
        Dataset name, used for the spec file name and its ``name`` key.

    Returns
    -------
    GeneratedDataset
        Paths and counts.

    Raises
    ------
    ConfigError
        If ``name`` is empty or contains a path separator.

    Examples
    --------
    >>> from peakend.generate import GeneratorConfig, generate
    >>> ds = generate("/tmp/journeys", GeneratorConfig(n_journeys=1_000, seed=1))
    >>> ds.n_journeys
    1000
    """
    cfg = config if config is not None else GeneratorConfig()
    if not name or "/" in name or "\\" in name:
        raise ConfigError(f"dataset name {name!r} must be a plain file stem, e.g. 'synthetic'")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f for k, f in _FILES.items()}
    stats = _write_tables(cfg, paths["events"], paths["outcomes"], progress)
    _write_catalogue(cfg, paths["touchpoints"])
    spec_path = out / f"{name}.toml"
    spec_path.write_text(_spec_text(cfg, name), encoding="utf-8")
    truth = _truth(cfg, stats)
    paths["truth"].write_text(json.dumps(truth, indent=2, default=str) + "\n", encoding="utf-8")
    return GeneratedDataset(
        directory=out,
        spec_path=spec_path,
        events_path=paths["events"],
        outcomes_path=paths["outcomes"],
        truth_path=paths["truth"],
        touchpoints_path=paths["touchpoints"],
        n_journeys=cfg.n_journeys,
        n_events=int(stats["n_events"]),
    )


_FILES = {
    "events": "events.parquet",
    "outcomes": "outcomes.parquet",
    "touchpoints": "touchpoints.csv",
    "truth": "truth.json",
}


# ---------------------------------------------------------------- random draws
_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


def _mix_int(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _mix(x: U64) -> U64:
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class _Draws:
    """Counter-based draws: value = hash(seed, variable, sub, lane, counter)."""

    def __init__(self, seed: int) -> None:
        self._seed = _mix_int(seed & _MASK)

    def uniform(self, var: int, idx: U64, sub: int = 0, lane: int = 0) -> F64:
        key = _mix_int(self._seed ^ _mix_int((var << 40) + (sub << 8) + lane))
        x = _mix(idx * np.uint64(_GOLDEN) + np.uint64(key))
        return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53

    def normals(self, var: int, idx: U64, sub: int = 0) -> tuple[F64, F64]:
        radius = np.sqrt(-2.0 * np.log(self.uniform(var, idx, sub, 0)))
        angle = 2.0 * np.pi * self.uniform(var, idx, sub, 1)
        return radius * np.cos(angle), radius * np.sin(angle)

    def poisson(self, var: int, idx: U64, lam: F64, sub: int = 0) -> I64:
        u = self.uniform(var, idx, sub)
        count = np.zeros(u.size, dtype=np.int64)
        term = np.exp(-lam)
        cdf = term.copy()
        for k in range(1, 200):
            more = u > cdf
            if not more.any():
                break
            count += more
            term = term * lam / k
            cdf = cdf + term
        return count


def _choice(u: F64, shares: Sequence[float]) -> I64:
    cum = np.cumsum(np.asarray(shares, dtype=np.float64))
    picked = np.searchsorted(cum / cum[-1], u, side="right")
    return np.minimum(picked, len(shares) - 1).astype(np.int64)


# variable numbers of the draws; changing one changes the data of that variable only
_V_SEGMENT, _V_MOOD, _V_PREF, _V_START = 1, 2, 3, 4
_V_PRESENT, _V_GAP, _V_TIE, _V_RESPONSE, _V_FAIL = 10, 11, 12, 13, 14
_V_BASE_N, _V_BASE_T, _V_WIN_N, _V_WIN_T, _V_CONTACT_TP = 20, 21, 22, 23, 24
_V_RECOVERY, _V_NOISE, _V_RECOMMEND, _V_CHURN = 30, 40, 41, 42
_V_PROACTIVE, _V_TEXT = 50, 51
_V_CUSTOMER_MOOD, _V_CUSTOMER_OVERALL = 60, 61
_V_SURVEY_ORDER = 80
_V_CLOSE, _V_FRAILTY, _V_REPEAT, _V_OFFICE = 70, 71, 72, 73
_V_SEVERITY = 90


def customer_index(cfg: GeneratorConfig, jg: U64) -> U64:
    """Customer number of each journey number ``jg`` (see ``journeys_per_customer``).

    Customer-level draws are keyed by this number, so that they are the same for
    every journey of one customer and independent of how journeys are chunked.
    """
    m = cfg.journeys_per_customer
    if m == 1.0:
        return jg.copy()
    # customer c owns journeys floor(c*m) .. floor((c+1)*m) - 1, so c = ceil((j+1)/m) - 1
    return (np.ceil((jg.astype(np.float64) + 1.0) / m) - 1.0).astype(np.uint64)


def _n_customers(cfg: GeneratorConfig) -> int:
    last = customer_index(cfg, np.array([cfg.n_journeys - 1], dtype=np.uint64))
    return int(last[0]) + 1


# ---------------------------------------------------------------- one chunk
@dataclass
class _Chunk:
    """Arrays of one chunk of journeys (J journeys, K designed touchpoints)."""

    jg: U64
    segment: I64
    pref: I64
    mood: F64
    start_s: I64
    present: Bool
    ts_s: I64
    score: F64
    failed_tp: I64
    recovered: Bool
    treated: Bool  # (J, number of proactive contacts)
    window_hit: Bool  # (J, number of windows): at least one extra contact
    close_s: I64 | None = None  # when each journey closes (close_after_days)
    natural: F64 | None = None  # (J, K) scores before failures forced them to 1
    severe: Bool | None = None  # failed journeys whose failure is severe (severe_share > 0)


def _journeys(cfg: GeneratorConfig, d: _Draws, jg: U64) -> tuple[I64, I64, F64, I64]:
    segment = _choice(d.uniform(_V_SEGMENT, jg), [s.share for s in cfg.segments])
    pref = _choice(d.uniform(_V_PREF, jg), [s for _, s in cfg.channel_preferences])
    shift = np.array([s.mood_shift for s in cfg.segments])[segment]
    mood = d.normals(_V_MOOD, jg)[0]
    if cfg.customer_mood_corr > 0:
        shared = d.normals(_V_CUSTOMER_MOOD, customer_index(cfg, jg))[0]
        icc = cfg.customer_mood_corr
        mood = math.sqrt(1.0 - icc) * mood + math.sqrt(icc) * shared
    mood = mood + shift
    origin = int(cfg.start.timestamp())
    start_s = origin + np.floor(d.uniform(_V_START, jg) * cfg.span_days * _DAY_S)
    return segment, pref, mood, start_s.astype(np.int64)


def _designed(cfg: GeneratorConfig, d: _Draws, ch: _Chunk) -> None:
    t = ch.start_s.copy()
    noise_w = math.sqrt(1.0 - cfg.mood_loading**2)
    thresholds = np.asarray(cfg.thresholds)
    for k, tp in enumerate(cfg.touchpoints):
        z_gap, z_score = d.normals(_V_GAP, ch.jg, k)
        if tp.gap_hours > 0:
            gap = np.rint(tp.gap_hours * 3600.0 * np.exp(tp.gap_sigma * z_gap))
            gap = np.maximum(gap, 1.0)
            gap[d.uniform(_V_TIE, ch.jg, k) < tp.p_tie] = 0.0
            t = t + gap.astype(np.int64)
        if cfg.office_hours > 0 and tp.initiated_by == "company":
            t = _office(t, d.uniform(_V_OFFICE, ch.jg, k), cfg.office_hours)
        ch.ts_s[:, k] = t
        ch.present[:, k] = d.uniform(_V_PRESENT, ch.jg, k) < tp.p_present
        latent = tp.latent_mean + cfg.mood_loading * ch.mood + noise_w * z_score
        score = 1.0 + np.searchsorted(thresholds, latent).astype(np.float64)
        answered = ch.present[:, k] & (d.uniform(_V_RESPONSE, ch.jg, k) < tp.response_rate)
        ch.score[:, k] = np.where(answered, score, np.nan)


def _failures(cfg: GeneratorConfig, d: _Draws, ch: _Chunk) -> None:
    for k, tp in enumerate(cfg.touchpoints):
        if tp.failure_rate <= 0:
            continue
        hit = (ch.failed_tp < 0) & ch.present[:, k]
        hit &= d.uniform(_V_FAIL, ch.jg, k) < tp.failure_rate
        ch.failed_tp[hit] = k
        ch.score[hit, k] = 1.0
    ch.recovered[:] = (ch.failed_tp >= 0) & (d.uniform(_V_RECOVERY, ch.jg) < cfg.recovered_share)
    if cfg.severe_share > 0:
        ch.severe = (ch.failed_tp >= 0) & (d.uniform(_V_SEVERITY, ch.jg) < cfg.severe_share)


def _recovery_events(cfg: GeneratorConfig, d: _Draws, ch: _Chunk) -> tuple[I64, I64, F64]:
    rows = np.flatnonzero(ch.failed_tp >= 0)
    jg = ch.jg[rows]
    delay = np.rint(-np.log(d.uniform(_V_RECOVERY, jg, 0, 1)) * cfg.recovery_delay_hours * 3600)
    ts = ch.ts_s[rows, ch.failed_tp[rows]] + 60 + delay.astype(np.int64)
    u = d.uniform(_V_RECOVERY, jg, 0, 2)
    score = np.where(ch.recovered[rows], 4.0 + (u < 0.6), 1.0 + (u < 0.5))
    return rows.astype(np.int64), ts, score


def _expand(counts: I64) -> tuple[I64, U64]:
    """Row of each item and its number within the row, for Poisson counts."""
    rows = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    item = np.arange(rows.size, dtype=np.int64) - np.repeat(first, counts)
    return rows, item.astype(np.uint64)


def _contacts(cfg: GeneratorConfig, d: _Draws, ch: _Chunk) -> list[tuple[I64, I64, I64]]:
    """Unsolicited contacts (row, ts, contact index): the baseline, then each window."""
    last = np.where(ch.present, ch.ts_s, ch.start_s[:, None]).max(axis=1)
    span_s = (last - ch.start_s).astype(np.float64) + cfg.baseline_tail_days * _DAY_S
    if ch.close_s is not None:
        span_s = (ch.close_s - ch.start_s).astype(np.float64)
    frailty = np.ones(ch.jg.size)
    if cfg.contact_frailty_sd > 0:
        sd = cfg.contact_frailty_sd
        frailty = np.exp(sd * d.normals(_V_FRAILTY, customer_index(cfg, ch.jg))[0] - sd * sd / 2)
    # tenure drift: rate exp(b t), t in 30-day months; the count is its integral over the span
    b, months = cfg.tenure_drift, span_s / (30 * _DAY_S)
    days = 30 * np.expm1(b * months) / b if b != 0 else span_s / _DAY_S
    lam = cfg.baseline_contacts_per_day * days * frailty
    rows, item = _expand(d.poisson(_V_BASE_N, ch.jg, lam))
    key = ch.jg[rows] * np.uint64(_MAX_ITEMS) + item
    u = d.uniform(_V_BASE_T, key)
    at_s = u * span_s[rows]
    if b != 0:  # inverse of the cumulative rate
        at_s = np.log1p(u * np.expm1(b * months[rows])) / b * 30 * _DAY_S
    ts = ch.start_s[rows] + np.floor(at_s).astype(np.int64)
    if cfg.office_hours > 0:
        ts = _office(ts, d.uniform(_V_OFFICE, key, 99), cfg.office_hours)
    base_mix = [c.baseline_share for c in cfg.contacts]
    parts = [(rows, ts, _contact_tp(cfg, d, ch.pref[rows], key, 0, base_mix))]
    names = [c.name for c in cfg.contacts]
    for w_i, w in enumerate(cfg.hidden_windows, start=1):
        a = [t.name for t in cfg.touchpoints].index(w.anchor)
        lam_w = np.where(ch.present[:, a], w.excess_rate * frailty, 0.0)
        for p_i, p in enumerate(cfg.proactive):
            if p.window == w.label:
                lam_w = np.where(ch.treated[:, p_i], lam_w * (1.0 - p.deflection), lam_w)
        counts = d.poisson(_V_WIN_N, ch.jg, lam_w, w_i)
        ch.window_hit[:, w_i - 1] = counts > 0
        rows, item = _expand(counts)
        key = ch.jg[rows] * np.uint64(_MAX_ITEMS) + item
        width = w.last_day - w.first_day + 1
        offset = (w.first_day + d.uniform(_V_WIN_T, key, w_i) * width) * _DAY_S
        ts = ch.ts_s[rows, a] + np.floor(offset).astype(np.int64)
        mix = [0.0] * len(names)
        for contact, share in w.mix:
            mix[names.index(contact)] = share
        parts.append((rows, ts, _contact_tp(cfg, d, ch.pref[rows], key, w_i, mix)))
    return [_after_close(ch, _repeats(cfg, d, ch.jg, part, i)) for i, part in enumerate(parts)]


def _repeats(
    cfg: GeneratorConfig, d: _Draws, jg: U64, part: tuple[I64, I64, I64], sub: int
) -> tuple[I64, I64, I64]:
    """Add one repeat of each contact with ``repeat_contact_share``, an exponential delay later."""
    rows, ts, idx = part
    if cfg.repeat_contact_share <= 0 or rows.size == 0:
        return part
    key = _mix(ts.astype(np.uint64)) ^ jg[rows]  # global journey number: chunking-free
    again = d.uniform(_V_REPEAT, key, sub, 0) < cfg.repeat_contact_share
    delay = -np.log(d.uniform(_V_REPEAT, key, sub, 1)) * cfg.repeat_delay_hours * 3600
    return (
        np.concatenate([rows, rows[again]]),
        np.concatenate([ts, ts[again] + np.rint(delay[again]).astype(np.int64)]),
        np.concatenate([idx, idx[again]]),
    )


def _after_close(ch: _Chunk, part: tuple[I64, I64, I64]) -> tuple[I64, I64, I64]:
    """Drop the contacts of a closed journey that come after its close."""
    if ch.close_s is None:
        return part
    rows, ts, idx = part
    keep = ts < ch.close_s[rows]
    return rows[keep], ts[keep], idx[keep]


def _office(ts: I64, u: F64, share: float) -> I64:
    """Move a share of times outside office hours (Mon-Fri 8-18 UTC) into the next opening.

    ``u`` is a uniform draw per time: below ``share`` the time moves, and
    ``u / share`` places it within the ten office hours of that opening.
    """
    day, second = np.divmod(ts, _DAY_S)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    open_s, close_s = 8 * 3600, 18 * 3600
    inside = (weekday < 5) & (second >= open_s) & (second < close_s)
    same_day = (weekday < 5) & (second < open_s)
    ahead = np.select([weekday == 4, weekday == 5], [3, 2], default=1)
    next_day = np.where(same_day, day, day + ahead)
    moved = next_day * _DAY_S + open_s + np.floor(u / share * 10 * 3600).astype(np.int64)
    return np.where(~inside & (u < share), moved, ts)


def _contact_tp(
    cfg: GeneratorConfig, d: _Draws, pref: I64, key: U64, sub: int, mix: list[float]
) -> I64:
    """Contact index: the preferred channel's contact or a draw from ``mix``."""
    channels = [c.channel for c in cfg.contacts]
    pref_contact = np.array([channels.index(c) for c, _ in cfg.channel_preferences])
    use_pref = d.uniform(_V_CONTACT_TP, key, sub, 0) < cfg.preferred_channel_share
    drawn = _choice(d.uniform(_V_CONTACT_TP, key, sub, 1), mix)
    return np.where(use_pref, pref_contact[pref], drawn)


@dataclass
class _Events:
    """The events of one chunk, sorted by (journey, ts, touchpoint code)."""

    rows: I64
    ts_s: I64
    code: I64
    score: F64
    origin: I64


def _events(cfg: GeneratorConfig, d: _Draws, ch: _Chunk, stats: dict[str, float]) -> _Events:
    k_designed = len(cfg.touchpoints)
    flat = np.flatnonzero(ch.present.ravel())
    r_rows, r_ts, r_score = _recovery_events(cfg, d, ch)
    parts = _contacts(cfg, d, ch)
    for i, (c_rows, _, _) in enumerate(parts):
        stats[f"contacts_{i}"] = stats.get(f"contacts_{i}", 0) + c_rows.size
    source = np.concatenate([np.full(p[0].size, i, dtype=np.int64) for i, p in enumerate(parts)])
    c_rows, c_ts, c_idx = (np.concatenate(p) for p in zip(*parts, strict=True))
    p_rows, p_ts, p_idx = _proactive_events(cfg, ch)
    if ch.close_s is not None:  # the closing event, after the proactive touchpoints
        p_rows = np.concatenate([p_rows, np.arange(ch.jg.size, dtype=np.int64)])
        p_ts = np.concatenate([p_ts, ch.close_s])
        p_idx = np.concatenate([p_idx, np.full(ch.jg.size, len(cfg.proactive), dtype=np.int64)])
    for i in range(len(cfg.proactive)):
        stats[f"proactive_{i}"] = stats.get(f"proactive_{i}", 0) + int(np.sum(p_idx == i))
    first_proactive = k_designed + 1 + len(cfg.contacts)
    rows = np.concatenate([flat // k_designed, r_rows, c_rows, p_rows])
    ts = np.concatenate([ch.ts_s.ravel()[flat], r_ts, c_ts, p_ts])
    code = np.concatenate(
        [
            flat % k_designed,
            np.full(r_rows.size, k_designed),
            k_designed + 1 + c_idx,
            first_proactive + p_idx,
        ]
    )
    n_other = flat.size + r_rows.size
    score = np.concatenate(
        [ch.score.ravel()[flat], r_score, np.full(c_rows.size + p_rows.size, np.nan)]
    )
    # which part an event comes from: -1 designed/recovery/proactive, 0 baseline, w window w
    origin = np.concatenate(
        [np.full(n_other, -1, dtype=np.int64), source, np.full(p_rows.size, -1, dtype=np.int64)]
    )
    order = _event_order(rows, ts, code)
    return _Events(rows[order], ts[order], code[order], score[order], origin[order])


def _survey_order(d: _Draws, ch: _Chunk, ev: _Events) -> _Events:
    """The events as a survey stores them: one timestamp per journey, a random order."""
    n = ev.rows.size
    starts = np.flatnonzero(np.r_[True, ev.rows[1:] != ev.rows[:-1]]) if n else np.zeros(0, int)
    sizes = np.diff(np.r_[starts, n])
    last = np.maximum.reduceat(ev.ts_s, starts) if n else ev.ts_s
    position = np.arange(n) - np.repeat(starts, sizes)
    key = d.uniform(_V_SURVEY_ORDER, ch.jg[ev.rows] * np.uint64(4096) + position.astype(np.uint64))
    order = np.lexsort((key, ev.rows)).astype(np.int64)
    ts = np.repeat(last, sizes)
    return _Events(ev.rows[order], ts, ev.code[order], ev.score[order], ev.origin[order])


def _event_order(rows: I64, ts: I64, code: I64) -> I64:
    """Order by (journey, ts, code): designed touchpoints first at equal timestamps.

    One packed int64 key and a stable sort; the designed events come first and
    are already in order, so the sort mostly merges runs.
    """
    rel = ts - (ts.min() if ts.size else 0)
    bits = [int(x.max(initial=0)).bit_length() for x in (rows, rel, code)]
    if sum(bits) > 62:
        return np.lexsort((code, rel, rows)).astype(np.int64)
    key = (rows << (bits[1] + bits[2])) | (rel << bits[2]) | code
    return np.argsort(key, kind="stable").astype(np.int64)


def _memory_features(ev: _Events, n: int) -> dict[str, F64]:
    """Peak, end, mean and trough valence per journey (0 without scored events)."""
    scored = ~np.isnan(ev.score)
    rows, v = ev.rows[scored], (ev.score[scored] - 3.0) / 2.0
    count = np.bincount(rows, minlength=n).astype(np.float64)
    mean = np.bincount(rows, weights=v, minlength=n) / np.maximum(count, 1.0)
    peak, end, trough = np.zeros(n), np.zeros(n), np.zeros(n)
    if rows.size:
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        owner = rows[starts]
        trough[owner] = np.minimum.reduceat(v, starts)
        end[owner] = v[np.r_[starts[1:], rows.size] - 1]
        # intensity key: 2*|v| in {0, 1, 2}, doubled, +1 when negative (negative wins ties)
        key = np.rint(np.abs(v) * 4.0).astype(np.int64) + (v < 0)
        top = np.maximum.reduceat(key, starts)
        peak[owner] = np.where(top % 2 == 1, -1.0, 1.0) * (top // 2) / 2.0
    negatives = np.bincount(rows[v < 0], minlength=n).astype(np.float64)
    return {"peak": peak, "end": end, "mean": mean, "trough": trough, "negatives": negatives}


def _overall(cfg: GeneratorConfig, d: _Draws, ch: _Chunk, feats: dict[str, F64]) -> F64:
    value = cfg.intercept + cfg.w_peak * feats["peak"] + cfg.w_end * feats["end"]
    value = value + cfg.w_mean * feats["mean"] + cfg.w_trough * feats["trough"]
    scale = np.array([s.effect_scale for s in cfg.segments])[ch.segment]
    for k, tp in enumerate(cfg.touchpoints):
        low, high = ch.score[:, k] <= 2, ch.score[:, k] >= 4
        value = value + tp.penalty * scale * low + tp.reward * scale * high
    failed = ch.failed_tp >= 0
    value = value + cfg.recovered_effect * ch.recovered
    value = value + cfg.unrecovered_effect * (failed & ~ch.recovered)
    if ch.severe is not None:
        value = value + cfg.severe_recovered_effect * (ch.recovered & ch.severe)
    for w_i, w in enumerate(cfg.hidden_windows):
        value = value + w.overall_effect * ch.window_hit[:, w_i]
    for p_i, p in enumerate(cfg.proactive):
        value = value + p.overall_effect * ch.treated[:, p_i]
    value = value + cfg.noise_sd * d.normals(_V_NOISE, ch.jg)[0]
    if cfg.customer_overall_sd > 0:
        tendency = d.normals(_V_CUSTOMER_OVERALL, customer_index(cfg, ch.jg))[0]
        value = value + cfg.customer_overall_sd * tendency
    return np.asarray(np.clip(np.round(value, 1), 1.0, 10.0), dtype=np.float64)


def _churn(
    cfg: GeneratorConfig, d: _Draws, ch: _Chunk, feats: dict[str, F64], contacts: F64
) -> tuple[Bool, F64]:
    failed = ch.failed_tp >= 0
    log_h = cfg.churn_per_negative * feats["negatives"] + cfg.churn_negative_end * (
        feats["end"] < 0
    )
    log_h = log_h + cfg.churn_per_contact * contacts + cfg.churn_recovered * ch.recovered
    log_h = log_h + cfg.churn_unrecovered * (failed & ~ch.recovered)
    log_h = log_h + np.array([s.churn_effect for s in cfg.segments])[ch.segment]
    days = -np.log(d.uniform(_V_CHURN, ch.jg)) / (cfg.churn_base_per_day * np.exp(log_h))
    churned = days <= cfg.horizon_days
    return churned, np.round(np.minimum(days, cfg.horizon_days), 3)


def _recovery_effects(
    cfg: GeneratorConfig, d: _Draws, ch: _Chunk, ev: _Events, overall: F64, stats: dict[str, float]
) -> None:
    """Sum over failed journeys of overall minus overall had the failure not happened.

    The counterfactual journey keeps every draw but has its natural score at the
    failed touchpoint and no recovery contact; the difference is the total effect
    of the failure and its (good or bad) recovery, memory features included.
    """
    k = len(cfg.touchpoints)
    keep = ev.code != k
    rows, code = ev.rows[keep], ev.code[keep]
    score = ev.score[keep].copy()
    assert ch.natural is not None
    hit = (code < k) & (code == ch.failed_tp[rows])
    score[hit] = ch.natural[rows[hit], code[hit]]
    cf_ev = _Events(rows, ev.ts_s[keep], code, score, ev.origin[keep])
    n = ch.jg.size
    cf = _Chunk(**{**ch.__dict__, "score": ch.natural})
    cf.failed_tp = np.full(n, -1, dtype=np.int64)
    cf.recovered = np.zeros(n, dtype=np.bool_)
    diff = overall - _overall(cfg, d, cf, _memory_features(cf_ev, n))
    failed = ch.failed_tp >= 0
    for key, mask in (("recovered", ch.recovered), ("unrecovered", failed & ~ch.recovered)):
        # overall has one decimal: summed in whole tenths, so chunking cannot change it
        tenths = int(np.rint(diff[mask] * 10.0).sum())
        stats[f"effect_{key}"] = stats.get(f"effect_{key}", 0) + tenths
        if ch.severe is None:
            continue
        for level, sev in (("severe", ch.severe), ("minor", failed & ~ch.severe)):
            part = mask & sev
            tenths = int(np.rint(diff[part] * 10.0).sum())
            stats[f"effect_{key}_{level}"] = stats.get(f"effect_{key}_{level}", 0) + tenths
            stats[f"n_{key}_{level}"] = stats.get(f"n_{key}_{level}", 0) + int(part.sum())


def _churn_path(
    cfg: GeneratorConfig, d: _Draws, ch: _Chunk, ev: _Events, stats: dict[str, float]
) -> tuple[Bool, F64]:
    """Churn time on the event history (``churn_time_varying``), days from the first event.

    After each event the hazard is ``base * exp(beta . x)`` with the covariates so
    far, constant until the next event; the churn time inverts the cumulative
    hazard at an exponential draw. Also adds to ``stats`` the expected number of
    churners attributable to negative experiences (negative moments, negative last
    ending, badly recovered failures) over the time each customer was observed.
    """
    n, k = ch.jg.size, len(cfg.touchpoints)
    rows = ev.rows
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if rows.size else rows
    first = np.zeros(rows.size, dtype=np.int64)
    first[starts] = starts
    first = np.maximum.accumulate(first)

    def so_far(values: NDArray[Any]) -> F64:
        """Cumulative sum within each journey, up to and including the event."""
        v = values.astype(np.float64)
        c = np.cumsum(v)
        return np.asarray(c - (c[first] - v[first]), dtype=np.float64)

    scored = ~np.isnan(ev.score)
    neg = so_far(scored & (ev.score <= 2.0))
    contacts = so_far((ev.code > k) & (ev.code <= k + len(cfg.contacts)))
    recovered = so_far((ev.code == k) & (ev.score >= 4.0))
    unrecovered = so_far((ev.code == k) & (ev.score <= 2.0))
    last_scored = np.where(scored, np.arange(rows.size), -1)
    last_scored = np.maximum.accumulate(last_scored)
    end_neg = (last_scored >= first) & (ev.score[np.maximum(last_scored, 0)] <= 2.0)
    harm = cfg.churn_per_negative * neg + cfg.churn_negative_end * end_neg
    harm = harm + cfg.churn_unrecovered * unrecovered
    log_h = harm + cfg.churn_per_contact * contacts + cfg.churn_recovered * recovered
    log_h = log_h + np.array([s.churn_effect for s in cfg.segments])[ch.segment[rows]]
    rate = cfg.churn_base_per_day * np.exp(log_h)
    t0 = ev.ts_s[first].astype(np.float64)
    t = np.minimum((ev.ts_s - t0) / _DAY_S, cfg.horizon_days)
    nxt = np.r_[t[1:], 0.0]
    last = np.r_[rows[1:] != rows[:-1], True]
    nxt[last] = cfg.horizon_days
    nxt = np.minimum(nxt, cfg.horizon_days)
    h_end = so_far(rate * (nxt - t))
    need = -np.log(d.uniform(_V_CHURN, ch.jg))[rows]
    crossed = h_end >= need
    idx = np.where(crossed, np.arange(rows.size), rows.size)
    hit = np.full(n, rows.size, dtype=np.int64)
    np.minimum.at(hit, rows, idx)
    churned = hit < rows.size
    days = np.full(n, cfg.horizon_days)
    i = hit[churned]
    h_before = h_end[i] - rate[i] * (nxt[i] - t[i])
    days[churned] = t[i] + (need[i] - h_before) / rate[i]
    stop = np.minimum(nxt, days[rows])
    exposure = rate * np.maximum(stop - t, 0.0)
    stats["avoidable_churn"] = stats.get("avoidable_churn", 0.0) + float(
        np.sum(exposure * -np.expm1(-harm))
    )
    return churned, np.round(days, 3)


def _make_chunk(cfg: GeneratorConfig, d: _Draws, first: int, n: int) -> _Chunk:
    jg = np.arange(first, first + n, dtype=np.uint64)
    segment, pref, mood, start_s = _journeys(cfg, d, jg)
    k = len(cfg.touchpoints)
    ch = _Chunk(
        jg=jg,
        segment=segment,
        pref=pref,
        mood=mood,
        start_s=start_s,
        present=np.zeros((n, k), dtype=np.bool_),
        ts_s=np.zeros((n, k), dtype=np.int64),
        score=np.full((n, k), np.nan),
        failed_tp=np.full(n, -1, dtype=np.int64),
        recovered=np.zeros(n, dtype=np.bool_),
        treated=np.zeros((n, len(cfg.proactive)), dtype=np.bool_),
        window_hit=np.zeros((n, len(cfg.hidden_windows)), dtype=np.bool_),
    )
    _designed(cfg, d, ch)
    if cfg.close_after_days > 0:
        z = d.normals(_V_CLOSE, jg)[0]
        ch.close_s = start_s + np.rint(cfg.close_after_days * _DAY_S * np.exp(0.3 * z)).astype(
            np.int64
        )
        ch.present &= ch.ts_s < ch.close_s[:, None]
    ch.natural = ch.score.copy()
    _failures(cfg, d, ch)
    _treat(cfg, d, ch)
    return ch


def _treat(cfg: GeneratorConfig, d: _Draws, ch: _Chunk) -> None:
    """Which journeys receive each proactive contact (anchor present, share by segment)."""
    names = [t.name for t in cfg.touchpoints]
    segments = [s.name for s in cfg.segments]
    for i, p in enumerate(cfg.proactive):
        window = next(w for w in cfg.hidden_windows if w.label == p.window)
        by_segment = dict(p.shares)
        share = np.array([by_segment.get(s, 0.0) for s in segments])[ch.segment]
        present = ch.present[:, names.index(window.anchor)]
        ch.treated[:, i] = present & (d.uniform(_V_PROACTIVE, ch.jg, i) < share)


def _proactive_events(cfg: GeneratorConfig, ch: _Chunk) -> tuple[I64, I64, I64]:
    """Proactive contacts (row, ts, proactive index), ``day`` days after the anchor."""
    names = [t.name for t in cfg.touchpoints]
    parts = []
    for i, p in enumerate(cfg.proactive):
        window = next(w for w in cfg.hidden_windows if w.label == p.window)
        rows = np.flatnonzero(ch.treated[:, i])
        ts = ch.ts_s[rows, names.index(window.anchor)] + int(round(p.day * _DAY_S))
        parts.append((rows.astype(np.int64), ts, np.full(rows.size, i, dtype=np.int64)))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    rows, ts, idx = (np.concatenate(x) for x in zip(*parts, strict=True))
    return rows, ts, idx


def _chunk_tables(
    cfg: GeneratorConfig, d: _Draws, first: int, n: int, seq0: int, stats: dict[str, float]
) -> tuple[pa.Table, pa.Table]:
    ch = _make_chunk(cfg, d, first, n)
    ev = _events(cfg, d, ch, stats)
    feats = _memory_features(ev, n)
    contact = (ev.code > len(cfg.touchpoints)) & (
        ev.code <= len(cfg.touchpoints) + len(cfg.contacts)
    )
    contacts = np.bincount(ev.rows[contact], minlength=n).astype(np.float64)
    overall = _overall(cfg, d, ch, feats)
    _recovery_effects(cfg, d, ch, ev, overall, stats)
    if cfg.churn_time_varying:
        churned, churn_days = _churn_path(cfg, d, ch, ev, stats)
    else:
        churned, churn_days = _churn(cfg, d, ch, feats, contacts)
    r = d.normals(_V_RECOMMEND, ch.jg)[0]
    recommend = np.clip(np.rint((overall - 1.0) * 10.0 / 9.0 + cfg.recommend_noise_sd * r), 0, 10)
    satisfied = overall >= cfg.satisfied_threshold
    _count(stats, ch, ev, overall, satisfied, churned)
    width = max(8, len(str(cfg.n_journeys - 1)))
    ids = _ids("J", ch.jg, width)
    customers = _ids("C", customer_index(cfg, ch.jg), width)
    if cfg.survey_order:
        ev = _survey_order(d, ch, ev)
    events = _event_table(cfg, d, ev, ids, customers, seq0)
    severity = []
    if ch.severe is not None:
        failed = ch.failed_tp >= 0
        level = pa.array(np.where(ch.severe, "severe", "minor"), type=pa.string())
        severity = [pc.if_else(pa.array(failed), level, pa.scalar(None, pa.string()))]
    outcomes = pa.Table.from_arrays(
        [
            ids,
            pa.array(overall),
            pa.array(recommend.astype(np.int64)),
            pa.array(satisfied.astype(np.int64)),
            pa.array(churned.astype(np.int64)),
            pa.array(churn_days),
            pa.array([s.name for s in cfg.segments]).take(pa.array(ch.segment)),
            pa.array([c for c, _ in cfg.channel_preferences]).take(pa.array(ch.pref)),
            *severity,
        ],
        schema=outcome_schema(cfg),
    )
    return events, outcomes


def _count(
    stats: dict[str, float], ch: _Chunk, ev: _Events, overall: F64, satisfied: Bool, churned: Bool
) -> None:
    same = (ev.rows[1:] == ev.rows[:-1]) & (ev.ts_s[1:] == ev.ts_s[:-1])
    updates = {
        "n_events": ev.rows.size,
        "tie_journeys": np.unique(ev.rows[1:][same]).size,
        "clipped": int(np.count_nonzero((overall <= 1.0) | (overall >= 10.0))),
        "overall_sum": float(overall.sum()),
        "satisfied": int(np.count_nonzero(satisfied)),
        "churned": int(np.count_nonzero(churned)),
        "failures": int(np.count_nonzero(ch.failed_tp >= 0)),
        "recovered": int(np.count_nonzero(ch.recovered)),
        "scored_events": int(np.count_nonzero(~np.isnan(ev.score))),
    }
    for key, value in updates.items():
        stats[key] = stats.get(key, 0) + value


def _ids(prefix: str, jg: U64, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(jg.astype(np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _event_table(
    cfg: GeneratorConfig, d: _Draws, ev: _Events, ids: pa.Array, cids: pa.Array, seq0: int
) -> pa.Table:
    n = ev.rows.size
    code = pa.array(ev.code)
    rows = pa.array(ev.rows)
    channels = [t.channel for t in cfg.touchpoints] + ["phone"] + [c.channel for c in cfg.contacts]
    channels += [p.channel for p in cfg.proactive] + ["system"] * (cfg.close_after_days > 0)
    initiators = [t.initiated_by for t in cfg.touchpoints] + ["company"]
    initiators += ["customer"] * len(cfg.contacts) + ["company"] * len(cfg.proactive)
    initiators += ["company"] * (cfg.close_after_days > 0)
    missing = np.isnan(ev.score)
    text, lang = _texts(cfg, d, ev, seq0)
    return pa.Table.from_arrays(
        [
            ids.take(rows),
            cids.take(rows),
            pa.array(ev.ts_s * 1_000_000, type=pa.timestamp("us", tz="UTC")),
            pa.array(np.arange(seq0, seq0 + n, dtype=np.int64)),
            pa.array([r[0] for r in _catalogue_rows(cfg)]).take(code),
            pa.array(channels).take(code),
            pa.array(initiators).take(code),
            pa.array(ev.score, mask=missing),
            pa.array((ev.score - 3.0) / 2.0, mask=missing),
            text,
            lang,
        ],
        schema=EVENT_SCHEMA,
    )


# what customers say when they contact the provider unprompted: generic reasons, then
# reasons per default window label (windows without phrases use the generic ones)
_GENERIC_PHRASES: tuple[str, ...] = (
    "ik wil mijn adres wijzigen",
    "vraag over mijn account en wachtwoord",
    "storing bij mij in de straat, wanneer is het opgelost",
    "ik wil mijn bankrekening aanpassen",
    "hoe kan ik een extra dienst toevoegen",
)
_WINDOW_PHRASES: dict[str, tuple[str, ...]] = {
    "post-purchase doubt": (
        "twijfel of ik de juiste keuze heb gemaakt, kan ik nog annuleren",
        "is dit abonnement wel de goede keuze voor mij",
        "ik twijfel, heb ik niet te snel gekozen",
        "kan ik binnen de bedenktijd nog opzeggen",
    ),
    "first-invoice worry": (
        "mijn eerste factuur is hoger dan verwacht",
        "ik begrijp de opbouw van de factuur niet",
        "waarom staat er een eenmalig bedrag op de factuur",
        "klopt deze factuur wel, het bedrag is anders dan afgesproken",
    ),
    "renewal price check": (
        "wat wordt mijn nieuwe prijs na verlenging",
        "is het verlengingsaanbod goedkoper dan bij een ander",
        "ik wil de prijs van de verlenging vergelijken",
    ),
}


def _texts(cfg: GeneratorConfig, d: _Draws, ev: _Events, seq0: int) -> tuple[pa.Array, pa.Array]:
    """Verbatims of unsolicited contacts (``contact_texts``), else all null."""
    n = ev.rows.size
    if not cfg.contact_texts:
        return pa.nulls(n, pa.string()), pa.nulls(n, pa.string())
    labels = [_GENERIC_PHRASES]
    labels += [_WINDOW_PHRASES.get(w.label, _GENERIC_PHRASES) for w in cfg.hidden_windows]
    phrases = [p for group in labels for p in group]
    offsets = np.cumsum([0] + [len(g) for g in labels])
    sizes = np.array([len(g) for g in labels])
    has = ev.origin >= 0
    origin = np.maximum(ev.origin, 0)
    key = np.arange(seq0, seq0 + n, dtype=np.uint64)
    pick = np.floor(d.uniform(_V_TEXT, key) * sizes[origin]).astype(np.int64)
    index = np.where(has, offsets[origin] + pick, 0)
    text = pa.array(phrases).take(pa.array(index))
    mask = pa.array(~has)
    return pc.if_else(mask, pa.nulls(n, pa.string()), text), pc.if_else(
        mask, pa.nulls(n, pa.string()), pa.scalar("nl")
    )


# ---------------------------------------------------------------- writing
class _RowGroupWriter:
    """Buffers streamed tables so that every row group has exactly ``rows`` rows."""

    def __init__(self, path: Path, schema: pa.Schema, rows: int, dictionary: list[str]) -> None:
        self._writer = pq.ParquetWriter(path, schema, use_dictionary=dictionary, compression="zstd")
        self._rows = rows
        self._pending: list[pa.Table] = []
        self._n = 0

    def write(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._n += table.num_rows
        while self._n >= self._rows:
            self._flush(self._rows)

    def close(self) -> None:
        if self._n:
            self._flush(self._n)
        self._writer.close()

    def _flush(self, limit: int) -> None:
        table = pa.concat_tables(self._pending)
        rest = table.slice(limit)
        # one contiguous chunk per row group makes the file bytes independent of chunking
        self._writer.write_table(table.slice(0, limit).combine_chunks(), row_group_size=limit)
        self._pending = [rest] if rest.num_rows else []
        self._n = rest.num_rows


def _write_tables(
    cfg: GeneratorConfig,
    events_path: Path,
    outcomes_path: Path,
    progress: Callable[[int], None] | None,
) -> dict[str, float]:
    d = _Draws(cfg.seed)
    stats: dict[str, float] = {}
    events = _RowGroupWriter(
        events_path, EVENT_SCHEMA, cfg.row_group_rows, ["touchpoint", "channel", "initiated_by"]
    )
    outcomes = _RowGroupWriter(
        outcomes_path, outcome_schema(cfg), cfg.row_group_rows, ["segment", "channel_preference"]
    )
    try:
        for first in range(0, cfg.n_journeys, cfg.chunk_journeys):
            n = min(cfg.chunk_journeys, cfg.n_journeys - first)
            ev, out = _chunk_tables(cfg, d, first, n, int(stats.get("n_events", 0)), stats)
            events.write(ev)
            outcomes.write(out)
            if progress is not None:
                progress(first + n)
    finally:
        events.close()
        outcomes.close()
    return stats


_CatalogueRow = tuple[str, int | None, float, float, str, str]


def _catalogue_rows(cfg: GeneratorConfig) -> list[_CatalogueRow]:
    """(touchpoint, stage, brand_relevance, cost, owner, initiated_by) per touchpoint."""
    rows: list[_CatalogueRow] = [
        (t.name, t.stage, t.brand_relevance, t.cost, t.owner, t.initiated_by)
        for t in cfg.touchpoints
    ]
    rows.append((RECOVERY, None, 0.3, 10.0, "customer_service", "company"))
    rows += [(c.name, None, 0.2, c.cost, c.owner, "customer") for c in cfg.contacts]
    rows += [(p.touchpoint, None, 0.5, p.cost, "retention", "company") for p in cfg.proactive]
    if cfg.close_after_days > 0:
        rows.append((CLOSED, len(cfg.touchpoints) + 1, 0.0, 0.0, "operations", "company"))
    return rows


def _write_catalogue(cfg: GeneratorConfig, path: Path) -> None:
    columns = list(zip(*_catalogue_rows(cfg), strict=True))
    table = pa.Table.from_arrays(
        [
            pa.array(list(col), type=f.type)
            for col, f in zip(columns, TOUCHPOINT_SCHEMA, strict=True)
        ],
        schema=TOUCHPOINT_SCHEMA,
    )
    pa_csv.write_csv(table, path)


def _toml(value: object) -> str:
    return json.dumps(value) if isinstance(value, str | list) else repr(value)


def _attributes(cfg: GeneratorConfig) -> list[str]:
    """Journey attributes the spec declares: segment, channel, failure severity if planted."""
    extra = [SEVERITY_COLUMN] if cfg.severe_share > 0 else []
    return ["segment", "channel_preference", *extra]


def _spec_text(cfg: GeneratorConfig, name: str) -> str:
    lines = [
        f"name = {_toml(name)}",
        'description = "Synthetic subscription-service journeys with a planted truth '
        '(see truth.json)."',
        'layout = "long"',
        # valence is recomputed by the loader from score and the declared scale
        'ignore_columns = ["valence"]',
        f"attributes = {_toml(_attributes(cfg))}",
        'segments = ["segment"]',
        "",
        "[source]",
        'path = "events.parquet"',
        "",
        "[columns]",
    ]
    roles = ("journey_id", "customer_id", "ts", "seq", "touchpoint", "channel")
    lines += [f'{r} = "{r}"' for r in (*roles, "initiated_by", "score", "text", "lang")]
    lines += ["", "[scales.score]", "low = 1", "high = 5", ""]
    # touchpoint costs (and the cost saved the report derives from them) are in euros
    lines += ["[report]", 'currency = "EUR"', ""]
    for row in _catalogue_rows(cfg):
        lines += _touchpoint_toml(*row)
    lines += [
        "[outcome_source]",
        'path = "outcomes.parquet"',
        'journey_id = "journey_id"',
        "",
        "[outcomes.overall]",
        'column = "overall"',
        'kind = "continuous"',
        "",
        "[outcomes.recommend]",
        'column = "recommend"',
        'kind = "continuous"',
        "",
    ]
    for binary in ("satisfied", "churned"):
        lines += [f"[outcomes.{binary}]", f'column = "{binary}"', 'kind = "binary"']
        lines += ['positive = ["1"]', ""]
    if cfg.close_after_days > 0:
        lines += ["[journey_end]", f'closing = ["{CLOSED}"]', ""]
    return "\n".join(lines + _service_toml(cfg))


def _service_toml(cfg: GeneratorConfig) -> list[str]:
    """The [recovery] and [churn] sections: how failures, recovery and churn show."""
    failing = [t.name for t in cfg.touchpoints if t.failure_rate > 0]
    origin = "first_event" if cfg.churn_time_varying else "last_event"
    return [
        "",
        "[recovery]",
        f"failure_touchpoints = {_toml([RECOVERY])}",
        f"recovery_touchpoints = {_toml([RECOVERY])}",
        "recovered_min_score = 4",
        'confounders = ["segment"]',
        f"adjust_presence = {_toml(failing)}",
        'outcomes = ["overall", "recommend", "churned"]',
        *([f"severity = {_toml(SEVERITY_COLUMN)}"] if cfg.severe_share > 0 else []),
        "",
        "[churn]",
        'churned = "churned"',
        'time = "churn_days"',
        f'origin = "{origin}"',
        f"contact_touchpoints = {_toml([c.name for c in cfg.contacts])}",
        'covariates = ["segment"]',
        "",
    ]


def _touchpoint_toml(
    name: str, stage: int | None, relevance: float, cost: float, owner: str, initiated_by: str
) -> list[str]:
    lines = ["[[touchpoints]]", f"name = {_toml(name)}"]
    if stage is not None:
        lines.append(f"stage = {stage}")
    lines += [f"brand_relevance = {relevance!r}", f"cost = {cost!r}"]
    return lines + [f"owner = {_toml(owner)}", f"initiated_by = {_toml(initiated_by)}", ""]


# ---------------------------------------------------------------- truth
def _score_probs(cfg: GeneratorConfig, latent_mean: float) -> dict[str, float]:
    cdf = [0.5 * (1.0 + math.erf((c - latent_mean) / math.sqrt(2.0))) for c in cfg.thresholds]
    edges = [0.0, *cdf, 1.0]
    return {str(s + 1): round(edges[s + 1] - edges[s], 4) for s in range(5)}


def total_effects(cfg: GeneratorConfig) -> dict[str, dict[str, float | str]]:
    """Each touchpoint's total effect on ``overall``: set its score, everything else kept.

    The planted penalty and reward are *direct* effects. A low score also lowers
    the journey's remembered peak, end, mean and trough, and through them
    ``overall``: the *total* effect adds that. It is computed by intervention on
    the first journeys (up to :data:`TOTAL_EFFECT_JOURNEYS`): every journey that
    scored the touchpoint gets a low (1-2), middle (3) or high (4-5) score there
    instead, in the proportions the data have, with every other draw kept;
    penalty and reward are the differences of the mean ``overall`` against the
    middle.
    """
    return _intervention_effects(cfg)["total"]


def satisfied_total_effects(cfg: GeneratorConfig) -> dict[str, dict[str, float | str]]:
    """Each touchpoint's total effect on ``satisfied``, by :func:`total_effects`'s intervention.

    ``satisfied`` is ``overall >= satisfied_threshold`` of the same forced
    journeys: penalty and reward are differences of the share satisfied (as a
    probability, 0.1 = 10 percentage points), classed against
    :data:`SATISFIED_EFFECT_THRESHOLD`.
    """
    return _intervention_effects(cfg)["total_satisfied"]


def churned_total_effects(cfg: GeneratorConfig) -> dict[str, dict[str, float | str]]:
    """Each touchpoint's total effect on ``churned``, by :func:`total_effects`'s intervention.

    The forced journeys churn by the generator's own churn mechanism (the
    exponential churn time after the journey, or the time-varying hazard on the
    event history with ``churn_time_varying``), with the same churn-time draws:
    a low score moves a journey's negative moments and negative end, and with
    them its hazard. Penalty and reward are differences of the share churned (a
    probability): a *positive* penalty is a low score that raises churn.
    Churning is the bad outcome, so no class is stated.
    """
    return _intervention_effects(cfg)["total_churned"]


def moved_total_effects(cfg: GeneratorConfig) -> dict[str, dict[str, float | str]]:
    """Each touchpoint's total effect on ``overall`` over the journeys an action moves.

    The focus plan's fix moves the journeys that score the touchpoint low to a
    middle score, its excel those in the middle to a high one. ``penalty`` is the
    mean ``overall`` of the journeys that scored it low minus their mean with a
    middle score there; ``reward`` the mean of the journeys that scored it in the
    middle with a high score (4-5, in the proportions the data have) minus their
    own. Everything else is kept, as in :func:`total_effects`; the journeys moved
    are not typical ones (a customer who scores one touchpoint low often scores
    others low), so these differ from the averages over all scoring journeys.
    """
    return _intervention_effects(cfg)["total_moved"]


#: The class boundary of the effects on ``satisfied`` in truth.json: 10 percentage points.
SATISFIED_EFFECT_THRESHOLD = 0.10

Effects = dict[str, dict[str, float | str]]

#: The total effects truth.json states per touchpoint (:func:`_intervention_effects`).
TOTAL_KEYS = (
    "total",
    "total_satisfied",
    "total_churned",
    "total_moved",
    "total_moved_satisfied",
    "total_by_segment",
)

#: The bands the interventions set, and the scores of each.
_BAND_SCORES = (("low", (1.0, 2.0)), ("middle", (3.0,)), ("high", (4.0, 5.0)))


def _intervention_effects(cfg: GeneratorConfig) -> dict[str, dict[str, Any]]:
    """Total effects on ``overall``, ``satisfied`` and ``churned``, over all scoring journeys.

    Also the effects on ``overall`` and ``satisfied`` over the journeys moved
    (:func:`moved_total_effects`) and on ``overall`` per segment. Keyed by
    :data:`TOTAL_KEYS`, then touchpoint, as in truth.json.
    """
    d = _Draws(cfg.seed)
    n = min(cfg.n_journeys, TOTAL_EFFECT_JOURNEYS)
    ch = _make_chunk(cfg, d, 0, n)
    ev = _events(cfg, d, ch, {})
    observed = _outcomes(cfg, d, ch, ev)
    found: dict[str, dict[str, Any]] = {key: {} for key in TOTAL_KEYS}
    for k, tp in enumerate(cfg.touchpoints):
        scored = ~np.isnan(ch.score[:, k])
        forced = {band: _forced(cfg, d, ch, ev, k, scored, values) for band, values in _BAND_SCORES}
        means = {band: _forced_mean(runs, scored) for band, runs in forced.items()}
        for j, (key, threshold) in enumerate(
            (("total", _EFFECT_THRESHOLD), ("total_satisfied", SATISFIED_EFFECT_THRESHOLD))
        ):
            penalty = round(means["low"][j] - means["middle"][j], 4)
            reward = round(means["high"][j] - means["middle"][j], 4)
            found[key][tp.name] = {
                "penalty": penalty,
                "reward": reward,
                "class": planted_class(penalty, reward, threshold),
            }
        found["total_churned"][tp.name] = {  # + 0.0: no "-0.0" where the shares cancel
            "penalty": round(means["low"][2] - means["middle"][2], 4) + 0.0,
            "reward": round(means["high"][2] - means["middle"][2], 4) + 0.0,
        }
        found["total_by_segment"][tp.name] = _segment_effects(cfg, ch, forced, scored)
        low = scored & (ch.score[:, k] <= 2.0)
        middle = scored & (ch.score[:, k] == 3.0)
        for j, key in enumerate(("total_moved", "total_moved_satisfied")):
            found[key][tp.name] = {
                "penalty": _moved(observed[j], _blend(forced["middle"], j), low),
                "reward": _moved(_blend(forced["high"], j), observed[j], middle),
                "journeys_low": int(low.sum()),
                "journeys_middle": int(middle.sum()),
            }
    return found


#: Journeys over which :func:`total_effects` averages.
TOTAL_EFFECT_JOURNEYS = 20_000

#: One forced run: the share of journeys given the value, and their ``overall``,
#: ``satisfied`` and ``churned`` (all journeys of the chunk, as floats).
_Forced = list[tuple[float, tuple[F64, F64, F64]]]


def _outcomes(cfg: GeneratorConfig, d: _Draws, ch: _Chunk, ev: _Events) -> tuple[F64, F64, F64]:
    """``overall``, ``satisfied`` and ``churned`` of every journey of the chunk, as floats."""
    feats = _memory_features(ev, ch.jg.size)
    overall = _overall(cfg, d, ch, feats)
    if cfg.churn_time_varying:
        churned, _ = _churn_path(cfg, d, ch, ev, {})
    else:
        contact = (ev.code > len(cfg.touchpoints)) & (
            ev.code <= len(cfg.touchpoints) + len(cfg.contacts)
        )
        contacts = np.bincount(ev.rows[contact], minlength=ch.jg.size).astype(np.float64)
        churned, _ = _churn(cfg, d, ch, feats, contacts)
    satisfied = (overall >= cfg.satisfied_threshold).astype(np.float64)
    return overall, satisfied, churned.astype(np.float64)


def _forced(
    cfg: GeneratorConfig,
    d: _Draws,
    ch: _Chunk,
    ev: _Events,
    k: int,
    scored: Bool,
    values: tuple[float, ...],
) -> _Forced:
    """The outcomes with touchpoint ``k`` set to each of ``values`` where scored, and the shares.

    The shares are those the values have among the journeys scoring ``k``.
    """
    if not scored.any():
        return []
    observed = ch.score[scored, k]
    counts = np.array([np.sum(observed == v) for v in values], dtype=np.float64)
    shares = counts / counts.sum() if counts.sum() > 0 else np.full(len(values), 1 / len(values))
    at_k = (ev.code == k) & ~np.isnan(ev.score)
    runs: _Forced = []
    for value, share in zip(values, shares, strict=True):
        score = ch.score.copy()
        score[scored, k] = value
        ev_score = np.where(at_k, value, ev.score)
        forced = _Events(ev.rows, ev.ts_s, ev.code, ev_score, ev.origin)
        runs.append((float(share), _outcomes(cfg, d, replace(ch, score=score), forced)))
    return runs


def _forced_mean(runs: _Forced, scored: Bool) -> tuple[float, float, float]:
    """Mean ``overall``, share satisfied and share churned of the journeys scoring it."""
    if not runs or not scored.any():
        return float("nan"), float("nan"), float("nan")
    means = [0.0, 0.0, 0.0]
    for share, outcomes in runs:
        for j, values in enumerate(outcomes):
            means[j] += share * float(values[scored].mean())
    return means[0], means[1], means[2]


def _segment_effects(
    cfg: GeneratorConfig, ch: _Chunk, forced: dict[str, _Forced], scored: Bool
) -> dict[str, dict[str, float]]:
    """Penalty and reward on ``overall`` over each segment's journeys scoring the touchpoint."""
    found = {}
    for s_i, segment in enumerate(cfg.segments):
        rows = scored & (ch.segment == s_i)
        means = {band: _forced_mean(runs, rows)[0] for band, runs in forced.items()}
        found[segment.name] = {
            "penalty": round(means["low"] - means["middle"], 4),
            "reward": round(means["high"] - means["middle"], 4),
        }
    return found


def _blend(runs: _Forced, j: int) -> F64:
    """Outcome ``j`` of each journey averaged over the forced values by their shares."""
    total = np.zeros_like(runs[0][1][j]) if runs else np.zeros(0)
    for share, outcomes in runs:
        total = total + share * outcomes[j]
    return total


def _moved(after: F64, before: F64, rows: Bool) -> float:
    """Mean of ``after − before`` over ``rows`` (rounded as truth.json states it); NaN for none."""
    if not rows.any() or after.size == 0 or before.size == 0:
        return float("nan")
    return round(float(np.mean(after[rows] - before[rows])), 4)


def _truth_touchpoints(cfg: GeneratorConfig) -> dict[str, Any]:
    effects = _intervention_effects(cfg)
    return {
        t.name: {
            "class": t.kind,
            "stage": t.stage,
            "penalty": t.penalty,
            "reward": t.reward,
            "direct": {"class": t.kind, "penalty": t.penalty, "reward": t.reward},
            **{key: found[t.name] for key, found in effects.items()},
            "initiated_by": t.initiated_by,
            "channel": t.channel,
            "p_present": t.p_present,
            "response_rate": t.response_rate,
            "failure_rate": t.failure_rate,
            "gap_hours_median": t.gap_hours,
            "gap_sigma": t.gap_sigma,
            "p_tie_with_previous": t.p_tie,
            "latent_mean": t.latent_mean,
            "score_probs_neutral_mood": _score_probs(cfg, t.latent_mean),
        }
        for t in cfg.touchpoints
    }


def _truth_model(cfg: GeneratorConfig) -> dict[str, Any]:
    return {
        "memory": {
            "formula": (
                "overall = clip(round(intercept + peak*w_peak + end*w_end + mean*w_mean"
                " + trough*w_trough + sum(penalty_tp*[score_tp<=2] + reward_tp*[score_tp>=4])"
                " + recovered_effect*recovered + unrecovered_effect*unrecovered"
                " + noise_sd*N(0,1), 1), 1, 10)"
            ),
            "intercept": cfg.intercept,
            "weights": {
                "peak": cfg.w_peak,
                "end": cfg.w_end,
                "mean": cfg.w_mean,
                "trough": cfg.w_trough,
            },
            "noise_sd": cfg.noise_sd,
            "valence": "(score - 3) / 2 over the scored events of the journey",
            "features": {
                "peak": "valence with the largest |valence|; ties: the negative one wins",
                "end": "valence of the last scored event in (ts, seq) order",
                "mean": "mean valence",
                "trough": "lowest valence",
                "no_scores": "all four features are 0 for a journey without scored events",
            },
            "touchpoint_dummies": "[score_tp<=2], [score_tp>=4] on the journey's recorded score",
        },
        "churn": {
            "model": "exponential time to churn after journey end, days",
            "base_hazard_per_day": cfg.churn_base_per_day,
            "log_hazard": {
                "per_negative_moment": cfg.churn_per_negative,
                "negative_end": cfg.churn_negative_end,
                "per_unsolicited_contact": cfg.churn_per_contact,
                "recovered_failure": cfg.churn_recovered,
                "unrecovered_failure": cfg.churn_unrecovered,
                "segment": {s.name: s.churn_effect for s in cfg.segments},
            },
            "negative_moment": "scored event with score <= 2 (recovery contacts included)",
            "negative_end": "end valence < 0",
            "unsolicited_contact": "event of a contact touchpoint: "
            + ", ".join(c.name for c in cfg.contacts),
            "horizon_days": cfg.horizon_days,
            "churn_days": "min(churn time, horizon_days); churned = churn time <= horizon_days",
            "time_varying": cfg.churn_time_varying,
            "time_varying_rule": "with time_varying: time from the journey's first event; after"
            " each event the covariates so far (negative moments, last scored event negative,"
            " contacts, recovery contacts scored >= 4 as recovered and <= 2 as unrecovered)",
        },
    }


def _truth_contacts(cfg: GeneratorConfig) -> dict[str, Any]:
    return {
        "hidden_windows": [
            {
                "label": w.label,
                "anchor": w.anchor,
                "first_day": w.first_day,
                "last_day": w.last_day,
                "day_offset": "floor((contact ts - anchor ts) / 1 day)",
                "excess_contacts_per_journey": w.excess_rate,
                "excess_contacts_per_day": w.excess_rate / (w.last_day - w.first_day + 1),
                "contact_mix": dict(w.mix),
                "initiated_by": "customer",
                "effect_on_overall": w.overall_effect,
                "effect_on_overall_rule": "added once to journeys with >= 1 extra contact",
            }
            for w in cfg.hidden_windows
        ],
        "baseline_contacts": {
            "per_journey_day": cfg.baseline_contacts_per_day,
            "spread": "uniform from the first designed touchpoint until tail_days after the last",
            "tail_days": cfg.baseline_tail_days,
            "contact_mix": {c.name: c.baseline_share for c in cfg.contacts},
            "contact_channels": {c.name: c.channel for c in cfg.contacts},
            "preferred_channel_share": cfg.preferred_channel_share,
        },
        "recovery": {
            "touchpoint": RECOVERY,
            "failure_rates": {t.name: t.failure_rate for t in cfg.touchpoints if t.failure_rate},
            "failure_score": 1,
            "at_most_one_failure_per_journey": True,
            "recovered_share": cfg.recovered_share,
            "recovered_score_probs": {"4": 0.4, "5": 0.6},
            "unrecovered_score_probs": {"1": 0.5, "2": 0.5},
            "delay_hours_mean": cfg.recovery_delay_hours,
            "effect_on_overall": {
                "recovered": cfg.recovered_effect,
                "unrecovered": cfg.unrecovered_effect,
            },
            "severity": (
                {
                    "column": SEVERITY_COLUMN,
                    "severe_share": cfg.severe_share,
                    "severe_recovered_effect_on_overall": cfg.severe_recovered_effect,
                    "rule": "a failure is severe with probability severe_share; a recovered"
                    " severe failure adds severe_recovered_effect to overall: see"
                    " realised.recovery_total_effect_by_severity",
                }
                if cfg.severe_share > 0
                else None
            ),
            "recovered_rule": "journey has a recovery event with score >= 4",
            "total_effect_rule": "mean of overall minus overall without the failure (natural"
            " score at the failed touchpoint, no recovery contact, same draws) over the failed"
            " journeys of each group: see realised.recovery_total_effect",
        },
    }


def _by_severity(cfg: GeneratorConfig, stats: dict[str, float]) -> dict[str, Any] | None:
    """Total effects of a recovered and an unrecovered failure per planted severity level."""
    if cfg.severe_share <= 0:
        return None
    out: dict[str, Any] = {}
    for level in ("severe", "minor"):
        out[level] = {
            key: stats.get(f"effect_{key}_{level}", 0)
            / 10
            / max(stats.get(f"n_{key}_{level}", 0), 1)
            for key in ("recovered", "unrecovered")
        }
        out[level]["failures"] = int(
            stats.get(f"n_recovered_{level}", 0) + stats.get(f"n_unrecovered_{level}", 0)
        )
    return out


def _truth(cfg: GeneratorConfig, stats: dict[str, float]) -> dict[str, Any]:
    n = cfg.n_journeys
    config = asdict(cfg)
    config["start"] = cfg.start.isoformat()
    windows = {
        w.label: int(stats.get(f"contacts_{i}", 0)) for i, w in enumerate(cfg.hidden_windows, 1)
    }
    return {
        "generator": {
            "module": "peakend.generate",
            "truth_version": 1,
            "seed": cfg.seed,
            "effects": "touchpoints: class/penalty/reward are the planted direct effects "
            "(also under 'direct'); 'total' adds what a score does through the remembered "
            "peak, end, mean and trough, by intervention (see total_effects); "
            "'total_satisfied' is the same intervention's effect on the share satisfied "
            f"(a probability; classes at {SATISFIED_EFFECT_THRESHOLD} = 10 percentage points). "
            "A moments analysis without adjustment estimates total effects; adjusted for the "
            "memory features, direct ones.",
            "config": config,
        },
        "counts": {"n_journeys": n, "n_events": int(stats["n_events"])},
        "journeys": {
            "segments": {
                s.name: {
                    "share": s.share,
                    "mood_shift": s.mood_shift,
                    "effect_scale": s.effect_scale,
                }
                for s in cfg.segments
            },
            "mood": "N(segment mood_shift, 1) per journey; drives every score",
            "customers": {
                "journeys_per_customer": cfg.journeys_per_customer,
                "n_customers": _n_customers(cfg),
                "customer_mood_corr": cfg.customer_mood_corr,
                "customer_overall_sd": cfg.customer_overall_sd,
                "note": "mood = sqrt(1 - corr) * journey draw + sqrt(corr) * customer draw; "
                "overall += customer_overall_sd * customer draw",
            },
            "mood_loading": cfg.mood_loading,
            "thresholds": list(cfg.thresholds),
            "channel_preferences": dict(cfg.channel_preferences),
            "stage_order": [t.name for t in cfg.touchpoints],
        },
        "touchpoints": _truth_touchpoints(cfg),
        **_truth_model(cfg),
        **_truth_contacts(cfg),
        "outcomes": {
            "overall": "continuous 1-10, one decimal (see memory)",
            "satisfied": f"overall >= {cfg.satisfied_threshold}",
            "recommend": "clip(rint((overall - 1) * 10 / 9 + recommend_noise_sd * N(0,1)), 0, 10)",
            "recommend_noise_sd": cfg.recommend_noise_sd,
        },
        "realised": {
            "events_per_journey": stats["n_events"] / n,
            "scored_events": int(stats["scored_events"]),
            "tie_journey_share": stats["tie_journeys"] / n,
            "clipped_overall_share": stats["clipped"] / n,
            "overall_mean": stats["overall_sum"] / n,
            "satisfied_share": stats["satisfied"] / n,
            "churned_share": stats["churned"] / n,
            "failures": int(stats["failures"]),
            "recovered": int(stats["recovered"]),
            "recovery_total_effect": {
                "recovered": stats.get("effect_recovered", 0) / 10 / max(stats["recovered"], 1),
                "unrecovered": stats.get("effect_unrecovered", 0)
                / 10
                / max(stats["failures"] - stats["recovered"], 1),
            },
            "recovery_total_effect_by_severity": _by_severity(cfg, stats),
            # rounded: a sum over chunks differs in the last bits with the chunk size
            "avoidable_churn": (
                round(stats["avoidable_churn"], 4) if "avoidable_churn" in stats else None
            ),
            "avoidable_churn_rule": "time_varying only: expected churners over the observed"
            " time (to churn or horizon) that the hazard owes to negative moments, a negative"
            " last ending and badly recovered failures: sum of hazard * (1 - exp(-their"
            " log-hazard)) * time",
            "baseline_contacts": int(stats.get("contacts_0", 0)),
            "window_contacts": windows,
        },
        "proactive": _truth_proactive(cfg, stats),
    }


def _truth_proactive(cfg: GeneratorConfig, stats: dict[str, float]) -> list[dict[str, Any]]:
    """The planted proactive contacts and their exact expected effects per treated journey."""
    result = []
    for i, p in enumerate(cfg.proactive):
        w = next(w for w in cfg.hidden_windows if w.label == p.window)
        rate, kept = w.excess_rate, 1.0 - p.deflection
        fewer_hits = math.exp(-rate * kept) - math.exp(-rate)
        result.append(
            {
                "window": p.window,
                "anchor": w.anchor,
                "touchpoint": p.touchpoint,
                "channel": p.channel,
                "initiated_by": "company",
                "cost": p.cost,
                "day_offset": p.day,
                "treated_share_by_segment": dict(p.shares),
                "deflection": p.deflection,
                "window_contacts_per_journey": {"untreated": rate, "treated": rate * kept},
                "contacts_deflected_per_1000_treated": 1000.0 * rate * p.deflection,
                "direct_effect_on_overall": p.overall_effect,
                "effect_on_overall": p.overall_effect + w.overall_effect * -fewer_hits,
                "effect_on_overall_rule": "direct effect + window effect_on_overall * change in"
                " P(>= 1 extra contact); before rounding overall to one decimal and clipping",
                "treated_journeys": int(stats.get(f"proactive_{i}", 0)),
            }
        )
    return result
