"""Summaries of a lowered graph: by stage, by block, by layer; as text or as JSON.

Every figure comes from the IR: shapes and parameter counts from the lowering,
multiply-accumulates from ``cost``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from .cost import macs
from .ir import Graph


def shape_text(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def memory_text(params: int) -> str:
    """Parameter memory as Keras prints it (float32, powers of 1024)."""
    size = params * 4.0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return ""


def _count(n: int) -> str:
    """1,234 / 3.86G for large multiply-accumulate counts."""
    for limit, suffix in ((10**9, "G"), (10**6, "M")):
        if n >= limit:
            return f"{n / limit:.2f}{suffix}"
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
            rows.append(Row(node.name, node.op, node.output_shape, node.params, cost, layers=[node.name]))
            continue
        if top not in current:
            b = outer[top]
            current[top] = Row(b.prefix, b.kind, graph.node(b.output).output_shape, 0, 0, b.stage, True)
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
    groups: list[tuple[object, list[Row]]] = []
    for row in block_view(graph):
        key = ("stage", row.stage) if row.block and row.stage is not None else ("block", row.name) if row.block else ("layers",)
        if groups and groups[-1][0] == key:
            groups[-1][1].append(row)
        else:
            groups.append((key, [row]))
    stages = []
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
        stages.append(
            Stage(label, parts, rows[-1].output, sum(r.params for r in rows), sum(r.macs for r in rows))
        )
    return stages


def _parts_text(parts) -> str:
    return ", ".join(kind if count == 1 else f"{kind} ×{count}" for kind, count in parts)


def totals_text(graph: Graph, total_macs: int) -> list[str]:
    return [
        f"Total params: {graph.total:,} ({memory_text(graph.total)})",
        f"Trainable params: {graph.trainable:,} ({memory_text(graph.trainable)})",
        f"Non-trainable params: {graph.non_trainable:,} ({memory_text(graph.non_trainable)})",
        f"Multiply-accumulates: {total_macs:,} ({_count(total_macs)}) per example",
        f"Layers: {len(graph.nodes)} (with the input); output shape {shape_text(graph.output_shape)}",
    ]


def render(graph: Graph, *, layers: bool = False, width: int | None = None, color: bool = False) -> str:
    """The summary ``archspec check`` prints: stages, then blocks (or every layer)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 160, force_terminal=color, no_color=not color, highlight=False)
    console.print(f'Model: "{graph.model_name}" ({graph.source})', markup=False)
    console.print()
    for stage in stage_view(graph):
        console.print(
            f"{stage.label}: {_parts_text(stage.parts)} → {shape_text(stage.output)}, {stage.params:,} params",
            markup=False,
        )
    console.print()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    if layers:
        for header, justify in (("Layer", "left"), ("Kind", "left"), ("Output shape", "left"), ("Params", "right"), ("MACs", "right"), ("Inputs", "left")):
            table.add_column(header, justify=justify)
        for node in graph.nodes:
            table.add_row(node.name, node.op, shape_text(node.output_shape), f"{node.params:,}", f"{macs(node, graph):,}", ", ".join(node.inputs))
    else:
        for header, justify in (("Stage", "left"), ("Block", "left"), ("Kind", "left"), ("Output shape", "left"), ("Params", "right"), ("MACs", "right")):
            table.add_column(header, justify=justify)
        for row in block_view(graph):
            stage = "" if row.stage is None else str(row.stage)
            table.add_row(stage, row.name, row.kind, shape_text(row.output), f"{row.params:,}", f"{row.macs:,}")
    console.print(table)
    total = sum(macs(n, graph) for n in graph.nodes)
    for line in totals_text(graph, total):
        console.print(line, markup=False)
    return buffer.getvalue().rstrip() + "\n"


def as_json(graph: Graph) -> dict:
    """The summary as plain data (``archspec check --format json``)."""
    costs = {n.name: macs(n, graph) for n in graph.nodes}
    return {
        "model": {
            "name": graph.name,
            "model_name": graph.model_name,
            "source": graph.source,
            "params": graph.params,
            "output_shape": list(graph.output_shape),
            "total_params": graph.total,
            "trainable_params": graph.trainable,
            "non_trainable_params": graph.non_trainable,
            "macs": sum(costs.values()),
            "layers": len(graph.nodes),
        },
        "stages": [
            {
                "label": s.label,
                "blocks": [{"kind": k, "count": c} for k, c in s.parts],
                "output_shape": list(s.output),
                "params": s.params,
                "macs": s.macs,
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
                "params": n.params,
                "trainable_params": n.trainable,
                "non_trainable_params": n.non_trainable,
                "macs": costs[n.name],
                "block": n.block,
                "line": n.where.line if n.where else None,
                "file": n.where.file if n.where else None,
            }
            for n in graph.nodes
        ],
    }
