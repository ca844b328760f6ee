"""Validation rows: settings and rules are chosen on training rows labelled out of fold."""

import numpy as np

from peakend.text.train import LabelRows, LabelSettings
from peakend.text.validation import (
    FOLDS,
    ValidationRows,
    compare,
    fold_of,
    out_of_fold,
    out_of_fold_proba,
    row_folds,
    validation_sets,
)

CORPORA = (("goemotions", "en"), ("xed_en", "en"), ("xed_nl", "nl"), ("cx", "nl"))


def _rows(rng: np.random.Generator, n: int = 600) -> LabelRows:
    """Rows of four corpora in three genres whose class shows in the features."""
    corpus = [CORPORA[i % 4] for i in range(n)]
    genre = np.array([{"goemotions": 0, "xed_en": 1, "xed_nl": 1, "cx": 2}[c] for c, _ in corpus])
    y = rng.integers(0, 3, n).astype(np.int64)
    y[genre == 1] = np.where(y[genre == 1] == 1, 0, y[genre == 1])  # dialogue: never neutral
    x = rng.normal(size=(n, 6))
    x[np.arange(n), y] += 2.0
    x[np.arange(n), 3 + genre] += 2.0
    # Pairs of rows share a group (a sentence and its translation).
    groups = [f"g{i // 2}" for i in range(n)]
    return LabelRows(
        x,
        y,
        np.ones(n),
        genre.astype(np.int64),
        [c for c, _ in corpus],
        [lang for _, lang in corpus],
        [f"text {i}" for i in range(n)],
        groups,
    )


def test_folds_keep_groups_together_and_cover_every_fold() -> None:
    folds = row_folds([f"g{i // 2}" for i in range(400)])
    assert (folds[0::2] == folds[1::2]).all()
    assert set(folds.tolist()) == set(range(FOLDS))
    assert fold_of("ge:abc") == fold_of("ge:abc")


def test_every_row_is_labelled_once_by_a_head_that_never_saw_its_fold() -> None:
    rows = _rows(np.random.default_rng(0))
    data = ValidationRows({"capped": rows}, rows)
    seen = np.zeros(rows.y.size, dtype=int)
    folds = row_folds(rows.group)
    for k, (_, where) in enumerate(out_of_fold(data, LabelSettings())):
        assert (folds[where] == k).all()
        seen[where] += 1
    assert (seen == 1).all()
    proba = out_of_fold_proba(data, LabelSettings())
    assert np.allclose(proba.sum(axis=1), 1.0)
    # The features carry the class: out of fold, most rows still get it.
    assert float((proba.argmax(axis=1) == rows.y).mean()) > 0.7


def test_candidates_are_compared_on_the_same_validation_rows() -> None:
    rows = _rows(np.random.default_rng(1))
    data = ValidationRows({"capped": rows}, rows)
    results = compare(data, [LabelSettings(1.0, 1.0), LabelSettings(0.01, 0.01)])
    assert [r["sets"].keys() for r in results][0] == results[1]["sets"].keys()
    for result in results:
        assert set(result["offsets"]) == {"en", "nl"}
        for figures in result["sets"].values():
            assert 0.0 <= figures["macro_f1"] <= 1.0
    sets = validation_sets(rows, rows.x[:, 2] - rows.x[:, 0])
    assert sum(s.gold.size for s in sets) == rows.y.size


def test_the_shipped_label_head_is_the_best_validated_candidate() -> None:
    import json
    from dataclasses import asdict

    from peakend.text.calibrate import CALIBRATION_PATH, END_SERVICE_WEIGHTS
    from peakend.text.train import HEADS_DIR, LABEL_CANDIDATES

    training = json.loads((HEADS_DIR / "training.json").read_text(encoding="utf-8"))
    compared = training["label_validation"]
    assert [r["settings"] for r in compared] == [asdict(c) for c in LABEL_CANDIDATES]
    best = max(compared, key=lambda r: float(r["objective"]))
    assert training["label_settings"] == best["settings"]
    calibration = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
    assert calibration["label_settings"] == training["label_settings"]
    for key, fit in calibration["end_fit"].items():
        assert fit["service_weight"] in END_SERVICE_WEIGHTS, key
        assert calibration["rules"]["end"][key]["kind"] == "cutoffs"
