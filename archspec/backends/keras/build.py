"""The Keras emitter: walks the IR graph and builds a ``keras.Model`` of stock layers
(and of the custom layers plugins register).

This is the only module that imports Keras (and so TensorFlow), and only when a model
is built. Each node becomes one layer named as the graph says; after each call the
Keras output shape is compared with the static one, so the two can never drift apart.
"""

from __future__ import annotations

from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS
from archspec.core.ops.args import is_initializer
from archspec.core.ops.custom import layer_class


class ShapeMismatch(AssertionError):
    """Keras computed a different shape than the static rules: a bug in archspec."""


def _initializer(keras, value):
    if is_initializer(value):
        return getattr(keras.initializers, value["class_name"])(**value["config"])
    return value


def layer_kwargs(keras, node: Node) -> dict:
    """The constructor arguments of a node's Keras layer."""
    kwargs = {k: _initializer(keras, v) for k, v in node.attrs.items()}
    kwargs["name"] = node.name
    return kwargs


def make_layer(keras, node: Node):
    op = OPS[node.op]
    # A custom layer's class is imported by its registered path, now that Keras is loaded.
    cls = getattr(keras.layers, node.keras_class) if op.module is None else layer_class(op)
    return cls(**layer_kwargs(keras, node))


def build_model(graph: Graph):
    """Build the Keras functional model of ``graph``."""
    import keras

    tensors = {}
    for node in graph.nodes:
        if node.op == "input":
            tensors[node.name] = keras.Input(shape=node.attrs["shape"], name=node.name)
            continue
        inputs = [tensors[i] for i in node.inputs]
        out = make_layer(keras, node)(inputs if OPS[node.op].merge else inputs[0])
        if tuple(out.shape) != node.output_shape:
            raise ShapeMismatch(
                f"layer '{node.name}': Keras gives output shape {tuple(out.shape)}, "
                f"the static rules {node.output_shape}"
            )
        tensors[node.name] = out

    def one_or_list(names):
        return tensors[names[0]] if len(names) == 1 else [tensors[n] for n in names]

    return keras.Model(one_or_list(graph.inputs), one_or_list(graph.outputs), name=graph.model_name)
