"""The custom layers of keras.applications, as those models use them: ConvNeXt's
``LayerScale`` and InceptionResNetV2's ``CustomScaleLayer``.

Keras saves them with their module (``keras.src.applications.convnext``), and loads them
from it, so the classes are named by that path.
"""

from __future__ import annotations

from functools import cache

from archspec.core.ops.custom import (
    Args,
    PositiveInt,
    ShapeError,
    Weight,
    fmt,
    known,
    register_layer,
    rule_of,
)


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
