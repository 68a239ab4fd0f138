"""A document's outline (its blocks with their params, its layer items and stages) and
each layer line's output shape as an inlay hint.

The outline comes from the loader's positions of this file alone, so it is there while the
spec does not lower; the shapes come from the last good lowering's nodes.
"""

from __future__ import annotations

from lsprotocol import types

from archspec.core.ir import Graph
from archspec.diagnostics import SpecError, UsageError, Where
from archspec.frontend.loader import load_document

K = types.SymbolKind


def _range(where: Where, length: int) -> types.Range:
    start = types.Position(line=where.line - 1, character=where.col - 1)
    return types.Range(
        start=start, end=types.Position(line=where.line - 1, character=where.col - 1 + length)
    )


def _symbol(name: str, kind, where: Where, detail=None, children=None) -> types.DocumentSymbol:
    r = _range(where, len(name))
    return types.DocumentSymbol(
        name=name, kind=kind, range=r, selection_range=r, detail=detail, children=children
    )


def _item_name(item) -> str:
    if isinstance(item, dict) and len(item) == 1:
        key, value = next(iter(item.items()))
        if key == "stage" and isinstance(value, dict) and "id" in value:
            return f"stage {value['id']}"
        return str(key)
    return str(item)


def document_symbols(path: str, text: str) -> list[types.DocumentSymbol]:
    """The outline of a spec or library: blocks (with params), then layer items."""
    try:
        doc = load_document(path, text)
    except (SpecError, UsageError):
        return []
    data = doc.data if isinstance(doc.data, dict) else {}
    out = []
    blocks = data.get("blocks")
    for name, block in (blocks if isinstance(blocks, dict) else {}).items():
        params = block.get("params") if isinstance(block, dict) else None
        children = [
            _symbol(str(p), K.Property, doc.where(("blocks", name, "params", p), key=True))
            for p in (params if isinstance(params, dict) else {})
        ]
        where = doc.where(("blocks", name), key=True)
        out.append(_symbol(str(name), K.Class, where, "block", children))
    layers = data.get("layers")
    for i, item in enumerate(layers if isinstance(layers, list) else []):
        name = _item_name(item)
        kind = K.Module if name.startswith("stage") else K.Function
        out.append(_symbol(name, kind, doc.where(("layers", i))))
    return out


def shape_hints(graph: Graph, path: str, lines: list[str], real_path) -> list[types.InlayHint]:
    """At the end of each line of this file that makes layers, their output shape, where
    every layer it makes has the same one (a block's line called at several sizes has none)."""
    shapes: dict[int, set] = {}
    for node in graph.nodes:
        if node.where and real_path(node.where.file) == path:
            shapes.setdefault(node.where.line - 1, set()).add(node.output_shape)
    hints = []
    for line, found in sorted(shapes.items()):
        if len(found) == 1 and line < len(lines):
            end = len(lines[line].rstrip())
            hints.append(
                types.InlayHint(
                    position=types.Position(line=line, character=end),
                    label=f" → {next(iter(found))}",
                    kind=types.InlayHintKind.Type,
                    padding_left=True,
                )
            )
    return hints
