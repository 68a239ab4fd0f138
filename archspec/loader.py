"""Read YAML into plain Python data, remembering where every node came from.

The document becomes ordinary dicts, lists and scalars (what pydantic validates), and
a side table maps each node's path (``("layers", 5, "conv2d", "filters")``) to its
line and column, so that any later error can point at the offending node. Duplicate
keys are errors, not last-one-wins, and aliases, nesting and size are bounded so that
hostile input cannot exhaust memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path as FsPath

import yaml

from .errors import Path, Problem, SpecError, UsageError, Where, format_path
from .limits import LIMITS


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

    def error(self, path: Path, message: str, *, key: bool = False) -> SpecError:
        return SpecError.at(self.where(path, key=key), message)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses nesting deeper than the limit (the composer recurses)."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > LIMITS.max_nesting:
                mark = self.peek_event().start_mark
                raise yaml.MarkedYAMLError(
                    problem=f"nesting deeper than {LIMITS.max_nesting} levels "
                    "(limit max_nesting)",
                    problem_mark=mark,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_text(file: str | os.PathLike) -> str:
    """Read a spec file as UTF-8 text; I/O problems are usage errors, bad bytes spec errors."""
    name = str(file)
    p = FsPath(file)
    if p.is_dir():
        raise UsageError(f"{name}: is a directory, expected a YAML spec file")
    try:
        size = p.stat().st_size
        if size > LIMITS.max_file_bytes:
            raise SpecError.at(
                Where(name, 1, 1),
                f"file is {size:,} bytes; the limit is {LIMITS.max_file_bytes:,} "
                "(limit max_file_bytes)",
            )
        raw = p.read_bytes()
    except OSError as exc:
        raise UsageError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise SpecError.at(
            Where(name, line, col),
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded",
        ) from None


def load_document(file: str | os.PathLike, text: str | None = None) -> Document:
    """Parse one YAML file into a Document. Raises SpecError or UsageError."""
    name = str(file)
    if text is None:
        text = read_text(file)
    if "\x00" in text:
        raise SpecError.at(Where(name, 1, 1), "binary file: NUL bytes are not YAML")
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        raise SpecError.at(Where(name, line, col), f"YAML syntax: {message}") from None
    except yaml.YAMLError as exc:
        raise SpecError.at(Where(name, 1, 1), f"YAML syntax: {exc}") from None
    finally:
        loader.dispose()
    if root is None:
        raise SpecError.at(Where(name, 1, 1), "the file is empty; expected a YAML mapping")
    doc = Document(name, None, text)
    doc.data = _Converter(doc).convert(root, ())
    return doc


class _Converter:
    """Turns composed YAML nodes into plain data, recording positions and counting nodes."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.nodes = 0
        self.constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)
        yaml.constructor.SafeConstructor.__init__(self.constructor)

    def convert(self, node: yaml.Node, path: Path):
        self.nodes += 1
        if self.nodes > LIMITS.max_yaml_nodes:
            raise SpecError.at(
                Where(self.doc.file, *_pos(node), path),
                f"the document expands to more than {LIMITS.max_yaml_nodes:,} nodes "
                "(aliases included; limit max_yaml_nodes)",
            )
        self.doc.values.setdefault(path, (self.doc.file, *_pos(node)))
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            out: dict = {}
            for key_node, value_node in node.value:
                key = self._key(key_node, path)
                kpath = path + (key,)
                if key in out:
                    first = self.doc.keys[kpath]
                    raise SpecError.at(
                        Where(self.doc.file, *_pos(key_node), kpath),
                        f"duplicate key '{key}' (first defined at line {first[1]}, "
                        f"column {first[2]})",
                    )
                self.doc.keys[kpath] = (self.doc.file, *_pos(key_node))
                out[key] = self.convert(value_node, kpath)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, str) and len(value) > LIMITS.max_string:
            raise SpecError.at(
                Where(self.doc.file, *_pos(node), path),
                f"a string of {len(value):,} characters; the limit is {LIMITS.max_string:,} "
                "(limit max_string)",
            )
        if isinstance(value, bytes | set) or not _plain(value):
            raise SpecError.at(
                Where(self.doc.file, *_pos(node), path),
                f"unsupported YAML value of type {type(value).__name__}",
            )
        return value

    def _key(self, node: yaml.Node, path: Path):
        if not isinstance(node, yaml.ScalarNode):
            raise SpecError.at(
                Where(self.doc.file, *_pos(node), path),
                f"{format_path(path) or 'document'}: mapping keys must be plain scalars",
            )
        key = self.constructor.construct_object(node)
        if not isinstance(key, str | int | bool | float) or key is None:
            raise SpecError(
                Problem(Where(self.doc.file, *_pos(node), path), "mapping keys must be scalars")
            )
        return key


def _plain(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def parse_value(text: str, file: str = "<--set>"):
    """Parse a single YAML value (a ``--set`` right-hand side) into plain data."""
    return load_document(file, text).data if text.strip() else ""
