"""Calibrated labels and endings: the rules, their fitting, and how scoring uses them."""

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

import peakend
from peakend.errors import MissingColumnError, ModelError
from peakend.text import (
    DEFAULT_BACKEND,
    CommentScore,
    comment_valence,
    default_scores,
    interaction_endings,
    score_comments,
)
from peakend.text.calibrate import (
    END_SERVICE_WEIGHTS,
    ScoredSet,
    auc,
    choose_end_weight,
    end_fit_report,
    fit_end_rule,
    fit_label_rule,
    macro_f1,
    macro_f1_interval,
)
from peakend.text.calibration import (
    Calibration,
    ValenceRule,
    end_class,
    ending_window,
    load_calibration,
)

DATA = Path(__file__).parent / "data"


def test_offsets_of_zero_are_the_most_probable_class() -> None:
    proba = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.4, 0.45, 0.15]])
    assert ValenceRule("offsets", 0.0, 0.0).classify_proba(proba).tolist() == [0, 1, 2, 1]
    # A positive negative-offset turns the near tie into negative, nothing else.
    assert ValenceRule("offsets", 0.2, 0.0).classify_proba(proba).tolist() == [0, 1, 2, 0]


def test_cutoff_rule_on_valence_and_on_probabilities() -> None:
    rule = ValenceRule("cutoffs", -0.2, 0.3)
    assert [rule.classify_valence(v) for v in (-0.5, -0.2, 0.0, 0.3, 0.31)] == [
        "negative",
        "neutral",
        "neutral",
        "neutral",
        "positive",
    ]
    proba = np.array([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    assert rule.classify_proba(proba).tolist() == [0, 2]


def test_shipped_rules_cover_both_backends_and_languages() -> None:
    calibration = load_calibration()
    for backend, kind in (("embedding", "offsets"), ("lexicon", "cutoffs")):
        for lang in ("nl", "en"):
            assert calibration.label_rule(backend, lang).kind == kind
            end = calibration.end_rule(backend, lang)
            assert end.kind == "cutoffs" and end.negative <= end.positive
    # An unknown language falls back on English; an unknown backend is a clear error.
    assert calibration.label_rule("lexicon", None) == calibration.label_rule("lexicon", "en")
    with pytest.raises(ModelError, match="python -m peakend.text.calibrate"):
        calibration.label_rule("magic", "en")
    assert Calibration.from_dict(calibration.to_dict()) == calibration


def test_a_bad_rule_kind_is_refused() -> None:
    with pytest.raises(ModelError, match="kind"):
        ValenceRule.from_dict({"kind": "median", "negative": 0, "positive": 0})


@pytest.mark.parametrize(
    ("sentences", "window"),
    [
        (["Het duurde lang.", "Uiteindelijk opgelost, top."], (1, 2)),
        (["The app crashed again.", "Thanks."], (0, 1)),
        (["Nog steeds kapot.", "Met vriendelijke groet."], (0, 1)),
        # A name after the greeting is no closing word: the ending is the name with the
        # greeting before it, which reads as neutral or undecided, not as "kapot".
        (["Nog steeds kapot.", "Met vriendelijke groet,", "Jan"], (1, 3)),
        (["Slecht.", "Maar toch opgelost."], (1, 2)),
        (["De monteur was laat.", "Opgelost!"], (0, 2)),
        (["Bedankt!"], (0, 1)),
        (["Thanks in advance."], (0, 1)),
    ],
)
def test_the_ending_skips_closing_formulas(sentences: list[str], window: tuple[int, int]) -> None:
    assert ending_window(sentences) == window


def test_mixed_and_too_short_endings_are_undecided() -> None:
    rule = ValenceRule("cutoffs", -0.1, 0.1)
    assert end_class([-0.6, 0.7], ["negative", "positive"], 6, rule) == "undecided"
    assert end_class([0.0], ["neutral"], 1, rule) == "undecided"
    assert end_class([], [], 0, rule) == "undecided"
    assert end_class([-0.6], ["negative"], 1, rule) == "negative"  # "Slecht." is decided
    assert end_class([0.05], ["neutral"], 5, rule) == "neutral"
    assert end_class([-0.3, -0.1], ["negative", "neutral"], 7, rule) == "negative"


def _planted(rng: np.random.Generator, n: int, low: float, high: float) -> ScoredSet:
    """Valences whose true classes change at ``low`` and ``high``, with label noise."""
    valence = rng.uniform(-1, 1, n)
    gold = np.where(valence < low, 0, np.where(valence > high, 2, 1))
    flip = rng.random(n) < 0.1
    gold[flip] = rng.integers(0, 3, int(flip.sum()))
    return ScoredSet("x", "en", gold.astype(np.int64), np.zeros(n, np.int64), valence, None)


def test_fitted_cutoffs_find_planted_boundaries() -> None:
    rng = np.random.default_rng(1)
    part = _planted(rng, 4000, -0.3, 0.2)
    rule = fit_label_rule([part], "cutoffs")
    assert rule.negative == pytest.approx(-0.3, abs=0.06)
    assert rule.positive == pytest.approx(0.2, abs=0.06)


def test_fitted_offsets_undo_a_biased_head() -> None:
    # The head's probabilities are shifted towards neutral; the offsets must shift back.
    rng = np.random.default_rng(2)
    n = 3000
    gold = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), gold] += 2.0
    logits[:, 1] += 1.5  # the bias that calls complaints neutral
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    part = ScoredSet("x", "en", gold, np.zeros(n, np.int64), proba[:, 2] - proba[:, 0], proba)
    before = macro_f1(gold, proba.argmax(axis=1))
    rule = fit_label_rule([part], "offsets")
    after = macro_f1(gold, rule.classify_proba(proba))
    assert rule.negative > 0.8 and rule.positive > 0.8
    assert after > before + 0.05


def test_end_rule_matches_the_annotated_shares() -> None:
    rng = np.random.default_rng(3)
    part = _planted(rng, 3000, -0.2, 0.4)
    # The end rule reads each comment's ending valence: here the planted valence.
    part.comments = [
        CommentScore("x", "en", float(v), "neutral", {}, {}, (), (), False, None, float(v))
        for v in part.valence
    ]
    rule = fit_end_rule([part])
    predicted_negative = float((part.valence < rule.negative).mean())
    predicted_positive = float((part.valence > rule.positive).mean())
    assert predicted_negative == pytest.approx(float((part.gold == 0).mean()), abs=0.02)
    assert predicted_positive == pytest.approx(float((part.gold == 2).mean()), abs=0.02)


def _with_endings(part: ScoredSet, name: str, rng: np.random.Generator) -> ScoredSet:
    """``part`` as set ``name`` in three validation folds, its ending valence the planted one."""
    part.name = name
    part.fold = rng.integers(0, 3, part.gold.size).astype(np.int64)
    part.comments = [
        CommentScore("x", "en", float(v), "neutral", {}, {}, (), (), False, None, float(v))
        for v in part.valence
    ]
    return part


def test_end_rule_weight_follows_the_service_rows() -> None:
    # Three non-service sets whose endings turn negative at -0.5 outvote the service
    # set (negative below -0.1) at the label rule's weight; the weight chosen
    # out-of-fold on the service rows gives the service set its own cut-off.
    rng = np.random.default_rng(5)
    others = [_with_endings(_planted(rng, 1500, -0.5, 0.4), f"s{k}", rng) for k in range(3)]
    service = _with_endings(_planted(rng, 600, -0.1, 0.4), "cx", rng)
    sets = [*others, service]
    assert fit_end_rule(sets, 2.0).negative == pytest.approx(-0.5, abs=0.06)
    weight, totals = choose_end_weight(sets)
    assert weight > 2.0 and set(totals) == set(END_SERVICE_WEIGHTS)
    assert totals[weight] < totals[2.0]
    assert fit_end_rule(sets, weight).negative == pytest.approx(-0.1, abs=0.06)
    report = end_fit_report(sets)
    assert report["service_weight"] == weight
    assert report["cutoffs_alone"]["cx:en"]["negative"] == pytest.approx(-0.1, abs=0.06)


def test_macro_f1_and_auc_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    gold = rng.integers(0, 3, 500)
    predicted = rng.integers(0, 3, 500)
    assert macro_f1(gold, predicted) == pytest.approx(
        f1_score(gold, predicted, labels=[0, 1, 2], average="macro")
    )
    two_way = np.where(gold == 1, 0, gold)
    assert macro_f1(two_way, predicted) == pytest.approx(
        f1_score(two_way, predicted, labels=[0, 2], average="macro")
    )
    valence = np.round(rng.normal(0, 1, 500) + gold, 1)  # ties on purpose
    keep = gold != 1
    assert auc(gold, valence) == pytest.approx(roc_auc_score(gold[keep] == 2, valence[keep]))
    assert auc(np.zeros(5, np.int64), np.zeros(5)) is None


def test_lexicon_endings_in_comments() -> None:
    result = score_comments(
        [
            "The agent was rude and unhelpful. Thanks.",
            "Het duurde lang. Uiteindelijk opgelost, top!",
            "ok",
            "",
        ],
        backend="lexicon",
    ).comments
    assert result[0].end_class == "negative" and result[0].ends_negative is True
    assert result[1].end_class == "positive" and result[1].ends_negative is False
    assert result[2].end_class in ("positive", "undecided")
    assert result[3].end_class is None and result[3].ends_negative is None
    assert result[0].to_dict()["end_class"] == "negative"


def test_endings_per_journey_attribute(tmp_path: Path) -> None:
    with (DATA / "comments.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    journeys = sorted({r["journey_id"] for r in rows})
    with (tmp_path / "comments.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, [*rows[0], "team"])
        writer.writeheader()
        for row in rows:
            writer.writerow(
                row | {"team": ("north", "south")[journeys.index(row["journey_id"]) % 2]}
            )
    spec = (DATA / "comments.toml").read_text(encoding="utf-8")
    spec = spec.replace("[source]", 'attributes = ["team"]\n\n[source]')
    (tmp_path / "comments.toml").write_text(spec, encoding="utf-8")
    data = peakend.load(tmp_path / "comments.toml")
    result = interaction_endings(data, by="team", backend="lexicon")
    assert {g.group for g in result.groups} == {"north", "south"}
    assert sum(g.n_comments for g in result.groups) == sum(1 for r in rows if r["comment"])
    for group in result.groups:
        assert group.negative.n <= group.n_comments
        assert group.undecided.n == group.n_comments
        if group.negative.n:
            assert group.negative.low is not None and group.negative.value is not None
            assert group.negative.low <= group.negative.value <= (group.negative.high or 1)
    assert result.to_dict()["groups"][0]["ends_undecided"]["n"] == result.groups[0].n_comments
    by_touchpoint = interaction_endings(data, backend="lexicon")
    assert by_touchpoint.by == "touchpoint" and len(by_touchpoint.groups) == 4
    with pytest.raises(MissingColumnError, match="attributes"):
        interaction_endings(data, by="agent", backend="lexicon")


def test_one_default_scorer_for_every_command() -> None:
    texts = ["De factuur klopt niet.", "Super geholpen!", ""]
    assert DEFAULT_BACKEND == "embedding"
    scores = default_scores(texts)
    assert scores.backend == "embedding"
    values = comment_valence(texts)
    assert values[:2].tolist() == pytest.approx([c.valence for c in scores.comments[:2]])
    assert np.isnan(values[2])
    assert values[0] < 0 < values[1]


def test_ending_share_resamples_customers_when_they_repeat() -> None:
    from peakend.text.journey import ending_share

    hits = [True] * 6 + [False] * 6
    alone, unit = ending_share(hits, list(range(12)))
    assert unit == "interactions" and alone.value == pytest.approx(0.5)
    # Two customers with six endings each, one all negative, one all positive: the
    # share is 50 % either way, but it rests on two customers, not twelve interactions.
    clustered, unit = ending_share(hits, ["a"] * 6 + ["b"] * 6)
    assert unit == "customers" and clustered.value == pytest.approx(0.5)
    assert clustered.low is not None and alone.low is not None
    assert clustered.low < alone.low and clustered.high > alone.high
    again, _ = ending_share(hits, ["a"] * 6 + ["b"] * 6)
    assert again == clustered  # seeded
    empty, _ = ending_share([], [])
    assert empty.value is None and empty.n == 0


def test_macro_f1_interval_holds_the_figure_and_narrows_with_more_rows() -> None:
    rng = np.random.default_rng(4)
    widths = []
    for n in (100, 3000):
        gold = rng.integers(0, 3, n).astype(np.int64)
        predicted = np.where(rng.random(n) < 0.7, gold, rng.integers(0, 3, n)).astype(np.int64)
        low, high = macro_f1_interval(gold, predicted, resamples=300)
        assert low <= macro_f1(gold, predicted) <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3
