"""Summaries of a lowered graph: by stage, by block, by layer, or nested to a depth
(stage → block → nested block → layer); as text or as JSON.

Every figure comes from the IR: shapes and parameter counts from the lowering; MACs,
FLOPs and memory from ``core.cost``; the nesting from each node's block and each block's
parent and stage (the lowering's provenance, not the names).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archspec.core.cost import activation_bytes, dtype_bytes, macs, output_elements, total_macs
from archspec.core.ir import Graph, Node


def shape_text(shape: tuple) -> str:
    """A shape as Keras prints it: ``(None, 224, 224, 3)``."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def memory_text(nbytes: int) -> str:
    """A size in bytes as Keras prints parameter memory (powers of 1024)."""
    size = float(nbytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return ""


def _count(n: int) -> str:
    """``1,234`` or ``3,861,234,176 (3.86G)``: a large MAC or FLOP count also in short."""
    for limit, suffix in ((10**9, "G"), (10**6, "M")):
        if n >= limit:
            return f"{n:,} ({n / limit:.2f}{suffix})"
    return f"{n:,}"


@dataclass
class Row:
    """One row of the block view: a top-level layer, or a whole top-level block."""

    name: str
    kind: str
    output: tuple
    params: int
    macs: int
    stage: object = None
    block: bool = False
    layers: list = field(default_factory=list)


def block_view(graph: Graph) -> list[Row]:
    """Layers outside blocks one by one; each top-level block as one row."""
    parents = {b.prefix: b.parent for b in graph.blocks}
    outer = {b.prefix: b for b in graph.blocks if b.parent is None}
    rows: list[Row] = []
    current: dict[str, Row] = {}
    for node in graph.nodes:
        top = node.block
        while top is not None and parents.get(top) is not None:
            top = parents[top]
        cost = macs(node, graph)
        if top is None:
            rows.append(
                Row(node.name, node.op, node.output_shape, node.params, cost, layers=[node.name])
            )
            continue
        if top not in current:
            b = outer[top]
            current[top] = Row(
                b.prefix, b.kind, graph.node(b.output).output_shape, 0, 0, b.stage, True
            )
            rows.append(current[top])
        row = current[top]
        row.params += node.params
        row.macs += cost
        row.layers.append(node.name)
    return rows


@dataclass
class Stage:
    """A run of rows: the blocks of one stage, or consecutive layers between stages."""

    label: str
    parts: list  # (kind, count) runs
    output: tuple
    params: int
    macs: int


def stage_view(graph: Graph) -> list[Stage]:
    """The seed's picture: ``stage 3: convolutional, identity ×3 → (None, 8, 8, 512)``."""
    return [stage for stage, _, _ in _grouped(graph)]


def _grouped(graph: Graph) -> list[tuple[Stage, tuple, list[Row]]]:
    """Each stage with its key (("stage", id), ("block", name) or ("layers",)) and the
    block-view rows it is made of."""
    groups: list[tuple[tuple, list[Row]]] = []
    for row in block_view(graph):
        key = (
            ("stage", row.stage)
            if row.block and row.stage is not None
            else ("block", row.name)
            if row.block
            else ("layers",)
        )
        if groups and groups[-1][0] == key:
            groups[-1][1].append(row)
        else:
            groups.append((key, [row]))
    out = []
    seen_stage = False
    for n, (key, rows) in enumerate(groups):
        if key[0] == "stage":
            label = f"stage {key[1]}"
            seen_stage = True
        elif key[0] == "block":
            label = rows[0].name
        else:
            label = "head" if seen_stage else "stem"
            if seen_stage and any(k[0] == "stage" for k, _ in groups[n + 1 :]):
                label = "layers"
        parts: list = []
        for row in rows:
            if parts and parts[-1][0] == row.kind:
                parts[-1][1] += 1
            else:
                parts.append([row.kind, 1])
        stage = Stage(
            label,
            parts,
            rows[-1].output,
            sum(r.params for r in rows),
            sum(r.macs for r in rows),
        )
        out.append((stage, key, rows))
    return out


@dataclass
class TreeRow:
    """One row of the nested view: a stage (level 1), a block, or a layer (``node``)."""

    level: int
    name: str
    kind: str
    output: tuple
    params: int
    macs: int
    node: Node | None = None


def tree_view(graph: Graph, depth: int | None = None) -> list[TreeRow]:
    """Stages, then their blocks, then nested blocks and layers, down to ``depth`` levels
    (all of them when None). A stage's children are its blocks; the stem's and the
    head's are their layers; a block outside any stage is a level-1 row of its own."""
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be at least 1. Received: depth={depth}")
    chains = _call_chains(graph)
    totals = [[0, 0] for _ in graph.blocks]
    for node, chain in zip(graph.nodes, chains):
        cost = macs(node, graph)
        for k in chain:
            totals[k][0] += node.params
            totals[k][1] += cost
    position = {n.name: i for i, n in enumerate(graph.nodes)}

    def block_row(k: int, level: int) -> TreeRow:
        b = graph.blocks[k]
        params, cost = totals[k]
        return TreeRow(level, b.prefix, b.kind, graph.node(b.output).output_shape, params, cost)

    def layer_row(i: int, level: int) -> TreeRow:
        n = graph.nodes[i]
        return TreeRow(level, n.name, n.op, n.output_shape, n.params, macs(n, graph), n)

    def contents(top: Row, level: int) -> list[TreeRow]:
        """What a top-level block holds, in graph order: nested blocks where first met."""
        out, opened = [], set()
        for i in (position[name] for name in top.layers):
            inner = chains[i][1:]
            for depth_below, k in enumerate(inner):
                if k not in opened:
                    opened.add(k)
                    out.append(block_row(k, level + depth_below))
            out.append(layer_row(i, level + len(inner)))
        return out

    def top_block(row: Row) -> int:
        return chains[position[row.layers[0]]][0]

    rows: list[TreeRow] = []
    for stage, key, members in _grouped(graph):
        if key[0] == "block":
            rows.append(block_row(top_block(members[0]), 1))
            rows += contents(members[0], 2)
            continue
        rows.append(
            TreeRow(
                1,
                stage.label,
                "stage" if key[0] == "stage" else "layers",
                stage.output,
                stage.params,
                stage.macs,
            )
        )
        for member in members:
            if member.block:
                rows.append(block_row(top_block(member), 2))
                rows += contents(member, 3)
            else:
                rows.append(layer_row(position[member.name], 2))
    return [r for r in rows if depth is None or r.level <= depth]


def _call_chains(graph: Graph) -> list[list[int]]:
    """For each node, the block calls it is inside (indices into ``graph.blocks``),
    outermost first. From each call's span of nodes, as the lowering records it; a graph
    read back from Keras has no spans, and there a node's block is found by its prefix
    and the prefix's parent (unambiguous where no two calls share a prefix)."""
    blocks = graph.blocks
    if any(b.span is None for b in blocks):
        last = {b.prefix: k for k, b in enumerate(blocks)}
        chains = []
        for node in graph.nodes:
            chain, prefix = [], node.block
            while prefix is not None and prefix in last:
                chain.append(last[prefix])
                prefix = blocks[last[prefix]].parent
            chains.append(chain[::-1])
        return chains
    # Calls are recorded as they end, inner before outer: each call adopts the
    # pending calls that its span contains.
    parent: list[int | None] = [None] * len(blocks)
    pending: list[int] = []
    for k, b in enumerate(blocks):
        start, end = b.span
        while pending and start <= blocks[pending[-1]].span[0]:
            # a pending call starts inside this one, so it ends inside it too
            parent[pending.pop()] = k
        pending.append(k)
    innermost: list[int | None] = [None] * len(graph.nodes)
    for k, b in enumerate(blocks):  # inner calls first: the first to claim a node is its own
        for i in range(*b.span):
            if innermost[i] is None:
                innermost[i] = k
    chains = []
    for k in innermost:
        chain = []
        while k is not None:
            chain.append(k)
            k = parent[k]
        chains.append(chain[::-1])
    return chains


def _window(value) -> str:
    """``(3, 3)`` → ``3×3``; an int as itself; nothing for a layer without one."""
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return "×".join(str(v) for v in value)
    return str(value)


def kernel(node: Node):
    """A layer's kernel size, or its pooling window; None for layers with neither."""
    return node.attrs.get("kernel_size", node.attrs.get("pool_size"))


def _parts_text(parts) -> str:
    return ", ".join(kind if count == 1 else f"{kind} ×{count}" for kind, count in parts)


def totals_text(graph: Graph, dtype: str = "float32") -> list[str]:
    """The totals under every summary: Keras's three params lines (their memory in
    ``dtype``), memory, MACs and FLOPs."""
    size = dtype_bytes(dtype)
    n_macs = total_macs(graph)
    activations = activation_bytes(graph, dtype)
    act_text = (
        "unknown (a size is not fixed)"
        if activations is None
        else f"{memory_text(activations)} per example"
    )
    return [
        f"Total params: {graph.total:,} ({memory_text(graph.total * size)})",
        f"Trainable params: {graph.trainable:,} ({memory_text(graph.trainable * size)})",
        f"Non-trainable params: {graph.non_trainable:,} "
        f"({memory_text(graph.non_trainable * size)})",
        f"Parameter memory ({dtype}): {memory_text(graph.total * size)}",
        f"Activation memory ({dtype}, forward pass): {act_text}",
        f"MACs (multiply-accumulates): {_count(n_macs)} per example",
        f"FLOPs (2 × MACs): {_count(2 * n_macs)} per example",
        f"Layers: {len(graph.nodes)} (with the input); output shape {shape_text(graph.output_shape)}",
    ]


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """A plain aligned table: fast for 100,000 rows, where a rich table takes minutes."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return [
        line(header),
        "─" * sum(w + 2 for w in widths[:-1]) + "─" * widths[-1],
        *map(line, rows),
    ]


def collapse(rows: list[Row], keep: int = 8) -> list[Row | str]:
    """Long runs of identical blocks (same stage, kind, params and output) as their first
    two, a ``… N more`` line and their last: a 100-block stage stays readable."""
    out: list = []
    run: list[Row] = []

    def flush():
        if len(run) > keep:
            out.extend(run[:2])
            out.append(
                f"… {len(run) - 3} more {run[0].kind} blocks ({run[2].name} … {run[-2].name})"
            )
            out.append(run[-1])
        else:
            out.extend(run)
        run.clear()

    for row in rows:
        same = (
            run
            and row.block
            and (row.stage, row.kind, row.params, row.output)
            == (
                run[-1].stage,
                run[-1].kind,
                run[-1].params,
                run[-1].output,
            )
        )
        if not same:
            flush()
        run.append(row)
    flush()
    return out


def render(
    graph: Graph,
    *,
    layers: bool = False,
    depth: int | None = None,
    dtype: str = "float32",
    color: bool = False,
) -> str:
    """The summary ``archspec check`` prints: stages, then blocks, every layer
    (``layers``) or the nested view to ``depth`` levels; then the totals."""
    if layers and depth is not None:
        raise ValueError("a summary is by layer or to a depth, not both")
    dtype_bytes(dtype)  # refused before any work
    lines = [f'Model: "{graph.model_name}" ({graph.source})', ""]
    for stage in stage_view(graph):
        lines.append(
            f"{stage.label}: {_parts_text(stage.parts)} → {shape_text(stage.output)}, {stage.params:,} params"
        )
    lines.append("")
    if layers:
        header = [
            "Layer",
            "Kind",
            "Class",
            "Output shape",
            "Kernel",
            "Strides",
            "Params",
            "MACs",
            "Inputs",
        ]
        rows = [
            [
                n.name,
                n.op,
                n.keras_class,
                shape_text(n.output_shape),
                _window(kernel(n)),
                _window(n.attrs.get("strides")),
                f"{n.params:,}",
                f"{macs(n, graph):,}",
                ", ".join(n.inputs),
            ]
            for n in graph.nodes
        ]
        lines += _table(header, rows, {6, 7})
    elif depth is not None:
        header = ["Name", "Kind", "Class", "Output shape", "Kernel", "Strides", "Params", "MACs"]
        rows = []
        for r in tree_view(graph, depth):
            n = r.node
            rows.append(
                [
                    "  " * (r.level - 1) + r.name,
                    r.kind,
                    n.keras_class if n else "",
                    shape_text(r.output),
                    _window(kernel(n)) if n else "",
                    _window(n.attrs.get("strides")) if n else "",
                    f"{r.params:,}",
                    f"{r.macs:,}",
                ]
            )
        lines += _table(header, rows, {6, 7})
    else:
        header = ["Stage", "Block", "Kind", "Output shape", "Params", "MACs"]
        rows, notes = [], {}
        for row in collapse(block_view(graph)):
            if isinstance(row, str):
                notes[len(rows)] = row
                continue
            stage = "" if row.stage is None else str(row.stage)
            rows.append(
                [
                    stage,
                    row.name,
                    row.kind,
                    shape_text(row.output),
                    f"{row.params:,}",
                    f"{row.macs:,}",
                ]
            )
        table = _table(header, rows, {4, 5})
        lines += table[:2]
        for i, text in enumerate(table[2:]):
            if i in notes:
                lines.append(f"        {notes[i]}")
            lines.append(text)
    lines.append("")
    lines += totals_text(graph, dtype)
    text = "\n".join(lines) + "\n"
    return _bold_totals(text) if color else text


def _bold_totals(text: str) -> str:
    """On a terminal, the headline figures in bold."""
    return "\n".join(
        f"\033[1m{line}\033[0m" if line.startswith("Total params") else line
        for line in text.split("\n")
    )


def _json_window(value):
    return list(value) if isinstance(value, tuple | list) else value


def as_json(graph: Graph, *, dtype: str = "float32", depth: int | None = None) -> dict:
    """The summary as plain data (``archspec check --format json``): the text's figures,
    and with ``depth`` the nested view's rows."""
    size = dtype_bytes(dtype)
    costs = {n.name: macs(n, graph) for n in graph.nodes}
    total = sum(costs.values())
    data = {
        "model": {
            "name": graph.name,
            "model_name": graph.model_name,
            "source": graph.source,
            "params": graph.params,
            "output_shape": list(graph.output_shape),
            "total_params": graph.total,
            "trainable_params": graph.trainable,
            "non_trainable_params": graph.non_trainable,
            "macs": total,
            "flops": 2 * total,
            "dtype": dtype,
            "param_bytes": graph.total * size,
            "activation_bytes": activation_bytes(graph, dtype),
            "layers": len(graph.nodes),
        },
        "stages": [
            {
                "label": s.label,
                "blocks": [{"kind": k, "count": c} for k, c in s.parts],
                "output_shape": list(s.output),
                "params": s.params,
                "macs": s.macs,
                "flops": 2 * s.macs,
            }
            for s in stage_view(graph)
        ],
        "blocks": [
            {
                "name": r.name,
                "kind": r.kind,
                "stage": r.stage,
                "is_block": r.block,
                "output_shape": list(r.output),
                "params": r.params,
                "macs": r.macs,
                "flops": 2 * r.macs,
                "layers": r.layers,
            }
            for r in block_view(graph)
        ],
        "layers": [
            {
                "name": n.name,
                "kind": n.op,
                "keras_class": n.keras_class,
                "inputs": list(n.inputs),
                "output_shape": list(n.output_shape),
                "output_elements": output_elements(n),
                "kernel": _json_window(kernel(n)),
                "strides": _json_window(n.attrs.get("strides")),
                "params": n.params,
                "trainable_params": n.trainable,
                "non_trainable_params": n.non_trainable,
                "macs": costs[n.name],
                "flops": 2 * costs[n.name],
                "block": n.block,
                "line": n.where.line if n.where else None,
                "file": n.where.file if n.where else None,
            }
            for n in graph.nodes
        ],
    }
    if depth is not None:
        data["tree"] = [
            {
                "level": r.level,
                "name": r.name,
                "kind": r.kind,
                "is_layer": r.node is not None,
                "keras_class": r.node.keras_class if r.node else None,
                "output_shape": list(r.output),
                "kernel": _json_window(kernel(r.node)) if r.node else None,
                "strides": _json_window(r.node.attrs.get("strides")) if r.node else None,
                "params": r.params,
                "macs": r.macs,
                "flops": 2 * r.macs,
            }
            for r in tree_view(graph, depth)
        ]
    return data
