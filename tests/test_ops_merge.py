"""The merges and arithmetic with a constant against Keras itself: random input shapes that
Keras's merge layers accept (broadcasting, ranks that differ, unknown sizes) or refuse
are accepted with Keras's output shape or refused at check time; dot's axes likewise;
``x + c`` and its kin give Keras's shape and operation. A spec with squeeze-and-excitation
and a hard swish written with them builds to the model written by hand in Keras, and so
do both generated styles; a saved model reads back as the same kinds."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archspec
from archspec.backends.keras.read import load_saved
from archspec.backends.python.codegen import module_source
from archspec.core.ops import OPS, ShapeError

pytestmark = pytest.mark.keras

ELEMENTWISE = ["add", "subtract", "multiply", "average", "maximum", "minimum"]


def _refusals():
    import tensorflow as tf

    return (ValueError, TypeError, IndexError, tf.errors.InvalidArgumentError)


def _ours(kind, args, shapes):
    """archspec's output shape, or None where it refuses."""
    op = OPS[kind]
    try:
        return op.shape(op.args.model_validate(args), shapes)
    except ShapeError:
        return None


def _keras(cls, kwargs, shapes):
    """Keras's output shape, or None where it refuses: building the layer on symbolic
    inputs, and (sizes known) running it on a batch, where some problems only show."""
    import keras

    try:
        layer = getattr(keras.layers, cls)(**kwargs)
        symbolic = tuple(layer([keras.Input(shape=s) for s in shapes]).shape)[1:]
        if any(None in s for s in shapes):
            return symbolic
        rng = np.random.default_rng(0)
        data = [rng.standard_normal((2, *s)).astype("float32") for s in shapes]
        ran = tuple(np.asarray(layer(data)).shape)[1:]
    except _refusals():
        return None
    assert ran == symbolic
    return ran


@st.composite
def merge_inputs(draw):
    """1–3 input shapes of ranks 1–3 whose sizes often broadcast (1s, equal sizes) and
    sometimes do not, now and then unknown."""
    size = st.sampled_from([1, 2, 3, 1, 2, 3, None])
    count = draw(st.integers(1, 3))
    return [tuple(draw(st.lists(size, min_size=1, max_size=3))) for _ in range(count)]


@pytest.mark.parametrize("kind", ELEMENTWISE)
def test_elementwise_merges_broadcast_as_keras(kind):
    @settings(max_examples=40, deadline=None)
    @given(shapes=merge_inputs())
    def check(shapes):
        assert _ours(kind, {}, shapes) == _keras(OPS[kind].keras_class, {}, shapes)

    check()


@st.composite
def dot_inputs(draw):
    """Two shapes of ranks 1–3 and axes (one int or a pair, in and out of range, the
    batch included), with the summed sizes often equal."""
    a = list(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    b = list(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    axis = st.integers(-4, 3)
    axes = draw(axis | st.tuples(axis, axis).map(list))
    pair = (axes, axes) if isinstance(axes, int) else axes
    if draw(st.booleans()):  # make the summed sizes agree where the axes are in range
        i, j = pair
        if -len(a) <= i - (i > 0) < len(a) and -len(b) <= j - (j > 0) < len(b):
            b[j - (j > 0)] = a[i - (i > 0)]
    return {"axes": axes, "normalize": draw(st.booleans())}, [tuple(a), tuple(b)]


def test_dot_as_keras():
    @settings(max_examples=120, deadline=None)
    @given(drawn=dot_inputs())
    def check(drawn):
        args, shapes = drawn
        assert _ours("dot", args, shapes) == _keras("Dot", args, shapes)

    check()


# (kind, arguments, input shapes): Keras refuses each when the layer is called.
REFUSED = [
    ("add", {}, [(4, 4, 2), (4, 4, 3)]),
    ("multiply", {}, [(4, 4, 8), (1, 1, 4)]),
    ("subtract", {}, [(3,), (3,), (3,)]),
    ("subtract", {}, [(3,)]),
    # an unknown size against a known one on the summed axes
    ("dot", {"axes": 1}, [(None,), (3,)]),
    ("dot", {"axes": 1}, [(3,), (3,), (3,)]),
]


@pytest.mark.parametrize(("kind", "args", "shapes"), REFUSED)
def test_what_keras_refuses_is_refused(kind, args, shapes):
    assert _ours(kind, args, shapes) is None
    assert _keras(OPS[kind].keras_class, args, shapes) is None


def test_dot_with_unknown_sizes_as_keras():
    # Keras takes an unknown size against an unknown one, and keeps the others unknown.
    args, shapes = {"axes": [1, 2]}, [(None, 3), (4, None)]
    assert _ours("dot", args, shapes) == _keras("Dot", args, shapes) == (3, 4)


ARITHMETIC = {"scalar_add": "+", "scalar_subtract": "-", "scalar_multiply": "*"}
ARITHMETIC["scalar_divide"] = "/"


def test_arithmetic_records_keras_operations():
    import operator

    import keras

    python = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}

    @settings(max_examples=30, deadline=None)
    @given(
        kind=st.sampled_from(sorted(ARITHMETIC)),
        shape=st.lists(st.sampled_from([1, 3, None]), min_size=1, max_size=3).map(tuple),
        value=st.integers(-5, 5) | st.floats(-4, 4, allow_nan=False),
    )
    def check(kind, shape, value):
        op = OPS[kind]
        y = python[ARITHMETIC[kind]](keras.Input(shape=shape), value)
        recorded = y._keras_history.operation
        assert (type(recorded).__module__, type(recorded).__name__) == (
            op.operation.module,
            op.keras_class,
        )
        assert op.operation.operator == ARITHMETIC[kind]
        args = op.args.model_validate({op.operation.operand: value})
        assert op.shape(args, [shape]) == tuple(y.shape)[1:]
        assert op.weights(args.model_dump(), [shape]) == ()

    check()


# ---- squeeze-and-excitation and a hard swish, written with broadcasting and arithmetic ---

# Unnamed at the top, the arithmetic gets Keras's names from the counter it shares with
# layers (add, multiply; the Add layer after them is add_1); in blocks it is named as
# Keras names it in a fresh session, in order, so that the hand-written model (which
# cannot name x + 3.0) has the same names.
SPEC = """
name: SEHardSwish
input: {shape: [8, 8, 6], name: image}
blocks:
  hard_swish:
    doc: x * relu6(x + 3) / 6, as Keras's MobileNetV3 writes it.
    branches:
      - []
      - {from: input, layers: [
          scalar_add: {x2: 3.0, name: add_2},
          relu6,
          scalar_multiply: {x2: "{{ 1 / 6 }}", name: multiply_1}]}
    merge: multiply
  squeeze_excite:
    params: {squeeze: int}
    branches:
      - []
      - {from: input, layers: [
          global_average_pooling2d: {keepdims: true},
          conv2d: {filters: "{{ squeeze }}", kernel_size: 1, activation: relu, role: reduce},
          conv2d: {filters: "{{ x.channels * 3 }}", kernel_size: 1, role: expand},
          scalar_add: {x2: 3.0, name: add_3},
          relu6,
          scalar_multiply: {x2: "{{ 1 / 6 }}", name: multiply_2}]}
    merge: multiply
layers:
  - conv2d: {filters: 6, kernel_size: 3, padding: same, name: stem_conv}
  - scalar_add: 3.0
  - relu6
  - scalar_multiply: "{{ 1 / 6 }}"
  - add
  - hard_swish: {name: hs}
  - scalar_subtract: 0.5
  - scalar_divide: 2
  - squeeze_excite: {squeeze: 2, name: se}
  - flatten
  - dense: 4
"""


def _by_hand():
    """The same model as Keras users write it (in a fresh session, for its auto names)."""
    import keras
    from keras import layers

    keras.backend.clear_session()
    inputs = keras.Input(shape=(8, 8, 6), name="image")
    x = layers.Conv2D(6, 3, padding="same", name="stem_conv")(inputs)
    x = layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)  # Keras's hard_sigmoid
    x = layers.Add()([x])
    sigmoid = layers.ReLU(6.0, name="hs_relu")(x + 3.0) * (1.0 / 6.0)
    x = layers.Multiply(name="hs_mul")([x, sigmoid])
    x = (x - 0.5) / 2
    s = layers.GlobalAveragePooling2D(keepdims=True, name="se_gap")(x)
    s = layers.Conv2D(2, 1, activation="relu", name="se_reduce_conv")(s)
    s = layers.Conv2D(6, 1, name="se_expand_conv")(s)
    s = layers.ReLU(6.0, name="se_relu")(s + 3.0) * (1.0 / 6.0)
    x = layers.Multiply(name="se_mul")([x, s])  # (8, 8, 6) by (1, 1, 6)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4, name="dense")(x)
    return keras.Model(inputs, x, name="SEHardSwish")


def _import(path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_squeeze_excite_and_hard_swish_build_as_keras(write, tmp_path):
    from keras_compare import assert_same_outputs

    path = write(SPEC)
    built = archspec.build(path)
    expected = _by_hand()
    assert built.get_config() == expected.get_config()
    assert built.count_params() == expected.count_params()
    assert_same_outputs(built, expected, atol=1e-5)

    graph = archspec.lower(path)
    assert [n.op for n in graph.nodes if n.op.startswith("scalar_")] == [
        "scalar_add", "scalar_multiply", "scalar_add", "scalar_multiply",
        "scalar_subtract", "scalar_divide", "scalar_add", "scalar_multiply",
    ]  # fmt: skip
    # A saved model reads back as the same kinds, attributes and shapes.
    built.save(tmp_path / "se.keras")
    back, _ = load_saved(tmp_path / "se.keras")
    for a, b in zip(graph.nodes, back.nodes, strict=True):
        assert (b.name, b.op, b.attrs, b.inputs, b.shape) == (
            a.name, a.op, a.attrs, a.inputs, a.shape,
        )  # fmt: skip
        assert (b.trainable, b.non_trainable) == (a.trainable, a.non_trainable), a.name

    for style in ("structured", "flat"):
        module = tmp_path / f"se_{style}.py"
        module.write_text(module_source(path, style), encoding="utf-8")
        generated = _import(module).SEHardSwish()
        assert generated.get_config() == built.get_config(), style
    # Built again after all that, the names are the spec's, not the session's.
    assert archspec.build(path).get_config() == built.get_config()


def test_generated_arithmetic_reads_as_python(write):
    path = write(SPEC)
    structured = module_source(path, "structured")
    assert 'x = named("add", x + 3.0)' in structured
    assert 'x = named("multiply", x * (1 / 6))' in structured
    assert 'x = named("add_3", x + 3.0)' in structured
    flat = module_source(path, "flat")
    assert 'true_divide = named("true_divide", subtract / 2)' in flat


def test_a_read_back_operation_the_language_lacks_keeps_its_constants():
    import keras

    from archspec.backends.keras.read import from_model

    inputs = keras.Input(shape=(3,), name="x")
    model = keras.Model(inputs, 2.0 - inputs)  # the constant first: not scalar_subtract
    graph, _ = from_model(model)
    node = graph.nodes[1]
    assert (node.op, node.keras_class, node.attrs, node.inputs) == (
        "subtract",
        "Subtract",
        {"x1": 2.0},
        ("x",),
    )
