"""The sequence kinds (einsum_dense, embedding, multi_head_attention, lstm, gru,
simple_rnn, bidirectional) against Keras itself: random valid arguments and inputs give
Keras's output shape, weights (names, shapes, in order) and parameter counts; what Keras
refuses is refused at check time; a text model and an attention block build to Keras's
own layers, read back from a saved model as they were, and both generated styles build
the same; MHA's query, value and key as three tensors build through the IR."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archspec
from archspec.backends.keras.build import build_model
from archspec.backends.keras.read import from_model, load_saved
from archspec.backends.python.codegen import module_source
from archspec.core.ir import Graph, Node
from archspec.core.ops import OPS, ShapeError

pytestmark = pytest.mark.keras

sizes = st.integers(1, 5)
activations = st.sampled_from([None, "relu", "tanh", "linear"])

# (equation, input shape of its axes after the batch, output shape, bias axes to pick from)
EINSUM_FORMS = ["ab,bc->ac", "abc,cd->abd", "abc,cde->abde", "abcd,cde->abe", "...b,bc->...c",
                "ab...,bc->ac..."]  # fmt: skip


@st.composite
def einsum_case(draw):
    form = draw(st.sampled_from(EINSUM_FORMS))
    t, n, u, h = (draw(sizes) for _ in range(4))
    if form == "ab,bc->ac":
        shape, out, bias = (n,), draw(st.sampled_from([u, [u]])), ["c"]
    elif form == "abc,cd->abd":
        shape, out, bias = (t, n), [draw(st.sampled_from([t, None])), u], ["d"]
    elif form == "abc,cde->abde":
        shape, out, bias = (t, n), [t, h, u], ["de", "d", "e"]
    elif form == "abcd,cde->abe":
        shape, out, bias = (t, n, h), [t, u], ["e", "be"]
    elif form == "...b,bc->...c":
        shape, out, bias = draw(st.sampled_from([(n,), (t, n)])), u, ["c"]
    else:
        shape, out, bias = (n, *draw(st.lists(sizes, max_size=2))), u, ["c"]
    args = {"equation": form, "output_shape": out, "activation": draw(activations)}
    if draw(st.booleans()):
        args["bias_axes"] = draw(st.sampled_from(bias))
    return args, [shape]


@st.composite
def mha_case(draw):
    rank = draw(st.integers(2, 3))
    heads, key_dim = draw(st.integers(1, 3)), draw(sizes)
    args = {"num_heads": heads, "key_dim": key_dim, "use_bias": draw(st.booleans())}
    if draw(st.booleans()):
        args["value_dim"] = draw(sizes)
    if draw(st.booleans()):
        args["output_shape"] = draw(st.sampled_from([draw(sizes), [draw(sizes)]]))
    axes = list(range(rank - 1))  # indices without the batch
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(axes), min_size=1, unique=True))
        forms = [draw(st.sampled_from([i + 1, i - rank])) for i in chosen]
        args["attention_axes"] = forms[0] if len(forms) == 1 and draw(st.booleans()) else forms
        attended = set(chosen)
    else:
        attended = set(axes)
    query = tuple(draw(sizes) for _ in range(rank))
    # Axes not attended over are batch-like: the value's must be the query's.
    middle = tuple(draw(sizes) if i in attended else query[i] for i in axes)
    value = (*middle, draw(sizes))
    shapes = [query, value, (*middle, draw(sizes))][: draw(st.integers(1, 3))]
    return args, shapes


@st.composite
def rnn_args(draw, kind, steps, *, wrapped=False):
    args = {"units": draw(sizes), "return_sequences": draw(st.booleans()),
            "use_bias": draw(st.booleans()), "activation": draw(st.sampled_from(["tanh", "relu"])),
            "dropout": draw(st.sampled_from([0.0, 0.2])), "unroll": steps is not None and
            draw(st.booleans())}  # fmt: skip
    if not wrapped and draw(st.booleans()):
        args["go_backwards"] = True
    if kind == "gru":
        args["reset_after"] = draw(st.booleans())
    if kind == "lstm":
        args["unit_forget_bias"] = draw(st.booleans())
    return args


@st.composite
def case(draw, kind):
    """(spec arguments, input shapes) for a kind, valid by construction."""
    if kind == "einsum_dense":
        return draw(einsum_case())
    if kind == "multi_head_attention":
        return draw(mha_case())
    if kind == "embedding":
        args = {"input_dim": draw(st.integers(1, 20)), "output_dim": draw(sizes),
                "mask_zero": draw(st.booleans())}  # fmt: skip
        return args, [tuple(draw(st.none() | sizes) for _ in range(draw(st.integers(1, 3))))]
    steps = draw(st.none() | sizes)
    shape = [(steps, draw(sizes))]
    if kind == "bidirectional":
        inner = draw(st.sampled_from(["lstm", "gru", "simple_rnn"]))
        merge = draw(st.sampled_from(["concat", "sum", "mul", "ave"]))
        return {
            "layer": {inner: draw(rnn_args(inner, steps, wrapped=True))},
            "merge_mode": merge,
        }, shape
    return draw(rnn_args(kind, steps)), shape


def keras_layer(keras, kind, args):
    """Keras's own layer of the spec's arguments."""
    if kind == "bidirectional":
        ((inner, inner_args),) = args["layer"].items()
        layer = getattr(keras.layers, OPS[inner].keras_class)(**inner_args)
        return keras.layers.Bidirectional(layer, merge_mode=args["merge_mode"])
    return getattr(keras.layers, OPS[kind].keras_class)(**args)


KINDS = ["einsum_dense", "embedding", "multi_head_attention", "lstm", "gru", "simple_rnn",
         "bidirectional"]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_static_rules_equal_keras(kind):
    import keras

    op = OPS[kind]

    @settings(max_examples=20, deadline=None)
    @given(drawn=case(kind))
    def check(drawn):
        args, shapes = drawn
        validated = op.args.model_validate(args)
        out = op.shape(validated, shapes)
        weights = op.weights(validated.model_dump(), shapes)
        layer = keras_layer(keras, kind, args)
        full = [(None, *s) for s in shapes]
        if kind == "multi_head_attention":
            full = full + [full[-1]] * (2 - len(full))  # one tensor: layer(x, x)
        assert tuple(layer.compute_output_shape(*full))[1:] == out
        y = layer(*(keras.Input(shape=s) for s in op.call_arguments(shapes)))
        assert tuple(y.shape)[1:] == out
        assert [(w.name, tuple(w.shape), w.trainable) for w in layer.weights] == [
            (w.name, w.shape, w.trainable) for w in weights
        ]
        trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
        frozen = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
        assert (trainable, frozen) == op.params(validated, shapes, out)
        assert layer.count_params() == trainable + frozen

    check()


# (kind, spec arguments, input shapes): Keras refuses each, constructing, building or
# calling it (on data where only running shows it).
REFUSED = [
    ("einsum_dense", {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "x"}, [(3,)]),
    ("einsum_dense", {"equation": "ab,bc->ad", "output_shape": 4}, [(3,)]),
    ("einsum_dense", {"equation": "abc,cd->abd", "output_shape": [5, 4]}, [(6, 3)]),
    ("einsum_dense", {"equation": "ab->b", "output_shape": 4}, [(3,)]),
    ("einsum_dense", {"equation": "ab,bc->ac", "output_shape": 4}, [(3, 2)]),
    ("multi_head_attention", {"num_heads": 2, "key_dim": 2}, [(4, 6), (9, 10), (8, 3)]),
    ("multi_head_attention", {"num_heads": 0, "key_dim": 2}, [(4, 6)]),
    ("lstm", {"units": 4}, [(5, 3, 2)]),
    ("gru", {"units": 4, "unroll": True}, [(None, 3)]),
    ("simple_rnn", {"units": 0}, [(5, 3)]),
    ("bidirectional", {"layer": {"lstm": {"units": 4}}, "merge_mode": "max"}, [(5, 3)]),
    ("bidirectional", {"layer": {"lstm": {"units": 4, "go_backwards": True}}}, [(5, 3)]),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "args", "shapes"), REFUSED)
def test_what_keras_refuses_is_refused_at_check_time(kind, args, shapes):
    import keras
    import tensorflow as tf

    op = OPS[kind]
    with pytest.raises((pydantic.ValidationError, ShapeError)):
        op.shape(op.args.model_validate(args), shapes)

    def keras_refuses():
        layer = keras_layer(keras, kind, {"merge_mode": "concat", **args})
        inputs = op.call_arguments(shapes)
        layer(*(keras.Input(shape=s) for s in inputs))
        layer(*(np.zeros((1, *(2 if d is None else d for d in s)), "float32") for s in inputs))

    with pytest.raises((ValueError, TypeError, IndexError, tf.errors.InvalidArgumentError)):
        keras_refuses()


# ---- specs: a text model, an attention block --------------------------------------------

TEXT = """
name: TextModel
input: {shape: [12], name: ids}
layers:
  - embedding: {input_dim: 50, output_dim: 16, mask_zero: true, name: embed}
  - bidirectional: {layer: {lstm: {units: 8, return_sequences: true}}, name: bi_lstm}
  - bidirectional:
      layer: {gru: {units: 4, return_sequences: true, reset_after: false}}
      merge_mode: ave
      name: bi_gru
  - simple_rnn: {units: 6, return_sequences: true, go_backwards: true, name: rnn}
  - lstm: {units: 5, kernel_initializer: he_normal, name: lstm}
  - dense: {units: 3, name: out}
"""

ATTENTION = """
name: Encoder
params: {heads: 2}
input: {shape: [10, 16], name: tokens}
blocks:
  encoder:
    params: {heads: int, dim: int}
    branches:
      - - multi_head_attention: {num_heads: "{{ heads }}", key_dim: "{{ dim }}", name: "{{ prefix }}_mha"}
      - []
    merge: {add: {name: "{{ prefix }}_add"}}
    after:
      - layer_normalization: {name: "{{ prefix }}_norm"}
      - einsum_dense: {equation: "abc,cd->abd", output_shape: [10, 16], bias_axes: d, name: "{{ prefix }}_ffn"}
layers:
  - encoder: {heads: "{{ heads }}", dim: 4, name: enc1}
  - encoder: {heads: 1, dim: 8, name: enc2}
  - multi_head_attention: {num_heads: 2, key_dim: 3, value_dim: 5, output_shape: 7, name: pool_mha}
  - global_average_pooling1d: {name: pool}
"""


def text_model(keras):
    layers = keras.layers
    ids = keras.Input(shape=(12,), name="ids")
    x = layers.Embedding(50, 16, mask_zero=True, name="embed")(ids)
    x = layers.Bidirectional(layers.LSTM(8, return_sequences=True), name="bi_lstm")(x)
    x = layers.Bidirectional(
        layers.GRU(4, return_sequences=True, reset_after=False), merge_mode="ave", name="bi_gru"
    )(x)
    x = layers.SimpleRNN(6, return_sequences=True, go_backwards=True, name="rnn")(x)
    x = layers.LSTM(5, kernel_initializer="he_normal", name="lstm")(x)
    return keras.Model(ids, layers.Dense(3, name="out")(x), name="TextModel")


def encoder_model(keras):
    layers = keras.layers
    x = tokens = keras.Input(shape=(10, 16), name="tokens")
    for name, heads, dim in (("enc1", 2, 4), ("enc2", 1, 8)):
        y = layers.MultiHeadAttention(heads, dim, name=f"{name}_mha")(x, x)
        x = layers.Add(name=f"{name}_add")([y, x])
        x = layers.LayerNormalization(name=f"{name}_norm")(x)
        x = layers.EinsumDense("abc,cd->abd", (10, 16), bias_axes="d", name=f"{name}_ffn")(x)
    x = layers.MultiHeadAttention(2, 3, value_dim=5, output_shape=7, name="pool_mha")(x, x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    return keras.Model(tokens, x, name="Encoder")


def _unnamed(value):
    """A config without the names Keras gives a wrapper's inner layers, and their build
    state."""
    if isinstance(value, dict):
        return {k: _unnamed(v) for k, v in value.items() if k not in ("name", "build_config")}
    return value


def _inbound(layer) -> list[str]:
    from keras import tree

    node = layer._inbound_nodes[0]
    return [t._keras_history[0].name for t in tree.flatten(node.arguments.args)]


def assert_same(actual, expected):
    """The same layers (classes, names, configs but for inner layers' names, inputs,
    output shapes, weight shapes)."""
    assert actual.name == expected.name
    assert [type(x).__name__ for x in actual.layers] == [type(x).__name__ for x in expected.layers]
    for a, b in zip(actual.layers, expected.layers, strict=True):
        assert a.name == b.name
        config = _unnamed(a.get_config())
        assert config == _unnamed(b.get_config()), a.name
        assert tuple(a.output.shape) == tuple(b.output.shape), a.name
        if b._inbound_nodes:
            assert _inbound(a) == _inbound(b), a.name
        assert [w.shape for w in a.weights] == [w.shape for w in b.weights], a.name
    assert actual.count_params() == expected.count_params()


def assert_same_outputs(actual, expected, x):
    actual.set_weights(expected.get_weights())
    diff = np.max(np.abs(np.asarray(actual(x)) - np.asarray(expected(x))))
    assert diff <= 1e-5, diff


def _import(path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("text", "hand", "data"),
    [
        # ids, zeros among them (masked)
        (TEXT, text_model, lambda rng: rng.integers(0, 50, (2, 12)).astype("float32")),
        (ATTENTION, encoder_model, lambda rng: rng.standard_normal((2, 10, 16)).astype("float32")),
    ],
    ids=["text", "attention"],
)
def test_spec_builds_keras_layers_and_generated_code(write, tmp_path, text, hand, data):
    import keras

    path = write(text)
    built = archspec.build(path)
    expected = hand(keras)
    assert_same(built, expected)
    x = data(np.random.default_rng(0))
    x[0, :3] = 0
    assert_same_outputs(built, expected, x)
    graph = archspec.lower(path)
    assert built.count_params() == sum(n.params for n in graph.nodes)
    # A saved model reads back as the same kinds, attributes and inputs.
    built.save(tmp_path / "model.keras")
    back, _ = load_saved(tmp_path / "model.keras")
    for a, b in zip(graph.nodes, back.nodes, strict=True):
        assert (b.op, b.attrs, b.shape, b.inputs) == (a.op, a.attrs, a.shape, a.inputs), a.name
        assert (b.trainable, b.non_trainable) == (a.trainable, a.non_trainable), a.name
    for style, source in (
        ("structured", archspec.codegen(path)),
        ("flat", module_source(path, "flat")),
    ):
        module = tmp_path / f"model_{style}.py"
        module.write_text(source, encoding="utf-8")
        generated = getattr(_import(module), graph.name)()
        assert_same(generated, built)
        assert_same_outputs(generated, built, x)


def test_generated_code_writes_the_nested_layer_and_the_call(write):
    path = write(TEXT)
    structured = archspec.codegen(path)
    assert "layers.Bidirectional(layers.LSTM(8, return_sequences=True), name=" in structured
    flat = module_source(path, "flat")
    assert "layer=layers.LSTM(units=8, return_sequences=True)" in flat
    source = archspec.codegen(write(ATTENTION, "attention.yaml"))
    assert 'name=f"{prefix}_mha")(inputs, inputs)' in source


def test_query_value_and_key_as_three_tensors_build_through_the_ir():
    """Until a spec can name several tensors, an MHA node reading three inputs is built,
    compared with Keras's own and read back, from a graph made by hand."""
    import keras

    op = OPS["multi_head_attention"]
    args = {"num_heads": 2, "key_dim": 3, "value_dim": 4, "output_shape": [5]}
    attrs = op.args.model_validate(args).model_dump()
    shapes = {"query": (4, 6), "value": (7, 8), "key": (7, 2)}
    inputs = [Node(n, "input", "InputLayer", {"shape": s}, (), s) for n, s in shapes.items()]
    trainable, frozen = op.params(op.args.model_validate(args), list(shapes.values()), None)
    out_shape = op.shape(op.args.model_validate(args), list(shapes.values()))
    mha = Node("mha", op.kind, op.keras_class, attrs, tuple(shapes), out_shape, trainable, frozen)
    graph = Graph(
        name="Cross",
        model_name="Cross",
        nodes=(*inputs, mha),
        inputs=tuple(shapes),
        outputs=("mha",),
    )
    built = build_model(graph)
    q, v, k = (keras.Input(shape=s, name=n) for n, s in shapes.items())
    layer = keras.layers.MultiHeadAttention(2, 3, value_dim=4, output_shape=5, name="mha")
    expected = keras.Model([q, v, k], layer(q, v, k), name="Cross")
    assert_same(built, expected)
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((2, *s)).astype("float32") for s in shapes.values()]
    assert_same_outputs(built, expected, data)
    assert built.get_layer("mha").count_params() == trainable + frozen
    back, _ = from_model(built)
    node = back.node("mha")
    assert (node.op, node.attrs, node.inputs, node.shape) == (
        mha.op,
        mha.attrs,
        ("query", "value", "key"),
        out_shape,
    )
