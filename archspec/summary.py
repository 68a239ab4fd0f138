"""Text summaries of a lowered graph: one row per block, or one row per layer."""

from __future__ import annotations

from .ir import Graph


def _shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _size(params: int) -> str:
    """Parameter memory as Keras prints it (float32, powers of 1024)."""
    size = params * 4.0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return ""


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    rule = "-" * len(line(header))
    return [line(header), rule, *(line(r) for r in rows), rule]


def block_rows(graph: Graph) -> list[list[str]]:
    """Layers outside blocks one by one; each top-level block as one row."""
    rows = []
    outer = {b.prefix: b for b in graph.blocks if b.parent is None}
    totals: dict[str, int] = {}
    owner: dict[str, str] = {}
    parents = {b.prefix: b.parent for b in graph.blocks}
    for node in graph.nodes:
        top = node.block
        while top is not None and parents.get(top) is not None:
            top = parents[top]
        if top is not None:
            owner[node.name] = top
            totals[top] = totals.get(top, 0) + node.params
    seen = set()
    for node in graph.nodes:
        top = owner.get(node.name)
        if top is None:
            rows.append(["", node.name, node.op, _shape(node.output_shape), f"{node.params:,}"])
        elif top not in seen:
            seen.add(top)
            b = outer[top]
            out = graph.node(b.output)
            stage = "" if b.stage is None else str(b.stage)
            rows.append([stage, b.prefix, b.kind, _shape(out.output_shape), f"{totals[top]:,}"])
    return rows


def render(graph: Graph, *, layers: bool = False) -> str:
    """The summary ``archspec check`` prints."""
    out = [f'Model: "{graph.model_name}" ({graph.source})', ""]
    if layers:
        rows = [
            [n.name, n.op, _shape(n.output_shape), f"{n.params:,}", ", ".join(n.inputs)]
            for n in graph.nodes
        ]
        out += _table(["Layer", "Kind", "Output shape", "Params", "Inputs"], rows, {3})
    else:
        out += _table(["Stage", "Block", "Kind", "Output shape", "Params"], block_rows(graph), {4})
    out += [
        f"Total params: {graph.total:,} ({_size(graph.total)})",
        f"Trainable params: {graph.trainable:,} ({_size(graph.trainable)})",
        f"Non-trainable params: {graph.non_trainable:,} ({_size(graph.non_trainable)})",
        f"Layers: {len(graph.nodes)} (with the input); output shape {_shape(graph.output_shape)}",
    ]
    return "\n".join(out)
