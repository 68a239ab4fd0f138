"""Layer-by-layer comparison of two Keras models (imported only by Keras tests)."""

from __future__ import annotations

import re

import numpy as np

from archspec.core.ops import keras_auto_name


def is_auto_name(layer) -> bool:
    """Whether Keras named this layer itself (``activation_12``, ``input_layer_3``)."""
    return (
        re.fullmatch(re.escape(keras_auto_name(type(layer).__name__)) + r"(_\d+)?", layer.name)
        is not None
    )


def inbound(layer) -> list[str]:
    node = layer._inbound_nodes[0]
    return [t._keras_history[0].name for t in node.input_tensors]


def _config(layer) -> dict:
    config = _outer_config(layer)
    config.pop("name", None)
    return config


def assert_same_model(
    actual, expected, *, names: str = "explicit", check_model_name: bool = True
) -> None:
    """The same graph (layers in the same order, connected the same way), the same
    classes, configurations and output shapes. ``names``: "all" compares every layer's
    name, "explicit" only those that ``expected`` did not leave to Keras's auto-naming."""
    if check_model_name:
        assert actual.name == expected.name
    la, lb = actual.layers, expected.layers
    assert len(la) == len(lb), f"{len(la)} layers vs {len(lb)}"
    # positions among all operations: a layer may read an operation node (x + 3.0)
    oa, ob = actual.operations, expected.operations
    assert [type(o).__name__ for o in oa] == [type(o).__name__ for o in ob]
    pos_a = {op.name: i for i, op in enumerate(oa)}
    pos_b = {op.name: i for i, op in enumerate(ob)}
    layers = {id(layer) for layer in la}
    for a, b in zip(oa, ob):
        if id(a) not in layers:  # an operation node: what it reads, and its name
            assert [pos_a[n] for n in inbound(a)] == [pos_b[n] for n in inbound(b)], b.name
            assert names != "all" or a.name == b.name, b.name
    for i, (a, b) in enumerate(zip(la, lb)):
        where = f"layer {i} ({a.name} vs {b.name})"
        assert type(a).__name__ == type(b).__name__, where
        if names == "all" or not is_auto_name(b):
            assert a.name == b.name, where
        assert _config(a) == _config(b), f"{where}: {_config(a)} != {_config(b)}"
        assert tuple(a.output.shape) == tuple(b.output.shape), where
        if a._inbound_nodes and b._inbound_nodes:
            assert [pos_a[n] for n in inbound(a)] == [pos_b[n] for n in inbound(b)], where
        assert [w.shape for w in a.weights] == [w.shape for w in b.weights], where
    assert actual.count_params() == expected.count_params()


def assert_same_outputs(actual, expected, *, atol: float, seed: int = 0, batch: int = 2) -> float:
    """Copy ``expected``'s weights into ``actual`` layer by layer, run both on one random
    batch, and return the max abs difference (asserted <= atol)."""
    for a, b in zip(actual.layers, expected.layers):
        a.set_weights(b.get_weights())
    rng = np.random.default_rng(seed)
    x = [_sample(t, rng, batch) for t in expected.inputs]
    x = x[0] if len(x) == 1 else x
    got, want = actual(x, training=False), expected(x, training=False)
    if isinstance(want, dict):  # outputs by key
        got, want = [got[k] for k in sorted(want)], [want[k] for k in sorted(want)]
    elif not isinstance(want, list):
        got, want = [got], [want]
    diff = max(float(np.max(np.abs(np.asarray(g) - np.asarray(w)))) for g, w in zip(got, want))
    assert diff <= atol, diff
    return diff


def _sample(tensor, rng, batch: int = 2):
    """A batch for one model input: token ids (an embedding's valid range for any
    vocabulary of 10 or more) for an integer input, else normal floats; an unknown size
    (MobileNetV3's default input) is 224, the size keras.applications' weights are for."""
    shape = (batch, *(224 if d is None else d for d in tensor.shape[1:]))
    if "int" in str(tensor.dtype):
        return rng.integers(0, 10, shape).astype(str(tensor.dtype))
    return rng.standard_normal(shape).astype("float32")


def _outer_config(layer) -> dict:
    """A layer's config without the names Keras's session counters give a wrapper's
    inner layers (Bidirectional's forward_lstm_3); the layer's own name stays."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "name"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    config = layer.get_config()
    return {k: (v if k == "name" else strip(v)) for k, v in config.items()}


def assert_same_graph(actual, expected, *, atol: float = 1e-5) -> None:
    """Same layers (class, name, config, weight shapes), each called on the same layers'
    outputs at every call, and the same outputs after copying the weights (several
    inputs and outputs, dict outputs by key)."""
    assert actual.name == expected.name
    assert [type(a).__name__ for a in actual.layers] == [type(b).__name__ for b in expected.layers]
    assert [a.name for a in actual.layers] == [b.name for b in expected.layers]
    for a, b in zip(actual.layers, expected.layers):
        assert _outer_config(a) == _outer_config(b), a.name
        assert [w.shape for w in a.weights] == [w.shape for w in b.weights], a.name
        calls_a = [[t._keras_history[0].name for t in n.input_tensors] for n in a._inbound_nodes]
        calls_b = [[t._keras_history[0].name for t in n.input_tensors] for n in b._inbound_nodes]
        assert calls_a == calls_b, a.name
        if hasattr(b, "layers") and hasattr(b, "inputs"):  # a nested model: its layers too
            assert [x.name for x in a.layers] == [y.name for y in b.layers], a.name
    assert actual.count_params() == expected.count_params()
    assert list(actual.output_names) == list(expected.output_names)
    for a, b in zip(actual.layers, expected.layers):
        a.set_weights(b.get_weights())
    rng = np.random.default_rng(0)
    inputs = [_sample(t, rng) for t in expected.inputs]
    if len(inputs) == 1:
        inputs = inputs[0]
    got, want = actual(inputs), expected(inputs)
    if isinstance(want, dict):
        assert sorted(got) == sorted(want)
        got, want = [got[k] for k in sorted(got)], [want[k] for k in sorted(want)]
    elif not isinstance(want, list):
        got, want = [got], [want]
    for g, w in zip(got, want, strict=True):
        assert float(np.max(np.abs(np.asarray(g) - np.asarray(w)))) <= atol
