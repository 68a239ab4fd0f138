"""Keras's core layers: dense, dropout, and the activations (activation, relu, relu6,
leaky_relu, prelu, elu, softmax). Only dense counts multiply-accumulates: prelu's alpha
scales its input value by value, which archspec does not count (as batch_norm's gamma)."""

from __future__ import annotations

import math
from functools import cache
from typing import Annotated

from pydantic import Field, field_validator

from archspec.core.ops.args import (
    ActivationName,
    Args,
    AxisList,
    Initializer,
    PositiveInt,
    Seed,
)
from archspec.core.ops.norm import axis_indices
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, Weight, fmt, known

# A dropout mask's shape: the input's, batch included, with 1 (or None, the input's
# size) where one draw is shared.
NoiseShape = tuple[PositiveInt | None, ...] | None


@cache
def dense_args() -> type[Args]:
    """Dense's arguments, with Keras's defaults."""

    class DenseArgs(Args):
        units: PositiveInt
        activation: ActivationName | None = None
        use_bias: bool = True
        kernel_initializer: Initializer = "glorot_uniform"
        bias_initializer: Initializer = "zeros"

    return DenseArgs


@cache
def dropout_args() -> type[Args]:
    """Dropout's arguments."""

    class DropoutArgs(Args):
        rate: Annotated[float, Field(ge=0, lt=1)]
        noise_shape: NoiseShape = None
        seed: Seed = None

    return DropoutArgs


@cache
def activation_args() -> type[Args]:
    """Activation's argument."""

    class ActivationArgs(Args):
        activation: ActivationName

    return ActivationArgs


@cache
def relu_args() -> type[Args]:
    """ReLU's arguments, with Keras's defaults."""

    class ReLUArgs(Args):
        max_value: Annotated[float, Field(ge=0)] | None = None
        negative_slope: Annotated[float, Field(ge=0)] = 0.0
        threshold: Annotated[float, Field(ge=0)] = 0.0  # Keras refuses a negative one

    return ReLUArgs


@cache
def relu6_args() -> type[Args]:
    """relu6: a ReLU whose max_value is 6 unless the spec says otherwise."""

    class ReLU6Args(relu_args()):
        max_value: Annotated[float, Field(ge=0)] | None = 6.0

    return ReLU6Args


@cache
def leaky_relu_args() -> type[Args]:
    """LeakyReLU's argument, with Keras's default."""

    class LeakyReLUArgs(Args):
        negative_slope: Annotated[float, Field(ge=0)] = 0.3

    return LeakyReLUArgs


@cache
def prelu_args() -> type[Args]:
    """PReLU's arguments, with Keras's defaults."""

    class PReLUArgs(Args):
        alpha_initializer: Initializer = "zeros"
        shared_axes: AxisList | None = None

        @field_validator("shared_axes", mode="after")
        @classmethod
        def _as_tuple(cls, value):
            # Keras keeps them as a list even when given one: read back as a tuple.
            return (value,) if isinstance(value, int) else value

    return PReLUArgs


@cache
def elu_args() -> type[Args]:
    """ELU's argument, with Keras's default."""

    class ELUArgs(Args):
        alpha: float = 1.0

    return ELUArgs


@cache
def softmax_args() -> type[Args]:
    """Softmax's argument, with Keras's default."""

    class SoftmaxArgs(Args):
        axis: AxisList = -1

    return SoftmaxArgs


def noise_shape_fits(noise_shape, shape) -> None:
    """A dropout mask's shape must broadcast to the input's (Keras only finds out when it
    trains): one entry per axis, batch included, each 1, None or the input's size."""
    if noise_shape is None:
        return
    full = (None, *shape)
    fits = len(noise_shape) == len(full) and all(
        n is None or n == 1 or s is None or n == s for n, s in zip(noise_shape, full)
    )
    if not fits:
        raise ShapeError(
            f"noise_shape {tuple(noise_shape)} does not fit an input of shape {fmt(shape)}: "
            "expected one entry per axis, batch included, each 1, null or the input's size",
            "incompatible-argument",
        )


def _dropout_shape(args, shapes):
    noise_shape_fits(args.noise_shape, shapes[0])
    return shapes[0]


def _softmax_shape(args, shapes):
    axis_indices(args.axis, shapes[0])
    return shapes[0]


def _prelu_shape(args, shapes):
    shared = args.shared_axes or ()
    for axis in shared:
        # Keras indexes alpha's shape by axis - 1: only 1..rank mean what they say.
        if not 1 <= axis <= len(shapes[0]):
            raise ShapeError(
                f"shared_axes {axis} is out of range for an input of shape {fmt(shapes[0])}: "
                f"expected 1 to {len(shapes[0])}",
                "incompatible-argument",
            )
    for i, size in enumerate(shapes[0]):
        if i + 1 not in shared:
            known(size, f"size on axis {i + 1} (not shared)")
    return shapes[0]


def _prelu_weights(attrs, shapes) -> tuple[Weight, ...]:
    shared = attrs["shared_axes"] or ()
    alpha = tuple(1 if i + 1 in shared else s for i, s in enumerate(shapes[0]))
    return (Weight("alpha", alpha),)


def _dense_shape(args, shapes):
    known(shapes[0][-1], "last axis")
    return shapes[0][:-1] + (args.units,)


def _dense_weights(attrs, shapes) -> tuple[Weight, ...]:
    units = attrs["units"]
    kernel = Weight("kernel", (shapes[0][-1], units))
    return (kernel, Weight("bias", (units,))) if attrs["use_bias"] else (kernel,)


def _dense_macs(attrs, shapes, out) -> int:
    # Every input position multiplies its last axis by the kernel.
    return math.prod(shapes[0]) * attrs["units"]


def _identity(args, shapes):
    return shapes[0]


register(
    kind="dense",
    keras_class="Dense",
    args=dense_args,
    shape=_dense_shape,
    weights=_dense_weights,
    macs=_dense_macs,
    primary="units",
    positional=("units",),
    suffix="dense",
    category="dense",
)
register(
    kind="dropout",
    keras_class="Dropout",
    args=dropout_args,
    shape=_dropout_shape,
    primary="rate",
    positional=("rate",),
    suffix="drop",
    category="other",
)
register(
    kind="activation",
    keras_class="Activation",
    args=activation_args,
    shape=_identity,
    primary="activation",
    positional=("activation",),
    suffix="act",
    suffix_from="activation",
    category="activation",
)
register(
    kind="relu",
    keras_class="ReLU",
    args=relu_args,
    shape=_identity,
    primary="max_value",
    positional=("max_value",),
    suffix="relu",
    category="activation",
)
# Keras has no ReLU6 layer: relu6 builds a ReLU with max_value 6, which generated code
# must always write, and a saved ReLU with exactly those settings reads back as relu6.
register(
    kind="relu6",
    keras_class="ReLU",
    args=relu6_args,
    shape=_identity,
    positional=("max_value",),
    implied=("max_value",),
    suffix="relu",
    category="activation",
    reads_as=lambda attrs: attrs == relu6_args()().model_dump(),
)
register(
    kind="leaky_relu",
    keras_class="LeakyReLU",
    args=leaky_relu_args,
    shape=_identity,
    primary="negative_slope",
    positional=("negative_slope",),
    suffix="leaky_relu",
    category="activation",
)
register(
    kind="prelu",
    keras_class="PReLU",
    args=prelu_args,
    shape=_prelu_shape,
    weights=_prelu_weights,
    suffix="prelu",
    category="activation",
)
register(
    kind="elu",
    keras_class="ELU",
    args=elu_args,
    shape=_identity,
    primary="alpha",
    positional=("alpha",),
    suffix="elu",
    category="activation",
)
register(
    kind="softmax",
    keras_class="Softmax",
    args=softmax_args,
    shape=_softmax_shape,
    primary="axis",
    positional=("axis",),
    suffix="softmax",
    category="activation",
)
