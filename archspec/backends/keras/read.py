"""From a built Keras model back to the IR: a saved ``.keras`` file, or a generated module.

``archspec diff`` compares graphs; this module turns a ``keras.Model`` into the same
``Graph`` that lowering makes from a spec (layer names, op kinds, attributes in the IR's
normalized form, inputs, output shapes, parameter counts), and reads each layer's
weights from the model itself. It is the only module besides ``build`` that
imports Keras, and only inside its functions.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path

import pydantic

from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS, Weight, keras_auto_name, read_back, refine
from archspec.core.ops.args import is_initializer
from archspec.core.ops.custom import layer_class, load_plugins
from archspec.diagnostics import UsageError

SAVED_SUFFIXES = (".keras", ".h5", ".hdf5")


def load_saved(path: str | os.PathLike) -> tuple[Graph, dict]:
    """The graph and weights of a saved model (``keras.models.load_model``)."""
    _must_exist(path)
    import keras

    try:
        model = keras.models.load_model(path, compile=False, custom_objects=_custom_classes())
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds for a bad file
        raise UsageError(f"{path}: cannot load the model: {type(exc).__name__}: {exc}") from None
    return from_model(model, source=str(path))


def load_module(path: str | os.PathLike, params: dict | None = None) -> tuple[Graph, dict]:
    """The graph and weights of the model a generated module builds: its model function
    (the public function named with a capital, as codegen names it after the spec) is
    called with ``params`` as keyword arguments."""
    _must_exist(path)
    name = "_archspec_module_" + re.sub(r"\W", "_", Path(path).stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: cannot import: not a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - whatever the module raises
        raise UsageError(f"{path}: cannot import: {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(name, None)
    function = model_function(module, path)
    try:
        model = function(**(params or {}))
    except TypeError as exc:
        raise UsageError(f"{path}: {function.__name__}(): {exc}") from None
    return from_model(model, source=str(path), name=function.__name__)


def model_function(module, path) -> object:
    """The module's model function: the only public function whose name starts with an
    uppercase letter, or else the last function it defines."""
    functions = [
        f
        for _, f in inspect.getmembers(module, inspect.isfunction)
        if f.__module__ == module.__name__
    ]
    capital = [f for f in functions if f.__name__[:1].isupper()]
    if len(capital) == 1:
        return capital[0]
    if not functions:
        raise UsageError(f"{path}: defines no function that builds a model")
    return max(functions, key=lambda f: f.__code__.co_firstlineno)


def from_model(model, source: str = "", name: str | None = None) -> tuple[Graph, dict]:
    """A ``keras.Model`` as an IR graph, and its layers' weights by layer name."""
    nodes, weights = [], {}
    for layer in model.layers:
        node = _node(layer)
        nodes.append(node)
        found = tuple(Weight(w.name, tuple(w.shape), bool(w.trainable)) for w in layer.weights)
        if found:
            weights[node.name] = found
    graph = Graph(
        name=name or model.name,
        model_name=model.name,
        nodes=tuple(nodes),
        inputs=tuple(_producer(t) for t in model.inputs),
        outputs=tuple(_producer(t) for t in model.outputs),
        source=source,
    )
    return graph, weights


def _custom_classes() -> dict:
    """The installed plugins' layer classes by the names Keras saves them under, so that
    a saved model of custom layers loads (their modules are imported now)."""
    import keras

    load_plugins()
    classes = [layer_class(op) for op in OPS.values() if op.module is not None]
    return {keras.saving.get_registered_name(cls): cls for cls in classes}


def _must_exist(path) -> None:
    p = Path(path)
    if not p.is_file():
        why = "is a directory" if p.is_dir() else "no such file"
        raise UsageError(f"{path}: cannot read: {why}")


def _producer(tensor) -> str:
    return tensor._keras_history[0].name


def _node(layer) -> Node:
    cls = type(layer).__name__
    config = layer.get_config()
    counts = [0, 0]
    for w in layer.weights:
        size = 1
        for d in w.shape:
            size *= int(d)
        counts[0 if w.trainable else 1] += size
    if cls == "InputLayer":
        shape = tuple(config["batch_shape"][1:])
        return Node(layer.name, "input", cls, {"shape": shape}, (), shape)
    inputs = ()
    if layer._inbound_nodes:
        inputs = tuple(_producer(t) for t in layer._inbound_nodes[0].input_tensors)
    try:
        shape = tuple(layer.output.shape)[1:]
    except (AttributeError, ValueError):  # several outputs, or never called
        shape = ()
    kind, attrs = _kind_and_attrs(cls, config, type(layer).__module__)
    return Node(layer.name, kind, cls, attrs, inputs, shape, counts[0], counts[1])


def _kind_and_attrs(cls: str, config: dict, module: str) -> tuple[str, dict]:
    """The op kind and normalized attributes. A layer of a class the language lacks
    keeps its Keras config (without bookkeeping) under its Keras auto-name; settings the
    language cannot write (a regularizer, ``trainable: False``) are kept as extra
    attributes, found by rebuilding the layer from the IR and comparing configs. A custom
    layer is known by its class's module too."""
    op = read_back(cls, module)
    if op is None:
        return keras_auto_name(cls), _foreign(config)
    raw = {}
    for key, field in op.args.model_fields.items():
        if key not in config:
            continue
        value = config[key]
        if key == "activation" and value == "linear" and field.default is None:
            value = None
        elif is_initializer(value, serialized=True):
            value = _initializer(value)
        raw[key] = value
    try:
        attrs = op.args.model_validate(raw).model_dump()
    except pydantic.ValidationError:  # a configuration the language cannot express
        return keras_auto_name(cls), _foreign(config)
    kind = refine(op, attrs).kind  # relu6 is a ReLU with max_value 6
    import keras

    from archspec.backends.keras.build import make_layer

    rebuilt = make_layer(keras, Node("probe", kind, cls, attrs, (), ())).get_config()
    for key, value in config.items():
        if key != "name" and key not in attrs and rebuilt.get(key) != value:
            attrs[key] = value
    return kind, attrs


def _foreign(config: dict) -> dict:
    return {
        k: v
        for k, v in config.items()
        if k not in ("name", "dtype") and (k, v) != ("trainable", True)
    }


def _initializer(value: dict) -> dict:
    """Keras's serialized initializer → the IR's ``{class_name, config}`` with the
    arguments that differ from the class's defaults (as a spec writes them)."""
    import keras

    cls = value["class_name"]
    config = dict(value.get("config") or {})
    try:
        defaults = getattr(keras.initializers, cls)().get_config()
    except (AttributeError, TypeError, ValueError):  # not a stock initializer
        defaults = {}
    return {
        "class_name": cls,
        "config": {k: v for k, v in config.items() if k not in defaults or defaults[k] != v},
    }
