"""Decide what each column of a sample is for, and write it as a commented dataset spec.

The decisions, in order: the export shape (a survey platform, an event log, a
plain table); the layout (long when journey ids repeat, wide when each row is one
respondent); the id (a unique id column, else ``"@row"``); outcomes by their names
(overall, recommend/NPS, churn flags); score columns and their scales from the
values; comments and the touchpoint they comment on; groups as segments; every
other column listed in ``ignore_columns`` so validation is quiet about it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from peakend.io.platforms import Platform
from peakend.profile.columns import (
    ColumnProfile,
    ScaleGuess,
    guess_scale,
    guess_timestamp,
    is_group,
    is_text,
    language,
    numeric_share,
)
from peakend.profile.toml import TomlWriter

_ID_TOKENS = {"id", "ids", "nr", "nummer", "number", "no"}
_ID_NAMES = {
    "case",
    "caseid",
    "journey",
    "klant",
    "klantnummer",
    "klantnr",
    "customer",
    "customerid",
    "respondent",
    "respondentid",
    "responseid",
    "respondentnummer",
    "clientid",
}


def _looks_like_id(name: str) -> bool:
    """``Respondent ID``, ``case_id``, ``ResponseId``, ``klantnummer``: not ``Customer Value``."""
    tokens = [t for t in re.split(r"[\s_:.\-]+", name.lower()) if t]
    if any(t in _ID_TOKENS for t in tokens) or re.search(r"[a-z]Id$", name):
        return True
    return "".join(tokens) in _ID_NAMES


_ACTIVITY = re.compile(r"activity|activiteit|touchpoint|event|step|stap|concept:name|action", re.I)
_CHANNEL = re.compile(r"channel|kanaal", re.I)
_CUSTOMER = re.compile(r"customer|klant|client", re.I)
_OUTCOMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("recommend", re.compile(r"recommend|aanbevel|aanbeve|\bnps\b|likely to", re.I)),
    (
        "overall",
        re.compile(r"overall|algemeen|over het geheel|totaal|^satisfaction$|^tevredenheid$", re.I),
    ),
    ("churned", re.compile(r"churn|cancel|opgezegd|opzegging|vertrokken|left\b", re.I)),
)
_YES = re.compile(r"^(yes|ja|true|1|y|j|churned|cancelled|satisfied|tevreden)$", re.I)


@dataclass
class Guess:
    """A drafted spec as plain data, each entry with the evidence that chose it."""

    name: str
    layout: str = "long"
    source: dict[str, object] = field(default_factory=dict)
    source_notes: dict[str, str] = field(default_factory=dict)
    columns: dict[str, object] = field(default_factory=dict)
    column_notes: dict[str, str] = field(default_factory=dict)
    scales: dict[str, ScaleGuess] = field(default_factory=dict)
    default_scale: str | None = None
    outcomes: dict[str, dict[str, object]] = field(default_factory=dict)
    outcome_notes: dict[str, str] = field(default_factory=dict)
    touchpoints: list[dict[str, object]] = field(default_factory=list)
    touchpoint_notes: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    outcome_source: dict[str, object] = field(default_factory=dict)
    outcome_source_notes: dict[str, str] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    """A touchpoint or outcome name from a column name: lower case, words joined by _."""
    words = re.findall(r"[^\W_]+", text.lower())
    return "_".join(words)[:40].strip("_") or "column"


def decide(
    profiles: Sequence[ColumnProfile], *, platform: Platform | None, fmt: str, guess: Guess
) -> Guess:
    """Fill ``guess`` with roles for every column of the sample."""
    by_name = {p.name: p for p in profiles}
    metadata = set(platform.metadata) if platform else set()
    used: set[str] = set()
    if fmt == "xes":
        _decide_xes(by_name, guess, used)
    else:
        id_col = _id_column(profiles, platform)
        repeated = id_col is not None and not by_name[id_col].unique
        if repeated and id_col is not None:
            _decide_long(profiles, by_name, id_col, guess, used)
        else:
            _decide_wide(profiles, id_col, platform, guess, used, metadata)
    for p in profiles:
        if p.name not in used and p.name not in guess.attributes:
            guess.ignore.append(p.name)
    return guess


def _id_column(profiles: Sequence[ColumnProfile], platform: Platform | None) -> str | None:
    if platform is not None and platform.id_column in {p.name for p in profiles}:
        return platform.id_column
    named = [p for p in profiles if _looks_like_id(p.name) and p.present_share == 1.0]
    for p in named:
        if p.unique:
            return p.name
    for p in named:
        if p.n_distinct < p.n_present and not is_group(p, max_groups=5):
            return p.name
    return None


# -- wide ---------------------------------------------------------------------


def _decide_wide(
    profiles: Sequence[ColumnProfile],
    id_col: str | None,
    platform: Platform | None,
    guess: Guess,
    used: set[str],
    metadata: set[str],
) -> None:
    guess.layout = "wide"
    if id_col is None:
        guess.columns["journey_id"] = "@row"
        guess.column_notes["journey_id"] = "no id column found: each row is one respondent"
    else:
        guess.columns["journey_id"] = id_col
        where = f"the {platform.name} respondent id; " if platform else ""
        guess.column_notes["journey_id"] = f"{where}unique in the sample"
        used.add(id_col)
    candidates = [p for p in profiles if p.name not in used and p.name not in metadata]
    _outcomes(candidates, guess, used)
    scored: list[tuple[ColumnProfile, ScaleGuess]] = []
    for p in candidates:
        scale = None if p.name in used else guess_scale(p)
        if scale is not None:
            scored.append((p, scale))
            used.add(p.name)
    _touchpoints(scored, guess)
    _comments(profiles, candidates, guess, used)
    _segments(candidates, guess, used)
    if not scored:
        guess.todos.append(
            "no score column found: add [[touchpoints]] entries with `column` and a [scales] table"
        )


_CODE = re.compile(r"^[A-Za-z]{1,3}[\d_]+$")
# Question words that open a rating question and name no touchpoint.
_LEADING = set(
    """the your a an de het een uw je jouw with met how hoe what wat satisfied tevreden
    were was are is you u bent did do easy makkelijk it to rate please over about""".split()
)


def touchpoint_names(profiles: Sequence[ColumnProfile]) -> list[str]:
    """Short names from question texts: the words all questions share at the start go.

    "How satisfied were you with the delivery?" next to "... with ordering?" gives
    ``delivery`` and ``ordering``; a question code (``Q3``) is replaced by its
    question text when the export has one.
    """
    texts = []
    for p in profiles:
        use_label = _CODE.match(p.name) and p.label and p.label.lower() != "response"
        texts.append(re.findall(r"[^\W_]+", (p.label if use_label else p.name).lower()))
    if len(texts) > 1:
        shared = 0
        while all(len(t) > shared + 1 and t[shared] == texts[0][shared] for t in texts):
            shared += 1
        texts = [t[shared:] for t in texts]
    names = []
    for words, p in zip(texts, profiles, strict=True):
        while len(words) > 1 and (words[0] in _LEADING or re.fullmatch(r"[a-z]{0,2}\d+", words[0])):
            words = words[1:]
        names.append("_".join(words)[:40].strip("_") or slug(p.name))
    return names


def _touchpoints(scored: list[tuple[ColumnProfile, ScaleGuess]], guess: Guess) -> None:
    names: Counter[str] = Counter()
    short = touchpoint_names([p for p, _ in scored])
    for stage, ((p, scale), name) in enumerate(zip(scored, short, strict=True), start=1):
        scale_name = _scale_name(scale, guess)
        names[name] += 1
        if names[name] > 1:
            name = f"{name}_{names[name]}"
        entry: dict[str, object] = {"name": name, "column": p.name, "stage": stage}
        if scale_name != guess.default_scale:
            entry["scale"] = scale_name
        guess.touchpoints.append(entry)
        shown = p.label if p.label and p.label.lower() != "response" else ""
        note = scale.evidence + (f'; question: "{shown[:80]}"' if shown else "")
        guess.touchpoint_notes.append(note)


def _scale_name(scale: ScaleGuess, guess: Guess) -> str:
    """One scale per range; the not-applicable codes seen in any column are merged,
    since a code seen in one question of a survey is usually valid in all of them."""
    for name, known in guess.scales.items():
        if (known.low, known.high) == (scale.low, scale.high):
            codes = tuple(dict.fromkeys(known.not_applicable + scale.not_applicable))
            if codes != known.not_applicable:
                evidence = f"{known.evidence}; n/a codes from every column: "
                evidence += ", ".join(f"{c:g}" if isinstance(c, float) else repr(c) for c in codes)
                guess.scales[name] = ScaleGuess(known.low, known.high, codes, evidence)
            return name
    name = f"s{scale.low}_{scale.high}"
    guess.scales[name] = scale
    if guess.default_scale is None:
        guess.default_scale = name
    return name


def _outcomes(candidates: Sequence[ColumnProfile], guess: Guess, used: set[str]) -> None:
    for kind, pattern in _OUTCOMES:
        for p in candidates:
            if p.name in used or kind in guess.outcomes:
                continue
            if not (pattern.search(p.name) or (p.label and pattern.search(p.label))):
                continue
            entry = _outcome_entry(p, guess, kind)
            if entry is None:
                continue
            guess.outcomes[kind] = entry
            used.add(p.name)
            what = "question" if pattern.search(p.label or "") else "column name"
            text = p.label if what == "question" else p.name
            shown = text if len(text) <= 70 else text[:69] + "…"
            guess.outcome_notes[kind] = f"the {what} {shown!r} reads as {kind}; " + str(
                entry.pop("_evidence")
            )


def _outcome_entry(p: ColumnProfile, guess: Guess, kind: str) -> dict[str, object] | None:
    scale = guess_scale(p)
    if scale is not None and kind == "recommend" and scale.high == 10 and scale.low == 1:
        scale = ScaleGuess(0, 10, scale.not_applicable, scale.evidence.replace("1..10", "0..10"))
    if scale is not None:
        return {
            "column": p.name,
            "kind": "continuous",
            "scale": _outcome_scale(scale, guess),
            "_evidence": scale.evidence,
        }
    values = sorted(set(p.text))
    if 2 <= len(values) <= 3:
        positive = [v for v in values if _YES.match(v)] or [values[-1]]
        if len(positive) == len(values):
            return None
        evidence = f"{len(values)} values: {', '.join(values)}"
        if not any(_YES.match(v) for v in values):
            evidence += "; TODO: check which value means yes"
        return {
            "column": p.name,
            "kind": "binary",
            "positive": positive,
            "_evidence": evidence,
        }
    if numeric_share(p) >= 0.98:
        return {"column": p.name, "kind": "continuous", "_evidence": "numbers"}
    return None


def _outcome_scale(scale: ScaleGuess, guess: Guess) -> str:
    had_default = guess.default_scale
    name = _scale_name(scale, guess)
    guess.default_scale = had_default  # an outcome's scale is never the touchpoints' default
    return name


def _comments(
    profiles: Sequence[ColumnProfile],
    candidates: Sequence[ColumnProfile],
    guess: Guess,
    used: set[str],
) -> None:
    order = [p.name for p in profiles]
    by_column = {str(t["column"]): t for t in guess.touchpoints}
    journey_text: list[ColumnProfile] = []
    for p in candidates:
        if p.name in used or not is_text(p):
            continue
        touchpoint = _commented_touchpoint(p.name, order, by_column)
        if touchpoint is not None and "text_column" not in touchpoint:
            touchpoint["text_column"] = p.name
            used.add(p.name)
            continue
        journey_text.append(p)
    if journey_text:
        first = journey_text[0]
        guess.columns["text"] = first.name
        guess.column_notes["text"] = (
            f"free text ({language(first)}); in a wide layout it becomes a last "
            "'comment' event of the journey"
        )
        used.add(first.name)
        for other in journey_text[1:]:
            guess.todos.append(
                f"{other.name!r} is free text too; map it as `text_column` of a touchpoint"
            )


def _commented_touchpoint(
    name: str, order: list[str], by_column: dict[str, dict[str, object]]
) -> dict[str, object] | None:
    """The touchpoint a comment column belongs to: named after it, or right after it."""
    for column, touchpoint in by_column.items():
        if name.startswith(column) or (" | " in name and name.split(" | ")[0] == column):
            return touchpoint
    words = {column: _words(column) for column in by_column}
    common = set.intersection(*words.values()) if words else set()
    mine = _words(name) - common
    overlap = {column: len(mine & w) for column, w in words.items()}
    best = max(overlap, key=lambda c: overlap[c], default=None)
    if best is not None and overlap[best] > 0:
        return by_column[best]
    position = order.index(name)
    if position > 0 and order[position - 1] in by_column:
        return by_column[order[position - 1]]
    return None


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]{4,}", text.lower()))


def _segments(candidates: Sequence[ColumnProfile], guess: Guess, used: set[str]) -> None:
    for p in candidates:
        if p.name in used or not is_group(p, max_groups=12):
            continue
        guess.attributes.append(p.name)
        if len(guess.segments) < 2:
            guess.segments.append(p.name)
        used.add(p.name)


# -- long ---------------------------------------------------------------------


def _decide_long(
    profiles: Sequence[ColumnProfile],
    by_name: dict[str, ColumnProfile],
    id_col: str,
    guess: Guess,
    used: set[str],
) -> None:
    guess.layout = "long"
    guess.columns["journey_id"] = id_col
    p_id = by_name[id_col]
    guess.column_notes["journey_id"] = (
        f"{p_id.n_distinct:,} journeys in {p_id.n_present:,} sampled rows"
    )
    used.add(id_col)
    rest = [p for p in profiles if p.name not in used]
    named = (
        p
        for p in rest
        if _ACTIVITY.search(p.name) and numeric_share(p) < 0.5 and 1 < p.n_distinct < p.n_present
    )
    touchpoint = next(named, None)
    touchpoint = touchpoint or next((p for p in rest if is_group(p, max_groups=200)), None)
    if touchpoint is None:
        guess.todos.append('no touchpoint column found: set touchpoint = "COLUMN" in [columns]')
    else:
        _role(guess, used, "touchpoint", touchpoint, f"{touchpoint.n_distinct} distinct steps")
    for p in rest:
        if p.name in used:
            continue
        found = guess_timestamp(p)
        if found is not None and "ts" not in guess.columns:
            fmt, evidence = found
            _role(guess, used, "ts", p, evidence)
            if fmt:
                guess.source["timestamp_format"] = fmt
                guess.source_notes["timestamp_format"] = evidence
    for p in rest:
        if p.name in used:
            continue
        values = {v.lower() for v in p.text.unique()}
        if values and values <= {"customer", "company"}:
            _role(guess, used, "initiated_by", p, "values are customer / company")
        elif _CHANNEL.search(p.name) and is_group(p):
            _role(guess, used, "channel", p, f"{p.n_distinct} channels")
        elif _CUSTOMER.search(p.name) and "customer_id" not in guess.columns:
            _role(guess, used, "customer_id", p, "named after the customer")
    scored = [(p, s) for p in rest if p.name not in used and (s := guess_scale(p)) is not None]
    _outcomes([p for p in rest if p.name not in used], guess, used)
    scored = [(p, s) for p, s in scored if p.name not in used]
    if scored:
        p, scale = scored[0]
        _role(guess, used, "score", p, scale.evidence)
        _scale_name(scale, guess)
    text = next((p for p in rest if p.name not in used and is_text(p)), None)
    if text is not None:
        _role(guess, used, "text", text, f"free text ({language(text)})")
    _segments([p for p in rest if p.name not in used], guess, used)


def _role(guess: Guess, used: set[str], role: str, p: ColumnProfile, evidence: str) -> None:
    guess.columns[role] = p.name
    guess.column_notes[role] = evidence
    used.add(p.name)


def _decide_xes(by_name: dict[str, ColumnProfile], guess: Guess, used: set[str]) -> None:
    guess.layout = "long"
    used.update({"case:concept:name", "concept:name", "time:timestamp"})
    guess.column_notes["journey_id"] = "XES: the trace id (case:concept:name)"
    guess.columns["journey_id"] = "case:concept:name"
    lifecycle = by_name.get("lifecycle:transition")
    if lifecycle is not None and lifecycle.n_distinct > 1:
        guess.columns["touchpoint"] = ["concept:name", "lifecycle:transition"]
        guess.column_notes["touchpoint"] = (
            f"activity + lifecycle ({lifecycle.n_distinct} transitions: "
            f"{', '.join(sorted(set(lifecycle.text))[:4])})"
        )
        used.add("lifecycle:transition")
    else:
        guess.columns["touchpoint"] = "concept:name"
        guess.column_notes["touchpoint"] = "XES: the activity"
    guess.columns["ts"] = "time:timestamp"
    guess.column_notes["ts"] = "XES: the event time"
    for name, p in by_name.items():
        if name in used:
            continue
        values = {v.lower() for v in p.text.unique()}
        if values and values <= {"customer", "company"}:
            _role(guess, used, "initiated_by", p, "values are customer / company")
        elif name.startswith("case:") and is_group(p, max_groups=12):
            guess.attributes.append(name)
            if len(guess.segments) < 2:
                guess.segments.append(name)
            used.add(name)
    guess.todos.append(
        "an event log has no outcome column: add [outcomes.NAME] with from_touchpoint "
        '= "ACTIVITY" (1 when the journey reaches it) to explain an outcome'
    )


def decide_outcome_file(profiles: Sequence[ColumnProfile], guess: Guess) -> None:
    """Outcomes (and journey-level groups) from a second file keyed by the journey id."""
    journey_col = str(guess.columns.get("journey_id", ""))
    by_name = {p.name: p for p in profiles}
    if journey_col in by_name:
        id_col: str | None = journey_col
        note = "the same column name as the journey id of the events"
    else:
        id_col = _id_column(profiles, None)
        note = "an id column, unique per row" if id_col else ""
    if id_col is None:
        guess.todos.append(
            "the outcome file has no column the journeys can be matched on: set journey_id "
            "in [outcome_source]"
        )
        id_col = profiles[0].name
        note = "TODO: the first column, a guess"
    guess.outcome_source["journey_id"] = id_col
    guess.outcome_source_notes["journey_id"] = note
    had = set(guess.outcomes)
    used = {id_col} | {v for v in guess.columns.values() if isinstance(v, str)}
    rest = [p for p in profiles if p.name not in used]
    _outcomes(rest, guess, used)
    if set(guess.outcomes) == had:
        guess.todos.append(
            "no outcome recognised in the outcome file: add [outcomes.NAME] with its `column`"
        )
    _segments([p for p in rest if p.name not in used], guess, used)


def frame_profiles(
    frame: pd.DataFrame, labels: dict[str, str], *, decimal: str = "."
) -> list[ColumnProfile]:
    """Profiles of every column of a sample."""
    from peakend.profile.columns import profile_column

    return [
        profile_column(str(c), frame[c], labels.get(str(c), ""), decimal=decimal)
        for c in frame.columns
    ]


def render(guess: Guess) -> str:
    """The drafted spec as commented TOML."""
    w = TomlWriter()
    for line in guess.header:
        w.comment(line)
    for todo in guess.todos:
        w.comment(f"TODO: {todo}")
    w.blank()
    w.key("name", guess.name)
    w.key("layout", guess.layout, "one row per respondent" if guess.layout == "wide" else "")
    if guess.attributes:
        w.key("attributes", guess.attributes, "journey-level groups, kept for segmenting")
    if guess.segments:
        w.key("segments", guess.segments, "few groups each, with enough rows per group")
    if guess.ignore:
        w.key("ignore_columns", guess.ignore, "columns no analysis uses (metadata, times)")
    if guess.default_scale and len(guess.scales) > 1:
        w.key("default_scale", guess.default_scale)
    w.table("source")
    for key, value in guess.source.items():
        w.key(key, value, guess.source_notes.get(key, ""))
    w.table("columns")
    for key, value in guess.columns.items():
        w.key(key, value, guess.column_notes.get(key, ""))
    for name, scale in guess.scales.items():
        w.table(f"scales.{name}", scale.evidence)
        w.key("low", scale.low)
        w.key("high", scale.high)
        if scale.not_applicable:
            w.key("not_applicable", list(scale.not_applicable))
    if guess.outcome_source:
        w.table("outcome_source", "outcomes in their own file")
        for key, value in guess.outcome_source.items():
            w.key(key, value, guess.outcome_source_notes.get(key, ""))
    for name, outcome in guess.outcomes.items():
        w.table(f"outcomes.{name}", guess.outcome_notes.get(name, ""))
        for key, value in outcome.items():
            w.key(key, value)
    for entry, note in zip(guess.touchpoints, guess.touchpoint_notes, strict=True):
        w.table("touchpoints", note, array=True)
        for key, value in entry.items():
            w.key(key, value)
    return w.text()
