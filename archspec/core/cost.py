"""What a lowered graph costs: multiply-accumulates, FLOPs and memory, from the static
shapes in the IR and the op catalogue's rules.

Only the layers that multiply weights by activations count MACs (convolutions,
depthwise convolutions, dense layers: each op's ``macs`` rule in the catalogue), as in
the papers. FLOPs are defined as 2 × MACs (a multiply and an add), which is what
TensorFlow's profiler reports; batch norm, activations and adds are in neither.
Memory is elements × the bytes of one value of a dtype: parameters once, activations
per example for the forward pass (every node's output, the input's included).
"""

from __future__ import annotations

from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS

DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}


def dtype_bytes(dtype: str) -> int:
    """Bytes per value of a dtype name (ValueError for one archspec does not know)."""
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(
            f"dtype must be one of {', '.join(DTYPE_BYTES)}. Received: dtype={dtype!r}"
        ) from None


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


def output_elements(node: Node) -> int | None:
    """Values in one example's output of ``node``; None where a size is unknown."""
    if None in node.shape:
        return None
    count = 1
    for dim in node.shape:
        count *= dim
    return count


def activation_bytes(graph: Graph, dtype: str = "float32") -> int | None:
    """Forward-pass activation memory per example: every node's output, the input's
    included; None when some size is unknown (an input of any size)."""
    counts = [output_elements(n) for n in graph.nodes]
    if None in counts:
        return None
    return sum(counts) * dtype_bytes(dtype)


def param_bytes(graph: Graph, dtype: str = "float32") -> int:
    """Parameter memory: every parameter as one value of ``dtype``."""
    return graph.total * dtype_bytes(dtype)
