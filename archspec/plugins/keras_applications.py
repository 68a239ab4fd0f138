"""The custom layers of keras.applications, as those models use them: ConvNeXt's
``LayerScale`` and ``StochasticDepth``, InceptionResNetV2's ``CustomScaleLayer``, and
the sum of two tensors that ConvNeXt's residual writes as ``inputs + x``.

Keras saves them with their module (``keras.src.applications.convnext``), and loads them
from it, so the classes are named by that path.
"""

from __future__ import annotations

from functools import cache

from archspec.core.ops.custom import (
    Args,
    NoArgs,
    PositiveInt,
    ShapeError,
    Weight,
    fmt,
    known,
    register_layer,
    rule_of,
)
from archspec.core.ops.registry import register


@cache
def layer_scale_args() -> type[Args]:
    """LayerScale's arguments (it has no defaults)."""

    class LayerScaleArgs(Args):
        init_values: float
        projection_dim: PositiveInt

    return LayerScaleArgs


def _layer_scale_shape(args, shapes):
    # x * gamma, gamma of shape (projection_dim,): it must be the size of the last axis
    # (Keras would broadcast a last axis of 1 to it; no model means that).
    channels = known(shapes[0][-1])
    if channels != args.projection_dim:
        raise ShapeError(
            f"projection_dim={args.projection_dim} differs from the input's channels "
            f"{channels} (input {fmt(shapes[0])})",
            "incompatible-argument",
        )
    return shapes[0]


def _layer_scale_weights(attrs, shapes):
    # The class adds its gamma without a name: Keras calls it "variable" (with a counter
    # after the first in a session, as it numbers unnamed variables).
    return (Weight("variable", (attrs["projection_dim"],)),)


register_layer(
    "layer_scale",
    keras_class="keras.src.applications.convnext:LayerScale",
    args=layer_scale_args,
    shape=_layer_scale_shape,
    weights=_layer_scale_weights,
    positional=("init_values", "projection_dim"),  # as ConvNeXt writes it
    suffix="layer_scale",
)


@cache
def custom_scale_layer_args() -> type[Args]:
    """CustomScaleLayer's argument."""

    class CustomScaleLayerArgs(Args):
        scale: float

    return CustomScaleLayerArgs


_same_shapes = rule_of("add")


def _custom_scale_shape(args, shapes):
    # It returns inputs[0] + inputs[1] * scale: the shortcut, then the residual.
    if len(shapes) != 2:
        raise ShapeError(
            f"custom_scale_layer takes two inputs (the shortcut and the residual); "
            f"received {len(shapes)}"
        )
    return _same_shapes(args, shapes)


register_layer(
    "custom_scale_layer",
    keras_class="keras.src.applications.inception_resnet_v2:CustomScaleLayer",
    args=custom_scale_layer_args,
    shape=_custom_scale_shape,
    primary="scale",
    positional=("scale",),  # as InceptionResNetV2 writes it
    suffix="scale",
    category="merge",
    merge=True,
)


@cache
def stochastic_depth_args() -> type[Args]:
    """StochasticDepth's argument (no default)."""

    class StochasticDepthArgs(Args):
        drop_path_rate: float

    return StochasticDepthArgs


register_layer(
    "stochastic_depth",
    keras_class="keras.src.applications.convnext:StochasticDepth",
    args=stochastic_depth_args,
    primary="drop_path_rate",
    positional=("drop_path_rate",),  # as ConvNeXt writes it
    suffix="stochastic_depth",
)

# ConvNeXt's residual is ``inputs + layer(x)``: Python's + on two tensors, which Keras
# records as an ``Add`` operation of keras.src.ops.numpy (not a layer; named by the
# counter layers share: add, add_1, ...), called with the two tensors. The built-in
# arithmetic kinds (scalar_add) take a tensor and a constant; this one takes two tensors,
# positionally, hence ``register`` (``register_layer`` has no ``call``). Its shape is the
# broadcast of the two, as the ``add`` layer's.
register(
    kind="tensor_add",
    keras_class="Add",
    module="keras.src.ops.numpy",
    args=NoArgs,
    shape=rule_of("add"),
    suffix="add",
    category="merge",
    call="args",
    arity=(2, 2),
)
