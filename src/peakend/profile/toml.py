"""Write a commented TOML document: each key can carry the evidence for its value.

The standard library reads TOML but does not write it, and a drafted spec needs
comments on every guess, so this small writer renders exactly the shapes a
dataset spec uses: strings, numbers, booleans and flat lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

Value = str | int | float | bool | list[str] | list[str | float] | list[float | str]


def toml_value(value: object) -> str:
    """One TOML value (strings as basic strings, with JSON's escapes, which TOML shares)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


@dataclass
class TomlWriter:
    """Collects lines; ``key`` adds ``key = value  # comment``."""

    lines: list[str] = field(default_factory=list)

    def comment(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.lines.append(f"# {line}".rstrip())

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def table(self, name: str, comment: str = "", *, array: bool = False) -> None:
        self.blank()
        head = f"[[{name}]]" if array else f"[{name}]"
        self.lines.append(head + (f"  # {comment}" if comment else ""))

    def key(self, name: str, value: object, comment: str = "") -> None:
        bare = name.replace("_", "").replace("-", "").isalnum()
        key = name if bare else json.dumps(name, ensure_ascii=False)
        line = f"{key} = {toml_value(value)}"
        if len(line) > 88 and isinstance(value, list) and len(value) > 1:
            if comment:
                self.lines.append(f"# {comment}")
            self.lines.append(f"{key} = [")
            self.lines += [f"    {toml_value(v)}," for v in value]
            self.lines.append("]")
            return
        self.lines.append(line + (f"  # {comment}" if comment else ""))

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"
