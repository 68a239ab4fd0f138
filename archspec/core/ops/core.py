"""Keras's core layers: dense, dropout, and the activations (activation, relu, relu6)."""

from __future__ import annotations

import math
from functools import cache
from typing import Annotated

from pydantic import Field, field_validator

from archspec.core.ops.args import ActivationName, Args, Initializer, PositiveInt, is_seed
from archspec.core.ops.registry import register
from archspec.core.ops.rules import Weight, known


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
        seed: int | None = None

        @field_validator("seed")
        @classmethod
        def _seed_fits(cls, value):
            if not is_seed(value):
                raise ValueError("expected an integer seed (64-bit) or null")
            return value

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
        threshold: float = 0.0

    return ReLUArgs


@cache
def relu6_args() -> type[Args]:
    """relu6: a ReLU whose max_value is 6 unless the spec says otherwise."""

    class ReLU6Args(relu_args()):
        max_value: Annotated[float, Field(ge=0)] | None = 6.0

    return ReLU6Args


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
    shape=_identity,
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
