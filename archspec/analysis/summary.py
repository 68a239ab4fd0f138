"""Summaries of a lowered graph: by stage, by block, by layer; as text or as JSON.

Every figure comes from the IR: shapes and parameter counts from the lowering,
multiply-accumulates from ``cost``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archspec.analysis.cost import macs, total_macs
from archspec.core.ir import Graph


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
    groups: list[tuple[object, list[Row]]] = []
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
            Stage(
                label,
                parts,
                rows[-1].output,
                sum(r.params for r in rows),
                sum(r.macs for r in rows),
            )
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


def render(graph: Graph, *, layers: bool = False, color: bool = False) -> str:
    """The summary ``archspec check`` prints: stages, then blocks (or every layer)."""
    lines = [f'Model: "{graph.model_name}" ({graph.source})', ""]
    for stage in stage_view(graph):
        lines.append(
            f"{stage.label}: {_parts_text(stage.parts)} → {shape_text(stage.output)}, {stage.params:,} params"
        )
    lines.append("")
    if layers:
        header = ["Layer", "Kind", "Output shape", "Params", "MACs", "Inputs"]
        rows = [
            [
                n.name,
                n.op,
                shape_text(n.output_shape),
                f"{n.params:,}",
                f"{macs(n, graph):,}",
                ", ".join(n.inputs),
            ]
            for n in graph.nodes
        ]
        lines += _table(header, rows, {3, 4})
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
    total = total_macs(graph)
    lines += totals_text(graph, total)
    text = "\n".join(lines) + "\n"
    return _bold_totals(text) if color else text


def _bold_totals(text: str) -> str:
    """On a terminal, the headline figures in bold."""
    return "\n".join(
        f"\033[1m{line}\033[0m" if line.startswith("Total params") else line
        for line in text.split("\n")
    )


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
