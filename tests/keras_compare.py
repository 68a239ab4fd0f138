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
    config = dict(layer.get_config())
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
    pos_a = {layer.name: i for i, layer in enumerate(la)}
    pos_b = {layer.name: i for i, layer in enumerate(lb)}
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
    x = rng.standard_normal((batch, *expected.input_shape[1:])).astype("float32")
    diff = float(
        np.max(
            np.abs(np.asarray(actual(x, training=False)) - np.asarray(expected(x, training=False)))
        )
    )
    assert diff <= atol, diff
    return diff
