"""Layers that move values around without weights: zero padding and cropping, up-sampling
(nearest repeats each value; the 2D layer may interpolate), flatten, reshape, permute,
repeat_vector, identity. No multiply-accumulates are counted for any of them.

Padding, cropping and up-sampling have one shape rule each over 1, 2 or 3 spatial axes;
the 2D padding keeps its short kind (zero_padding), the rest are named as Keras's classes
in snake_case.
"""

from __future__ import annotations

import math
from functools import cache, partial
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, create_model

from archspec.core.ops.args import (
    Args,
    NoArgs,
    NonNegativeInt,
    PositiveInt,
    int_tuple,
    pairs,
)
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, fmt, spatial


@cache
def reshape_args() -> type[Args]:
    """Reshape's argument."""

    class ReshapeArgs(Args):
        target_shape: tuple[Annotated[int, Field(ge=-1, strict=True)], ...]

    return ReshapeArgs


@cache
def edge_args(rank: int, name: str, default: int) -> type[Args]:
    """ZeroPadding1D/2D/3D's ``padding`` or Cropping1D/2D/3D's ``cropping``: a (before, after)
    pair per spatial axis, with Keras's default of ``default`` on each side. The 1D
    layers take one pair (Keras's own form); the others a pair per axis."""
    form = int_tuple(2, zero=True) if rank == 1 else pairs(rank)
    value = (default, default) if rank == 1 else ((default, default),) * rank
    # The one argument's name differs by family: a model made from it, not a class body.
    return create_model(f"{name.capitalize()}{rank}DArgs", __base__=Args, **{name: (form, value)})


def _per_axis(rank: int, value) -> tuple:
    """A 1D layer's single (before, after) pair as the one pair of its one axis."""
    return (value,) if rank == 1 else value


def pad_shape(rank: int, kind: str = "zero_padding"):
    """The shape rule of zero padding over ``rank`` spatial axes."""

    def shape(args, shapes):
        *sizes, channels = spatial(shapes[0], rank, kind)
        return (
            *(
                None if n is None else n + a + b
                for n, (a, b) in zip(sizes, _per_axis(rank, args.padding), strict=True)
            ),
            channels,
        )

    return shape


def crop_shape(rank: int, kind: str):
    """The shape rule of cropping over ``rank`` spatial axes: at least one value must be
    left on every axis of known size (Keras refuses the layer otherwise)."""

    def shape(args, shapes):
        *sizes, channels = spatial(shapes[0], rank, kind)
        out = []
        for n, (a, b) in zip(sizes, _per_axis(rank, args.cropping), strict=True):
            if n is not None and n - a - b < 1:
                raise ShapeError(
                    f"{kind} crops {a} + {b} from an axis of size {n}: nothing would be left; "
                    f"the cropping must be smaller than the input. Received: "
                    f"cropping={args.cropping} for an input of shape {fmt(shapes[0])}",
                    "incompatible-argument",
                )
            out.append(None if n is None else n - a - b)
        return (*out, channels)

    return shape


# Interpolations that every Keras backend resizes with (lanczos is not in torch's).
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


@cache
def up_sampling_args(rank: int) -> type[Args]:
    """UpSampling1D/2D/3D's arguments: a factor per spatial axis (UpSampling1D takes one
    int only, as Keras's does), and for 2D the interpolation."""
    if rank == 1:

        class UpSampling1DArgs(Args):
            size: PositiveInt = 2

        return UpSampling1DArgs
    if rank == 2:
        pair = int_tuple(2)

        class UpSampling2DArgs(Args):
            size: pair = (2, 2)
            interpolation: Annotated[
                Literal[_INTERPOLATIONS],
                BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
            ] = "nearest"

        return UpSampling2DArgs

    triple = int_tuple(3)

    class UpSampling3DArgs(Args):
        size: triple = (2, 2, 2)

    return UpSampling3DArgs


def up_sampling_shape(rank: int, kind: str):
    """The shape rule of up-sampling over ``rank`` spatial axes: each size times its factor."""

    def shape(args, shapes):
        *sizes, channels = spatial(shapes[0], rank, kind)
        factors = (args.size,) if rank == 1 else args.size
        return (
            *(None if n is None else n * f for n, f in zip(sizes, factors, strict=True)),
            channels,
        )

    return shape


def _permutation(dims: tuple) -> tuple:
    if sorted(dims) != list(range(1, len(dims) + 1)):
        raise ValueError(
            "dims must be a permutation of the axes 1, 2, ... (the batch axis 0 stays "
            f"first). Received: dims={list(dims)}"
        )
    return dims


@cache
def permute_args() -> type[Args]:
    """Permute's argument: the new order of the axes after the batch, counted from 1."""

    class PermuteArgs(Args):
        dims: Annotated[
            tuple[NonNegativeInt, ...], Field(min_length=1), AfterValidator(_permutation)
        ]

    return PermuteArgs


@cache
def repeat_vector_args() -> type[Args]:
    """RepeatVector's argument."""

    class RepeatVectorArgs(Args):
        n: PositiveInt

    return RepeatVectorArgs


def _permute_shape(args, shapes):
    if len(shapes[0]) != len(args.dims):
        raise ShapeError(
            f"permute with dims={list(args.dims)} expects an input of {len(args.dims)} axes "
            f"after the batch; received {fmt(shapes[0])}"
        )
    return tuple(shapes[0][d - 1] for d in args.dims)


def _repeat_vector_shape(args, shapes):
    if len(shapes[0]) != 1:
        raise ShapeError(
            f"repeat_vector expects an input of shape (features,); received {fmt(shapes[0])}"
        )
    return (args.n, shapes[0][0])


def _flatten_shape(args, shapes):
    dims = shapes[0]
    return (None if None in dims else math.prod(dims),)


def _reshape_shape(args, shapes):
    size = math.prod(shapes[0]) if None not in shapes[0] else None
    target = list(args.target_shape)
    if target.count(-1) > 1:
        raise ShapeError("target_shape may contain -1 at most once", "incompatible-argument")
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if size is not None:
            if known == 0 or size % known:
                raise ShapeError(f"cannot reshape {fmt(shapes[0])} to {tuple(target)}")
            target[target.index(-1)] = size // known
        else:
            target[target.index(-1)] = None
    elif size is not None and known != size:
        raise ShapeError(f"cannot reshape {fmt(shapes[0])} ({size} values) to {tuple(target)}")
    return tuple(target)


register(
    kind="zero_padding",
    aliases=("zero_padding2d",),
    keras_class="ZeroPadding2D",
    args=partial(edge_args, 2, "padding", 1),
    shape=pad_shape(2),
    primary="padding",
    positional=("padding",),
    suffix="pad",
    category="reshape",
)
register(
    kind="flatten",
    keras_class="Flatten",
    args=NoArgs,
    shape=_flatten_shape,
    suffix="flatten",
    category="reshape",
)
register(
    kind="reshape",
    keras_class="Reshape",
    args=reshape_args,
    shape=_reshape_shape,
    primary="target_shape",
    positional=("target_shape",),
    suffix="reshape",
    category="reshape",
)


def _edges(kind: str, keras_class: str, rank: int, name: str, default: int, rule) -> None:
    register(
        kind=kind,
        keras_class=keras_class,
        args=partial(edge_args, rank, name, default),
        shape=rule(rank, kind),
        primary=name,
        positional=(name,),
        suffix="pad" if name == "padding" else "crop",
        category="reshape",
    )


_edges("zero_padding1d", "ZeroPadding1D", 1, "padding", 1, pad_shape)
_edges("zero_padding3d", "ZeroPadding3D", 3, "padding", 1, pad_shape)
_edges("cropping1d", "Cropping1D", 1, "cropping", 1, crop_shape)
_edges("cropping2d", "Cropping2D", 2, "cropping", 0, crop_shape)
_edges("cropping3d", "Cropping3D", 3, "cropping", 1, crop_shape)
for _rank in (1, 2, 3):
    register(
        kind=f"up_sampling{_rank}d",
        keras_class=f"UpSampling{_rank}D",
        args=partial(up_sampling_args, _rank),
        shape=up_sampling_shape(_rank, f"up_sampling{_rank}d"),
        primary="size",
        positional=("size",),
        suffix="up",
        category="reshape",
    )
register(
    kind="permute",
    keras_class="Permute",
    args=permute_args,
    shape=_permute_shape,
    primary="dims",
    positional=("dims",),
    implied=("dims",),  # Keras requires it
    suffix="permute",
    category="reshape",
)
register(
    kind="repeat_vector",
    keras_class="RepeatVector",
    args=repeat_vector_args,
    shape=_repeat_vector_shape,
    primary="n",
    positional=("n",),
    implied=("n",),  # Keras requires it
    suffix="repeat",
    category="reshape",
)
register(
    kind="identity",
    keras_class="Identity",
    args=NoArgs,
    shape=lambda args, shapes: shapes[0],
    suffix="identity",
    category="other",
)
