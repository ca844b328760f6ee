"""Questionnaires as files: a few questions per touchpoint, in Dutch and English.

A questionnaire is a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file::

    id: delivery
    touchpoint: delivery
    languages: [nl, en]              # the first is the default
    title: {nl: Uw bezorging, en: Your delivery}
    questions:
      - id: success
        role: success                # did you get what you needed?
        kind: choice
        text: {nl: Heeft u gekregen wat u nodig had?, en: Did you get what you needed?}
        options:
          - {id: "yes", value: 1, label: {nl: Ja, en: "Yes"}}
          - {id: "no", value: 0, label: {nl: Nee, en: "No"}}
      - id: overall
        role: overall
        kind: scale
        low: 1
        high: 5
        text: {nl: ..., en: ...}

Question kinds: ``scale`` (a whole number from ``low`` to ``high``), ``choice``
(one option), ``multi`` (up to ``max_choices`` options) and ``text`` (free text of
at most ``max_chars`` characters). A *role* says what a question measures, after
Temkin's three components of an experience (success, effort, emotion; see
docs/survey.md): ``success``, ``effort``, ``emotion``, ``feelings``, ``overall``
and ``comment``. Each role appears at most once; ``overall`` is required because
it becomes the event's score in peakend's canonical events table.

Files are validated on load; :class:`~peakend.errors.ConfigError` lists every
problem with the file and the key to fix.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from peakend.errors import ConfigError

KINDS = ("scale", "choice", "multi", "text")
ROLES = ("success", "effort", "emotion", "feelings", "overall", "comment")
# Which kinds can carry each role: numeric roles need a number per answer.
ROLE_KINDS: Mapping[str, tuple[str, ...]] = {
    "success": ("choice", "scale"),
    "effort": ("scale", "choice"),
    "emotion": ("scale", "choice"),
    "feelings": ("multi", "choice"),
    "overall": ("scale",),
    "comment": ("text",),
}
LANGUAGES = ("nl", "en")
MAX_TEXT_CHARS = 5000
YAML_HINT = ' (YAML reads yes, no, on and off as true/false: write "yes" in quotes)'

# A scale answer sent as text: ASCII digits only, at most three, an optional minus.
SCALE_TEXT = re.compile(r"-?[0-9]{1,3}", re.ASCII)

Text = Mapping[str, str]
Answer = int | str | list[str]


@dataclass(frozen=True)
class Option:
    """One answer option of a ``choice`` or ``multi`` question."""

    id: str
    label: Text
    value: float | None = None


@dataclass(frozen=True)
class Question:
    """One question; ``text`` and labels hold one string per language."""

    id: str
    kind: str
    text: Text
    role: str | None = None
    required: bool = True
    low: int = 1
    high: int = 5
    low_label: Text | None = None
    high_label: Text | None = None
    options: tuple[Option, ...] = ()
    max_choices: int = 1
    max_chars: int = 1000

    def option(self, option_id: str) -> Option | None:
        """The option with this id, or None."""
        return next((o for o in self.options if o.id == option_id), None)

    def check(self, value: object) -> tuple[Answer | None, str | None]:
        """Validate one answer: returns (clean value, None) or (None, a message).

        A missing answer (None, "" or an empty list) is allowed only when the
        question is not required and then gives (None, None).
        """
        if value is None or value == "" or value == []:
            return None, ("this question needs an answer" if self.required else None)
        if self.kind == "scale":
            return self._check_scale(value)
        if self.kind == "text":
            if not isinstance(value, str):
                return None, "expected text"
            if len(value) > self.max_chars:
                return None, f"at most {self.max_chars} characters, got {len(value)}"
            return value, text_problem(value)
        if self.kind == "choice":
            if not isinstance(value, str) or self.option(value) is None:
                return None, f"choose one of: {', '.join(o.id for o in self.options)}"
            return value, None
        return self._check_multi(value)

    def _check_scale(self, value: object) -> tuple[Answer | None, str | None]:
        # Strict: a JSON integer or its ASCII digits (a form posts text). No floats,
        # booleans, other scripts' digits ("٣", "３", "²") or thousands of digits.
        if isinstance(value, str) and SCALE_TEXT.fullmatch(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"expected a whole number from {self.low} to {self.high}"
        if not self.low <= value <= self.high:
            return None, f"{value} is outside {self.low}–{self.high}"
        return value, None

    def _check_multi(self, value: object) -> tuple[Answer | None, str | None]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return None, "expected a list of option ids"
        unknown = [v for v in values if self.option(v) is None]
        if unknown:
            return None, f"unknown option {unknown[0]!r}"
        chosen = list(dict.fromkeys(values))
        if len(chosen) > self.max_choices:
            return None, f"choose at most {self.max_choices}"
        return chosen, None

    def number(self, value: Answer | None) -> float | None:
        """The numeric value of an answer (scale value or the option's ``value``)."""
        if value is None:
            return None
        if self.kind == "scale" and isinstance(value, int):
            return float(value)
        if self.kind == "choice" and isinstance(value, str):
            option = self.option(value)
            return option.value if option is not None else None
        return None


@dataclass(frozen=True)
class Questionnaire:
    """A validated questionnaire for one touchpoint."""

    id: str
    touchpoint: str
    languages: tuple[str, ...]
    title: Text
    questions: tuple[Question, ...]
    intro: Text | None = None
    thanks: Text | None = None

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def by_role(self, role: str) -> Question | None:
        return next((q for q in self.questions if q.role == role), None)

    @property
    def overall(self) -> Question:
        question = self.by_role("overall")
        assert question is not None  # guaranteed by validation
        return question

    def check_answers(
        self, answers: Mapping[str, object], *, partial: bool = False
    ) -> tuple[dict[str, Answer], dict[str, str]]:
        """Validate a set of answers: (clean answers, errors by question id).

        Unknown question ids are errors. With ``partial`` (a saved draft) missing
        required answers are allowed.
        """
        clean: dict[str, Answer] = {}
        errors: dict[str, str] = {
            key: "no such question in this questionnaire"
            for key in answers
            if self.question(key) is None
        }
        for question in self.questions:
            raw = answers.get(question.id)
            if partial and (raw is None or raw == "" or raw == []):
                continue
            value, problem = question.check(raw)
            if problem is not None:
                errors[question.id] = problem
            elif value is not None:
                clean[question.id] = value
        return clean, errors

    def pick_language(self, *preferences: str | None) -> str:
        """The first supported language among ``preferences`` (codes or Accept-Language)."""
        for preference in preferences:
            for code in language_codes(preference):
                if code in self.languages:
                    return code
        return self.default_language


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, lone surrogates), or None when it can."""
    if "\x00" in value:
        return "text may not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text must be valid Unicode (it holds a lone surrogate)"
    return None


def language_codes(preference: str | None) -> list[str]:
    """Language codes from a code or an Accept-Language header, best first."""
    if not preference:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(preference.split(",")):
        code, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, index, code.strip().lower().split("-")[0]))
    return [code for _, _, code in sorted(weighted) if code]


# --- loading ----------------------------------------------------------------------


def read_questionnaire(path: str | Path) -> Questionnaire:
    """Read and validate one questionnaire file (YAML or TOML).

    Raises
    ------
    ConfigError
        If the file cannot be read or parsed, or lists every problem found
        (missing keys, unknown kinds or roles, missing translations, bad scales).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read questionnaire {path}: {exc}") from exc
    try:
        if path.suffix == ".toml":
            raw: object = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            raw = yaml.safe_load(text)
        else:
            raise ConfigError(f"questionnaire {path}: use a .yaml, .yml or .toml file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"questionnaire {path} is not valid {path.suffix[1:]}: {exc}") from exc
    return parse_questionnaire(raw, where=str(path))


def read_questionnaires(path: str | Path) -> dict[str, Questionnaire]:
    """Read one questionnaire file or every ``*.yaml``/``*.yml``/``*.toml`` in a folder.

    Returns the questionnaires by id; two files with the same id are an error.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".toml"))
        if not files:
            raise ConfigError(f"no questionnaire files (*.yaml, *.toml) in {path}")
    elif path.is_file():
        files = [path]
    else:
        raise ConfigError(f"questionnaire path {path} does not exist")
    found: dict[str, Questionnaire] = {}
    for file in files:
        questionnaire = read_questionnaire(file)
        if questionnaire.id in found:
            raise ConfigError(f"{file}: questionnaire id {questionnaire.id!r} is used twice")
        found[questionnaire.id] = questionnaire
    return found


def parse_questionnaire(raw: object, *, where: str = "questionnaire") -> Questionnaire:
    """Validate a parsed questionnaire (a mapping); see :func:`read_questionnaire`."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping with id, touchpoint and questions")
    _unknown_keys(
        raw,
        {"id", "touchpoint", "languages", "title", "intro", "thanks", "questions"},
        "",
        problems,
    )
    languages = _languages(raw.get("languages", list(LANGUAGES)), problems)
    touchpoint = _name(raw.get("touchpoint"), "touchpoint", problems)
    qid = _name(raw.get("id", touchpoint), "id", problems)
    title = _text(raw.get("title"), "title", languages, problems)
    intro = _text(raw["intro"], "intro", languages, problems) if "intro" in raw else None
    thanks = _text(raw["thanks"], "thanks", languages, problems) if "thanks" in raw else None
    items = raw.get("questions")
    questions: list[Question] = []
    if not isinstance(items, list) or not items:
        problems.append("`questions` must be a non-empty list")
    else:
        for index, item in enumerate(items):
            question = _question(item, f"questions[{index}]", languages, problems)
            if question is not None:
                questions.append(question)
    _check_questions(questions, problems)
    if problems:
        raise ConfigError(
            f"{where} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        )
    return Questionnaire(
        id=qid,
        touchpoint=touchpoint,
        languages=tuple(languages),
        title=title,
        questions=tuple(questions),
        intro=intro,
        thanks=thanks,
    )


def _check_questions(questions: Sequence[Question], problems: list[str]) -> None:
    ids = [q.id for q in questions]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"question id {duplicate!r} is used twice")
    roles = [q.role for q in questions if q.role]
    for duplicate in sorted({r for r in roles if roles.count(r) > 1}):
        problems.append(f"role {duplicate!r} is given to more than one question")
    if questions and "overall" not in roles:
        problems.append("one question needs `role: overall` (a scale): it becomes the score")


def _unknown_keys(raw: Mapping[Any, Any], known: set[str], at: str, problems: list[str]) -> None:
    for key in raw:
        if key not in known:
            problems.append(f"unknown key `{at}{key}`; known keys: {', '.join(sorted(known))}")


def _languages(value: object, problems: list[str]) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v in LANGUAGES for v in value)
    ):
        problems.append(f"`languages` must be a list drawn from {list(LANGUAGES)}")
        return list(LANGUAGES)
    return list(dict.fromkeys(value))


def _name(value: object, key: str, problems: list[str]) -> str:
    ok = isinstance(value, str) and value and value.replace("_", "").replace("-", "").isalnum()
    if not ok:
        problems.append(f"`{key}` must be a name of letters, digits, '_' or '-', got {value!r}")
        return "invalid"
    assert isinstance(value, str)
    return value


def _text(value: object, key: str, languages: Sequence[str], problems: list[str]) -> Text:
    if isinstance(value, str) and len(languages) == 1:
        return {languages[0]: value}
    if not isinstance(value, Mapping):
        problems.append(f"`{key}` needs a text per language: {{{', '.join(languages)}}}")
        return {}
    stray = [str(k) for k in value if k not in LANGUAGES]
    if stray:
        problems.append(
            f"`{key}` has key(s) {', '.join(map(repr, stray))}, not a language "
            "(in YAML, put texts with a comma or colon in quotes)"
        )
    missing = [lang for lang in languages if not isinstance(value.get(lang), str)]
    if missing:
        hint = YAML_HINT if any(isinstance(value.get(lang), bool) for lang in missing) else ""
        problems.append(f"`{key}` has no text for {', '.join(missing)}{hint}")
    return {str(k): str(v) for k, v in value.items()}


def _question(
    item: object, at: str, languages: Sequence[str], problems: list[str]
) -> Question | None:
    if not isinstance(item, Mapping):
        problems.append(f"`{at}` must be a mapping")
        return None
    known = {"id", "kind", "role", "text", "required", "low", "high", "low_label", "high_label"}
    _unknown_keys(item, known | {"options", "max_choices", "max_chars"}, f"{at}.", problems)
    kind, role = item.get("kind"), item.get("role")
    if kind not in KINDS:
        problems.append(f"`{at}.kind` must be one of {', '.join(KINDS)}, got {kind!r}")
        return None
    if role is not None and (role not in ROLES or kind not in ROLE_KINDS[role]):
        allowed = ", ".join(f"{r} ({'/'.join(k)})" for r, k in ROLE_KINDS.items())
        problems.append(f"`{at}.role` {role!r} does not fit kind {kind!r}; roles: {allowed}")
    fields: dict[str, Any] = {
        "id": _name(item.get("id"), f"{at}.id", problems),
        "kind": kind,
        "role": role,
        "text": _text(item.get("text"), f"{at}.text", languages, problems),
        "required": bool(item.get("required", kind != "text")),
    }
    if kind == "scale":
        fields.update(_scale(item, at, languages, problems))
    elif kind in ("choice", "multi"):
        fields.update(_options(item, at, languages, problems))
    else:
        max_chars = item.get("max_chars", 1000)
        if not isinstance(max_chars, int) or not 1 <= max_chars <= MAX_TEXT_CHARS:
            problems.append(f"`{at}.max_chars` must be a whole number from 1 to {MAX_TEXT_CHARS}")
        else:
            fields["max_chars"] = max_chars
    return Question(**fields)


def _scale(
    item: Mapping[str, Any], at: str, languages: Sequence[str], problems: list[str]
) -> dict[str, Any]:
    low, high = item.get("low", 1), item.get("high", 5)
    if not (isinstance(low, int) and isinstance(high, int) and low < high and high - low <= 10):
        problems.append(f"`{at}`: a scale needs whole numbers low < high, at most 11 points")
        return {}
    fields: dict[str, Any] = {"low": low, "high": high}
    for key in ("low_label", "high_label"):
        if key in item:
            fields[key] = _text(item[key], f"{at}.{key}", languages, problems)
    return fields


def _options(
    item: Mapping[str, Any], at: str, languages: Sequence[str], problems: list[str]
) -> dict[str, Any]:
    raw = item.get("options")
    if not isinstance(raw, list) or len(raw) < 2:
        problems.append(f"`{at}.options` must list at least two options")
        return {}
    options: list[Option] = []
    for index, entry in enumerate(raw):
        where = f"{at}.options[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"`{where}` must be a mapping with id and label")
            continue
        _unknown_keys(entry, {"id", "label", "value"}, f"{where}.", problems)
        value = entry.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"`{where}.value` must be a number")
            value = None
        raw_id = entry.get("id")
        if isinstance(raw_id, bool):
            problems.append(f"`{where}.id` must be text{YAML_HINT}")
        oid = _name(raw_id if isinstance(raw_id, str) else None, f"{where}.id", problems)
        label = _text(entry.get("label"), f"{where}.label", languages, problems)
        options.append(Option(id=oid, label=label, value=value))
    ids = [o.id for o in options]
    if len(set(ids)) != len(ids):
        problems.append(f"`{at}.options` has duplicate ids")
    max_choices = item.get("max_choices", len(options) if item.get("kind") == "multi" else 1)
    if not isinstance(max_choices, int) or not 1 <= max_choices <= len(options):
        problems.append(f"`{at}.max_choices` must be from 1 to the number of options")
        max_choices = 1
    return {"options": tuple(options), "max_choices": max_choices}
