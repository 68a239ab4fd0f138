"""Convolutions over 1, 2 or 3 spatial axes: plain (conv1d/2d/3d), depthwise
(depthwise_conv1d/2d), separable (separable_conv1d/2d) and transposed
(conv1d/2d/3d_transpose), as Keras has them.

Each variety has one argument model, one shape rule and one weights rule, parameterised
by the spatial rank; a kind is a registration of them at its rank. The plain, depthwise
and separable output is the windowed rule of ``rules``; the transposed one runs it
backwards (``transposed_length``). Kernels hold Keras's shapes: ``kernel_size ×
in_channels/groups × filters`` for a plain convolution, ``kernel_size × filters ×
in_channels`` for a transposed one.
"""

# No ``from __future__ import annotations``: the argument models are made inside
# functions, and their field types (``Size``) are those functions' locals.

import math
from functools import cache, partial

from archspec.core.ops.args import (
    ActivationName,
    Args,
    CausalPadding,
    Initializer,
    Padding,
    PositiveInt,
    int_tuple,
)
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, Weight, known, spatial, windowed

# ---- arguments ------------------------------------------------------------------------
# One cached factory per variety, called with the rank on a kind's first use (start-up
# only registers the kinds). Fields in Keras's constructor order, ``data_format`` left
# out (channels last only).


@cache
def conv_args(rank: int) -> type[Args]:
    """Conv1D/2D/3D's arguments, with Keras's defaults; Conv1D also pads "causal"."""
    Size = int_tuple(rank)
    PaddingType = CausalPadding if rank == 1 else Padding

    class ConvArgs(Args):
        filters: PositiveInt
        kernel_size: Size
        strides: Size = (1,) * rank
        padding: PaddingType = "valid"
        dilation_rate: Size = (1,) * rank
        groups: PositiveInt = 1
        activation: ActivationName | None = None
        use_bias: bool = True
        kernel_initializer: Initializer = "glorot_uniform"
        bias_initializer: Initializer = "zeros"

    return ConvArgs


@cache
def depthwise_args(rank: int) -> type[Args]:
    """DepthwiseConv1D/2D's arguments, with Keras's defaults."""
    Size = int_tuple(rank)

    class DepthwiseConvArgs(Args):
        kernel_size: Size
        strides: Size = (1,) * rank
        padding: Padding = "valid"
        depth_multiplier: PositiveInt = 1
        dilation_rate: Size = (1,) * rank
        activation: ActivationName | None = None
        use_bias: bool = True
        depthwise_initializer: Initializer = "glorot_uniform"
        bias_initializer: Initializer = "zeros"

    return DepthwiseConvArgs


@cache
def separable_args(rank: int) -> type[Args]:
    """SeparableConv1D/2D's arguments, with Keras's defaults."""
    Size = int_tuple(rank)

    class SeparableConvArgs(Args):
        filters: PositiveInt
        kernel_size: Size
        strides: Size = (1,) * rank
        padding: Padding = "valid"
        dilation_rate: Size = (1,) * rank
        depth_multiplier: PositiveInt = 1
        activation: ActivationName | None = None
        use_bias: bool = True
        depthwise_initializer: Initializer = "glorot_uniform"
        pointwise_initializer: Initializer = "glorot_uniform"
        bias_initializer: Initializer = "zeros"

    return SeparableConvArgs


@cache
def transpose_args(rank: int) -> type[Args]:
    """Conv1D/2D/3DTranspose's arguments, with Keras's defaults; ``output_padding`` None
    lets Keras infer the output length."""
    Size = int_tuple(rank)

    class ConvTransposeArgs(Args):
        filters: PositiveInt
        kernel_size: Size
        strides: Size = (1,) * rank
        padding: Padding = "valid"
        output_padding: int_tuple(rank, zero=True) | None = None
        dilation_rate: Size = (1,) * rank
        activation: ActivationName | None = None
        use_bias: bool = True
        kernel_initializer: Initializer = "glorot_uniform"
        bias_initializer: Initializer = "zeros"

    return ConvTransposeArgs


# ---- shapes ---------------------------------------------------------------------------


def _no_strided_dilation(args) -> None:
    # Keras's Conv and ConvTranspose refuse it in their constructors (the depthwise and
    # separable ones accept it).
    if max(args.strides) > 1 and max(args.dilation_rate) > 1:
        raise ShapeError(
            f"strides > 1 cannot be combined with dilation_rate > 1 (Keras refuses it). "
            f"Received: strides={args.strides}, dilation_rate={args.dilation_rate}",
            "incompatible-argument",
        )


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
        _no_strided_dilation(args)
        # "causal" pads the start by the window's span less one: the length of "same".
        padding = "same" if args.padding == "causal" else args.padding
        return windowed(
            shapes[0], rank, kind, args.kernel_size, args.strides, padding,
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


def separable_shape(rank: int, kind: str):
    """The shape rule of a separable convolution: a depthwise window, then 1×1 to filters."""

    def shape(args, shapes):
        known(spatial(shapes[0], rank, kind)[-1])
        return windowed(
            shapes[0], rank, kind, args.kernel_size, args.strides, args.padding,
            args.dilation_rate, args.filters,
        )  # fmt: skip

    return shape


def transposed_length(size, kernel, stride, dilation, padding, output_padding):
    """The output length of a transposed convolution along one axis, as Keras infers it:
    the windowed rule backwards, plus ``output_padding`` (None: as much as the stride
    leaves over the window for "valid", size × stride for "same")."""
    if size is None:
        return None
    span = dilation * (kernel - 1) + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return (size - 1) * stride + span + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + span % 2 + output_padding


def transpose_shape(rank: int, kind: str):
    """The shape rule of a transposed convolution over ``rank`` spatial axes."""

    def shape(args, shapes):
        sizes = spatial(shapes[0], rank, kind)[:rank]
        known(shapes[0][-1])
        _no_strided_dilation(args)
        extras = args.output_padding or (None,) * rank
        if any(p is not None and p >= s for p, s in zip(extras, args.strides, strict=True)):
            raise ShapeError(
                f"output_padding must be less than strides on every axis (Keras refuses it). "
                f"Received: output_padding={args.output_padding}, strides={args.strides}",
                "incompatible-argument",
            )
        out = tuple(
            transposed_length(n, k, s, d, args.padding, p)
            for n, k, s, d, p in zip(
                sizes, args.kernel_size, args.strides, args.dilation_rate, extras, strict=True
            )
        )
        if 0 in out:  # "same" with output_padding 0 and an even window on a length of 1
            raise ShapeError(
                f"{kind} gives an output of size 0 on an input of shape {shapes[0]} with "
                f"kernel_size={args.kernel_size}, output_padding={args.output_padding}",
                "window-too-large",
            )
        return (*out, args.filters)

    return shape


# ---- weights and multiply-accumulates -------------------------------------------------


def _with_bias(kernel: Weight, units: int, attrs) -> tuple[Weight, ...]:
    return (kernel, Weight("bias", (units,))) if attrs["use_bias"] else (kernel,)


def conv_weights(attrs, shapes) -> tuple[Weight, ...]:
    """A (grouped) convolution's kernel and bias."""
    filters = attrs["filters"]
    cin = shapes[0][-1] // attrs["groups"]
    return _with_bias(Weight("kernel", (*attrs["kernel_size"], cin, filters)), filters, attrs)


def depthwise_weights(attrs, shapes) -> tuple[Weight, ...]:
    """A depthwise convolution's kernel (a multiplier per channel) and bias."""
    cin, multiplier = shapes[0][-1], attrs["depth_multiplier"]
    kernel = Weight("kernel", (*attrs["kernel_size"], cin, multiplier))
    return _with_bias(kernel, cin * multiplier, attrs)


def separable_weights(attrs, shapes) -> tuple[Weight, ...]:
    """A separable convolution's depthwise and pointwise kernels and bias."""
    cin, multiplier, filters = shapes[0][-1], attrs["depth_multiplier"], attrs["filters"]
    kernel_size = attrs["kernel_size"]
    depthwise = Weight("depthwise_kernel", (*kernel_size, cin, multiplier))
    pointwise = Weight("pointwise_kernel", (*(1,) * len(kernel_size), cin * multiplier, filters))
    bias = (Weight("bias", (filters,)),) if attrs["use_bias"] else ()
    return (depthwise, pointwise, *bias)


def transpose_weights(attrs, shapes) -> tuple[Weight, ...]:
    """A transposed convolution's kernel (output filters before input channels) and bias."""
    filters = attrs["filters"]
    kernel = Weight("kernel", (*attrs["kernel_size"], filters, shapes[0][-1]))
    return _with_bias(kernel, filters, attrs)


def conv_macs(attrs, shapes, out) -> int:
    """A (grouped) convolution's multiply-accumulates."""
    # One multiply-accumulate per kernel value (of a group) per output value.
    per_output = math.prod(attrs["kernel_size"]) * (shapes[0][-1] // attrs["groups"])
    return math.prod(out) * per_output


def depthwise_macs(attrs, shapes, out) -> int:
    """A depthwise convolution's multiply-accumulates."""
    return math.prod(out) * math.prod(attrs["kernel_size"])


def separable_macs(attrs, shapes, out) -> int:
    """A separable convolution's multiply-accumulates, both steps."""
    # The depthwise window per intermediate value, then one 1×1 conv to the filters.
    positions = math.prod(out[:-1])
    middle = shapes[0][-1] * attrs["depth_multiplier"]
    return positions * middle * (math.prod(attrs["kernel_size"]) + attrs["filters"])


def transpose_macs(attrs, shapes, out) -> int:
    """A transposed convolution's multiply-accumulates."""
    # Each input value is scattered through the whole kernel of every filter.
    return math.prod(shapes[0]) * math.prod(attrs["kernel_size"]) * attrs["filters"]


# ---- the kinds ------------------------------------------------------------------------
# One call per kind; a variety's rules are the same at every rank.


def _plain(kind: str, keras_class: str, rank: int) -> None:
    register(
        kind=kind,
        keras_class=keras_class,
        args=partial(conv_args, rank),
        shape=conv_shape(rank, kind),
        weights=conv_weights,
        macs=conv_macs,
        primary="filters",
        positional=("filters", "kernel_size"),
        suffix="conv",
        category="conv",
    )


def _depthwise(kind: str, keras_class: str, rank: int) -> None:
    register(
        kind=kind,
        keras_class=keras_class,
        args=partial(depthwise_args, rank),
        shape=depthwise_shape(rank, kind),
        weights=depthwise_weights,
        macs=depthwise_macs,
        primary="kernel_size",
        positional=("kernel_size",),
        suffix="dwconv",
        category="depthwise",
    )


def _separable(kind: str, keras_class: str, rank: int) -> None:
    register(
        kind=kind,
        keras_class=keras_class,
        args=partial(separable_args, rank),
        shape=separable_shape(rank, kind),
        weights=separable_weights,
        macs=separable_macs,
        primary="filters",
        positional=("filters", "kernel_size"),
        suffix="sepconv",
        category="depthwise",
    )


def _transpose(kind: str, keras_class: str, rank: int) -> None:
    register(
        kind=kind,
        keras_class=keras_class,
        args=partial(transpose_args, rank),
        shape=transpose_shape(rank, kind),
        weights=transpose_weights,
        macs=transpose_macs,
        primary="filters",
        positional=("filters", "kernel_size"),
        suffix="deconv",
        category="conv",
    )


_plain("conv2d", "Conv2D", 2)
_depthwise("depthwise_conv2d", "DepthwiseConv2D", 2)
_plain("conv1d", "Conv1D", 1)
_plain("conv3d", "Conv3D", 3)
_separable("separable_conv1d", "SeparableConv1D", 1)
_separable("separable_conv2d", "SeparableConv2D", 2)
_depthwise("depthwise_conv1d", "DepthwiseConv1D", 1)  # Keras has no 3-D depthwise/separable
_transpose("conv1d_transpose", "Conv1DTranspose", 1)
_transpose("conv2d_transpose", "Conv2DTranspose", 2)
_transpose("conv3d_transpose", "Conv3DTranspose", 3)
