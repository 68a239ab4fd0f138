"""Normalization: batch_norm, whose gamma and beta (trainable) and moving mean and
variance (not) are one value per entry of the normalized axis."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import Field

from archspec.core.ops.args import Args, Initializer, axis_index
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, Weight, fmt, known


@cache
def batch_norm_args() -> type[Args]:
    """BatchNormalization's arguments, with Keras's defaults."""

    class BatchNormArgs(Args):
        axis: int = -1
        momentum: float = 0.99
        epsilon: Annotated[float, Field(gt=0)] = 1e-3
        center: bool = True
        scale: bool = True
        beta_initializer: Initializer = "zeros"
        gamma_initializer: Initializer = "ones"
        moving_mean_initializer: Initializer = "zeros"
        moving_variance_initializer: Initializer = "ones"

    return BatchNormArgs


def _axis_shape(args, shapes):
    """The input unchanged, once the axis is known to exist and to have a known size."""
    index = axis_index(args.axis, len(shapes[0]))
    if index is None:
        raise ShapeError(
            f"axis {args.axis} is out of range for an input of shape {fmt(shapes[0])}",
            "incompatible-argument",
        )
    known(shapes[0][index], f"size on axis {args.axis}")
    return shapes[0]


def _bn_weights(attrs, shapes) -> tuple[Weight, ...]:
    size = (shapes[0][axis_index(attrs["axis"], len(shapes[0]))],)
    return (
        *([Weight("gamma", size)] if attrs["scale"] else []),
        *([Weight("beta", size)] if attrs["center"] else []),
        Weight("moving_mean", size, False),
        Weight("moving_variance", size, False),
    )


register(
    kind="batch_norm",
    aliases=("batch_normalization",),
    keras_class="BatchNormalization",
    args=batch_norm_args,
    shape=_axis_shape,
    weights=_bn_weights,
    suffix="bn",
    category="norm",
)
