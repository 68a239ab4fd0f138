"""Layers that move values around without weights: zero_padding, flatten, reshape."""

from __future__ import annotations

import math
from functools import cache
from typing import Annotated

from pydantic import Field

from archspec.core.ops.args import Args, NoArgs, PaddingPairs
from archspec.core.ops.registry import register
from archspec.core.ops.rules import ShapeError, fmt, spatial


@cache
def zero_padding_args() -> type[Args]:
    """ZeroPadding2D's argument."""

    class ZeroPaddingArgs(Args):
        padding: PaddingPairs = ((1, 1), (1, 1))

    return ZeroPaddingArgs


@cache
def reshape_args() -> type[Args]:
    """Reshape's argument."""

    class ReshapeArgs(Args):
        target_shape: tuple[Annotated[int, Field(ge=-1, strict=True)], ...]

    return ReshapeArgs


def pad_shape(rank: int):
    """The shape rule of zero padding over ``rank`` spatial axes."""

    def shape(args, shapes):
        *sizes, channels = spatial(shapes[0], rank, "zero_padding")
        return (
            *(
                None if n is None else n + a + b
                for n, (a, b) in zip(sizes, args.padding, strict=True)
            ),
            channels,
        )

    return shape


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
    keras_class="ZeroPadding2D",
    args=zero_padding_args,
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
