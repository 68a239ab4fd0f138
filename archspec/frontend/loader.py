"""Read YAML into plain Python data, remembering where every node came from.

The document becomes ordinary dicts, lists and scalars (what pydantic validates), and
a side table maps each node's path (``("layers", 5, "conv2d", "filters")``) to its
line and column, so that any later error can point at the offending node. Duplicate
keys are errors, not last-one-wins, and aliases, nesting and size are bounded so that
hostile input cannot exhaust memory.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import yaml

from archspec.diagnostics import INVALID, Path, SpecError, Where, render_message
from archspec.files import STDIN, FileTooLarge, read_bytes
from archspec.limits import LIMITS


@dataclass
class Document:
    """A parsed YAML file: its data and the position of each node, by path."""

    file: str
    data: object
    text: str = ""
    # (file, line, col) by path; a spec merged with its ``extends`` base mixes files
    values: dict[Path, tuple[str, int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[str, int, int]] = field(default_factory=dict)

    def where(self, path: Path, *, key: bool = False) -> Where:
        """The position of the node at ``path`` (or of its key), else of its nearest parent."""
        path = tuple(path)
        if key and path in self.keys:
            return Where(*self.keys[path], path)
        for n in range(len(path), -1, -1):
            pos = self.values.get(path[:n])
            if pos:
                return Where(*pos, path)
        return Where(self.file, 1, 1, path)

    def error(
        self, path: Path, message: str, *, key: bool = False, code: str = INVALID
    ) -> SpecError:
        """A problem at the node at ``path`` whose text the caller wrote."""
        return SpecError.at(self.where(path, key=key), message, code)

    def problem(self, name: str, path: Path, /, *, key: bool = False, **context) -> SpecError:
        """The problem ``name`` (a diagnostic code) at the node at ``path``."""
        return SpecError.of(name, self.where(path, key=key), **context)


class _Refused(yaml.MarkedYAMLError):
    """A document that parses but that a limit refuses (reported without "YAML syntax")."""

    def __init__(self, name: str, problem_mark, **context):
        super().__init__(problem=render_message(name, context), problem_mark=problem_mark)
        self.code, self.context = name, context


# libyaml's parser when PyYAML has it (several times faster); the composer stays in
# Python so that it can bound nesting and alias expansion as it goes.
_Parser = yaml.cyaml.CParser if yaml.__with_libyaml__ else None


class _BoundedComposer(yaml.composer.Composer, yaml.resolver.Resolver):
    """Composes YAML nodes, refusing nesting deeper than the limit (the composer
    recurses), recursive aliases, and documents whose aliases expand to more nodes than
    the limit ("billion laughs"): each node's expanded size is known when it is done,
    so an alias adds its anchor's size at once and the error points at that alias."""

    def __init__(self):
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.depth = 0
        self.nodes = 0  # nodes so far, aliases expanded
        self.sizes: dict[int, int] = {}  # id(node) -> its size, aliases expanded

    def _count(self, n: int, mark) -> None:
        self.nodes += n
        if self.nodes > LIMITS.max_yaml_nodes:
            raise _Refused("limit-exceeded", mark, detail=_too_many_nodes(), limit="max_yaml_nodes")

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            if id(node) not in self.sizes:
                raise _Refused("recursive-alias", event.start_mark, anchor=event.anchor)
            self._count(self.sizes[id(node)], event.start_mark)
            return node
        self.depth += 1
        try:
            mark = self.peek_event().start_mark
            if self.depth > LIMITS.max_nesting:
                raise _Refused(
                    "limit-exceeded",
                    mark,
                    detail=f"nesting deeper than {LIMITS.max_nesting} levels",
                    limit="max_nesting",
                )
            self._count(1, mark)
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self.sizes[id(item)] for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self.sizes[id(k)] + self.sizes[id(v)] for k, v in node.value)
        self.sizes[id(node)] = size
        return node


class _PurePythonLoader(
    _BoundedComposer, yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser
):
    def __init__(self, text: str):
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _BoundedComposer.__init__(self)


if _Parser is not None:

    class _LibyamlLoader(_BoundedComposer, _Parser):  # the Python composer, libyaml's events
        def __init__(self, text: str):
            _Parser.__init__(self, text)
            _BoundedComposer.__init__(self)

    _BoundedLoader = _LibyamlLoader
else:  # pragma: no cover - PyYAML without libyaml
    _BoundedLoader = _PurePythonLoader


def _too_many_nodes() -> str:
    return f"the document expands to more than {LIMITS.max_yaml_nodes:,} nodes, aliases included"


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_text(file: str | os.PathLike) -> str:
    """Read a spec file as UTF-8 text (a regular file, at most max_file_bytes); I/O
    problems are usage errors, bad bytes and a file over the limit spec errors."""
    name = "<stdin>" if str(file) == STDIN else str(file)
    try:
        raw = read_bytes(
            file, LIMITS.max_file_bytes, what="a YAML spec file", limit_name="max_file_bytes"
        )
    except FileTooLarge as exc:
        raise SpecError.of(
            "limit-exceeded",
            Where(name, 1, 1),
            detail=(
                f"file is {exc.size:,} bytes"
                if name != "<stdin>"
                else f"standard input is more than {LIMITS.max_file_bytes:,} bytes"
            )
            + f"; the limit is {LIMITS.max_file_bytes:,}",
            limit="max_file_bytes",
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise SpecError.of("not-utf8", Where(name, line, col), byte=raw[exc.start]) from None


# What YAML itself refuses in a stream (PyYAML's printable set); NUL means a binary file.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character, counting line breaks as YAML does."""
    breaks = list(_LINE_BREAK.finditer(text, 0, index))
    start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, index - start + 1


def _syntax_message(exc: yaml.MarkedYAMLError, text: str) -> str:
    message = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
    mark = exc.problem_mark
    if mark is not None and "cannot start any token" in message:
        lines = _LINE_BREAK.split(text)
        line = lines[mark.line] if mark.line < len(lines) else ""
        if line[mark.column : mark.column + 1] == "\t":
            message += " (a tab: YAML indents with spaces, never tabs)"
    return message


# YAML reads a key written without '? ' only if it ends within 1,024 characters: a longer
# one is a syntax error ("could not find expected ':'") in both parsers, far from the key.
_SIMPLE_KEY_CHARS = 1024


def _long_key(exc: yaml.MarkedYAMLError, text: str):
    """(line, col, context) of the limit a key past YAML's simple-key length exceeds, when
    that is what the syntax error is; else None."""
    mark = exc.context_mark
    if mark is None or "simple key" not in (exc.context or ""):
        return None
    lines = _LINE_BREAK.split(text)
    line = lines[mark.line] if mark.line < len(lines) else ""
    key = re.match(r"[^:]*", line[mark.column :])[0]
    if len(key) <= _SIMPLE_KEY_CHARS:
        return None
    return (
        mark.line + 1,
        mark.column + 1,
        {
            "detail": f"a key of {len(key):,} characters; YAML reads at most "
            f"{_SIMPLE_KEY_CHARS:,} in a key (and archspec at most {LIMITS.max_string:,} "
            "in any string)",
            "limit": "max_string",
        },
    )


def load_document(file: str | os.PathLike, text: str | None = None) -> Document:
    """Parse one YAML file into a Document. Raises SpecError or UsageError."""
    name = str(file)
    if text is None:
        text = read_text(file)
    if "\x00" in text:
        raise SpecError.of("binary-file", Where(name, 1, 1))
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        raise SpecError.of(
            "invalid-character",
            Where(name, *_line_col(text, bad.start())),
            what=f"character U+{ord(bad[0]):04X}",
            hint=" (write it as an escape in a double-quoted string)",
        )
    loader = None
    try:
        loader = _BoundedLoader(text)
        root = loader.get_single_node()
    except _Refused as exc:
        mark = exc.problem_mark
        raise SpecError.of(
            exc.code, Where(name, mark.line + 1, mark.column + 1), **exc.context
        ) from None
    except yaml.MarkedYAMLError as exc:
        long_key = _long_key(exc, text)
        if long_key:
            raise SpecError.of(
                "limit-exceeded", Where(name, *long_key[:2]), **long_key[2]
            ) from None
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError.of(
            "yaml-syntax", Where(name, line, col), detail=_syntax_message(exc, text)
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError.of("yaml-syntax", Where(name, 1, 1), detail=str(exc)) from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        raise SpecError.of("empty-file", Where(name, 1, 1))
    doc = Document(name, None, text)
    doc.data = _Converter(doc).convert(root, ())
    return doc


# The tags of plain data; any other (``!!python/object``, ``!!set``, ``!custom``) is refused.
_TAGS = {
    yaml.ScalarNode: {
        f"tag:yaml.org,2002:{t}"
        for t in ("str", "int", "float", "bool", "null", "timestamp", "binary")
    },
    yaml.SequenceNode: {"tag:yaml.org,2002:seq"},
    yaml.MappingNode: {"tag:yaml.org,2002:map"},
}
_MERGE = "tag:yaml.org,2002:merge"
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Converter:
    """Turns composed YAML nodes into plain data, recording positions and counting nodes."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.nodes = 0
        self.merged: dict[int, list] = {}  # id(mapping node) -> its pairs, merges applied
        self.constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)
        yaml.constructor.SafeConstructor.__init__(self.constructor)

    def _error(self, node: yaml.Node, path: Path, name: str, /, **context) -> SpecError:
        """The problem ``name`` (a diagnostic code) at ``node``."""
        return SpecError.of(name, Where(self.doc.file, *_pos(node), path), **context)

    def convert(self, node: yaml.Node, path: Path):
        self.nodes += 1
        if self.nodes > LIMITS.max_yaml_nodes:
            raise self._error(
                node, path, "limit-exceeded", detail=_too_many_nodes(), limit="max_yaml_nodes"
            )
        self.doc.values.setdefault(path, (self.doc.file, *_pos(node)))
        if node.tag not in _TAGS[type(node)]:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise self._error(node, path, "unsupported-tag", tag=tag)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError) as exc:
            kind = node.tag.rsplit(":", 1)[-1]
            detail = getattr(exc, "problem", None) or str(exc)
            raise self._error(
                node, path, "invalid-scalar", text=node.value[:80], kind=kind, detail=detail
            ) from None
        if isinstance(value, str):
            if len(value) > LIMITS.max_string:
                raise self._error(
                    node,
                    path,
                    "limit-exceeded",
                    detail=f"a string of {len(value):,} characters; "
                    f"the limit is {LIMITS.max_string:,}",
                    limit="max_string",
                )
            if _SURROGATE.search(value):
                raise self._error(
                    node,
                    path,
                    "invalid-character",
                    what="a lone surrogate escape (\\ud800-\\udfff)",
                    hint="; it is not text",
                )
        if isinstance(value, bytes | set) or not _plain(value):
            hint = " (quote it to make it a string)" if node.style is None else ""
            raise self._error(node, path, "unsupported-value", type=type(value).__name__, hint=hint)
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        out: dict = {}
        for key, key_node, value_node in self._pairs(node, path):
            kpath = path + (key,)
            self.doc.keys[kpath] = (self.doc.file, *_pos(key_node))
            out[key] = self.convert(value_node, kpath)
        return out

    def _pairs(self, node: yaml.MappingNode, path: Path) -> list:
        """A mapping's (key, key node, value node), merge keys (``<<: *base``) applied as
        YAML says: explicit keys override merged ones, an earlier merged mapping overrides
        a later one. A key written twice is an error, never last-one-wins."""
        if id(node) in self.merged:
            return self.merged[id(node)]
        pairs: dict = {}
        explicit: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise self._error(source, path, "invalid-merge-key")
                    for key, k, v in self._pairs(source, path):
                        if key not in explicit:
                            pairs.setdefault(key, (k, v))
                continue
            key = self._key(key_node, path)
            if key in explicit:
                first = _pos(explicit[key])
                raise self._error(
                    key_node,
                    path + (key,),
                    "duplicate-key",
                    key=key,
                    line=first[0],
                    column=first[1],
                )
            explicit[key] = key_node
            pairs[key] = (key_node, value_node)
        result = [(key, k, v) for key, (k, v) in pairs.items()]
        self.merged[id(node)] = result
        return result

    def _key(self, node: yaml.Node, path: Path) -> str:
        if node.tag not in _TAGS[type(node)]:  # ? !!python/module:os, before what it reads as
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise self._error(node, path, "unsupported-tag", tag=tag)
        if not isinstance(node, yaml.ScalarNode):
            raise self._error(node, path, "invalid-key", reason=", not a list or a mapping")
        if node.tag != "tag:yaml.org,2002:str":
            kind = node.tag.rsplit(":", 1)[-1]
            raise self._error(
                node,
                path,
                "invalid-key",
                reason=f"; {node.value!r} reads as a YAML {kind} (quote it)",
            )
        if len(node.value) > LIMITS.max_string:
            raise self._error(
                node,
                path,
                "limit-exceeded",
                detail=f"a key of {len(node.value):,} characters",
                limit="max_string",
            )
        return node.value


def _plain(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def parse_value(text: str, file: str = "<--set>"):
    """Parse a single YAML value (a ``--set`` right-hand side) into plain data."""
    return load_document(file, text).data if text.strip() else ""
