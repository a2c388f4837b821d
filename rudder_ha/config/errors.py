"""Configuration problems, reported as ``FILE: path.to.field: what is wrong and how to fix it``."""

from __future__ import annotations

from dataclasses import dataclass

MAX_SHOWN = 300
"""A field path or message longer than this is cut (a hostile file can make either long)."""


def one_line(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` on one printable line: any character that is not printable shown as ``\\uXXXX``, cut to
    ``limit`` characters."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an environment file."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        """Always one line: whatever the file holds, it cannot add a line of its own, and a key holding ``:``
        cannot shift where the path ends (it is shown as ``\u003a``)."""
        path = one_line(self.path).replace(":", "\\u003a") or "(top level)"
        return f"{one_line(self.file, 4096)}: {path}: {one_line(self.message, 1000)}"


class ConfigError(Exception):
    """An environment file that cannot be deployed; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))
