"""Architecture diagrams with Graphviz: stages and blocks (default) or every layer.

The diagram is built from the IR alone. Edges carry the tensor shape that flows along
them; stages and blocks are drawn as clusters. Rendering to SVG or PNG needs Graphviz's
``dot`` program; without it the ``.dot`` source is written instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from archspec.analysis.summary import block_view
from archspec.core.ir import Graph
from archspec.core.ops import OPS
from archspec.diagnostics import UsageError

# Fill colours by the op's diagram category (a muted palette that prints well in grey
# too); categories without one, and foreign layers, are white.
COLOURS = {
    "conv": "#cfe2f3",
    "depthwise": "#d9d2e9",
    "norm": "#fff2cc",
    "activation": "#fce5cd",
    "merge": "#d9ead3",
    "dense": "#f4cccc",
    "attention": "#ead1dc",
    "recurrent": "#d0e0e3",
}
INPUT_COLOUR = "#e8e8e8"
BLOCK_COLOUR = "#dde7f0"


def _colour(kind: str) -> str:
    if kind == "input":
        return INPUT_COLOUR
    op = OPS.get(kind)
    return COLOURS.get(op.category, "#ffffff") if op is not None else "#ffffff"


def _dims(shape: tuple) -> str:
    return "×".join("?" if d is None else str(d) for d in shape)


def diagram(graph: Graph, *, layers: bool = False):
    """A ``graphviz.Digraph`` of the model."""
    import graphviz

    dot = graphviz.Digraph(graph.name)
    dot.attr(rankdir="TB", fontname="Helvetica", fontsize="11", nodesep="0.25", ranksep="0.3")
    dot.attr(
        "node",
        shape="box",
        style="rounded,filled",
        fontname="Helvetica",
        fontsize="10",
        color="#666666",
    )
    dot.attr("edge", fontname="Helvetica", fontsize="8", color="#555555", arrowsize="0.6")
    dot.attr(
        label=f"{graph.model_name}: {graph.total:,} params, output {_dims(graph.output_shape[1:])}",
        labelloc="t",
    )
    if layers:
        _layer_diagram(dot, graph)
    else:
        _block_diagram(dot, graph)
    return dot


def _block_diagram(dot, graph: Graph) -> None:
    rows = block_view(graph)
    owner = {name: row.name for row in rows for name in row.layers}
    stages: dict = {}
    for row in rows:
        label = (
            row.name if row.name in (row.kind, f"{row.kind}_layer") else f"{row.name}\n{row.kind}"
        )
        if row.params:
            label += f"\n{row.params:,} params"
        colour = BLOCK_COLOUR if row.block else _colour(row.kind)
        target = dot
        if row.block and row.stage is not None:
            if row.stage not in stages:
                stages[row.stage] = graphviz_subgraph(
                    dot, f"cluster_stage_{row.stage}", f"stage {row.stage}"
                )
            target = stages[row.stage]
        target.node(row.name, label, fillcolor=colour)
    for sub in stages.values():
        dot.subgraph(sub)
    seen = set()
    for node in graph.nodes:
        for source in node.inputs:
            a, b = owner[source], owner[node.name]
            if a != b and (a, b) not in seen:
                seen.add((a, b))
                dot.edge(a, b, label=_dims(graph.node(source).shape))


def _layer_diagram(dot, graph: Graph) -> None:
    clusters: dict = {}
    parents = {b.prefix: b.parent for b in graph.blocks}
    kinds = {b.prefix: b.kind for b in graph.blocks}
    for node in graph.nodes:
        label = f"{node.name}\n{node.keras_class}"
        target = dot
        if node.block is not None:
            target = _cluster(dot, clusters, node.block, parents, kinds)
        target.node(node.name, label, fillcolor=_colour(node.op))
    for prefix in sorted(clusters, key=lambda p: -_depth(p, parents)):
        parent = parents.get(prefix)
        (clusters[parent] if parent in clusters else dot).subgraph(clusters[prefix])
    for node in graph.nodes:
        for source in node.inputs:
            dot.edge(source, node.name, label=_dims(graph.node(source).shape))


def _depth(prefix, parents) -> int:
    depth = 0
    while parents.get(prefix) is not None:
        prefix = parents[prefix]
        depth += 1
    return depth


def _cluster(dot, clusters: dict, prefix: str, parents: dict, kinds: dict):
    if prefix not in clusters:
        clusters[prefix] = graphviz_subgraph(
            dot, f"cluster_{prefix}", f"{prefix} ({kinds[prefix]})"
        )
        if parents.get(prefix) is not None:
            _cluster(dot, clusters, parents[prefix], parents, kinds)
    return clusters[prefix]


def graphviz_subgraph(dot, name: str, label: str):
    """A dashed, labelled cluster for the layers of one block."""
    import graphviz

    sub = graphviz.Digraph(name)
    sub.attr(label=label, style="rounded,dashed", color="#999999", fontsize="10", labeljust="l")
    return sub


def write(graph: Graph, output: str, *, layers: bool = False) -> Path:
    """Write the diagram to ``output`` (.dot, .svg, .png or .pdf); returns the path written.

    Without Graphviz's ``dot`` program, the ``.dot`` source is written beside the
    requested file and a UsageError says how to install Graphviz."""
    from archspec.files import write_text

    target = Path(output)
    fmt = target.suffix.lstrip(".").lower()
    if fmt not in ("dot", "gv", "svg", "png", "pdf"):
        raise UsageError(f"{output}: expected a .dot, .svg, .png or .pdf file")
    source = diagram(graph, layers=layers).source
    if fmt in ("dot", "gv"):
        write_text(target, source)
        return target
    if shutil.which("dot") is None:
        fallback = target.with_suffix(".dot")
        write_text(fallback, source)
        raise UsageError(
            f"Graphviz's 'dot' program is not installed, so {output} was not drawn; wrote "
            f"{fallback} instead. Install Graphviz (apt-get install graphviz, brew install "
            f"graphviz) and run again, or render it with: dot -T{fmt} {fallback} -o {output}"
        )
    import graphviz

    data = graphviz.Source(source).pipe(format=fmt)
    from archspec.files import atomic_path

    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target
