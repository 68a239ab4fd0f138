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

import asyncio
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
from archspec.lsp.context import enclosing_key, in_list_item, in_template, value_key, word_at
from archspec.lsp.knowledge import NAMES, kind_arguments, kind_hover, param_hover, spec_param_hover
from archspec.lsp.symbols import document_symbols, shape_hints

SOURCE = "archspec"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"[^\s,\[\]{}:#]+")
# inside a stage's flow list of blocks, at the start of an entry
_IN_STAGE_BLOCKS = re.compile(r"\bblocks:\s*\[(?P<tail>[^\]]*)$")
_ENTRY_START = re.compile(r"(?:^|,)\s*[A-Za-z0-9_]*$")


def in_stage_blocks(before: str) -> bool:
    """Whether the cursor starts an entry of ``blocks: [...]`` (not inside a call's
    ``{...}`` arguments)."""
    found = _IN_STAGE_BLOCKS.search(before)
    if found is None:
        return False
    tail = found["tail"]
    return tail.count("{") == tail.count("}") and _ENTRY_START.search(tail) is not None


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
        self.inlay_shapes = False  # the client's "inlayShapes" initialization option
        self.debounce = 0.2  # seconds a change waits for the next before it is checked
        self.changes: dict[str, int] = {}  # uri → how many changes it has had

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


def _calls_at(graph: Graph, path: str, line: int) -> list:
    """The block calls made on a line (a stage's blocks, a block call), outermost only."""
    return [
        b
        for b in graph.blocks
        if b.where
        and b.span
        and b.where.line == line + 1
        and real_path(b.where.file) == path
        and not any(b.parent == c.prefix for c in graph.blocks if c.where == b.where)
    ]


def _calls_text(graph: Graph, calls: list) -> str:
    """A stage or block-call line: its blocks, the shape it ends with, its totals."""
    nodes = [n for b in calls for n in graph.nodes[b.span[0] : b.span[1]]]
    last = graph.node(calls[-1].output)
    names = ", ".join(b.prefix for b in calls[:8]) + (", ..." if len(calls) > 8 else "")
    params = sum(n.params for n in nodes)
    return "\n\n".join(
        [
            f"{len(calls)} block(s): {names}",
            f"output shape: `{last.output_shape}`",
            f"params: {params:,}",
            f"MACs: {sum(macs(n, graph) for n in nodes):,}",
        ]
    )


server = ArchspecServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: ArchspecServer, params: types.DidOpenTextDocumentParams) -> None:
    """Check a document when it opens."""
    ls.check(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: ArchspecServer, params: types.DidChangeTextDocumentParams) -> None:
    """Check a changed document, and the open specs that read it, once the typing
    pauses: a change that another follows within ``ls.debounce`` seconds is not checked
    (the workspace already holds the newest text, which the last change checks)."""
    uri = params.text_document.uri
    ls.changes[uri] = mine = ls.changes.get(uri, 0) + 1
    await asyncio.sleep(ls.debounce)
    if ls.changes[uri] != mine:
        return
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
    """A layer line's layers (name, Keras class, output shape, parameters, MACs); on a
    kind's name, its Keras class and arguments; on a param's name, its type and default."""
    uri, pos = params.text_document.uri, params.position
    path = str(Path(uri_to_path(uri)).resolve())
    parts: list[str] = []
    # this spec's own lowering, else any open spec's whose layers come from this file
    analyses = [ls.good[uri]] if uri in ls.good else list(ls.good.values())
    for analysis in analyses:
        nodes = _nodes_at(analysis.graph, path, pos.line)
        if nodes:
            parts.append(_hover_text(analysis.graph, nodes))
            break
        calls = _calls_at(analysis.graph, path, pos.line)
        if calls:
            parts.append(_calls_text(analysis.graph, calls))
            break
    text = ls.line_of(uri, pos.line)
    found = word_at(text, pos.character)
    if found:
        word, start = found
        about = _about_word(ls, uri, analyses, word, start, pos.line)
        if about:
            parts.append(about)
    if not parts:
        return None
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)
        )
    )


def _about_word(ls, uri: str, analyses: list[Analysis], word: str, start: int, line: int):
    """What a hover says of a word: a kind at a layer item, else a block or spec param."""
    text = ls.line_of(uri, line)
    if in_list_item(text, start) or _in_defaults(ls, uri, line, start):
        about = kind_hover(word)
        if about:
            return about
    lines = _lines(ls, uri)
    for analysis in analyses:
        block = _block_of_param(ls, uri, analysis, lines, line, start, word)
        if block is not None:
            return param_hover(word, block.definition.params[word], block.name)
    for analysis in analyses:
        if word in analysis.resolved.spec.params:
            return spec_param_hover(word, analysis.resolved.spec.params[word])
    return None


def _lines(ls: ArchspecServer, uri: str) -> list[str]:
    try:
        return ls.workspace.get_text_document(uri).lines
    except OSError:
        return []


def _in_defaults(ls: ArchspecServer, uri: str, line: int, start: int) -> bool:
    """Whether a word is a key of a ``defaults:`` mapping (layer defaults by kind)."""
    return enclosing_key(_lines(ls, uri), line, start) == "defaults"


def _block_of_param(ls, uri, analysis: Analysis, lines, line: int, col: int, word: str):
    """The block a param name belongs to: the block called on this line or whose call's
    mapping the word is in, else the block whose definition (in this file) holds the line."""
    blocks = analysis.resolved.blocks
    key = enclosing_key(lines, line, col)
    called = [b for b in _WORD.findall(lines[line] if line < len(lines) else "") if b in blocks]
    for name in ([key] if key in blocks else []) + called:
        if word in blocks[name].definition.params:
            return blocks[name]
    path = str(Path(uri_to_path(uri)).resolve())
    best = None
    for entry in blocks.values():
        where = entry.doc.where(entry.path, key=True)
        if real_path(where.file) != path or where.line - 1 > line:
            continue
        text = lines[line] if line < len(lines) else ""
        if len(text) - len(text.lstrip()) < where.col:  # not indented under the block
            continue
        if best is None or where.line > best[0]:
            best = (where.line, entry)
    if best and word in best[1].definition.params:
        return best[1]
    return None


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: ArchspecServer, params: types.DefinitionParams) -> types.Location | None:
    """From a block's name to its definition, in this file or a library; from
    ``extends:`` to the base spec."""
    uri, pos = params.text_document.uri, params.position
    analysis = ls.good.get(uri)
    if analysis is None:
        return None
    text = ls.line_of(uri, pos.line)
    if re.match(r"\s*extends\s*:", text) and analysis.resolved.base:
        # the base spec: a path beside this one or a shipped spec, as resolve found it
        start = types.Position(line=0, character=0)
        target = from_fs_path(str(Path(analysis.resolved.base).resolve()))
        return types.Location(uri=target, range=types.Range(start=start, end=start))
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
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=["-", " ", "{", ",", "["]),
)
def completion(ls: ArchspecServer, params: types.CompletionParams) -> types.CompletionList:
    """At a layer item: the catalogue's kinds, the spec's blocks and ``stage``; in a
    stage's ``blocks: [...]``: the blocks; in a
    kind's or a block call's mapping: its arguments or params; in ``{{ }}``: the spec's
    params; after ``optimizer:``, ``loss:``, ``metrics:``, ``naming:``: the names they take."""
    from archspec.core.ops.registry import KINDS

    uri, pos = params.text_document.uri, params.position
    lines = _lines(ls, uri)
    before = ls.line_of(uri, pos.line)[: pos.character]
    analysis = ls.good.get(uri) or next(iter(ls.good.values()), None)
    blocks = analysis.resolved.blocks if analysis else {}
    kind = types.CompletionItemKind
    items: list[types.CompletionItem] = []
    key = value_key(before)
    if in_template(before):
        spec_params = analysis.resolved.spec.params if analysis else {}
        items = [
            types.CompletionItem(label=p, kind=kind.Variable, detail=repr(v))
            for p, v in spec_params.items()
        ]
    elif in_stage_blocks(before):  # a stage's blocks: [convolutional, identity x 2]
        items = [
            types.CompletionItem(label=b, kind=kind.Class, detail="block") for b in sorted(blocks)
        ]
    elif re.fullmatch(r"\s*-\s*[A-Za-z0-9_]*", before):  # a layer item's kind
        items = [types.CompletionItem(label=k, kind=kind.Function) for k in sorted(KINDS)]
        items += [
            types.CompletionItem(label=b, kind=kind.Class, detail="block") for b in sorted(blocks)
        ]
        items.append(types.CompletionItem(label="stage", kind=kind.Keyword))
    elif key in NAMES:
        items = [
            types.CompletionItem(label=n, kind=kind.EnumMember, detail=c or None)
            for n, c in sorted(NAMES[key].items())
        ]
    else:
        owner = enclosing_key(lines, pos.line, pos.character)
        if owner in blocks:
            decls = blocks[owner].definition.params
            items = [
                types.CompletionItem(
                    label=p,
                    kind=kind.Property,
                    detail=d.type if d.required else f"{d.type} = {d.default!r}",
                    documentation=d.doc,
                )
                for p, d in decls.items()
            ]
        elif owner and owner in KINDS:
            items = [
                types.CompletionItem(label=a, kind=kind.Property, detail=default, documentation=doc)
                for a, default, doc in kind_arguments(owner)
            ]
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.INITIALIZE)
def initialize(ls: ArchspecServer, params: types.InitializeParams) -> None:
    """Read the client's options: ``{"inlayShapes": true}`` turns shape hints on."""
    options = params.initialization_options
    ls.inlay_shapes = isinstance(options, dict) and options.get("inlayShapes") is True


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(
    ls: ArchspecServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    """The document's blocks (with their params), layer items and stages."""
    uri = params.text_document.uri
    doc = ls.workspace.get_text_document(uri)
    return document_symbols(str(Path(uri_to_path(uri)).resolve()), doc.source)


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
def inlay_hint(ls: ArchspecServer, params: types.InlayHintParams) -> list[types.InlayHint]:
    """Each layer line's output shape, when the client asked for them (``inlayShapes``)."""
    if not ls.inlay_shapes:
        return []
    uri = params.text_document.uri
    path = str(Path(uri_to_path(uri)).resolve())
    analyses = [ls.good[uri]] if uri in ls.good else list(ls.good.values())
    first, last = params.range.start.line, params.range.end.line
    for analysis in analyses:
        hints = shape_hints(analysis.graph, path, _lines(ls, uri), real_path)
        if hints:
            return [h for h in hints if first <= h.position.line <= last]
    return []


def main() -> int:
    """Serve over stdin and stdout until the client shuts the server down."""
    server.start_io()
    return 0
