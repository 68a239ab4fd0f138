"""The Keras emitter: walks the IR graph and builds a ``keras.Model`` of stock layers
(and of the custom layers plugins register).

This is the only module that imports Keras (and so TensorFlow), and only when a model
is built. Each node becomes one layer named as the graph says; after each call the
Keras output shape is compared with the static one, so the two can never drift apart.
"""

from __future__ import annotations

from archspec.backends.keras.quiet import before_keras
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
    before_keras()
    import keras

    tensors = {}
    _Builder(keras, graph).nodes(graph.nodes, tensors, [b for b in graph.blocks if b.model])
    outputs = _one_or_list(tensors, graph.outputs)
    if graph.output_keys is not None:
        outputs = {k: tensors[n] for k, n in zip(graph.output_keys, graph.outputs)}
    return keras.Model(_one_or_list(tensors, graph.inputs), outputs, name=graph.model_name)


def _one_or_list(tensors: dict, names):
    return tensors[names[0]] if len(names) == 1 else [tensors[n] for n in names]


class _Builder:
    """Builds nodes into Keras tensors; a block built as a nested model becomes that
    model (functional or sequential), called on its inputs, and called again where the
    graph applies it again."""

    def __init__(self, keras, graph: Graph):
        self.keras, self.graph = keras, graph
        self.made = {}  # layers by name: a node that shares one calls it again
        self.models = {}  # nested models by prefix

    def nodes(self, nodes, tensors: dict, models: list) -> None:
        """Build ``nodes`` in order; ``models``: the nested-model blocks among them."""
        keras = self.keras
        inside = {n for m in models for n in m.nodes}
        # The outermost models here: those not inside another one of the list.
        outer = [
            m
            for m in models
            if not any(m is not o and set(m.nodes) <= set(o.nodes) for o in models)
        ]
        owner = {n: m for m in outer for n in m.nodes}
        for node in nodes:
            model = owner.get(node.name)
            if model is not None:
                if node.name == model.nodes[0]:
                    inner = [
                        m for m in models if m is not model and set(m.nodes) <= set(model.nodes)
                    ]
                    self.call_model(model, tensors, inner)
                continue
            if node.name in inside:
                continue
            if node.op == "input":
                tensors[node.name] = keras.Input(
                    shape=node.attrs["shape"], name=node.name, dtype=node.attrs.get("dtype")
                )
                continue
            inputs = [tensors[i] for i in node.inputs]
            layer = self.made[node.shares] if node.shares else make_layer(keras, node)
            self.made[node.name] = layer
            self.check(node, layer(*call_args(node, inputs)), tensors)

    def check(self, node: Node, out, tensors: dict) -> None:
        if tuple(out.shape) != node.output_shape:
            raise ShapeMismatch(
                f"layer '{node.name}': Keras gives output shape {tuple(out.shape)}, "
                f"the static rules {node.output_shape}"
            )
        tensors[node.name] = out

    def call_model(self, block, tensors: dict, inner: list) -> None:
        model = self.models.get(block.shares) if block.shares else None
        if model is None:
            model = self.models[block.prefix] = self.make_model(block, inner)
        outs = model(_one_or_list(tensors, block.inputs))
        outs = outs if isinstance(outs, list | tuple) else [outs]
        for name, out in zip(block.outputs, outs):
            self.check(self.graph.node(name), out, tensors)

    def make_model(self, block, inner: list):
        keras, graph = self.keras, self.graph
        nodes = [graph.node(n) for n in block.nodes]
        if block.model == "sequential":
            layers = []
            for node in nodes:
                layer = self.made[node.name] = make_layer(keras, node)
                layers.append(layer)
            return keras.Sequential(layers, name=block.prefix)
        tensors = {}
        many = len(block.inputs) > 1
        ins = []
        for i, name in enumerate(block.inputs):
            source = graph.node(name)
            suffix = f"_input_{i + 1}" if many else "_input"
            ins.append(
                keras.Input(
                    shape=source.shape, name=block.prefix + suffix, dtype=source.attrs.get("dtype")
                )
            )
            tensors[name] = ins[-1]
        self.nodes(nodes, tensors, inner)
        return keras.Model(
            ins[0] if not many else ins, _one_or_list(tensors, block.outputs), name=block.prefix
        )
