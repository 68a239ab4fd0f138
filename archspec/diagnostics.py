"""Errors that archspec reports to users.

A SpecError is a problem in a spec (exit 1): it carries the file, the 1-based line
and column of the offending YAML node, and the path of that node inside the spec
(``layers[5].stage.blocks[0].filters``). A UsageError is a bad command line or an
unreadable file (exit 2).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from archspec.identifiers import ascii_form, non_ascii_note

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


# Every diagnostic's stable code and the template its message is rendered from
# (``str.format`` fields, filled from the problem's context). A code is registered once
# (``code()``); docs/errors.md lists exactly this table. Context conventions: ``hint``
# and ``received`` are suffixes, already rendered ("; did you mean 'x'?",
# ". Received: strides=0"), so that a template reads as one sentence with or without them.
CODES: dict[str, str] = {}


def code(name: str, template: str) -> str:
    """Register a diagnostic code with its message template (``str.format`` fields)."""
    if name in CODES and CODES[name] != template:
        raise ValueError(f"diagnostic code '{name}' is registered twice")
    CODES[name] = template
    return name


# The file and its YAML
code("file-not-found", "{file}: cannot read: {reason}")
code("empty-file", "the file is empty; expected a YAML mapping")
code("binary-file", "binary file: NUL bytes are not YAML")
code("not-utf8", "not UTF-8 text: byte 0x{byte:02x} cannot be decoded")
code("invalid-character", "{what} is not allowed in YAML{hint}")
code("yaml-syntax", "YAML syntax: {detail}")
code("duplicate-key", "duplicate key '{key}' (first defined at line {line}, column {column})")
code("invalid-key", "a key must be a string{reason}")
code("unsupported-tag", "unsupported YAML tag '{tag}'; specs hold plain data")
code("unsupported-value", "unsupported YAML value of type {type}{hint}")
code("invalid-scalar", "cannot read {text!r} as a YAML {kind}: {detail}")
code(
    "recursive-alias", "the alias '*{anchor}' refers to a node that contains it (a recursive alias)"
)
code("invalid-merge-key", "a merge key (<<) takes a mapping or a list of mappings")
code("limit-exceeded", "{detail} (limit {limit})")
# The structure (the schema)
code("unknown-key", "unknown key '{key}'{hint}")
code("missing-key", "missing required key '{key}'")
code("wrong-type", "expected {expected}{received}")
code("invalid-value", "{detail}{received}")
code("unknown-choice", "unknown {what} '{name}'{hint}")
code("invalid-block", "{detail}")
code("reserved-name", "'{name}' is reserved for every block call; pick another param name")
# Reuse: extends and imports
code("extends-cycle", "extends: cycle: {cycle}")
code("import-cycle", "import cycle: {cycle}")
code("unknown-library", "unknown library '{name}'{hint}")
code("unknown-spec", "unknown shipped spec '{name}' (a file's name ends in .yaml){hint}")
code("duplicate-block", "block '{name}' is defined twice (first at {first})")
code("unknown-preset", "naming: unknown preset '{name}'{hint}")
# Semantics (the lowering)
code("unknown-kind", "unknown {what} '{kind}'{hint}")
code("unknown-block", "unknown block '{kind}'{hint}")
code("invalid-item", "{detail}")
code("unknown-argument", "{inside}unknown argument '{key}' for {kind}{hint}")
code("missing-argument", "{inside}{kind} needs argument '{key}'")
code("invalid-argument", "{inside}{kind} argument '{key}': {detail}{received}{origin}")
code("unknown-param", "unknown param '{key}'{owner}{hint}")
code("missing-param", "block '{block}' needs param '{key}' ({type})")
code("invalid-param", "param '{key}'{owner} expects {expected}{received}")
code("shape-mismatch", "{detail}")
code("window-too-large", "{detail}")
code("unknown-size", "{detail}")
code("incompatible-argument", "{detail}")
code("duplicate-name", "{inside}duplicate layer name '{name}' (first at {first})")
code("invalid-name", "{detail}{received}")
code("unknown-tensor", "unknown tensor '{name}'{hint}")
code("wrong-tensor-count", "{detail}")
code("unknown-layer", "reuse: no layer or block named '{name}' before this item{hint}")
# Expressions
code("expression-syntax", "{detail}")
code("undefined-name", "{detail}")
code("unsafe-expression", "{detail}")
code("expression-error", "{detail}")
# Codegen, data and export
code("codegen-error", "cannot generate Python: {detail}")
code("invalid-data", "{detail}")
code("export-error", "cannot export to {format}: {detail}")
# Not a spec's problems: how --format json reports the other outcomes (exit 2 and 3)
code("usage-error", "{detail}")
code("internal-error", "{detail}")

INVALID = "invalid-value"  # what a problem is when its raise site names no code


def received(value, key: str | None = None, *, limit: int = 200) -> str:
    """Keras's wording for what was given: ". Received: strides=0" (or without the key);
    nothing when the value is too long to be worth showing."""
    text = repr(value)
    if len(text) > limit:
        return ""
    return f". Received: {key}={text}" if key else f". Received: {text}"


def quoted(text: str, most: int = 40) -> str:
    """A user's value as a message quotes it: its repr, cut to ``most`` characters, so
    that a 5,000-digit value is not echoed back whole."""
    if len(text) <= most:
        return repr(text)
    return f"{text[:most]!r}... ({len(text):,} characters)"


def first_line(message: str, most: int = 300) -> str:
    """A message as one line: a library's error can span many lines (Keras adds a
    configuration dump); the first line that says something, cut to ``most``."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= most else line[: most - 1] + "…"


def render_message(name: str, context: dict) -> str:
    """The message of code ``name`` with ``context``: its template filled in."""
    return CODES[name].format(**context)


@dataclass(frozen=True)
class Problem:
    """One diagnostic: where, its stable code, and what is wrong (rendered from the
    code's template and ``context``; sites that build the text themselves give it as
    ``message`` and keep the code)."""

    where: Where
    message: str
    code: str = INVALID
    context: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        # A misspelt code at a raise site is a bug in archspec, found by its tests.
        if self.code not in CODES:
            raise ValueError(f"unregistered diagnostic code '{self.code}'")

    @classmethod
    def of(cls, name: str, where: Where, /, **context) -> Problem:
        """The problem ``name`` at ``where``, its message rendered from its template."""
        return cls(where, render_message(name, context), name, context)

    @property
    def text(self) -> str:
        """The message as users read it: the spec path in front, control characters
        escaped (a key or value with a line break or a terminal escape in it), so that
        one diagnostic is one line."""
        path = format_path(self.where.path)
        prefix = f"{path}: " if path and not self.message.startswith(path) else ""
        return _CONTROL.sub(_escape, f"{prefix}{self.message}")

    def __str__(self) -> str:
        return _CONTROL.sub(_escape, f"{self.where}: error: ") + self.text


class SpecError(ValueError):
    """An invalid spec (a ValueError); holds one or more problems, reported together, in
    ``problems``."""

    def __init__(self, problems: Iterable[Problem] | Problem):
        problems = [problems] if isinstance(problems, Problem) else problems
        self.problems = list(dict.fromkeys(problems))  # same place, same message: once
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, where: Where, message: str, code: str = INVALID) -> SpecError:
        """A problem whose text the raise site wrote itself, with its code."""
        return cls(Problem(where, message, code))

    @classmethod
    def of(cls, name: str, where: Where, /, **context) -> SpecError:
        """The problem ``name`` at ``where``, rendered from its template."""
        return cls(Problem.of(name, where, **context))


class Invalid(ValueError):
    """A ValueError with a diagnostic code, for pydantic validators and helpers whose
    caller adds the position: the mapper below keeps its code and context."""

    def __init__(self, name: str, /, **context):
        self.code, self.context = name, context
        super().__init__(render_message(name, context))


# ---- pydantic errors to problems --------------------------------------------------------

# What a pydantic type error says was expected, for "expected a string or a mapping"
_EXPECTED = {
    "string_type": "a string",
    "dict_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}

# Locates pydantic's ``loc``: the Where of that node (of its key, when the flag is set),
# whose path is the node's path in the document, and whether ``loc`` went on into a
# member of a union (so that the error is one of several alternatives).
Locate = Callable[[tuple, bool], tuple[Where, bool]]


def validation_problems(
    errors: Iterable[dict],
    locate: Locate,
    *,
    thing: str = "key",
    known: Callable[[tuple], Iterable[str]] = lambda loc: (),
    **context,
) -> list[Problem]:
    """Map pydantic's errors (``{type, loc, msg, input, ctx}``) to positioned problems,
    the one mapping archspec has. ``thing`` is what the keys are: ``key`` (of a spec or
    library), ``argument`` (of a layer) or ``param`` (of a block); it picks the codes
    (``unknown-key``/``unknown-argument``, ``missing-key``/``missing-argument``...).
    ``known(loc)`` lists the keys that exist, for the hint; ``context`` goes into every
    message (``kind``, ``inside``, ``owner``...). A ValueError raised as ``Invalid`` in a
    validator keeps its own code. A value that fits no member of a union gets one
    problem: the deeper one when a member points into the value, else "expected a
    string or a mapping"."""
    problems: dict[tuple, Problem] = {}  # (path, None) for a union's, else (path, message)
    expected: dict[tuple, list] = {}  # path -> what each member of a union wanted
    for err in errors:
        kind, loc = err["type"], tuple(err["loc"])
        where, member = locate(loc, kind == "extra_forbidden")
        path = where.path
        if member:
            expected.setdefault(path, []).append(_EXPECTED.get(kind))
            wanted = expected[path]
            if (path, None) in problems:
                if None not in wanted and len(wanted) > 1:
                    problems[path, None] = Problem.of(
                        "wrong-type",
                        problems[path, None].where,
                        expected=" or ".join(dict.fromkeys(wanted)),
                        received=received(err.get("input"), limit=80),
                    )
                continue
        problem = _problem(err, loc, where, thing, known, context)
        problems.setdefault((path, None if member else problem.message), problem)
    deeper = {path[:n] for path, _ in problems for n in range(len(path))}
    return [p for (path, m), p in problems.items() if not (m is None and path in deeper)]


def _problem(err: dict, loc: tuple, where: Where, thing: str, known, context: dict) -> Problem:
    kind = err["type"]
    key = str(loc[0] if thing == "argument" and loc else loc[-1] if loc else "")
    given = err.get("input")
    error = (err.get("ctx") or {}).get("error")
    if kind == "extra_forbidden":
        choices = list(known(loc))
        hint = did_you_mean(key, choices) if choices else ""
        return Problem.of(f"unknown-{thing}", where, key=key, hint=hint, **context)
    if kind == "missing":
        return Problem.of(f"missing-{thing}", where, key=key, **context)
    if isinstance(error, Invalid):
        return Problem(where, str(error), error.code, error.context)
    detail = err["msg"].removeprefix("Value error, ")
    if thing == "argument":
        context = {"origin": "", **context}
        return Problem.of(
            "invalid-argument",
            where,
            key=key,
            detail=detail,
            received=received(given, key),
            **context,
        )
    if thing == "param":  # a block param: its key, declared type and value are in context
        context = dict(context)
        expected = f"{context.pop('type')}: {detail.lower()}"
        value = context.pop("value", given)
        return Problem.of(
            "invalid-param",
            where,
            expected=expected,
            received=received(value, context["key"]),
            **context,
        )
    if kind in _EXPECTED:
        return Problem.of(
            "wrong-type", where, expected=_EXPECTED[kind], received=received(given, limit=80)
        )
    shown = "" if kind == "value_error" else received(given, limit=80)
    return Problem.of("invalid-value", where, detail=detail, received=shown)


# ---- rendering ----------------------------------------------------------------------------


def render(problems: Iterable[Problem], fmt: str = "text") -> tuple[str, str]:
    """Problems as (stdout, stderr) text. ``text``: one ``PATH:LINE:COL: error: ...``
    line each on stderr; ``json``: ``{"errors": [...]}`` on stdout, each with its code;
    ``github``: the text lines, and a workflow annotation each on stdout, titled with
    the code."""
    problems = list(problems)
    if fmt == "json":
        errors = [
            {
                "file": p.where.file,
                "line": p.where.line,
                "column": p.where.col,
                "path": format_path(p.where.path),
                "code": p.code,
                "message": p.text,
            }
            for p in problems
        ]
        return json.dumps({"errors": errors}, indent=2) + "\n", ""
    err = "".join(f"{p}\n" for p in problems)
    if fmt != "github":
        return "", err
    out = []
    for p in problems:
        message = p.text
        for old, new in (("%", "%25"), ("\r", "%0D"), ("\n", "%0A")):
            message = message.replace(old, new)
        where = p.where
        out.append(
            f"::error file={where.file},line={where.line},col={where.col},"
            f"title=archspec {p.code}::{message}\n"
        )
    return "".join(out), err


class UsageError(Exception):
    """A bad command line or an unreadable file (exit 2)."""


class MissingFile(UsageError, FileNotFoundError):
    """A file that is not there: a usage error for the command line, and a
    FileNotFoundError for a program that calls the API."""


def outcome_json(code: str, message: str) -> str:
    """``--format json`` for an outcome that is not a spec's problem (a usage or I/O
    error, an internal error): the shape of a spec error's, without a place."""
    error = {"file": None, "line": None, "column": None, "path": "", "code": code}
    return json.dumps({"errors": [{**error, "message": message}]}, indent=2) + "\n"


def close_match(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'identity'?" for a name that is really close to one that exists,
    else nothing: among many kinds, a loose match misleads ('normalization' is not
    'activation'). A name with a non-ASCII character says so (``_non_ascii``)."""
    choices = sorted(set(choices))
    if isinstance(word, str) and not word.isascii():
        return _non_ascii(word, choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.8)
    return f"; did you mean '{close[0]}'?" if close else ""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A Keras-style hint: "; did you mean 'identity'?" or the list of what exists."""
    choices = sorted(set(choices))
    if isinstance(word, str) and not word.isascii():
        return _non_ascii(word, choices)
    close = difflib.get_close_matches(str(word), choices, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    # However many there are (the op catalogue alone has dozens): a failed lookup says
    # what exists, as Keras's do.
    return "; expected one of: " + ", ".join(choices) if choices else ""


def _non_ascii(word: str, choices: list[str]) -> str:
    """The hint for a name that holds a non-ASCII character: which one, and the ASCII
    name it looks like when that exists (or is close to one that does)."""
    note = non_ascii_note(word)
    plain = ascii_form(word)
    if plain is not None and plain in choices:
        return f": it has {note}; did you mean '{plain}'?"
    if plain is not None:
        close = difflib.get_close_matches(plain, choices, n=1, cutoff=0.8)
        if close:
            return f": it has {note}; did you mean '{close[0]}'?"
    return f": it has {note}; archspec's names are ASCII"
