"""``archspec lsp``: a language server over stdio for spec files and block libraries.

Each open document is checked as ``archspec check`` checks it (resolve, then lower) on
its unsaved text: the resolver reads through a function, and this one answers with the
editor's text for every open document (a library being edited included) and reads the
rest from disk. Problems become diagnostics in the file they are in, so an error in an
imported library shows there. The last good lowering of each spec answers hover (a
layer line's name, shape, parameters, MACs) and go-to-definition (a block call to its
definition). No TensorFlow: only the front end and the core are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from archspec._version import __version__
from archspec.core.cost import macs
from archspec.core.ir import Graph, Node
from archspec.core.lowering import lower
from archspec.diagnostics import Problem, SpecError, UsageError, Where
from archspec.files import new_run
from archspec.frontend.loader import load_document, read_text
from archspec.frontend.resolve import LIBRARY_DIR, ZOO_DIR, ResolvedSpec, load, load_library

SOURCE = "archspec"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"[^\s,\[\]{}:#]+")


def uri_to_path(uri: str) -> str:
    """The file path of a ``file://`` URI."""
    return unquote(urlparse(uri).path)


def real_path(file: str) -> str:
    """The file a problem's ``Where`` names: shipped files are named relative to the
    package in messages (``archspec/blocks/resnet.yaml``); the rest by the path read."""
    for prefix, folder in (("archspec/blocks/", LIBRARY_DIR), ("archspec/zoo/", ZOO_DIR)):
        if file.startswith(prefix):
            return str(folder / file[len(prefix) :])
    return str(Path(file).resolve())


@dataclass
class Analysis:
    """One check of a document: its problems, and what lowering it gave when it worked."""

    problems: list[Problem] = field(default_factory=list)
    resolved: ResolvedSpec | None = None
    graph: Graph | None = None


class ArchspecServer(LanguageServer):
    """The server's state: each open spec's last good lowering and every check's
    diagnostics by the file they are in."""

    def __init__(self):
        super().__init__("archspec", __version__)
        self.good: dict[str, Analysis] = {}  # uri → its last analysis that lowered
        # uri → the diagnostics its last check found, by the uri of the file they are in
        self.found: dict[str, dict[str, list[types.Diagnostic]]] = {}

    def read(self, path: str) -> str:
        """The resolver's reader: an open document's unsaved text, else the file."""
        uri = from_fs_path(str(Path(path).resolve()))
        doc = self.workspace.text_documents.get(uri) if uri else None
        return doc.source if doc is not None else read_text(path)

    def analyse(self, uri: str) -> Analysis:
        """Check one open document as ``archspec check`` would, on its unsaved text."""
        new_run()  # files.py notes every input per command; a server runs many
        path = str(Path(uri_to_path(uri)).resolve())
        out = Analysis()
        try:
            if _is_library(path, self.read(path)):
                load_library(path, read=self.read)
            else:
                out.resolved = load(path, read=self.read)
                out.graph = lower(out.resolved)
        except SpecError as exc:
            out.problems = exc.problems
        except UsageError as exc:
            out.problems = [Problem(Where(path, 1, 1), str(exc), "usage-error")]
        return out

    def check(self, uri: str) -> None:
        """Check a document and publish the diagnostics of every file it touches."""
        analysis = self.analyse(uri)
        if analysis.graph is not None:
            self.good[uri] = analysis
        by_uri: dict[str, list[types.Diagnostic]] = {uri: []}
        for problem in analysis.problems:
            target = from_fs_path(real_path(problem.where.file)) or uri
            by_uri.setdefault(target, []).append(self.diagnostic(target, problem))
        # A file's diagnostics are what every open document's check found in it: a
        # library shows its own schema problems and those its open specs find there.
        # A file that had problems before and has none now is cleared.
        targets = by_uri.keys() | self.found.get(uri, {}).keys()
        self.found[uri] = by_uri
        for target in targets:
            merged = {  # two specs importing one library find its problems twice
                (str(d.range), d.code, d.message): d
                for found in self.found.values()
                for d in found.get(target, [])
            }
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=target, diagnostics=list(merged.values()))
            )

    def line_of(self, uri: str, line: int) -> str:
        """A line of an open (or readable) document, 0-based; empty past its end."""
        try:
            lines = self.workspace.get_text_document(uri).lines
        except OSError:
            return ""
        return lines[line] if 0 <= line < len(lines) else ""

    def diagnostic(self, uri: str, problem: Problem) -> types.Diagnostic:
        """A problem as an LSP diagnostic, spanning the token at its position."""
        line = max(problem.where.line - 1, 0)
        col = max(problem.where.col - 1, 0)
        token = _TOKEN.match(self.line_of(uri, line), col)
        end = token.end() if token else col + 1
        return types.Diagnostic(
            range=types.Range(
                start=types.Position(line=line, character=col),
                end=types.Position(line=line, character=end),
            ),
            message=problem.text,
            severity=types.DiagnosticSeverity.Error,
            code=problem.code,
            source=SOURCE,
        )


def _is_library(path: str, text: str) -> bool:
    """A block library has blocks and no layers (a spec always has layers)."""
    if Path(path).parent == LIBRARY_DIR:
        return True
    try:
        data = load_document(path, text).data
    except (SpecError, UsageError):
        return False  # the spec check reports it
    return isinstance(data, dict) and "blocks" in data and "layers" not in data


def _nodes_at(graph: Graph, path: str, line: int) -> list[Node]:
    return [
        n
        for n in graph.nodes
        if n.where and n.where.line == line + 1 and real_path(n.where.file) == path
    ]


def _hover_text(graph: Graph, nodes: list[Node]) -> str:
    if len(nodes) == 1:
        n = nodes[0]
        rows = [
            f"**{n.name}** `{n.keras_class}`",
            f"output shape: `{n.output_shape}`",
            f"params: {n.params:,} ({n.trainable:,} trainable, {n.non_trainable:,} not)",
            f"MACs: {macs(n, graph):,}",
        ]
        return "\n\n".join(rows)
    # a block's layer line, called once per block of the stages
    total = sum(n.params for n in nodes)
    names = ", ".join(n.name for n in nodes[:6]) + (", ..." if len(nodes) > 6 else "")
    return f"{len(nodes)} layers: {names}\n\nparams: {total:,}"


server = ArchspecServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: ArchspecServer, params: types.DidOpenTextDocumentParams) -> None:
    """Check a document when it opens."""
    ls.check(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: ArchspecServer, params: types.DidChangeTextDocumentParams) -> None:
    """Check a changed document, and the open specs that read it."""
    uri = params.text_document.uri
    ls.check(uri)
    # the open specs that read this file (a library being edited) see its new text
    path = str(Path(uri_to_path(uri)).resolve())
    for other, analysis in list(ls.good.items()):
        if other != uri and path in analysis.resolved.files:
            ls.check(other)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: ArchspecServer, params: types.DidSaveTextDocumentParams) -> None:
    """Check a document when it is saved."""
    ls.check(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: ArchspecServer, params: types.HoverParams) -> types.Hover | None:
    """A layer line's layers: name, Keras class, output shape, parameters, MACs."""
    uri, line = params.text_document.uri, params.position.line
    path = str(Path(uri_to_path(uri)).resolve())
    # this spec's own lowering, else any open spec's whose layers come from this file
    for analysis in [ls.good[uri]] if uri in ls.good else list(ls.good.values()):
        nodes = _nodes_at(analysis.graph, path, line)
        if nodes:
            return types.Hover(
                contents=types.MarkupContent(
                    kind=types.MarkupKind.Markdown, value=_hover_text(analysis.graph, nodes)
                )
            )
    return None


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: ArchspecServer, params: types.DefinitionParams) -> types.Location | None:
    """From a block's name to its definition, in this file or a library."""
    uri, pos = params.text_document.uri, params.position
    analysis = ls.good.get(uri)
    if analysis is None:
        return None
    text = ls.line_of(uri, pos.line)
    word = next((m[0] for m in _WORD.finditer(text) if m.start() <= pos.character <= m.end()), None)
    entry = analysis.resolved.blocks.get(word) if word else None
    if entry is None:
        return None
    where = entry.doc.where(entry.path, key=True)
    target = from_fs_path(real_path(where.file))
    start = types.Position(line=where.line - 1, character=where.col - 1)
    end = types.Position(line=where.line - 1, character=where.col - 1 + len(entry.name))
    return types.Location(uri=target, range=types.Range(start=start, end=end))


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["-", " "])
)
def completion(ls: ArchspecServer, params: types.CompletionParams) -> types.CompletionList:
    """At a layer item: the catalogue's kinds, the spec's blocks and ``stage``."""
    from archspec.core.ops.registry import KINDS

    uri, pos = params.text_document.uri, params.position
    before = ls.line_of(uri, pos.line)[: pos.character]
    items: list[types.CompletionItem] = []
    if re.fullmatch(r"\s*-\s*[A-Za-z0-9_]*", before):  # a layer item's kind
        kind = types.CompletionItemKind
        items = [types.CompletionItem(label=k, kind=kind.Function) for k in sorted(KINDS)]
        analysis = ls.good.get(uri)
        blocks = sorted(analysis.resolved.blocks) if analysis else []
        items += [types.CompletionItem(label=b, kind=kind.Class, detail="block") for b in blocks]
        items.append(types.CompletionItem(label="stage", kind=kind.Keyword))
    return types.CompletionList(is_incomplete=False, items=items)


def main() -> int:
    """Serve over stdin and stdout until the client shuts the server down."""
    server.start_io()
    return 0
