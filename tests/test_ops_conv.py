"""The convolution family against Keras itself: random valid arguments and inputs give
Keras's output shape, parameter count and weights (names, shapes, order); combinations
Keras refuses are refused at check time; specs using each kind build, read back and
generate the same models as Keras's own layers."""

from __future__ import annotations

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archspec
from archspec.backends.python.codegen import module_source
from archspec.core.ops import OPS, ShapeError

# kind → (spatial rank, variety); the variety says which arguments Keras takes
CONV_KINDS = {
    "conv1d": (1, "plain"),
    "conv2d": (2, "plain"),
    "conv3d": (3, "plain"),
    "depthwise_conv1d": (1, "depthwise"),
    "depthwise_conv2d": (2, "depthwise"),
    "separable_conv1d": (1, "separable"),
    "separable_conv2d": (2, "separable"),
    "conv1d_transpose": (1, "transpose"),
    "conv2d_transpose": (2, "transpose"),
    "conv3d_transpose": (3, "transpose"),
}


def test_the_family_is_all_registered():
    assert set(CONV_KINDS) <= set(OPS)
    assert {k for k, op in OPS.items() if "Conv" in op.keras_class} == set(CONV_KINDS)


def _sizes(draw, rank, low, high, scalar_ok=True):
    """One int for every axis (as Keras accepts it) or a list of ``rank`` ints."""
    if scalar_ok and draw(st.booleans()):
        return draw(st.integers(low, high))
    return draw(st.lists(st.integers(low, high), min_size=rank, max_size=rank))


def _per_axis(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


@st.composite
def conv_case(draw, kind):
    """Arguments Keras's constructor accepts for ``kind``, and an input shape (without
    the batch axis) whose sizes may still be too small for the window."""
    rank, variety = CONV_KINDS[kind]
    args = {"kernel_size": _sizes(draw, rank, 1, 4)}
    strides = _sizes(draw, rank, 1, 3)
    args["strides"] = strides
    if variety in ("plain", "transpose") and max(_per_axis(strides, rank)) > 1:
        dilation = 1  # Keras refuses strides > 1 with dilation > 1 there
    else:
        dilation = _sizes(draw, rank, 1, 3)
    args["dilation_rate"] = dilation
    paddings = ["valid", "same"] + (["causal"] if kind == "conv1d" else [])
    args["padding"] = draw(st.sampled_from(paddings))
    args["use_bias"] = draw(st.booleans())
    channels = draw(st.integers(1, 5))
    if variety in ("plain", "separable", "transpose"):
        args["filters"] = draw(st.integers(1, 6))
    if variety == "plain":
        groups = draw(st.integers(1, 3))
        args["groups"] = groups
        channels *= groups
        args["filters"] *= groups
    if variety in ("depthwise", "separable"):
        args["depth_multiplier"] = draw(st.integers(1, 3))
    if variety == "transpose" and draw(st.booleans()):
        steps = _per_axis(strides, rank)
        args["output_padding"] = [draw(st.integers(0, s - 1)) for s in steps]
    spatial = [draw(st.one_of(st.integers(1, 12), st.none())) for _ in range(rank)]
    return args, (*spatial, channels)


def _keras_layer(keras, kind, args):
    return getattr(keras.layers, OPS[kind].keras_class)(**args)


def _archspec(kind, args, shape):
    """(output shape, (trainable, non-trainable), weights) by archspec's rules."""
    op = OPS[kind]
    validated = op.args.model_validate(args)
    out = op.shape(validated, [shape])
    return out, op.params(validated, [shape], out), op.weights(validated.model_dump(), [shape])


@pytest.mark.keras
@pytest.mark.parametrize("kind", sorted(CONV_KINDS))
def test_static_rules_match_keras(kind):
    import keras

    @settings(max_examples=25, deadline=None)
    @given(case=conv_case(kind))
    def check(case):
        args, shape = case
        layer = _keras_layer(keras, kind, args)
        try:
            expected = tuple(layer.compute_output_shape((None, *shape)))[1:]
            layer.build((None, *shape))
            refused = 0 in expected  # a transposed "same" window can give an empty axis
        except ValueError:
            refused = True
        if refused:
            with pytest.raises(ShapeError):
                _archspec(kind, args, shape)
            return
        out, params, weights = _archspec(kind, args, shape)
        assert out == expected
        assert sum(params) == layer.count_params()
        assert [(w.name, w.shape) for w in weights] == [
            (v.name, tuple(v.shape)) for v in layer.weights
        ]
        assert params[1] == 0 and all(v.trainable for v in layer.weights)

    check()


# (kind, args, input shape): each is refused by Keras (constructor, build or call) and by
# archspec at check time (argument model or shape rule)
REFUSED = [
    ("conv1d", {"filters": 2, "kernel_size": [3, 3]}, (8, 2)),  # one axis, two sizes
    ("conv1d", {"filters": 3, "kernel_size": 1, "groups": 3}, (8, 4)),  # 4 channels, 3 groups
    ("conv3d", {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, (9, 9, 9, 1)),
    ("conv3d", {"filters": 2, "kernel_size": 5}, (3, 8, 8, 1)),  # window larger than the input
    ("conv2d", {"filters": 2, "kernel_size": 3}, (8, 1)),  # a 1-D input
    ("separable_conv1d", {"filters": 2, "kernel_size": 3, "padding": "causal"}, (8, 2)),
    ("separable_conv2d", {"filters": 2, "kernel_size": 3, "depth_multiplier": 0}, (8, 8, 2)),
    ("depthwise_conv1d", {"kernel_size": 3, "padding": "causal"}, (8, 2)),
    ("depthwise_conv1d", {"kernel_size": 0}, (8, 2)),
    ("conv1d_transpose", {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
     (8, 2)),
    ("conv2d_transpose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2},
     (4, 4, 2)),
    ("conv3d_transpose", {"filters": 2, "kernel_size": 3, "padding": "causal"}, (4, 4, 4, 1)),
]  # fmt: skip


@pytest.mark.keras
@pytest.mark.parametrize(("kind", "args", "shape"), REFUSED, ids=[str(r[:2]) for r in REFUSED])
def test_what_keras_refuses_is_refused_at_check_time(kind, args, shape):
    import keras

    with pytest.raises(ValueError):  # Keras: a ValueError from the constructor, build or call
        _keras_layer(keras, kind, args)(keras.Input(shape=shape))
    with pytest.raises((ShapeError, pydantic.ValidationError)):
        _archspec(kind, args, shape)


# ---- specs that use every new kind ---------------------------------------------------------

SPECS = {
    "Seq": """
name: Seq
input: {shape: [32, 4]}
layers:
  - conv1d: {filters: 8, kernel_size: 3, padding: causal, dilation_rate: 2, name: causal}
  - depthwise_conv1d: {kernel_size: 3, depth_multiplier: 2, strides: 2, name: dw}
  - separable_conv1d: {filters: 6, kernel_size: 5, padding: same, activation: relu, name: sep}
  - conv1d_transpose: {filters: 4, kernel_size: 3, strides: 2, output_padding: 1, name: up}
  - conv1d: {filters: 3, kernel_size: 1}
""",
    "Image": """
name: Image
input: {shape: [16, 16, 3]}
layers:
  - separable_conv2d: {filters: 8, kernel_size: 3, strides: 2, padding: same, use_bias: false,
                       pointwise_initializer: {he_normal: {seed: 1}}, name: sep}
  - conv2d_transpose: {filters: 4, kernel_size: [3, 2], strides: 2, padding: same, name: up}
  - conv2d_transpose: {filters: 2, kernel_size: 3, name: up2}
""",
    "Volume": """
name: Volume
input: {shape: [8, 8, 8, 2]}
layers:
  - conv3d: {filters: 4, kernel_size: 3, strides: [2, 1, 1], groups: 2, name: c3}
  - conv3d_transpose: {filters: 2, kernel_size: 2, strides: 2, output_padding: [1, 0, 0], name: up}
  - conv3d_transpose: {filters: 1, kernel_size: 1}
""",
}


def _by_hand(keras, name: str):
    """Each spec's model written in Keras directly."""
    L, init = keras.layers, keras.initializers
    if name == "Seq":
        x = inputs = keras.Input(shape=(32, 4), name="input_layer")
        x = L.Conv1D(8, 3, padding="causal", dilation_rate=2, name="causal")(x)
        x = L.DepthwiseConv1D(3, depth_multiplier=2, strides=2, name="dw")(x)
        x = L.SeparableConv1D(6, 5, padding="same", activation="relu", name="sep")(x)
        x = L.Conv1DTranspose(4, 3, strides=2, output_padding=1, name="up")(x)
        x = L.Conv1D(3, 1)(x)
    elif name == "Image":
        x = inputs = keras.Input(shape=(16, 16, 3), name="input_layer")
        x = L.SeparableConv2D(
            8, 3, strides=2, padding="same", use_bias=False,
            pointwise_initializer=init.HeNormal(seed=1), name="sep",
        )(x)  # fmt: skip
        x = L.Conv2DTranspose(4, (3, 2), strides=2, padding="same", name="up")(x)
        x = L.Conv2DTranspose(2, 3, name="up2")(x)
    else:
        x = inputs = keras.Input(shape=(8, 8, 8, 2), name="input_layer")
        x = L.Conv3D(4, 3, strides=(2, 1, 1), groups=2, name="c3")(x)
        x = L.Conv3DTranspose(2, 2, strides=2, output_padding=(1, 0, 0), name="up")(x)
        x = L.Conv3DTranspose(1, 1)(x)
    return keras.Model(inputs, x, name=name)


def test_specs_check_without_keras(write):
    # the shapes the hand-written models give (asserted against Keras below)
    shapes = {"Seq": (32, 3), "Image": (18, 18, 2), "Volume": (7, 12, 12, 1)}
    for name, text in SPECS.items():
        graph = archspec.lower(write(text, f"{name}.yaml"))
        assert graph.nodes[-1].shape == shapes[name]


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(SPECS))
def test_specs_build_read_back_and_generate_as_keras(name, write, tmp_path, monkeypatch):
    import keras
    from keras_compare import assert_same_model, assert_same_outputs
    from test_codegen import import_module

    path = write(SPECS[name], f"{name}.yaml")
    monkeypatch.chdir(tmp_path)
    built = archspec.build(path)
    # the layers are configured as Keras's own (names: Keras numbers the unnamed one)
    assert_same_model(built, _by_hand(keras, name), names="explicit")
    # the saved-model reader maps each layer back to its kind and arguments
    assert archspec.diff(path, built).verdict == "identical"
    saved = tmp_path / f"{name}.keras"
    built.save(saved)
    assert archspec.diff(path, str(saved)).verdict == "identical"
    for style in ("structured", "flat"):
        target = tmp_path / f"{name}_{style}.py"
        target.write_text(module_source(path, style))
        generated = getattr(import_module(target), name)()
        assert_same_model(generated, built, names="all")
        assert_same_outputs(generated, built, atol=1e-5)
    assert archspec.codegen(path) == module_source(path, "structured")
