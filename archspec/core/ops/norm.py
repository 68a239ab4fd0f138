"""Normalization: batch_norm, whose gamma and beta (trainable) and moving mean and
variance (not) are one value per entry of the normalized axis; layer_normalization
(gamma and beta over the normalized axes), group_normalization (per channel),
unit_normalization (no weights) and normalization (Keras's preprocessing Normalization,
with given statistics or its untrained variables).

None of them counts multiply-accumulates: as for batch_norm, only layers that multiply
activations by a kernel do (``core.cost``)."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from archspec.core.ops.args import (
    Args,
    AxisList,
    Initializer,
    NumberArray,
    array_shape,
    axis_index,
)
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


# ---- layer, group and unit normalization; Normalization with given statistics --------


def _one_axis_as_int(axes):
    """``(a,)`` → ``a``: Keras keeps a single axis as a list once built, so a saved layer
    reads back as the spec writes it."""
    return axes[0] if isinstance(axes, tuple) and len(axes) == 1 else axes


@cache
def layer_normalization_args() -> type[Args]:
    """LayerNormalization's arguments, with Keras's defaults."""

    class LayerNormalizationArgs(Args):
        axis: AxisList = -1
        epsilon: Annotated[float, Field(gt=0)] = 1e-3
        center: bool = True
        scale: bool = True
        beta_initializer: Initializer = "zeros"
        gamma_initializer: Initializer = "ones"

        @field_validator("axis", mode="after")
        @classmethod
        def _sorted(cls, value):
            # Keras sorts the axes when it builds (its weights follow that order).
            return _one_axis_as_int(tuple(sorted(value)) if isinstance(value, tuple) else value)

    return LayerNormalizationArgs


@cache
def group_normalization_args() -> type[Args]:
    """GroupNormalization's arguments, with Keras's defaults (groups -1: one per channel)."""

    class GroupNormalizationArgs(Args):
        groups: Annotated[int, Field(strict=True)] = 32
        axis: int = -1
        epsilon: Annotated[float, Field(gt=0)] = 1e-3
        center: bool = True
        scale: bool = True
        beta_initializer: Initializer = "zeros"
        gamma_initializer: Initializer = "ones"

        @field_validator("groups")
        @classmethod
        def _positive_or_minus_one(cls, value):
            if value <= 0 and value != -1:
                raise ValueError("expected a positive integer, or -1 for instance normalization")
            return value

    return GroupNormalizationArgs


@cache
def unit_normalization_args() -> type[Args]:
    """UnitNormalization's argument."""

    class UnitNormalizationArgs(Args):
        axis: AxisList = -1

    return UnitNormalizationArgs


@cache
def normalization_args() -> type[Args]:
    """Normalization's arguments: statistics given (as keras.applications does), or left
    to Keras's variables (mean 0, variance 1); archspec never adapts."""

    class NormalizationArgs(Args):
        axis: AxisList | None = -1
        mean: NumberArray | None = None
        variance: NumberArray | None = None
        invert: bool = False

        @field_validator("axis", mode="after")
        @classmethod
        def _as_written(cls, value):
            # Keras keeps axis as a tuple ((-1,), and () for None): read back as written.
            return None if value == () else _one_axis_as_int(value)

        @model_validator(mode="after")
        def _statistics(self):
            if (self.mean is None) != (self.variance is None):
                raise ValueError("mean and variance must be given together, or neither")
            if self.mean is not None:
                mean, variance = array_shape(self.mean), array_shape(self.variance)
                if mean != variance:
                    raise ValueError(
                        f"mean and variance must have the same shape. Received: mean shape "
                        f"{mean} and variance shape {variance}"
                    )
                if len(mean) > len(_as_tuple(self.axis)):
                    raise ValueError(
                        f"the rank of mean must be at most the number of axes "
                        f"({len(_as_tuple(self.axis))}). Received: mean shape {mean} for "
                        f"axis={self.axis}"
                    )
            return self

    return NormalizationArgs


def _as_tuple(axes) -> tuple:
    if axes is None:
        return ()
    return axes if isinstance(axes, tuple) else (axes,)


def axis_indices(axes, shape) -> list[int]:
    """Keras axes (an int, a tuple, or None for none) as indices into ``shape`` (without
    the batch); the batch, an axis out of range or one named twice is refused."""
    indices = []
    for axis in _as_tuple(axes):
        index = axis_index(axis, len(shape))
        if index is None:
            raise ShapeError(
                f"axis {axis} is out of range for an input of shape {fmt(shape)} "
                "(the batch is axis 0)",
                "incompatible-argument",
            )
        indices.append(index)
    if len(set(indices)) < len(indices):
        raise ShapeError(f"axis {axes} names an axis twice", "incompatible-argument")
    return indices


def _ln_shape(args, shapes):
    indices = axis_indices(args.axis, shapes[0])
    if args.scale or args.center:  # the weights need their sizes
        for index in indices:
            known(shapes[0][index], f"size on axis {index + 1}")
    return shapes[0]


def _ln_weights(attrs, shapes) -> tuple[Weight, ...]:
    size = tuple(shapes[0][i] for i in axis_indices(attrs["axis"], shapes[0]))
    return (
        *([Weight("gamma", size)] if attrs["scale"] else []),
        *([Weight("beta", size)] if attrs["center"] else []),
    )


def _group_channels(attrs, shape) -> tuple[int, int]:
    (index,) = axis_indices(attrs["axis"], shape)
    channels = known(shape[index], f"size on axis {attrs['axis']}")
    return channels, channels if attrs["groups"] == -1 else attrs["groups"]


def _gn_shape(args, shapes):
    channels, groups = _group_channels(dict(args), shapes[0])
    if channels % groups:
        raise ShapeError(
            f"{channels} channels cannot be split into groups={groups} "
            "(they must be a multiple of it)",
            "incompatible-argument",
        )
    return shapes[0]


def _gn_weights(attrs, shapes) -> tuple[Weight, ...]:
    size = (_group_channels(attrs, shapes[0])[0],)
    return (
        *([Weight("gamma", size)] if attrs["scale"] else []),
        *([Weight("beta", size)] if attrs["center"] else []),
    )


def _unit_shape(args, shapes):
    axis_indices(args.axis, shapes[0])
    return shapes[0]


def _kept(attrs, shape) -> tuple:
    """The sizes of the axes Normalization keeps, in axis order (its statistics' shape)."""
    return tuple(shape[i] for i in sorted(axis_indices(attrs["axis"], shape)))


def _normalization_shape(args, shapes):
    kept = tuple(
        known(shapes[0][i], f"size on axis {i + 1}")
        for i in sorted(axis_indices(args.axis, shapes[0]))
    )
    if args.mean is not None:
        # Keras lines the statistics up with the last kept axes, then broadcasts them.
        mean = array_shape(args.mean)
        for size, target in zip(reversed(mean), reversed(kept), strict=False):
            if size not in (1, target):
                raise ShapeError(
                    f"mean and variance of shape {mean} do not fit the kept axes of sizes "
                    f"{kept} (input {fmt(shapes[0])})",
                    "incompatible-argument",
                )
    return shapes[0]


def _normalization_weights(attrs, shapes) -> tuple[Weight, ...]:
    if attrs["mean"] is not None:
        return ()  # given statistics are constants, not variables
    kept = _kept(attrs, shapes[0])
    return (
        Weight("mean", kept, False),
        Weight("variance", kept, False),
        Weight("count", (), False),
    )


register(
    kind="layer_normalization",
    keras_class="LayerNormalization",
    args=layer_normalization_args,
    shape=_ln_shape,
    weights=_ln_weights,
    suffix="ln",
    category="norm",
)
register(
    kind="group_normalization",
    keras_class="GroupNormalization",
    args=group_normalization_args,
    shape=_gn_shape,
    weights=_gn_weights,
    primary="groups",
    positional=("groups",),
    suffix="gn",
    category="norm",
)
register(
    kind="unit_normalization",
    keras_class="UnitNormalization",
    args=unit_normalization_args,
    shape=_unit_shape,
    suffix="unit_norm",
    category="norm",
)
register(
    kind="normalization",
    keras_class="Normalization",
    args=normalization_args,
    shape=_normalization_shape,
    weights=_normalization_weights,
    suffix="norm",
    category="norm",
)
