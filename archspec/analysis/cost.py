"""Multiply-accumulates per layer, from the static shapes in the IR.

Only the layers that multiply weights by activations count (convolutions, depthwise
convolutions, dense layers: each op's ``macs`` rule in the catalogue), as in the papers
and in TensorFlow's profiler, which reports twice these numbers as FLOPs.
"""

from __future__ import annotations

from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS


def macs(node: Node, graph: Graph) -> int:
    """Multiply-accumulates of one forward pass of ``node`` for one example."""
    op = OPS.get(node.op)  # None for the input, and for a read-back layer archspec lacks
    if op is None:
        return 0
    in_shapes = [graph.node(i).shape for i in node.inputs]
    # An unknown size makes the count unknown; it counts as 0 rather than a guess.
    if None in node.shape or any(None in s for s in in_shapes):
        return 0
    return op.macs(node.attrs, in_shapes, node.shape)


def total_macs(graph: Graph) -> int:
    """The model's multiply-accumulates: the sum over its layers (0 where a size is unknown)."""
    return sum(macs(n, graph) for n in graph.nodes)
