"""Hidden moments on synthetic journeys with planted windows and proactive contacts.

One dataset of 6,000 journeys is generated per module with every planted
effect switched on (window effects on ``overall``, proactive contacts, contact
verbatims); the tests check what is found against ``truth.json``.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from scipy import sparse, stats
from statsmodels.stats.multitest import multipletests

import peakend
from peakend.errors import ConfigError, DataError
from peakend.generate import DEFAULT_PROACTIVE, DEFAULT_WINDOWS, GeneratorConfig, generate
from peakend.models.hidden.analysis import HiddenMomentsResult, find_hidden_moments
from peakend.models.hidden.curves import benjamini_hochberg, contact_rule
from peakend.models.hidden.effects import covariate_matrix
from peakend.models.hidden.interventions import (
    AssumedRange,
    load_classics,
    match_classic,
    parse_classics,
)
from peakend.models.hidden.schedule import ProactiveRule, due_actions
from peakend.models.hidden.words import Word, distinctive_words, tokens
from peakend.views import chart_rows
from peakend.views.hidden import hidden_timeline


def planted_config(n_journeys: int, seed: int) -> GeneratorConfig:
    windows = tuple(dataclasses.replace(w, overall_effect=-0.3) for w in DEFAULT_WINDOWS)
    return dataclasses.replace(
        GeneratorConfig(),
        n_journeys=n_journeys,
        seed=seed,
        hidden_windows=windows,
        proactive=DEFAULT_PROACTIVE,
        contact_texts=True,
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[peakend.Dataset, dict[str, Any]]:
    ds = generate(tmp_path_factory.mktemp("hidden"), planted_config(6_000, 11))
    truth = json.loads(ds.truth_path.read_text(encoding="utf-8"))
    return peakend.load(ds.spec_path), truth


@pytest.fixture(scope="module")
def result(planted: tuple[peakend.Dataset, dict[str, Any]]) -> HiddenMomentsResult:
    return find_hidden_moments(planted[0])


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def test_every_planted_window_is_found_and_nothing_else(
    result: HiddenMomentsResult, planted: tuple[peakend.Dataset, dict[str, Any]]
) -> None:
    truth = planted[1]["hidden_windows"]
    found = [(m.moment.anchor, m.moment.first_offset, m.moment.last_offset) for m in result.moments]
    for w in truth:
        assert any(
            a == w["anchor"] and overlaps((f, last), (w["first_day"], w["last_day"]))
            for a, f, last in found
        ), f"planted window {w['label']} not found in {found}"
    assert len(found) == len(truth), found


def test_excess_interval_covers_the_planted_rate_after_deflection(
    result: HiddenMomentsResult, planted: tuple[peakend.Dataset, dict[str, Any]]
) -> None:
    truth = planted[1]
    for w in truth["hidden_windows"]:
        moment = next(m.moment for m in result.moments if m.moment.anchor == w["anchor"])
        rate = w["excess_contacts_per_journey"]
        for p in truth["proactive"]:
            if p["window"] == w["label"]:
                share = p["treated_journeys"] / result.anchor_journeys[w["anchor"]]
                rate -= share * rate * p["deflection"]
        iv = moment.excess_per_1000
        assert iv.low <= 1000 * rate <= iv.high, (w["label"], iv, 1000 * rate)


def test_proactive_effect_intervals_cover_the_planted_effects(
    result: HiddenMomentsResult, planted: tuple[peakend.Dataset, dict[str, Any]]
) -> None:
    for p in planted[1]["proactive"]:
        report = next(m for m in result.moments if m.moment.anchor == p["anchor"])
        effect = next(e for e in report.proactive_effects if e.touchpoint == p["touchpoint"])
        deflected = -effect.contacts_per_1000.value
        assert effect.contacts_per_1000.low <= -p["contacts_deflected_per_1000_treated"]
        assert -p["contacts_deflected_per_1000_treated"] <= effect.contacts_per_1000.high
        overall = effect.outcomes["overall"]
        assert overall.low <= p["effect_on_overall"] <= overall.high, (p["touchpoint"], overall)
        assert deflected > 0
        assert report.intervention.basis == "observed"
        assert report.intervention.observed_touchpoint == p["touchpoint"]


def test_window_without_proactive_contacts_says_its_effect_is_assumed(
    result: HiddenMomentsResult,
) -> None:
    renewal = next(m for m in result.moments if m.moment.anchor == "renewal_offer")
    assert renewal.intervention.basis == "assumed"
    assert "assumed" in renewal.intervention.note
    deflected = renewal.intervention.contacts_deflected_per_1000
    excess = renewal.moment.excess_per_1000.value
    # a range over the assumed share (25-75 %), not a sampling interval
    assert isinstance(deflected, AssumedRange)
    assert (deflected.low, deflected.value, deflected.high) == pytest.approx(
        (0.25 * excess, 0.5 * excess, 0.75 * excess)
    )
    assert "assumed" in renewal.intervention.to_dict()["contacts_deflected_per_1000"]
    # the score change scales the per-journey gap by journeys moved, not by contacts
    gap = next(g for g in renewal.outcome_gaps if g.outcome == "overall").difference.value
    change = renewal.intervention.score_change
    assert isinstance(change, AssumedRange)
    assert change.value == pytest.approx(-0.5 * renewal.moment.share_affected.value * gap)


def test_windows_match_their_classics_and_words(result: HiddenMomentsResult) -> None:
    expected = {
        "subscription_started": ("post-purchase doubt", "twijfel"),
        "first_invoice": ("first-invoice worry", "factuur"),
        "renewal_offer": ("renewal price check", "verlenging"),
    }
    for m in result.moments:
        classic, word = expected[m.moment.anchor]
        assert m.classic is not None and m.classic.name == classic
        assert word in [w.word for w in m.words]


def test_contacts_in_a_window_go_with_a_lower_overall(result: HiddenMomentsResult) -> None:
    for m in result.moments:
        gap = next(g for g in m.outcome_gaps if g.outcome == "overall")
        assert gap.difference.high < 0
        # the gap uses every journey open through the window; the excess only the measuring half
        assert 1.5 * m.moment.n_journeys < gap.n_with + gap.n_without < 2.5 * m.moment.n_journeys


def test_curves_have_one_row_per_anchor_and_offset(result: HiddenMomentsResult) -> None:
    curves = result.curves
    assert curves.num_rows == len(result.anchor_journeys) * result.horizon
    q = curves["q_value"].to_numpy()
    assert np.all((q >= curves["p_value"].to_numpy() - 1e-12) & (q <= 1))
    assert not any(pc.fill_null(pc.less(curves["at_risk"], 0), False).to_pylist())
    # one-sided normal p-values of the z-scores on tested offsets, 1 elsewhere
    tested = curves["tested"].to_numpy(zero_copy_only=False)
    p, z = curves["p_value"].to_numpy(), curves["z"].to_numpy()
    np.testing.assert_allclose(p[tested], stats.norm.sf(z[tested]), rtol=1e-9)
    assert np.all(p[~tested] == 1.0)
    flagged = curves["flagged"].to_numpy(zero_copy_only=False)
    assert np.all(curves["contacts"].to_numpy()[flagged] > curves["expected"].to_numpy()[flagged])


def test_result_to_dict_is_json_ready(result: HiddenMomentsResult) -> None:
    d = json.loads(json.dumps(result.to_dict(), allow_nan=True))
    assert d["moments"][0]["excess_per_1000"]["n"] > 0
    assert {"value", "low", "high", "n"} <= set(d["moments"][0]["share_affected"])
    assert {"anchor", "offset", "channel", "contacts"} == set(d["channels"][0])
    assert any(r["touchpoint"] == "installation" for r in d["designed"])


def test_timeline_shades_each_hidden_moment(result: HiddenMomentsResult) -> None:
    bands = [r for r in chart_rows(hidden_timeline(result, "first_invoice")) if "x0" in r]
    assert len(bands) == 1
    assert bands[0]["x0"] == -0.5
    with pytest.raises(ConfigError, match="was not tested"):
        hidden_timeline(result, "nope")


def test_benjamini_hochberg_matches_statsmodels() -> None:
    p = np.random.default_rng(3).uniform(size=300) ** 4
    # reference: statsmodels.stats.multitest.multipletests(p, method="fdr_bh")
    np.testing.assert_allclose(
        benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], atol=1e-12
    )


def test_distinctive_words_prefer_what_only_the_window_says() -> None:
    window = Counter({"factuur te hoog": 40, "adres wijzigen": 5})
    rest = Counter({"adres wijzigen": 200, "wachtwoord vergeten": 100})
    words = [w.word for w in distinctive_words(window, rest)]
    assert words[:2] == ["factuur", "hoog"] or words[:2] == ["hoog", "factuur"]
    assert "adres" not in words
    assert distinctive_words(Counter(), rest) == []


def test_classics_library_loads_and_matches_by_anchor_and_window() -> None:
    names = {c.name for c in load_classics()}
    assert {"post-purchase doubt", "first-invoice worry", "delivery anxiety"} <= names
    assert {"waiting-for-response silence", "after-complaint silence"} <= names
    match = match_classic("Invoice_Sent", 0, 3, [])
    assert match is not None and match.name == "first-invoice worry"
    assert match_classic("website_visit", 0, 3, []) is None
    # whole words: "assigned" is not "signed"; no text is no evidence
    assert match_classic("Ticket assigned", 1, 4, []) is None
    assert match_classic("contract_signed", 1, 4, []).score == pytest.approx(0.8)  # type: ignore[union-attr]
    assert match_classic("Factuurverzending", 0, 5, []).name == "first-invoice worry"  # type: ignore[union-attr]


def test_each_classic_description_picks_its_own_classic_with_score_one() -> None:
    for c in load_classics():
        words = [Word(w, 1, 3.0) for w in tokens(c.description)]
        anchor = f"{c.anchors[0]}_event"
        match = match_classic(anchor, c.first_day, c.last_day, words)
        assert match is not None and match.name == c.name and match.score == 1.0
    with pytest.raises(ConfigError, match="malformed"):
        parse_classics('[[classic]]\nname = "x"\n')


def test_no_customer_touchpoints_is_a_data_error_that_says_what_to_declare() -> None:
    catalogue = pa.table(
        {"touchpoint": ["a", "b"], "stage": [1, 2], "initiated_by": ["company", None]}
    )
    with pytest.raises(DataError, match="initiated_by"):
        contact_rule(catalogue)
    with pytest.raises(ConfigError, match="unknown touchpoints"):
        contact_rule(catalogue, anchors=["zzz"])


def test_bad_parameters_are_config_errors(planted: tuple[peakend.Dataset, Any]) -> None:
    data = planted[0]
    with pytest.raises(ConfigError, match="unit"):
        find_hidden_moments(data, unit="week")
    with pytest.raises(ConfigError, match="horizon"):
        find_hidden_moments(data, horizon=1)
    with pytest.raises(ConfigError, match="unknown outcome"):
        find_hidden_moments(data, score_outcome="nps")
    with pytest.raises(ConfigError, match="both anchor and contact"):
        find_hidden_moments(data, anchors=["chat"], contacts=["chat"])


def test_hour_unit_finds_the_invoice_window_in_hours(planted: tuple[peakend.Dataset, Any]) -> None:
    # the baseline is the median hour, so the horizon must be more than twice the window
    res = find_hidden_moments(planted[0], unit="hour", horizon=336, anchors=["first_invoice"])
    assert [m.moment.anchor for m in res.moments] == ["first_invoice"]
    moment = res.moments[0].moment
    assert moment.unit == "hour" and moment.first_offset <= 2 and 100 <= moment.last_offset < 130


# ---------------------------------------------------------------- schedule
def test_due_actions_list_journeys_whose_anchor_was_day_days_ago(
    planted: tuple[peakend.Dataset, Any],
) -> None:
    data = planted[0]
    ev = data.events
    anchors = ev.filter(pc.equal(ev["touchpoint"], "subscription_started"))
    day = anchors["ts"][0].as_py().date()
    rule = ProactiveRule.parse("subscription_started+2d:phone:confirm the choice")
    due = due_actions(data, [rule], day + timedelta(days=2))
    dates = [t.date() for t in anchors["ts"].to_pylist()]
    assert due.num_rows == sum(d == day for d in dates) > 0
    assert set(due["goal"].to_pylist()) == {"confirm the choice"}
    assert set(due["due_date"].to_pylist()) == {day + timedelta(days=2)}


def test_due_actions_skip_journeys_already_contacted(planted: tuple[peakend.Dataset, Any]) -> None:
    data = planted[0]
    base = ProactiveRule("subscription_started", 0, "phone")
    skip = dataclasses.replace(base, skip_if="confirmation_call")
    ev = data.events
    first = ev.filter(pc.equal(ev["touchpoint"], "confirmation_call"))["ts"][0].as_py()
    on = first.date() - timedelta(days=1)
    assert due_actions(data, [skip], on).num_rows < due_actions(data, [base], on).num_rows


def test_rule_text_that_cannot_be_read_says_how_to_write_it() -> None:
    assert ProactiveRule.parse("first_invoice + 0d : email").day == 0
    with pytest.raises(ConfigError, match="ANCHOR"):
        ProactiveRule.parse("first_invoice in two days")


def test_schedule_rejects_unknown_anchor_and_date(planted: tuple[peakend.Dataset, Any]) -> None:
    with pytest.raises(ConfigError, match="unknown touchpoint"):
        due_actions(planted[0], [ProactiveRule("nope", 1, "phone")], "2024-01-01")
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        due_actions(planted[0], [ProactiveRule("quote", 1, "phone")], "1 jan")


# ---------------------------------------------------------------- generator
def test_generator_default_plants_no_proactive_contacts(tmp_path: Path) -> None:
    ds = generate(tmp_path, GeneratorConfig(n_journeys=300, seed=2))
    truth = json.loads(ds.truth_path.read_text(encoding="utf-8"))
    assert truth["proactive"] == []
    events = peakend.load(ds.spec_path).events
    assert events["text"].null_count == events.num_rows
    assert all(w["effect_on_overall"] == 0.0 for w in truth["hidden_windows"])


def test_generator_rejects_proactive_contact_for_an_unknown_window() -> None:
    bad = dataclasses.replace(DEFAULT_PROACTIVE[0], window="nope")
    with pytest.raises(ConfigError, match="matches no window"):
        GeneratorConfig(proactive=(bad,))


def test_contacts_after_signing_sound_uncertain(result: HiddenMomentsResult) -> None:
    pytest.importorskip("peakend.text")
    doubt = next(m for m in result.moments if m.moment.anchor == "subscription_started")
    assert doubt.emotion is not None
    assert "uncertainty" in doubt.emotion.emotions


def test_covariates_read_numbers_stored_as_text_and_one_hot_the_rest() -> None:
    table = pa.table(
        {"amount": ["100", "250", None], "segment": ["a", "b", "a"], "v": [0.5, None, 1.0]}
    )
    x, names = covariate_matrix(table, ["amount", "segment", "v"])
    assert names == ["amount", "amount missing", "segment=b", "v", "v missing"]
    np.testing.assert_array_equal(x[:, 0], [100.0, 250.0, 0.0])
    np.testing.assert_array_equal(x[:, 2], [0.0, 1.0, 0.0])


def test_a_text_column_of_numbers_with_one_word_far_down_is_a_category() -> None:
    """The first values read as numbers, a later one does not: the column is categorical."""
    values = [str(i % 7) for i in range(2_500)]
    values[2_000] = "n/a"
    table = pa.table(
        {"amount": values, "v": [float(i % 3) if i % 5 else None for i in range(2_500)]}
    )
    x, names = covariate_matrix(table, ["amount", "v"])
    levels = sorted(set(values))[1:]
    assert names == [*(f"amount={v}" for v in levels), "v", "v missing"]
    text = np.array(values)
    expected = [(text == level).astype(np.float64) for level in levels]
    v = np.array([float(i % 3) if i % 5 else np.nan for i in range(2_500)])
    expected += [np.where(np.isnan(v), 0.0, v), np.isnan(v).astype(np.float64)]
    np.testing.assert_array_equal(x, np.column_stack(expected))
    assert x.flags.c_contiguous


def test_categories_are_coded_as_their_text_missing_ones_as_none() -> None:
    """Text columns (coded by Arrow) and others (value by value) give the same levels."""
    table = pa.table(
        {
            "segment": pa.chunked_array([["b", None], ["a", "b", "None"]]),
            "flag": [True, False, None, True, True],
        }
    )
    x, names = covariate_matrix(table, ["segment", "flag"])
    assert names == ["segment=a", "segment=b", "flag=None", "flag=True"]
    np.testing.assert_array_equal(x[:, 0], [0.0, 0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(x[:, 1], [1.0, 0.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(x[:, 2], [0.0, 0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(x[:, 3], [1.0, 0.0, 0.0, 1.0, 1.0])


def test_a_recovery_after_a_failed_invoice_is_reactive_and_not_a_suggestion(
    result: HiddenMomentsResult,
) -> None:
    # a recovery follows a failure a day later on average: inside the outcome window, so it
    # is no treatment at all; the few in the first hour are marked reactive
    invoice = next(m for m in result.moments if m.moment.anchor == "first_invoice")
    recovery = [e for e in invoice.proactive_effects if e.touchpoint == "recovery"]
    assert all(e.reactive for e in recovery)
    assert not any(e.reactive for e in invoice.proactive_effects if e.touchpoint != "recovery")
    assert invoice.intervention.observed_touchpoint == "invoice_explainer"


def test_row_order_of_the_events_does_not_change_the_curves(
    planted: tuple[peakend.Dataset, Any], result: HiddenMomentsResult
) -> None:
    data = planted[0]
    shuffled = data.events.take(np.random.default_rng(0).permutation(data.events.num_rows))
    again = find_hidden_moments(dataclasses.replace(data, events=shuffled))
    assert again.curves.select(["anchor", "offset", "contacts", "at_risk"]).equals(
        result.curves.select(["anchor", "offset", "contacts", "at_risk"])
    )
    assert [m.moment.label for m in again.moments] == [m.moment.label for m in result.moments]


def test_an_anchor_without_excess_contacts_gives_no_moment(
    planted: tuple[peakend.Dataset, Any],
) -> None:
    quiet = find_hidden_moments(planted[0], anchors=["review_invitation"])
    assert quiet.moments == ()
    assert quiet.anchor_journeys["review_invitation"] > 1000
    assert not any(quiet.curves["flagged"].to_pylist())


def test_excess_per_segment_follows_the_planted_treatment_shares(
    result: HiddenMomentsResult, planted: tuple[peakend.Dataset, dict[str, Any]]
) -> None:
    truth = planted[1]
    invoice = next(m for m in result.moments if m.moment.anchor == "first_invoice")
    plan = next(p for p in truth["proactive"] if p["anchor"] == "first_invoice")
    rate = next(w for w in truth["hidden_windows"] if w["anchor"] == "first_invoice")
    for group, share in plan["treated_share_by_segment"].items():
        expected = 1000 * rate["excess_contacts_per_journey"] * (1 - share * plan["deflection"])
        iv = invoice.segments["segment"][group]
        se = (iv.high - iv.low) / (2 * 1.959964)
        # two groups, one seed: a 3-standard-error band fails in 0.3 % of seeds
        assert abs(iv.value - expected) < 3 * se, (group, iv, expected)
    groups = invoice.segments["segment"]
    assert groups["business"].value < groups["consumer"].value  # more business journeys treated


def test_journeys_without_planted_windows_give_no_hidden_moment(tmp_path: Path) -> None:
    config = dataclasses.replace(planted_config(6_000, 12), hidden_windows=(), proactive=())
    data = peakend.load(generate(tmp_path, config).spec_path)
    null = find_hidden_moments(data)
    assert len(null.anchor_journeys) >= 6
    assert null.moments == ()


def test_the_summary_never_leads_with_a_same_instant_window(result: HiddenMomentsResult) -> None:
    from peakend.report.hidden import leading_moment, summary_sentence

    first = result.moments[0]
    artefact = dataclasses.replace(
        first,
        moment=dataclasses.replace(first.moment, anchor="approved", first_offset=0, last_offset=0),
        near_anchor=0.95,
    )
    faked = dataclasses.replace(result, moments=(artefact, *result.moments))
    lead = leading_moment(faked)
    assert lead is not None and lead.moment.anchor != "approved"
    assert "approved" not in summary_sentence(lead, "en")
    only = dataclasses.replace(result, moments=(artefact,))
    assert leading_moment(only) is None


def test_anchors_in_one_pass_equal_the_anchors_joined_with_the_ends() -> None:
    """The one-aggregation anchors table is the join of the anchors with the journeys' ends."""
    import ibis

    from peakend import engine
    from peakend.datasets import demo_spec_path
    from peakend.models.hidden.curves import (
        anchor_events,
        at_risk_anchors,
        contact_rule,
        journey_anchors,
        journey_ends,
    )

    data = peakend.load(demo_spec_path())
    _, events = engine.dataset_events(data)
    closing = ("renewal_offer",)
    rule = contact_rule(data.touchpoints, closing=closing)
    end = ibis.literal(events.ts.max().to_pyarrow().as_py())
    ends = journey_ends(events, rule, end, grace_s=3 * 86_400, closing=closing)
    expected = at_risk_anchors(anchor_events(events, rule), ends, 86_400, 14, seed=5)
    found = journey_anchors(
        events, rule, end, grace_s=3 * 86_400, closing=closing, unit_s=86_400, horizon=14, seed=5
    )
    order = ["journey_id", "anchor"]
    expected = expected.order_by(order).to_pyarrow()
    assert expected.num_rows > 5_000 and len(set(expected["anchor"].to_pylist())) > 2
    assert found.order_by(order).to_pyarrow().equals(expected)


def test_designed_offsets_are_exact_medians_in_any_event_order() -> None:
    """The chart marker of a designed touchpoint is the exact median offset after its
    anchor, whatever order the engine reads the events in."""
    from peakend import engine
    from peakend.models.hidden.analysis import designed_offsets

    rng = np.random.default_rng(7)
    offsets_days = rng.exponential(12.0, size=401)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i, days in enumerate(offsets_days):
        rows.append((f"j{i}", "first_invoice", start, 0))
        rows.append((f"j{i}", "installation", start + timedelta(days=float(days)), 1))
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        {
            "journey_id": pa.array(columns[0]),
            "touchpoint": pa.array(columns[1]),
            "ts": pa.array(columns[2], pa.timestamp("us", "UTC")),
            "seq": pa.array(columns[3], pa.int64()),
            "valence": pa.array([None] * len(rows), pa.float64()),
        }
    )
    catalogue = pa.table({"touchpoint": ["first_invoice", "installation"], "stage": [1, 2]})
    expected = float(np.median(np.round(offsets_days * 86_400e6) / 86_400e6))
    for order in (np.arange(len(rows)), rng.permutation(len(rows))):
        events = engine.events_table(engine.connect(), table.take(pa.array(order)))
        found = designed_offsets(events, catalogue, ["first_invoice"], "day").to_pylist()
        by_touchpoint = {r["touchpoint"]: r for r in found}
        assert by_touchpoint["first_invoice"]["median_offset"] == 0
        assert by_touchpoint["installation"]["n"] == len(offsets_days)
        assert by_touchpoint["installation"]["median_offset"] == pytest.approx(expected, abs=1e-9)


def test_outcome_lookup_equals_the_join() -> None:
    """The lookup of each window row's outcomes gives what Arrow's left join gives."""
    from peakend.models.hidden.effects import with_outcomes

    rows = pa.table(
        {"window_id": [0, 0, 0, 0], "journey_id": ["b", "a", "zz", "c"], "k": [1, 2, 3, 4]}
    )
    outcomes = pa.table(
        {
            "journey_id": ["a", "b", "c", "d"],
            "overall": [1.0, None, 3.0, 4.0],
            "segment": ["x", "y", None, "w"],
        }
    )
    repeated = pa.concat_tables([outcomes, outcomes.slice(0, 1)])  # a journey twice: the join
    chunked = pa.concat_tables([outcomes.slice(0, 2), outcomes.slice(2)])
    ids = pa.array(["a", None, "c", "d"])
    no_id = outcomes.set_column(0, "journey_id", ids)  # a journey without id: the join
    for table in (outcomes, repeated, chunked, no_id):
        expected = rows.join(table, "journey_id").sort_by("journey_id")
        assert with_outcomes(rows, table).sort_by("journey_id").equals(expected)
    for table in (outcomes, chunked):  # distinct ids: the rows in their order, as looked up
        at = pc.index_in(rows["journey_id"], value_set=table["journey_id"])
        looked_up = rows.append_column("overall", table["overall"].take(at))
        looked_up = looked_up.append_column("segment", table["segment"].take(at))
        assert with_outcomes(rows, table).equals(looked_up)


def test_outcome_gaps_by_lookup_equal_those_by_the_join() -> None:
    """Outcome gaps from the lookup of each journey's outcomes equal those from a join."""
    from peakend.models.hidden.effects import _gap, outcome_gaps

    rng = np.random.default_rng(3)
    ids = [f"j{i}" for i in range(210)]
    per_journey = pa.table(
        {
            "window_id": np.repeat([0, 1], 150),
            "journey_id": [ids[i] for i in rng.integers(0, 210, 300)],  # 10 have no outcome
            "k": rng.integers(0, 3, 300),
        }
    )
    overall = rng.normal(size=200)
    overall[::17] = np.nan
    outcomes = pa.table({"journey_id": ids[:200], "overall": overall})
    joined = per_journey.join(outcomes, "journey_id")
    found = outcome_gaps(per_journey, outcomes, ["overall"])
    assert sorted(found) == [0, 1]
    for w, gaps in found.items():
        rows = joined.filter(pc.equal(joined["window_id"], w))
        y = rows["overall"].to_numpy(zero_copy_only=False).astype(np.float64)
        hit = rows["k"].to_numpy() > 0
        ok = np.isfinite(y)
        expected = _gap("overall", y[ok & hit], y[ok & ~hit])
        assert gaps[0].n_with == expected.n_with and gaps[0].n_without == expected.n_without
        assert gaps[0].difference.value == pytest.approx(expected.difference.value, rel=1e-12)
        assert gaps[0].difference.high == pytest.approx(expected.difference.high, rel=1e-12)


def test_replicate_sums_row_by_row_equal_the_whole_product() -> None:
    """The customers' sums weighted block by block: the figures of one product per replicate."""
    from peakend.models.hidden.windows import _customer_totals
    from peakend.stats.counts import weighted_totals

    rng = np.random.default_rng(3)
    journeys, groups, horizon = 400, 150, 7
    customer = rng.integers(0, groups, journeys)
    last_full = rng.integers(0, horizon, journeys)
    counts = sparse.csr_matrix(rng.poisson(0.3, (journeys, horizon)).astype(np.float64))
    in_window = np.asarray(counts[:, 2:4].sum(axis=1)).ravel()
    through = (last_full >= 3).astype(np.float64)
    totals = _customer_totals(customer, groups, last_full, counts, in_window, through)
    w = rng.standard_exponential((5, groups))
    own = sparse.csr_matrix(
        (np.ones(journeys), (customer, np.arange(journeys))), (groups, journeys)
    )
    per_journey = sparse.hstack(
        [
            sparse.csr_matrix(
                (np.ones(journeys), (np.arange(journeys), last_full)), (journeys, horizon)
            ),
            counts,
            sparse.csr_matrix(
                np.column_stack([through, through * in_window, through * (in_window > 0)])
            ),
        ]
    )
    # the former way: the customers' sums as figures × customers, one product per replicate
    former = sparse.csr_matrix((own @ per_journey).T)
    one_by_one = np.array([former @ row for row in w])
    assert np.array_equal(weighted_totals(totals, w), one_by_one)
    expected = w @ (own @ per_journey).toarray()
    np.testing.assert_allclose(weighted_totals(totals, w), expected, rtol=1e-12)


def test_customers_renumbered_as_by_unique() -> None:
    """Customers renumbered by counting those present: ``np.unique``'s inverse."""
    from peakend.models.hidden.windows import _renumbered

    rng = np.random.default_rng(8)
    customer = rng.integers(0, 500, 2_000)
    for keep in (np.ones(customer.size, dtype=bool), rng.random(customer.size) < 0.3):
        expected = np.unique(customer[keep], return_inverse=True)[1]
        assert np.array_equal(_renumbered(customer[keep]), expected)
    assert _renumbered(np.array([], dtype=np.int64)).size == 0


def test_journey_rows_are_each_anchors_own_lookup() -> None:
    """One lookup for every anchor finds the rows a lookup per anchor finds (null: absent)."""
    from peakend.models.hidden.analysis import journey_rows

    table = pa.table({"journey_id": pa.chunked_array([["j1", "j2"], ["j3", "j4"]])})
    ids = {"b": pa.array(["j4", "j9", "j1"]), "a": pa.array(["j2"]), "c": pa.array([], pa.string())}
    found = journey_rows(ids, table)
    assert list(found) == ["b", "a", "c"]
    for anchor, journeys in ids.items():
        own = pc.index_in(journeys, value_set=table["journey_id"])
        assert found[anchor].to_pylist() == own.to_pylist()
    assert journey_rows({}, table) == {}


def test_a_window_estimate_does_not_depend_on_the_order_of_the_journeys() -> None:
    """The measuring half comes from the engine in no particular order: same figures."""
    from scipy import sparse

    from peakend.models.hidden.windows import AnchorSample, estimate_window

    rng = np.random.default_rng(5)
    n, horizon = 600, 14
    # several journeys of some customers, numbered 0..G-1 by id as the engine's rows are
    customer = np.unique(rng.integers(0, 250, n), return_inverse=True)[1]
    last_full = rng.integers(0, horizon, n)
    counts = sparse.random(n, horizon, density=0.2, random_state=6, format="csr")
    counts.data = np.ceil(3 * counts.data)
    ids = pa.array([f"j{i:04d}" for i in range(n)])
    quiet = np.ones(horizon, dtype=bool)
    quiet[3:5] = False

    def sample(order: np.ndarray) -> AnchorSample:
        return AnchorSample(ids.take(order), customer[order], last_full[order],
                            counts[order], np.linspace(0.8, 1.2, horizon), quiet)  # fmt: skip

    keep = rng.random(n) < 0.7
    shuffled = rng.permutation(n)
    for k in (None, keep):
        a = estimate_window(sample(np.arange(n)), 3, 4, keep=k, replicates=50, seed=1)
        b = estimate_window(sample(shuffled), 3, 4, keep=None if k is None else k[shuffled],
                            replicates=50, seed=1)  # fmt: skip
        assert a == b


def test_rows_by_journey_equal_the_sorted_rows() -> None:
    """Rows already in order are kept as they are: the table sorting them gives."""
    from peakend.models.hidden.analysis import by_journey

    ids = ["a1", "a2", "b", "b0", "c"]
    cases = [
        pa.table({"journey_id": ids, "k": [1, 2, 3, 4, 5]}),  # in order
        pa.table({"journey_id": ids[::-1], "k": [1, 2, 3, 4, 5]}),
        pa.table({"journey_id": ["a", "b", "b", "c"], "k": [1, 2, 3, 4]}),  # an id twice
        pa.table({"journey_id": ["a", None, "c"], "k": [1, 2, 3]}),
        pa.table({"journey_id": ["b"], "k": [1]}),
        pa.concat_tables([pa.table({"journey_id": ids[:2]}), pa.table({"journey_id": ids[2:]})]),
    ]
    for rows in cases:
        assert by_journey(rows).equals(rows.sort_by("journey_id"))
