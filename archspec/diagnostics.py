"""Errors that archspec reports to users.

A SpecError is a problem in a spec (exit 1): it carries the file, the 1-based line
and column of the offending YAML node, and the path of that node inside the spec
(``layers[5].stage.blocks[0].filters``). A UsageError is a bad command line or an
unreadable file (exit 2).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

Path = tuple  # a path inside a YAML document: keys and list indices


@dataclass(frozen=True)
class Where:
    """A place in a spec file."""

    file: str
    line: int = 0
    col: int = 0
    path: Path = ()

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


def format_path(path: Path) -> str:
    """Render a document path the way users write it: ``layers[5].conv2d.filters``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match) -> str:
    return ascii(match[0])[1:-1]


# Every diagnostic's stable code and the template its message is rendered from. A code
# is registered once (``code()``); the table is what docs/errors.md lists.
CODES: dict[str, str] = {}


def code(name: str, template: str) -> str:
    """Register a diagnostic code with its message template (``str.format`` fields)."""
    if name in CODES and CODES[name] != template:
        raise ValueError(f"diagnostic code '{name}' is registered twice")
    CODES[name] = template
    return name


INVALID = code("invalid-spec", "{detail}")


@dataclass(frozen=True)
class Problem:
    """One diagnostic: where, its stable code, and what is wrong (rendered from the
    code's template and ``context``)."""

    where: Where
    message: str
    code: str = INVALID
    context: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, name: str, where: Where, **context) -> Problem:
        """The problem ``name`` at ``where``, its message rendered from its template."""
        return cls(where, CODES[name].format(**context), name, context)

    def __str__(self) -> str:
        path = format_path(self.where.path)
        prefix = f"{path}: " if path and not self.message.startswith(path) else ""
        # One diagnostic, one line: a key or value with a line break or a terminal escape
        # in it is shown escaped.
        return _CONTROL.sub(_escape, f"{self.where}: error: {prefix}{self.message}")


class SpecError(Exception):
    """An invalid spec; holds one or more problems, reported together."""

    def __init__(self, problems: Iterable[Problem] | Problem):
        problems = [problems] if isinstance(problems, Problem) else problems
        self.problems = list(dict.fromkeys(problems))  # same place, same message: once
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, where: Where, message: str, code: str = INVALID) -> SpecError:
        return cls(Problem(where, message, code))

    @classmethod
    def of(cls, name: str, where: Where, **context) -> SpecError:
        return cls(Problem.of(name, where, **context))


class UsageError(Exception):
    """A bad command line or an unreadable file (exit 2)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A Keras-style hint: "; did you mean 'identity'?" or the list of what exists."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(str(word), choices, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    if len(choices) <= 40:
        return "; expected one of: " + ", ".join(choices)
    return ""
