"""Convolutions: conv2d and depthwise_conv2d.

Their shape is the windowed rule of ``rules`` over the spatial axes (rank 2 here); the
kernel holds ``kernel_size × in_channels/groups × filters`` values, as Keras's Conv layers.
"""

from __future__ import annotations

import math
from functools import cache

from archspec.core.ops.args import ActivationName, Args, Initializer, Padding, Pair, PositiveInt
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, Weight, known, spatial, windowed


@cache
def conv2d_args() -> type[Args]:
    """Conv2D's arguments, with Keras's defaults."""

    class Conv2DArgs(Args):
        filters: PositiveInt
        kernel_size: Pair
        strides: Pair = (1, 1)
        padding: Padding = "valid"
        dilation_rate: Pair = (1, 1)
        groups: PositiveInt = 1
        activation: ActivationName | None = None
        use_bias: bool = True
        kernel_initializer: Initializer = "glorot_uniform"
        bias_initializer: Initializer = "zeros"

    return Conv2DArgs


@cache
def depthwise_conv2d_args() -> type[Args]:
    """DepthwiseConv2D's arguments, with Keras's defaults."""

    class DepthwiseConv2DArgs(Args):
        kernel_size: Pair
        strides: Pair = (1, 1)
        padding: Padding = "valid"
        depth_multiplier: PositiveInt = 1
        dilation_rate: Pair = (1, 1)
        activation: ActivationName | None = None
        use_bias: bool = True
        depthwise_initializer: Initializer = "glorot_uniform"
        bias_initializer: Initializer = "zeros"

    return DepthwiseConv2DArgs


def conv_shape(rank: int, kind: str):
    """The shape rule of a convolution over ``rank`` spatial axes."""

    def shape(args, shapes):
        channels = known(spatial(shapes[0], rank, kind)[-1])
        if channels % args.groups:
            raise ShapeError(
                f"input channels {channels} are not divisible by groups={args.groups}",
                "incompatible-argument",
            )
        if args.filters % args.groups:
            raise ShapeError(
                f"filters={args.filters} are not divisible by groups={args.groups}",
                "incompatible-argument",
            )
        if max(args.strides) > 1 and max(args.dilation_rate) > 1:
            raise ShapeError(
                f"strides > 1 cannot be combined with dilation_rate > 1 (Keras refuses it). "
                f"Received: strides={args.strides}, dilation_rate={args.dilation_rate}",
                "incompatible-argument",
            )
        return windowed(
            shapes[0], rank, kind, args.kernel_size, args.strides, args.padding,
            args.dilation_rate, args.filters,
        )  # fmt: skip

    return shape


def depthwise_shape(rank: int, kind: str):
    """The shape rule of a depthwise convolution over ``rank`` spatial axes."""

    def shape(args, shapes):
        channels = known(spatial(shapes[0], rank, kind)[-1])
        return windowed(
            shapes[0], rank, kind, args.kernel_size, args.strides, args.padding,
            args.dilation_rate, channels * args.depth_multiplier,
        )  # fmt: skip

    return shape


def _with_bias(kernel: Weight, units: int, attrs) -> tuple[Weight, ...]:
    return (kernel, Weight("bias", (units,))) if attrs["use_bias"] else (kernel,)


def conv_weights(attrs, shapes) -> tuple[Weight, ...]:
    filters = attrs["filters"]
    cin = shapes[0][-1] // attrs["groups"]
    return _with_bias(Weight("kernel", (*attrs["kernel_size"], cin, filters)), filters, attrs)


def depthwise_weights(attrs, shapes) -> tuple[Weight, ...]:
    cin, multiplier = shapes[0][-1], attrs["depth_multiplier"]
    kernel = Weight("kernel", (*attrs["kernel_size"], cin, multiplier))
    return _with_bias(kernel, cin * multiplier, attrs)


def conv_macs(attrs, shapes, out) -> int:
    # One multiply-accumulate per kernel value (of a group) per output value.
    per_output = math.prod(attrs["kernel_size"]) * (shapes[0][-1] // attrs["groups"])
    return math.prod(out) * per_output


def depthwise_macs(attrs, shapes, out) -> int:
    return math.prod(out) * math.prod(attrs["kernel_size"])


register(
    kind="conv2d",
    keras_class="Conv2D",
    args=conv2d_args,
    shape=conv_shape(2, "conv2d"),
    weights=conv_weights,
    macs=conv_macs,
    primary="filters",
    positional=("filters", "kernel_size"),
    suffix="conv",
    category="conv",
)
register(
    kind="depthwise_conv2d",
    keras_class="DepthwiseConv2D",
    args=depthwise_conv2d_args,
    shape=depthwise_shape(2, "depthwise_conv2d"),
    weights=depthwise_weights,
    macs=depthwise_macs,
    primary="kernel_size",
    positional=("kernel_size",),
    suffix="dwconv",
    category="depthwise",
)
