"""The normalization, activation, noise and preprocessing kinds against Keras itself:
random valid arguments and inputs give Keras's output shape, weights (names, shapes, in
order) and parameter counts; what Keras refuses is refused at check time; a spec using
every new kind builds to Keras's own layers, and both generated styles build the same."""

from __future__ import annotations

import importlib.util
import math

import pydantic
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import archspec
from archspec.backends.keras.read import load_saved
from archspec.backends.python.codegen import module_source
from archspec.core.ops import OPS, ShapeError
from archspec.core.ops.args import ACTIVATIONS

pytestmark = pytest.mark.keras

sizes = st.integers(1, 6)
unit = st.floats(0, 0.95, allow_nan=False)
numbers = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 3))


def shapes(min_rank=1, max_rank=3):
    return st.lists(sizes, min_size=min_rank, max_size=max_rank).map(tuple)


@st.composite
def axis_forms(draw, rank, *, many=True, none=False):
    """A valid axis for a rank-``rank`` input: an int (positive or negative), a list of
    distinct axes, or None."""
    options = ["one", "many"] if many else ["one"]
    form = draw(st.sampled_from(options + (["none"] if none else [])))
    if form == "none":
        return None
    count = 1 if form == "one" else draw(st.integers(1, rank))
    indices = draw(st.permutations(range(rank)))[:count]
    axes = [draw(st.sampled_from([i + 1, i - rank])) for i in indices]
    return axes[0] if form == "one" else axes


def noise_shape(draw, shape):
    return [None, *(draw(st.sampled_from([1, None, s])) for s in shape)]


@st.composite
def case(draw, kind):
    """(spec arguments, input shape) for a kind, valid by construction."""
    shape = draw(shapes())
    rank = len(shape)
    flags = {"center": draw(st.booleans()), "scale": draw(st.booleans())}
    if kind == "batch_norm":
        return {"axis": draw(axis_forms(rank, many=False)), **flags}, shape
    if kind == "layer_normalization":
        eps = draw(st.sampled_from([1e-3, 1e-5]))
        return {"axis": draw(axis_forms(rank)), "epsilon": eps, **flags}, shape
    if kind == "group_normalization":
        groups, per = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        axis = draw(axis_forms(rank, many=False))
        index = axis - 1 if axis > 0 else rank + axis
        shape = shape[:index] + (groups * per,) + shape[index + 1 :]
        return {"groups": draw(st.sampled_from([groups, -1])), "axis": axis, **flags}, shape
    if kind == "unit_normalization":
        return {"axis": draw(axis_forms(rank))}, shape
    if kind == "normalization":
        axis = draw(axis_forms(rank, none=True))
        args = {"axis": axis, "invert": draw(st.booleans())}
        if draw(st.booleans()):
            listed = [] if axis is None else axis if isinstance(axis, list) else [axis]
            kept = [shape[i] for i in sorted(a - 1 if a > 0 else rank + a for a in listed)]
            stats = [
                draw(st.sampled_from([1, k]))
                for k in kept[len(kept) - draw(st.integers(0, len(kept))) :]
            ]
            args["mean"] = nested(draw, stats, numbers)
            args["variance"] = nested(draw, stats, st.floats(0.01, 2).map(lambda v: round(v, 3)))
        return args, shape
    if kind == "rescaling":
        args = {}
        for key in ("scale", "offset"):
            size = draw(st.sampled_from([None, 1, shape[-1]]))
            args[key] = draw(numbers) if size is None else [draw(numbers) for _ in range(size)]
        return args, shape
    if kind in ("resizing", "center_crop"):
        image = (draw(sizes), draw(sizes), draw(st.integers(1, 4)))
        args = {"height": draw(st.integers(1, 8)), "width": draw(st.integers(1, 8))}
        if kind == "resizing":
            which = draw(st.sampled_from([None, "crop_to_aspect_ratio", "pad_to_aspect_ratio"]))
            args["interpolation"] = draw(
                st.sampled_from(["bilinear", "nearest", "bicubic", "area"])
            )
            args["antialias"] = draw(st.booleans())
            if which:
                args[which] = True
        return args, image
    if kind.startswith("spatial_dropout"):
        rank = int(kind[-2])
        return {"rate": draw(unit), "seed": draw(st.none() | st.integers(0, 99))}, draw(
            shapes(rank + 1, rank + 1)
        )
    if kind == "gaussian_noise":
        return {"stddev": draw(st.floats(0, 1))}, shape
    if kind == "gaussian_dropout":
        return {"rate": draw(unit)}, shape
    if kind in ("dropout", "alpha_dropout"):
        args = {"rate": draw(unit)}
        if draw(st.booleans()):
            args["noise_shape"] = noise_shape(draw, shape)
        return args, shape
    if kind == "activation":
        return {"activation": draw(st.sampled_from(ACTIVATIONS))}, shape
    if kind in ("relu", "relu6"):
        max_value = draw(st.none() | st.floats(0, 10))
        args = {"negative_slope": draw(st.floats(0, 1)), "threshold": draw(st.floats(0, 1))}
        return ({"max_value": max_value, **args} if kind == "relu" else args), shape
    if kind == "leaky_relu":
        return {"negative_slope": draw(st.floats(0, 1))}, shape
    if kind == "prelu":
        shared = draw(st.lists(st.integers(1, rank), unique=True, max_size=rank))
        # A shared axis may be of unknown size.
        shape = tuple(
            None if i + 1 in shared and draw(st.booleans()) else s for i, s in enumerate(shape)
        )
        form = (
            None
            if not shared
            else shared[0]
            if len(shared) == 1 and draw(st.booleans())
            else shared
        )
        return {"shared_axes": form}, shape
    if kind == "elu":
        return {"alpha": draw(numbers)}, shape
    if kind == "softmax":
        return {"axis": draw(axis_forms(rank))}, shape
    raise AssertionError(kind)


def nested(draw, shape, values):
    if not shape:
        return draw(values)
    return [nested(draw, shape[1:], values) for _ in range(shape[0])]


def keras_kwargs(kind, args):
    """What Keras's own layer is given: the spec's arguments (relu6 is a ReLU with
    max_value 6)."""
    if kind == "relu6":
        return {"max_value": 6.0, **args}
    return args


KINDS = [
    "batch_norm", "layer_normalization", "group_normalization", "unit_normalization",
    "normalization", "rescaling", "resizing", "center_crop", "spatial_dropout1d",
    "spatial_dropout2d", "spatial_dropout3d", "gaussian_noise", "gaussian_dropout",
    "alpha_dropout", "dropout", "activation", "relu", "relu6", "leaky_relu", "prelu", "elu",
    "softmax",
]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_static_rules_equal_keras(kind):
    import keras

    op = OPS[kind]

    @settings(max_examples=25, deadline=None)
    @given(drawn=case(kind))
    def check(drawn):
        args, shape = drawn
        validated = op.args.model_validate(args)
        out = op.shape(validated, [shape])
        weights = op.weights(validated.model_dump(), [shape])
        layer = getattr(keras.layers, op.keras_class)(**keras_kwargs(kind, args))
        assert tuple(layer.compute_output_shape((None, *shape)))[1:] == out
        y = layer(keras.Input(shape=shape))
        assert tuple(y.shape)[1:] == out
        assert [(w.name, tuple(w.shape), w.trainable) for w in layer.weights] == [
            (w.name, w.shape, w.trainable) for w in weights
        ]
        trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
        frozen = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
        assert (trainable, frozen) == op.params(validated, [shape], out)
        assert layer.count_params() == trainable + frozen

    check()


# (kind, spec arguments, input shape): Keras refuses each, constructing or calling it.
REFUSED = [
    ("group_normalization", {"groups": 4}, (8, 6)),
    ("group_normalization", {"groups": 0}, (8, 6)),
    ("group_normalization", {"groups": 8}, (8, 4)),
    ("layer_normalization", {"axis": 3}, (8, 3)),
    ("leaky_relu", {"negative_slope": -1.0}, (3,)),
    ("relu", {"threshold": -1.0}, (3,)),
    ("gaussian_noise", {"stddev": 2.0}, (3,)),
    ("dropout", {"rate": 1.5}, (3,)),
    ("normalization", {"mean": [1.0]}, (3,)),
    ("normalization", {"mean": [1.0, 2.0], "variance": [1.0, 1.0]}, (4, 3)),
    ("normalization", {"mean": [[1.0]], "variance": [[1.0]]}, (4, 3)),
    ("normalization", {}, (4, None)),
    ("prelu", {}, (None, 3)),
    ("spatial_dropout2d", {"rate": 0.5}, (4, 4)),
    ("resizing", {"height": 2, "width": 2, "interpolation": "cubic"}, (4, 4, 3)),
    ("resizing", {"height": 2, "width": 2, "crop_to_aspect_ratio": True,
                  "pad_to_aspect_ratio": True}, (4, 4, 3)),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "args", "shape"), REFUSED)
def test_what_keras_refuses_is_refused_at_check_time(kind, args, shape):
    import keras
    import numpy as np
    import tensorflow as tf

    op = OPS[kind]
    with pytest.raises((pydantic.ValidationError, ShapeError)):
        op.shape(op.args.model_validate(args), [shape])

    def keras_refuses():
        layer = getattr(keras.layers, op.keras_class)(**args)
        layer(keras.Input(shape=shape))
        # Some problems only show on data (a resize's options, a statistic's shape).
        layer(np.zeros((1, *(2 if s is None else s for s in shape)), "float32"))

    with pytest.raises((ValueError, TypeError, IndexError, tf.errors.InvalidArgumentError)):
        keras_refuses()


# ---- a spec with every new kind: build, Keras's own layers, both generated styles -------

# (kind, spec arguments); each layer takes the one before it, from a 16×16×3 input.
CHAIN = [
    ("rescaling", {"scale": 0.0039, "offset": [0.0, 0.1, -0.1]}),
    ("normalization", {"mean": [0.485, 0.456, 0.406], "variance": [0.052, 0.05, 0.051]}),
    ("resizing", {"height": 12, "width": 10, "interpolation": "nearest"}),
    ("center_crop", {"height": 8, "width": 8}),
    ("normalization", {"axis": None}),
    ("layer_normalization", {"axis": [3, 1], "epsilon": 0.01}),
    ("group_normalization", {"groups": 3, "center": False}),
    ("unit_normalization", {"axis": [1, 2]}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("prelu", {"shared_axes": [1, 2]}),
    ("elu", {"alpha": 0.5}),
    ("spatial_dropout2d", {"rate": 0.1, "seed": 1}),
    ("gaussian_noise", {"stddev": 0.1}),
    ("gaussian_dropout", {"rate": 0.2}),
    ("alpha_dropout", {"rate": 0.1, "noise_shape": [None, 1, 1, 3]}),
    ("dropout", {"rate": 0.1, "noise_shape": [None, 1, 1, 3]}),
    ("reshape", {"target_shape": [64, 3]}),
    ("spatial_dropout1d", {"rate": 0.3}),
    ("reshape", {"target_shape": [4, 4, 4, 3]}),
    ("spatial_dropout3d", {"rate": 0.3}),
    ("softmax", {"axis": [1, 2]}),
    ("flatten", {}),
    ("softmax", {}),
]

# Where Keras keeps an argument as it is given, archspec gives it a tuple.
AS_TUPLES = {("alpha_dropout", "noise_shape"), ("softmax", "axis")}


def _import(path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spec_builds_keras_layers_and_generated_code(write, tmp_path):
    import keras
    from keras_compare import assert_same_model

    layers = [{kind: {**args, "name": f"l{i}_{kind}"}} for i, (kind, args) in enumerate(CHAIN)]
    spec = {"name": "Chain", "input": {"shape": [16, 16, 3], "name": "image"}, "layers": layers}
    path = write(yaml.safe_dump(spec, sort_keys=False))
    built = archspec.build(path)
    for layer, (kind, args) in zip(built.layers[1:], CHAIN, strict=True):
        kwargs = {k: tuple(v) if (kind, k) in AS_TUPLES else v for k, v in args.items()}
        own = getattr(keras.layers, OPS[kind].keras_class)(**kwargs, name=layer.name)
        own(keras.Input(shape=layer.input.shape[1:]))
        assert own.get_config() == layer.get_config(), kind
        assert [w.shape for w in own.weights] == [w.shape for w in layer.weights], kind
    graph = archspec.lower(path)
    assert built.count_params() == sum(n.params for n in graph.nodes)
    # A saved model reads back as the same kinds with the same attributes.
    built.save(tmp_path / "chain.keras")
    back, _ = load_saved(tmp_path / "chain.keras")
    for a, b in zip(graph.nodes, back.nodes, strict=True):
        assert (b.op, b.attrs, b.shape) == (a.op, a.attrs, a.shape), a.name
        assert (b.trainable, b.non_trainable) == (a.trainable, a.non_trainable), a.name
    for style, source in (
        ("structured", archspec.codegen(path)),
        ("flat", module_source(path, "flat")),
    ):
        module = tmp_path / f"chain_{style}.py"
        module.write_text(source, encoding="utf-8")
        assert_same_model(_import(module).Chain(), built, names="all")


def test_every_new_kind_is_in_the_spec():
    new = set(KINDS) - {"batch_norm", "activation", "relu", "relu6"}
    assert new <= {kind for kind, _ in CHAIN}
