"""Readers for the labelled text the heads are trained and evaluated on.

* GoEmotions (Demszky et al. 2020): English Reddit comments, official splits.
* XED (Öhman et al. 2020): English film subtitles annotated by people, and Dutch
  subtitles whose labels were projected from the English lines they translate.
* The CX sentence set shipped in the repository (``data/cx_sentences``): Dutch and
  English customer-service sentences written and labelled for this project.

Multi-label examples are kept only when all their labels map to one of our emotions,
so every example has a single gold emotion.
"""

from __future__ import annotations

import csv
import gzip
import random
from dataclasses import dataclass
from pathlib import Path

from peakend.errors import SourceError
from peakend.text.labels import EMOTIONS, GOEMOTIONS_MAP, PILLARS, XED_MAP


@dataclass(frozen=True)
class Example:
    """One labelled sentence."""

    text: str
    lang: str
    emotion: str
    valence: str | None = None
    pillars: tuple[str, ...] = ()
    effort: bool | None = None
    group: str = ""


def _single(labels: set[str | None]) -> str | None:
    return next(iter(labels)) if len(labels) == 1 and None not in labels else None


def read_goemotions(
    folder: Path, split: str, *, per_class: int | None = None, seed: int = 0
) -> list[Example]:
    """GoEmotions ``split`` (train/dev/test) mapped to our emotions.

    ``per_class`` caps each emotion at that many examples (a seeded sample), to keep
    the training set small enough to embed on a laptop.
    """
    names = (folder / "emotions.txt").read_text(encoding="utf-8").split("\n")
    examples: list[Example] = []
    path = folder / f"{split}.tsv.gz"
    if not path.exists():
        raise SourceError(f"GoEmotions file not found: {path}")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in handle:
            text, ids, comment_id = row.rstrip("\n").split("\t")
            emotion = _single({GOEMOTIONS_MAP[names[int(i)]] for i in ids.split(",")})
            if emotion is not None:
                examples.append(Example(text, "en", emotion, group=f"ge:{comment_id}"))
    return _cap(examples, per_class, seed) if per_class else examples


def read_xed(folder: Path, lang: str) -> list[Example]:
    """XED lines for ``lang`` ('en' annotated, 'nl' projected) mapped to our emotions."""
    name = "en-annotated.tsv" if lang == "en" else "nl-projections.tsv"
    path = folder / name
    if not path.exists():
        raise SourceError(f"XED file not found: {path}")
    examples: list[Example] = []
    with path.open(encoding="utf-8") as handle:
        for number, row in enumerate(handle):
            text, ids = row.rstrip("\n").split("\t")[:2]
            emotion = _single({XED_MAP[int(i)] for i in ids.split(",")})
            if emotion is not None and text.strip():
                examples.append(Example(text, lang, emotion, group=f"xed-{lang}:{number}"))
    return examples


def read_cx(path: Path) -> list[Example]:
    """The CX sentence set: a TSV with id, lang, emotion, valence, pillars, effort, text."""
    examples: list[Example] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(
            (line for line in handle if not line.startswith("#")),
            delimiter="\t",
            quoting=csv.QUOTE_NONE,
        )
        for row in reader:
            pillars = tuple(p for p in row["pillars"].split(",") if p and p != "-")
            bad = [p for p in pillars if p not in PILLARS]
            if row["emotion"] not in EMOTIONS or bad:
                raise SourceError(f"{path}: row {row['id']} has an unknown label")
            examples.append(
                Example(
                    row["text"],
                    row["lang"],
                    row["emotion"],
                    valence={"-1": "negative", "0": "neutral", "1": "positive"}[row["valence"]],
                    pillars=pillars,
                    effort=row["effort"] == "1",
                    group=f"cx:{row['id'].split('.')[0]}",
                )
            )
    return examples


def _cap(examples: list[Example], per_class: int, seed: int) -> list[Example]:
    by_class: dict[str, list[Example]] = {}
    for example in examples:
        by_class.setdefault(example.emotion, []).append(example)
    rng = random.Random(seed)
    kept: list[Example] = []
    for emotion in EMOTIONS:
        pool = by_class.get(emotion, [])
        kept += rng.sample(pool, per_class) if len(pool) > per_class else pool
    return kept
