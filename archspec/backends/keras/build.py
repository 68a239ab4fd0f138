"""The Keras emitter: walks the IR graph and builds a ``keras.Model`` of stock layers
(and of the custom layers plugins register).

This is the only module that imports Keras (and so TensorFlow), and only when a model
is built. Each node becomes one layer named as the graph says; after each call the
Keras output shape is compared with the static one, so the two can never drift apart.
"""

from __future__ import annotations

from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS
from archspec.core.ops.args import is_initializer, is_nested_layer
from archspec.core.ops.custom import layer_class


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
    """The node's Keras layer, or for arithmetic with a constant the operation that
    Python arithmetic on a tensor records (``x + 3.0``: an ``Add`` operation)."""
    operation = OPS[node.op].operation
    if operation is not None:
        # Keras has no public way to name an operation (``keras.ops.add`` takes no name,
        # the classes live in keras.src); a saved model's config makes one, by the public
        # deserializer, without touching Keras's session-wide counter of auto names.
        return keras.saving.deserialize_keras_object(
            {
                "module": operation.module,
                "class_name": node.keras_class,
                "config": {"name": node.name},
                "registered_name": node.keras_class,
            }
        )
    op = OPS[node.op]
    # A custom layer's class is imported by its registered path, now that Keras is loaded.
    cls = getattr(keras.layers, node.keras_class) if op.module is None else layer_class(op)
    return cls(**layer_kwargs(keras, node))


def call_args(node: Node, inputs: list) -> list:
    """What a node's layer is called with: its input, a merge's list of inputs, or an
    operation's tensor and constant."""
    op = OPS[node.op]
    if op.operation is not None:
        return [inputs[0], node.attrs[op.operation.operand]]
    return op.call_arguments(inputs)


def build_model(graph: Graph):
    """Build the Keras functional model of ``graph``."""
    import keras

    tensors = {}
    made = {}  # layers by name: a node that shares one calls it again
    for node in graph.nodes:
        if node.op == "input":
            tensors[node.name] = keras.Input(
                shape=node.attrs["shape"], name=node.name, dtype=node.attrs.get("dtype")
            )
            continue
        inputs = [tensors[i] for i in node.inputs]
        layer = made[node.shares] if node.shares else make_layer(keras, node)
        made[node.name] = layer
        out = layer(*call_args(node, inputs))
        if tuple(out.shape) != node.output_shape:
            raise ShapeMismatch(
                f"layer '{node.name}': Keras gives output shape {tuple(out.shape)}, "
                f"the static rules {node.output_shape}"
            )
        tensors[node.name] = out

    def one_or_list(names):
        return tensors[names[0]] if len(names) == 1 else [tensors[n] for n in names]

    outputs = one_or_list(graph.outputs)
    if graph.output_keys is not None:
        outputs = {k: tensors[n] for k, n in zip(graph.output_keys, graph.outputs)}
    return keras.Model(one_or_list(graph.inputs), outputs, name=graph.model_name)
