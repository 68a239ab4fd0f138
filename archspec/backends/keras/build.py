"""The Keras emitter: walks the IR graph and builds a ``keras.Model`` of stock layers.

This is the only module that imports Keras (and so TensorFlow), and only when a model
is built. Each node becomes one layer named as the graph says; after each call the
Keras output shape is compared with the static one, so the two can never drift apart.
"""

from __future__ import annotations

from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS
from archspec.core.ops.args import is_initializer, is_nested_layer


class ShapeMismatch(AssertionError):
    """Keras computed a different shape than the static rules: a bug in archspec."""


def _value(keras, value):
    """An attribute as Keras takes it: an initializer or a nested layer (Bidirectional's
    ``layer``, left for Keras to name) as the object."""
    if is_initializer(value):
        return getattr(keras.initializers, value["class_name"])(**value["config"])
    if is_nested_layer(value):
        layer = getattr(keras.layers, OPS[value["kind"]].keras_class)
        return layer(**{k: _value(keras, v) for k, v in value["args"].items()})
    return value


def layer_kwargs(keras, node: Node) -> dict:
    """The constructor arguments of a node's Keras layer."""
    kwargs = {k: _value(keras, v) for k, v in node.attrs.items()}
    kwargs["name"] = node.name
    return kwargs


def make_layer(keras, node: Node):
    return getattr(keras.layers, node.keras_class)(**layer_kwargs(keras, node))


def build_model(graph: Graph):
    """Build the Keras functional model of ``graph``."""
    import keras

    tensors = {}
    for node in graph.nodes:
        if node.op == "input":
            tensors[node.name] = keras.Input(shape=node.attrs["shape"], name=node.name)
            continue
        inputs = [tensors[i] for i in node.inputs]
        out = make_layer(keras, node)(*OPS[node.op].call_arguments(inputs))
        if tuple(out.shape) != node.output_shape:
            raise ShapeMismatch(
                f"layer '{node.name}': Keras gives output shape {tuple(out.shape)}, "
                f"the static rules {node.output_shape}"
            )
        tensors[node.name] = out

    def one_or_list(names):
        return tensors[names[0]] if len(names) == 1 else [tensors[n] for n in names]

    return keras.Model(one_or_list(graph.inputs), one_or_list(graph.outputs), name=graph.model_name)
