"""Multiply-accumulates per layer, from the static shapes in the IR.

Only the layers that multiply weights by activations count (convolutions, depthwise
convolutions, dense layers), as in the papers and in TensorFlow's profiler, which
reports twice these numbers as FLOPs.
"""

from __future__ import annotations

import math

from archspec.core.ir import Graph, Node


def macs(node: Node, graph: Graph) -> int:
    """Multiply-accumulates of one forward pass of ``node`` for one example."""
    if node.op not in ("conv2d", "depthwise_conv2d", "dense"):
        return 0
    in_shape = graph.node(node.inputs[0]).shape
    out = node.shape
    if None in out or None in in_shape:
        return 0
    if node.op == "dense":
        return math.prod(in_shape[:-1]) * in_shape[-1] * node.attrs["units"]
    kh, kw = node.attrs["kernel_size"]
    if node.op == "depthwise_conv2d":
        return out[0] * out[1] * out[2] * kh * kw
    return out[0] * out[1] * out[2] * kh * kw * (in_shape[-1] // node.attrs["groups"])


def total_macs(graph: Graph) -> int:
    return sum(macs(n, graph) for n in graph.nodes)
